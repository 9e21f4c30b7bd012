// Writes the fuzz targets' seed corpus: real frames from the protocol's encoder, metadata and
// documents like the apps write, log filters, HTTP request targets and headers, and
// gzip bundles made with zlib (valid, concatenated, truncated). Deterministic, so regenerating
// changes nothing unless this program changed. Run by scripts/fuzz_corpus.sh.
//
//   fuzz_make_corpus <corpus dir>     writes <corpus dir>/<target>/seed-<name>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "clock/clock.h"
#include "log/log_filter.h"
#include "store/store.h"
#include "sync/protocol.h"

namespace proto = smallpeer::sync;
namespace fs = std::filesystem;

namespace {

fs::path root;

void write(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = root / target;
  fs::create_directories(dir);
  std::ofstream out(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
}

std::string gzip(const std::string& text) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&z, text.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

smallpeer::Document document(std::string collection, std::string id, std::string json, uint64_t hlc, bool deleted = false) {
  smallpeer::Document doc;
  doc.collection = std::move(collection);
  doc.id = std::move(id);
  doc.json = deleted ? std::string() : std::move(json);
  doc.version.hlc.value = hlc;
  doc.version.origin = "5f2a0c4e9b7d1a3c";
  doc.deleted = deleted;
  doc.stored_at.value = hlc + 1;
  return doc;
}

void frames() {
  proto::Hello hello;
  hello.app_id = "com.example.fleet";
  hello.peer_key = "pk_4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99";
  hello.device_name = "Till 3";
  hello.sdk_language = "Swift";
  hello.sdk_version = "4.9.1";
  hello.platform = "iOS";
  for (size_t i = 0; i < hello.nonce.size(); ++i) hello.nonce[i] = static_cast<unsigned char>(i * 7);
  proto::Hello big = hello;
  big.role = smallpeer::PeerRole::big_peer;
  big.device_name = "";
  proto::Auth auth;
  for (size_t i = 0; i < auth.proof.size(); ++i) auth.proof[i] = static_cast<unsigned char>(i * 3);
  for (size_t i = 0; i < auth.signature.size(); ++i) auth.signature[i] = static_cast<unsigned char>(255 - i);
  proto::Cursors cursors;
  cursors.since = {{"orders", smallpeer::HlcTimestamp{uint64_t{1764147600000} << 16}}, {"__small_peer_info", {}}};
  proto::Docs docs;
  docs.batch_id = 42;
  docs.documents = {document("orders", "o1", R"({"_id":"o1","total":12.5,"items":["a","b"]})", uint64_t{1764147600000} << 16),
                    document("__small_peer_info", "pk1", R"({"_id":"pk1","device_name":"Till 3"})", 7),
                    document("orders", "o2", "", 9, true)};
  smallpeer::LogFilter request_filter;
  request_filter.min_level = smallpeer::LogLevel::info;
  request_filter.since = smallpeer::parse_rfc3339("2026-11-26T09:00:00Z");
  request_filter.until = smallpeer::parse_rfc3339("2026-11-26T10:00:00.250+01:00");
  request_filter.max_bytes = uint64_t{1} << 20;
  const std::vector<std::pair<std::string, proto::Frame>> all = {
      {"hello", hello},
      {"hello-big-peer", big},
      {"auth", auth},
      {"auth-result-ok", proto::AuthResult{true, ""}},
      {"auth-result-refused", proto::AuthResult{false, "wrong app token"}},
      {"cursors", cursors},
      {"cursors-empty", proto::Cursors{}},
      {"docs", docs},
      {"docs-empty", proto::Docs{}},
      {"ack", proto::Ack{42}},
      {"error", proto::ErrorFrame{"protocol", "unexpected frame docs before auth"}},
      {"log-request", proto::LogRequest{"req_01", request_filter, 0}},
      {"log-request-resume", proto::LogRequest{"req-02", smallpeer::LogFilter{smallpeer::LogLevel::error, {}, {}, {}}, 65536}},
      {"log-chunk", proto::LogChunk{"req_01", 0, 11, "\x1f\x8b\x08hello"}},
      {"log-result-ok", proto::LogResult{"req_01", true, ""}},
      {"log-result-refused", proto::LogResult{"req_01", false, "the bundle is not valid gzip (truncated)"}},
      {"log-offer", proto::LogOffer{"dev_7", 4096, true}},
  };
  for (const auto& [name, frame] : all) {
    const std::string bytes = proto::encode(frame);
    write("frame_decode", name, bytes);
    if (name == "docs" || name == "hello") write("frame_decode", name + "-truncated", bytes.substr(0, bytes.size() - 3));
  }
  write("frame_decode", "unknown-type", std::string("\0\0\0\1\x7f", 5));
  write("frame_decode", "oversized-length", std::string("\xff\xff\xff\xff\x05", 5));
}

void metadata() {
  const std::vector<std::pair<std::string, std::string>> all = {
      {"empty-object", "{}"},
      {"store", R"({"store":"Berlin 12","till":3,"kiosk":true})"},
      {"nested", R"({"site":{"region":"eu","rack":[1,2,{"slot":"a"}]},"tags":["x","y"],"note":null})"},
      {"unicode", R"({"name":"Caf\u00e9 \ud83d\ude00","emoji":"☕"})"},
      {"spaces", " {\n  \"a\" : 1 ,\n  \"b\" : [ 1.5e3 , -0 ]\n} "},
      {"array", "[1,2,3]"},
      {"string", "\"hello\""},
      {"deep", std::string(40, '[') + std::string(40, ']')},
      {"deep-object", R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{}}}}}}}}})"},
      {"broken", R"({"a":)"},
      {"duplicate-keys", R"({"a":1,"a":2})"},
  };
  for (const auto& [name, text] : all) write("metadata", name, text);
}

void documents() {
  const std::vector<std::pair<std::string, std::string>> all = {
      {"with-id", R"({"_id":"o1","total":12.5})"},
      {"without-id", R"({"total":12.5,"items":["a","b"]})"},
      {"empty", "{}"},
      {"id-not-string", R"({"_id":7,"x":1})"},
      {"id-empty", R"({"_id":"","x":1})"},
      {"id-later", R"({"x":{"y":[true,false,null]},"_id":"later"})"},
      {"escapes", R"({"_id":"a\"b\\c\u0000","s":"line\nbreak\ttab"})"},
      {"numbers", R"({"_id":"n","big":18446744073709551615,"neg":-9223372036854775808,"f":1e308,"tiny":5e-324})"},
      {"array", R"([{"_id":"x"}])"},
      {"spaces", " {\t\"_id\" : \"s\" ,\r\n \"v\" : [ ] } "},
      {"broken", R"({"_id":"x",})"},
  };
  for (const auto& [name, text] : all) write("document_json", name, text);
}

void log_filters() {
  const std::vector<std::pair<std::string, std::string>> all = {
      {"info-range", "info\n2026-11-26T09:00:00Z\n2026-11-26T10:00:00Z\n\x03\x10"},
      {"offsets", "debug\n2026-11-26T09:00:00.123456+05:30\n2026-11-26T23:59:60-00:00\n\x05"},
      {"lower-case-t", "error\n2026-11-26t09:00:00z\n\n\x01"},
      {"empty", "\n\n\n"},
      {"bad-level", "Info\nyesterday\n2026-13-40T25:61:00Z\n\x09\xff"},
      {"far", "verbose\n0001-01-01T00:00:00Z\n9999-12-31T23:59:59.999999999Z\n\x05\x01"},
      {"warning", "warning\n1970-01-01T00:00:00Z\n1969-12-31T23:59:59Z\n\x02"},
  };
  for (const auto& [name, text] : all) write("log_filter", name, text);
}

void bundles() {
  // The first byte picks the read size (see gzip_bundle.cpp); the rest is the bundle.
  const std::string lines =
      R"({"ts":"2026-11-26T09:00:00.000Z","level":"info","peer":"pk1","component":"sync","msg":"connected"})"
      "\n"
      R"({"ts":"2026-11-26T09:00:01.500Z","level":"error","peer":"pk1","component":"logs","msg":"upload failed"})"
      "\n";
  const std::string one = gzip(lines);
  const std::string two = gzip(lines) + gzip("{}\n");
  // A read size that ends a read exactly where the first member ends.
  size_t boundary_read = 64;
  while (one.size() % boundary_read != 0) --boundary_read;
  const std::vector<std::pair<std::string, std::string>> all = {
      {"valid", std::string(1, '\x3f') + one},
      {"valid-small-reads", std::string(1, '\x00') + one},
      {"two-members", std::string(1, '\x3f') + two},
      {"two-members-byte-reads", std::string(1, '\x00') + two},
      {"two-members-boundary", std::string(1, static_cast<char>(boundary_read - 1)) + two},
      {"empty-content", std::string(1, '\x07') + gzip("")},
      {"truncated", std::string(1, '\x3f') + one.substr(0, one.size() - 5)},
      {"trailing-garbage", std::string(1, '\x3f') + one + "xyz"},
      {"not-gzip", std::string(1, '\x3f') + lines},
      {"empty", std::string(1, '\x3f')},
  };
  for (const auto& [name, bytes] : all) write("gzip_bundle", name, bytes);
}

void http_requests() {
  // Request targets and header values as the portal and the API clients send them.
  const std::vector<std::pair<std::string, std::string>> all = {
      {"target-devices", "/api/v1/devices?online=true&platform=iOS&limit=50"},
      {"target-escapes", "/api/v1/documents/orders/o%2F1?q=a+b%26c&limit=1000&limit=7"},
      {"target-bad-escape", "/api/v1/collections/%zz?x=%4"},
      {"target-relative", "api/v1/devices"},
      {"target-empty-pairs", "/?&&=&a&=b&limit="},
      {"bearer", "Bearer 0123456789abcdef0123456789abcdef"},
      {"bearer-spaces", "bearer    tok   "},
      {"cookie", "theme=dark; sp_session=3q2-7w; sp_csrf=x"},
      {"cookie-named", "sp_csrf\nsp_session=a;sp_csrf=b; sp_csrf=c"},
  };
  for (const auto& [name, text] : all) write("http_request", name, text);
}

void dql_queries() {
  // The arguments JSON on the first line, the query after it.
  const std::vector<std::pair<std::string, std::string>> all = {
      {"metadata-filter",
       "{\"site\":\"north\"}\nSELECT * FROM __small_peer_info WHERE metadata.site = :site "
       "ORDER BY device_disk_usage.device_available DESC LIMIT 10 OFFSET 2"},
      {"projection", "\nSELECT _id, metadata.app_version AS v FROM __small_peer_info WHERE sequence >= 3 AND NOT (x < -1.5e3)"},
      {"group", "\nSELECT metadata.site, COUNT(*) AS n FROM __small_peer_info GROUP BY metadata.site ORDER BY n DESC"},
      {"in-like",
       "{\"ids\":[\"a\",1,true,null],\"n\":2}\nselect `_id` from `cars` where _id in (:ids, 'b') or make "
       "not like 'V\\_%' or a is not missing or b is null limit :n;"},
      {"path-compare", "\nSELECT * FROM cars WHERE seats = seats OR a.b.c != 'it''s' OR x <> \"dq\""},
      {"bad", "\nSELECT * cars WHERE"},
      {"delete", "\nDELETE FROM cars"},
      {"nested", "\nSELECT * FROM c WHERE ((((((a = 1))))))"},
  };
  for (const auto& [name, text] : all) write("dql_query", name, text);
}

}  // namespace

// A client's frame: `first` is the header's first byte (FIN, RSV, opcode); the payload is masked
// unless `masked` is false.
std::string client_frame(unsigned first, const std::string& payload, bool masked = true) {
  std::string out(1, static_cast<char>(first));
  const unsigned mask_bit = masked ? 0x80 : 0;
  const size_t n = payload.size();
  if (n < 126) {
    out += static_cast<char>(mask_bit | n);
  } else {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  }
  const std::string key = "\x3a\xc5\x71\x0e";
  if (masked) out += key;
  for (size_t i = 0; i < n; ++i) out += masked ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i];
  return out;
}

// Seeds for websocket_reader: a limit byte (x257), a piece-size byte, then client frames.
void websocket_frames() {
  proto::Hello hello;
  hello.app_id = "com.example.fleet";
  hello.peer_key = "pk_4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99";
  const std::string frame = proto::encode(hello);
  const std::string prefix("\x20\x03", 2);  // limit 8,224 bytes, pieces of 4
  const std::vector<std::pair<std::string, std::string>> all = {
      {"hello", client_frame(0x82, frame)},
      {"fragmented-with-ping",
       client_frame(0x02, frame.substr(0, 10)) + client_frame(0x89, "ping") + client_frame(0x80, frame.substr(10))},
      {"long", client_frame(0x82, std::string(300, 'x'))},
      {"close", client_frame(0x88, std::string("\x03\xe8", 2))},
      {"pong-and-text", client_frame(0x8a, "") + client_frame(0x81, "text")},
      {"unmasked", client_frame(0x82, "abc", false)},
      {"claim-4mib", std::string("\x82\xff\x00\x00\x00\x00\x00\x40\x00\x00\x01\x02\x03\x04", 14)},
  };
  for (const auto& [name, bytes] : all) write("websocket_reader", name, prefix + bytes);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_corpus <corpus dir>\n";
    return 2;
  }
  root = argv[1];
  try {
    frames();
    metadata();
    documents();
    log_filters();
    bundles();
    http_requests();
    dql_queries();
    websocket_frames();
  } catch (const std::exception& e) {
    std::cerr << "fuzz_make_corpus: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
