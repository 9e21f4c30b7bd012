#include "log/log.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "clock/clock.h"
#include "common/error.h"
#include "support/temp_dir.h"
#include "sync/protocol.h"

namespace smallpeer {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> all_lines(const EngineLog& log) {
  std::vector<std::string> lines;
  for (const auto& file : log.files()) {
    auto more = read_lines(file);
    lines.insert(lines.end(), more.begin(), more.end());
  }
  return lines;
}

std::vector<std::string> read_gzip_lines(const fs::path& path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  EXPECT_NE(gz, nullptr);
  if (gz == nullptr) return {};
  std::string text;
  char buf[4096];
  for (int n; (n = gzread(gz, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(gzclose(gz), Z_OK);
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  return lines;
}

struct Line {
  std::string ts, level, peer, component, msg;
};

Line parse(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  const auto error = parser.parse(text).get(obj);
  EXPECT_FALSE(error) << "not a JSON object: " << text;
  if (error) return {};
  EXPECT_EQ(obj.size(), 5u) << text;
  auto field = [&](const char* key) {
    std::string_view value;
    EXPECT_FALSE(obj[key].get(value)) << key << " missing in " << text;
    return std::string(value);
  };
  return {field("ts"), field("level"), field("peer"), field("component"), field("msg")};
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& out = UserLogOutput::instance();
    out.set_console_enabled(false);
    out.set_enabled(true);
    out.set_minimum_level(LogLevel::info);
    out.set_log_file(std::nullopt);
  }
  void TearDown() override {
    auto& out = UserLogOutput::instance();
    for (const auto id : callbacks_) out.remove_callback(id);
    out.set_log_file(std::nullopt);
  }
  std::unique_ptr<EngineLog> open(EngineLogLimits limits = {}) {
    return std::make_unique<EngineLog>(dir_ / "logs", "pk-test", clock_, limits);
  }
  UserLogOutput::CallbackId capture(std::vector<std::pair<LogLevel, std::string>>& seen, std::mutex& mutex) {
    const auto id = UserLogOutput::instance().add_callback([&](LogLevel level, std::string_view msg) {
      std::lock_guard lock(mutex);
      seen.emplace_back(level, std::string(msg));
    });
    callbacks_.push_back(id);
    return id;
  }

  test_support::TempDir tmp_{"log-test"};
  const fs::path& dir_ = tmp_.path();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::vector<UserLogOutput::CallbackId> callbacks_;
};

// ---- levels ----

TEST(LogLevelTest, NamesRoundTrip) {
  for (const auto level : {LogLevel::error, LogLevel::warning, LogLevel::info, LogLevel::debug, LogLevel::verbose}) {
    EXPECT_EQ(parse_log_level(to_string(level)), level);
    EXPECT_TRUE(is_valid_log_level(static_cast<int32_t>(level)));
  }
  EXPECT_EQ(to_string(LogLevel::warning), "warning");
  EXPECT_EQ(to_string(LogLevel::verbose), "verbose");
}

TEST(LogLevelTest, RejectsUnknownNamesAndValues) {
  for (const auto* name : {"Info", "warn", "", "trace", "ERROR", " info", "info "})
    EXPECT_EQ(parse_log_level(name), std::nullopt) << name;
  for (const int32_t value : {0, 6, -1, 100}) EXPECT_FALSE(is_valid_log_level(value)) << value;
  EXPECT_THROW(UserLogOutput::instance().set_minimum_level(static_cast<LogLevel>(9)), Error);
}

// ---- engine files ----

TEST_F(LogTest, WritesOneJsonObjectPerLineWithEscaping) {
  auto log = open();
  const std::string tricky = "say \"hi\"\nnext line\ttab \\ back \x01 ctl héllo ✓ 😀";
  log->log(LogLevel::info, "spi", tricky);
  log->log(LogLevel::error, "store", "plain");
  log->log(LogLevel::warning, "sync", "bad utf8 \xff\xfe end");

  ASSERT_EQ(log->files(), std::vector<fs::path>{dir_ / "logs" / "smallpeer.log.jsonl"});
  const auto lines = read_lines(log->files()[0]);
  ASSERT_EQ(lines.size(), 3u);
  const auto first = parse(lines[0]);
  EXPECT_EQ(first.ts, format_rfc3339(clock_->now()));  // the injected clock, not spdlog's
  EXPECT_EQ(first.ts, "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(first.level, "info");
  EXPECT_EQ(first.peer, "pk-test");
  EXPECT_EQ(first.component, "spi");
  EXPECT_EQ(first.msg, tricky);
  EXPECT_EQ(lines[0].rfind(R"({"ts":")", 0), 0u);
  EXPECT_EQ(parse(lines[1]).level, "error");
  EXPECT_EQ(parse(lines[2]).msg, "bad utf8 \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(log->total_bytes(), fs::file_size(log->files()[0]));
}

TEST_F(LogTest, DebugReachesFilesButVerboseDoesNot) {
  auto log = open();
  log->log(LogLevel::debug, "spi", "debug line");
  log->log(LogLevel::verbose, "spi", "verbose line");
  const auto lines = all_lines(*log);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(parse(lines[0]).msg, "debug line");
  EXPECT_EQ(parse(lines[0]).level, "debug");
}

TEST_F(LogTest, LinesReachDiskWithoutFlushOrClose) {
  auto log = open();
  log->log(LogLevel::info, "spi", "durable");
  EXPECT_EQ(read_lines(dir_ / "logs" / "smallpeer.log.jsonl").size(), 1u);
}

TEST_F(LogTest, RotatesBySizeAndKeepsAtMostMaxFiles) {
  auto log = open({.max_file_bytes = 4096, .max_files = 3, .max_age = 72h});
  const std::string padding(60, 'x');
  for (int i = 0; i < 400; ++i) {
    log->log(LogLevel::info, "spi", "message " + std::to_string(i) + " " + padding);
    ASSERT_LE(log->files().size(), 3u) << "after message " << i;
    size_t on_disk = 0;
    for (const auto& entry : fs::directory_iterator(dir_ / "logs")) on_disk += entry.is_regular_file();
    ASSERT_LE(on_disk, 3u);
  }
  const auto files = log->files();
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files.back().filename(), "smallpeer.log.jsonl");
  for (const auto& file : files) EXPECT_LE(fs::file_size(file), 4096u) << file;

  // Oldest first, contiguous, ending at the newest message; the oldest messages are gone.
  const auto lines = all_lines(*log);
  ASSERT_GT(lines.size(), 40u);
  int expected = 400 - static_cast<int>(lines.size());
  EXPECT_GT(expected, 0);
  for (const auto& line : lines) EXPECT_EQ(parse(line).msg, "message " + std::to_string(expected++) + " " + padding);
  EXPECT_EQ(expected, 400);
}

TEST_F(LogTest, RotationIndexContinuesAfterReopen) {
  const EngineLogLimits limits{.max_file_bytes = 1024, .max_files = 5, .max_age = 72h};
  std::vector<fs::path> before;
  {
    auto log = open(limits);
    for (int i = 0; i < 30; ++i) log->log(LogLevel::info, "spi", "first run " + std::to_string(i) + std::string(50, 'a'));
    before = log->files();
  }
  auto log = open(limits);
  EXPECT_EQ(log->files(), before);
  for (int i = 0; i < 30; ++i) log->log(LogLevel::info, "spi", "second run " + std::to_string(i) + std::string(50, 'b'));
  const auto lines = all_lines(*log);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(parse(lines.back()).msg, "second run 29" + std::string(50, 'b'));
  const auto files = log->files();
  ASSERT_EQ(files.size(), 5u);
  EXPECT_LT(files[0].filename().string(), files[1].filename().string());  // zero-padded, ordered
}

TEST_F(LogTest, PrunesFilesOlderThanMaxAgeWhileRunning) {
  auto log = open({.max_file_bytes = 2048, .max_files = 15, .max_age = 1h});
  for (int i = 0; i < 60; ++i) log->log(LogLevel::info, "spi", "old " + std::to_string(i) + std::string(80, 'o'));
  ASSERT_GT(log->files().size(), 2u);

  clock_->advance(61min);
  log->log(LogLevel::info, "spi", "new");
  const auto files = log->files();
  ASSERT_EQ(files.size(), 1u);
  const auto lines = all_lines(*log);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(parse(lines[0]).msg, "new");
  size_t on_disk = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_ / "logs")) ++on_disk;
  EXPECT_EQ(on_disk, 1u);
}

TEST_F(LogTest, PrunesByNewestLineNotOldest) {
  auto log = open({.max_file_bytes = 1 << 20, .max_files = 15, .max_age = 1h});
  log->log(LogLevel::info, "spi", "early");
  clock_->advance(50min);
  log->log(LogLevel::info, "spi", "later");
  clock_->advance(20min);  // "early" is 70 min old, but the file's newest line only 20 min
  log->log(LogLevel::info, "spi", "now");
  EXPECT_EQ(all_lines(*log).size(), 3u);
}

TEST_F(LogTest, PrunesOldFilesAtOpen) {
  const EngineLogLimits limits{.max_file_bytes = 1024, .max_files = 15, .max_age = 72h};
  {
    auto log = open(limits);
    for (int i = 0; i < 30; ++i) log->log(LogLevel::info, "spi", "old " + std::to_string(i) + std::string(60, 'o'));
    ASSERT_GT(log->files().size(), 1u);
  }
  clock_->advance(73h);
  auto log = open(limits);
  EXPECT_EQ(log->total_bytes(), 0u);
  ASSERT_EQ(log->files().size(), 1u);
  EXPECT_TRUE(all_lines(*log).empty());
}

TEST_F(LogTest, RepairsPartialLastLineLeftByACrash) {
  fs::create_directories(dir_ / "logs");
  {
    std::ofstream out(dir_ / "logs" / "smallpeer.log.jsonl", std::ios::binary);
    out << R"({"ts":"2026-01-01T00:00:00.000Z","level":"info","peer":"pk-test","component":"spi","msg":"whole"})"
        << "\n"
        << R"({"ts":"2026-01-01T00:00:00.000Z","lev)";
  }
  auto log = open();
  log->log(LogLevel::info, "spi", "after crash");
  const auto lines = all_lines(*log);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(parse(lines.back()).msg, "after crash");

  const auto result = log->export_gzip(dir_ / "out.jsonl.gz", {});
  EXPECT_EQ(result.lines, 2u);
  EXPECT_EQ(result.malformed_lines, 1u);
}

TEST_F(LogTest, ConstructorFailsOnUnusableDirectory) {
  std::ofstream(dir_ / "a_file") << "x";
  try {
    EngineLog log(dir_ / "a_file" / "logs", "pk", clock_);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find((dir_ / "a_file" / "logs").string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(EngineLog(dir_ / "x", "pk", nullptr), Error);
  EXPECT_THROW(EngineLog(dir_ / "x", "pk", clock_, {.max_file_bytes = 0}), Error);
}

// ---- the log filter: one parser and one set of rules (C ABI, HTTP API, LOG_REQUEST) ----

std::string filter_error(std::string_view json, std::span<const LogFilterExtraField> extra = {}) {
  try {
    parse_log_filter(json, extra);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    return e.what();
  }
  return "accepted";
}

TEST(LogFilterTest, DefaultsKeepEveryLineTheFilesHold) {
  const LogFilter defaults = parse_log_filter("{}");
  EXPECT_EQ(defaults, LogFilter{});
  EXPECT_EQ(defaults.min_level, LogLevel::debug);
  EXPECT_FALSE(defaults.since || defaults.until || defaults.max_bytes);
  // null is the same as leaving the field out.
  EXPECT_EQ(parse_log_filter(R"({"min_level":null,"since":null,"until":null,"max_bytes":null})"), LogFilter{});
}

TEST(LogFilterTest, ParsesEveryField) {
  const auto f =
      parse_log_filter(R"({"min_level":"warning","since":"2026-11-26T09:00:00Z","until":"2026-11-26T10:00:00Z","max_bytes":1})");
  EXPECT_EQ(f.min_level, LogLevel::warning);
  EXPECT_EQ(f.since, parse_rfc3339("2026-11-26T09:00:00Z"));
  EXPECT_EQ(f.until, parse_rfc3339("2026-11-26T10:00:00Z"));
  EXPECT_EQ(f.max_bytes, 1u);
  EXPECT_TRUE(f.keeps(LogLevel::error, *f.since));
  EXPECT_TRUE(f.keeps(LogLevel::warning, *f.until));
  EXPECT_FALSE(f.keeps(LogLevel::info, *f.since));
  EXPECT_FALSE(f.keeps(LogLevel::error, *f.until + 1ms));
  EXPECT_FALSE(f.keeps(LogLevel::error, *f.since - 1ms));
}

TEST(LogFilterTest, RefusesWhatBreaksTheRulesNamingTheField) {
  EXPECT_NE(filter_error(R"({"min_level":"loud"})").find("min_level: unknown log level 'loud'"), std::string::npos);
  EXPECT_NE(filter_error(R"({"min_level":3})").find("min_level must be a string"), std::string::npos);
  EXPECT_NE(filter_error(R"({"since":"yesterday"})").find("since must be an RFC 3339 time"), std::string::npos);
  EXPECT_NE(filter_error(R"({"until":5})").find("until must be an RFC 3339 time"), std::string::npos);
  EXPECT_EQ(filter_error(R"({"since":"2026-11-26T10:00:00Z","until":"2026-11-26T09:00:00Z"})"), "since is after until");
  EXPECT_NE(filter_error(R"({"max_bytes":0})").find("max_bytes must be a positive integer"), std::string::npos);
  EXPECT_NE(filter_error(R"({"max_bytes":-1})").find("max_bytes"), std::string::npos);
  EXPECT_NE(filter_error(R"({"max_bytes":"10"})").find("max_bytes"), std::string::npos);
  EXPECT_EQ(filter_error(R"({"colour":"blue"})"), "unknown field 'colour'; expected min_level, since, until, max_bytes");
  EXPECT_NE(filter_error("[1]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(filter_error("").find("must be a JSON object"), std::string::npos);
  // A long unknown name is cut short in the message.
  EXPECT_LT(filter_error("{\"" + std::string(10000, 'k') + "\":1}").size(), 200u);
}

TEST(LogFilterTest, ExtraFieldsAreTheCallersAndNamedInTheMessage) {
  uint64_t ttl = 0;
  const LogFilterExtraField extra{"ttl_seconds", [&](const simdjson::dom::element& v) { ttl = v.get_uint64().value(); }};
  const auto f = parse_log_filter(R"({"ttl_seconds":60,"min_level":"info"})", {&extra, 1});
  EXPECT_EQ(ttl, 60u);
  EXPECT_EQ(f.min_level, LogLevel::info);
  EXPECT_EQ(filter_error(R"({"ttl":1})", {&extra, 1}),
            "unknown field 'ttl'; expected min_level, since, until, max_bytes, ttl_seconds");
}

TEST(LogFilterTest, ExportRefusesAFilterThatBreaksTheRules) {
  test_support::TempDir dir{"log-filter-test"};
  EngineLog log(dir.path() / "logs", "pk", std::make_shared<ManualClock>());
  LogFilter zero_cap;
  zero_cap.max_bytes = 0;
  EXPECT_THROW(log.export_gzip(dir.path() / "out.gz", zero_cap), Error);
  EXPECT_FALSE(fs::exists(dir.path() / "out.gz"));
}

// The LOG_REQUEST frame carries a LogFilter: u8 level, since/until ("" for none), u64 max bytes (0 for none).
TEST(LogFilterTest, LogRequestFrameCarriesTheFilterAndRefusesOneThatBreaksTheRules) {
  sync::LogRequest request{"lr_1",
                           parse_log_filter(R"({"min_level":"info","since":"2026-11-26T09:00:00.250Z","max_bytes":4096})"), 7};
  std::string error;
  const auto decoded = sync::decode(sync::encode(request), error);
  ASSERT_TRUE(decoded) << error;
  const auto& back = std::get<sync::LogRequest>(*decoded);
  EXPECT_EQ(back.filter, request.filter);
  EXPECT_EQ(back.resume_offset, 7u);
  EXPECT_EQ(std::get<sync::LogRequest>(*sync::decode(sync::encode(sync::LogRequest{"lr_2", {}, 0}), error)).filter, LogFilter{});

  const auto refused = [&](sync::LogRequest bad, std::string_view replace = {}, std::string_view with = {}) {
    std::string bytes = sync::encode(bad);
    if (!replace.empty()) bytes.replace(bytes.find(replace), replace.size(), with);
    std::string why;
    return !sync::decode(bytes, why) && !why.empty();
  };
  auto backwards = request;
  backwards.filter.until = *request.filter.since - 1s;
  EXPECT_TRUE(refused(backwards));
  auto no_level = request;
  no_level.filter.min_level = static_cast<LogLevel>(0);
  EXPECT_TRUE(refused(no_level));
  // Same length as the time it replaces, so only the text is wrong.
  EXPECT_TRUE(refused(request, "2026-11-26T09:00:00.250Z", "2026-11-26T09:00:00.25?Z"));
}

// ---- export ----

class LogExportTest : public LogTest {
 protected:
  template <typename F>
  static LogFilter options(F set) {
    LogFilter o;
    set(o);
    return o;
  }
  // One line per level, a minute apart, oldest first: error, warning, info, debug (verbose is not kept).
  void write_levels(EngineLog& log) {
    for (const auto level : {LogLevel::error, LogLevel::warning, LogLevel::info, LogLevel::debug, LogLevel::verbose}) {
      log.log(level, "spi", std::string("at ") + std::string(to_string(level)));
      clock_->advance(1min);
    }
  }
  void SetUp() override {
    LogTest::SetUp();
    out_ = dir_ / "export.jsonl.gz";
  }
  fs::path out_;
};

TEST_F(LogExportTest, KeepsEverythingByDefaultAsValidGzip) {
  auto log = open();
  write_levels(*log);
  const auto result = log->export_gzip(out_, {});
  const auto lines = read_gzip_lines(out_);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(result.lines, 4u);
  EXPECT_FALSE(result.truncated);
  EXPECT_EQ(result.malformed_lines, 0u);
  EXPECT_EQ(result.compressed_bytes, fs::file_size(out_));
  uint64_t bytes = 0;
  for (const auto& line : lines) bytes += line.size() + 1;
  EXPECT_EQ(result.uncompressed_bytes, bytes);
  EXPECT_EQ(parse(lines[0]).msg, "at error");
  EXPECT_EQ(parse(lines[3]).msg, "at debug");
  EXPECT_EQ(lines, all_lines(*log));  // byte for byte
}

TEST_F(LogExportTest, FiltersByMinimumLevel) {
  auto log = open();
  write_levels(*log);
  const auto result = log->export_gzip(out_, options([](auto& o) { o.min_level = LogLevel::warning; }));
  const auto lines = read_gzip_lines(out_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(result.lines, 2u);
  EXPECT_EQ(parse(lines[0]).level, "error");
  EXPECT_EQ(parse(lines[1]).level, "warning");
}

TEST_F(LogExportTest, FiltersByInclusiveTimeWindow) {
  const auto start = clock_->now();
  auto log = open();
  for (int i = 0; i < 6; ++i) {
    log->log(LogLevel::info, "spi", "minute " + std::to_string(i));
    clock_->advance(1min);
  }
  const auto result = log->export_gzip(out_, options([&](auto& o) {
                                         o.since = start + 2min;
                                         o.until = start + 4min;
                                       }));
  const auto lines = read_gzip_lines(out_);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(result.lines, 3u);
  EXPECT_EQ(parse(lines[0]).msg, "minute 2");
  EXPECT_EQ(parse(lines[2]).msg, "minute 4");

  EXPECT_EQ(log->export_gzip(out_, options([&](auto& o) { o.since = start + 5min; })).lines, 1u);
  EXPECT_EQ(log->export_gzip(out_, options([&](auto& o) { o.until = start - 1ms; })).lines, 0u);
  EXPECT_TRUE(read_gzip_lines(out_).empty());  // still a valid (empty) gzip file
}

TEST_F(LogExportTest, MaxBytesKeepsTheNewestLinesAcrossFiles) {
  auto log = open({.max_file_bytes = 2048, .max_files = 15, .max_age = 72h});
  for (int i = 0; i < 100; ++i) log->log(LogLevel::info, "spi", "line " + std::to_string(i));
  ASSERT_GT(log->files().size(), 2u);
  const auto all = all_lines(*log);
  ASSERT_EQ(all.size(), 100u);
  const uint64_t cap = (all[97].size() + 1) + (all[98].size() + 1) + (all[99].size() + 1) + 5;

  const auto result = log->export_gzip(out_, options([&](auto& o) { o.max_bytes = cap; }));
  const auto lines = read_gzip_lines(out_);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(result.lines, 3u);
  EXPECT_TRUE(result.truncated);
  EXPECT_LE(result.uncompressed_bytes, cap);
  EXPECT_EQ(parse(lines[0]).msg, "line 97");
  EXPECT_EQ(parse(lines[2]).msg, "line 99");

  const auto everything = log->export_gzip(out_, options([](auto& o) { o.max_bytes = 1 << 20; }));
  EXPECT_EQ(everything.lines, 100u);
  EXPECT_FALSE(everything.truncated);
}

// Several logs merge by time, newest kept under the cap; a capped export stops at the oldest line
// it keeps, so lines older than that (here malformed ones) are not even looked at.
TEST_F(LogExportTest, MergedLogsKeepTheNewestLinesAcrossLogsAndACapLooksNoFurther) {
  auto first = open();
  EngineLog second(dir_ / "logs-2", "pk-second", clock_);
  {
    std::ofstream out(first->files().back(), std::ios::binary | std::ios::app);
    out << "not json\n";  // the oldest line of the first log
  }
  for (int i = 0; i < 6; ++i) {
    (i % 2 == 0 ? *first : second).log(LogLevel::info, "spi", "line " + std::to_string(i));
    clock_->advance(1s);
  }
  const auto all = EngineLog::export_gzip({first.get(), &second}, out_, {});
  EXPECT_EQ(all.lines, 6u);
  EXPECT_EQ(all.malformed_lines, 1u);
  auto lines = read_gzip_lines(out_);
  ASSERT_EQ(lines.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(parse(lines[i]).msg, "line " + std::to_string(i));

  const uint64_t cap = lines[3].size() + lines[4].size() + lines[5].size() + 3;
  const auto capped = EngineLog::export_gzip({first.get(), &second}, out_, options([&](auto& o) { o.max_bytes = cap; }));
  EXPECT_TRUE(capped.truncated);
  EXPECT_EQ(capped.lines, 3u);
  EXPECT_EQ(capped.uncompressed_bytes, cap);
  EXPECT_EQ(capped.malformed_lines, 0u) << "a capped export looked past the oldest line it keeps";
  lines = read_gzip_lines(out_);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(parse(lines[0]).msg, "line 3");
  EXPECT_EQ(parse(lines[0]).peer, "pk-second");
  EXPECT_EQ(parse(lines[2]).msg, "line 5");
}

TEST_F(LogExportTest, SkipsAndCountsMalformedLines) {
  auto log = open();
  log->log(LogLevel::info, "spi", "good 1");
  {
    std::ofstream out(log->files().back(), std::ios::binary | std::ios::app);
    out << "not json\n"
        << R"({"ts":"yesterday","level":"info","msg":"bad ts"})" << '\n'
        << R"({"ts":"2026-01-01T00:00:00.000Z","level":"trace","msg":"bad level"})" << '\n';
  }
  log->log(LogLevel::info, "spi", "good 2");
  const auto result = log->export_gzip(out_, {});
  EXPECT_EQ(result.lines, 2u);
  EXPECT_EQ(result.malformed_lines, 3u);
  const auto lines = read_gzip_lines(out_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(parse(lines[1]).msg, "good 2");
}

TEST_F(LogExportTest, UnwritablePathFailsWithIoNamingThePath) {
  auto log = open();
  write_levels(*log);
  std::ofstream(dir_ / "plain_file") << "x";
  const auto bad = dir_ / "plain_file" / "export.jsonl.gz";  // a file as parent fails even for root
  try {
    log->export_gzip(bad, {});
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
  }
}

TEST_F(LogExportTest, ExportWhileOtherThreadsLogAndRotate) {
  auto log = open({.max_file_bytes = 4096, .max_files = 4, .max_age = 72h});
  std::vector<std::jthread> writers;  // joined even if an assertion throws
  for (int t = 0; t < 3; ++t)
    writers.emplace_back([&, t](std::stop_token stop) {
      for (int i = 0; !stop.stop_requested(); ++i)
        log->log(LogLevel::debug, "t" + std::to_string(t), "message " + std::to_string(i));
    });
  for (int i = 0; i < 20; ++i) {
    const auto result = log->export_gzip(out_, {});
    EXPECT_EQ(result.malformed_lines, 0u);
    const auto lines = read_gzip_lines(out_);
    EXPECT_EQ(lines.size(), result.lines);
    for (const auto& line : lines) EXPECT_EQ(parse(line).peer, "pk-test");
    EXPECT_LE(log->files().size(), 4u);
  }
  writers.clear();
  for (const auto& line : all_lines(*log)) parse(line);
}

// ---- user output ----

TEST_F(LogTest, CallbackReceivesMessagesPassingTheMinimumLevel) {
  std::mutex mutex;
  std::vector<std::pair<LogLevel, std::string>> seen;
  capture(seen, mutex);
  auto& out = UserLogOutput::instance();
  out.write(LogLevel::info, "shown info");
  out.write(LogLevel::debug, "hidden debug");
  out.write(LogLevel::error, "shown error");
  out.set_minimum_level(LogLevel::verbose);
  EXPECT_EQ(out.minimum_level(), LogLevel::verbose);
  out.write(LogLevel::verbose, "shown verbose");
  const std::vector<std::pair<LogLevel, std::string>> expected{
      {LogLevel::info, "shown info"}, {LogLevel::error, "shown error"}, {LogLevel::verbose, "shown verbose"}};
  EXPECT_EQ(seen, expected);
}

TEST_F(LogTest, EngineMessagesReachUserOutputIncludingVerbose) {
  std::mutex mutex;
  std::vector<std::pair<LogLevel, std::string>> seen;
  capture(seen, mutex);
  UserLogOutput::instance().set_minimum_level(LogLevel::verbose);
  auto log = open();
  log->log(LogLevel::verbose, "spi", "collected");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first, LogLevel::verbose);
  EXPECT_EQ(seen[0].second, "[spi] collected");
  EXPECT_TRUE(all_lines(*log).empty());  // verbose still never reaches the files
}

TEST_F(LogTest, NothingIsShownWhenDisabledButEngineFilesStillGetLines) {
  std::mutex mutex;
  std::vector<std::pair<LogLevel, std::string>> seen;
  capture(seen, mutex);
  auto& out = UserLogOutput::instance();
  out.set_log_file(dir_ / "user.log");
  out.set_enabled(false);
  EXPECT_FALSE(out.enabled());
  out.write(LogLevel::error, "hidden");
  auto log = open();
  log->log(LogLevel::error, "spi", "engine keeps this");
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(fs::file_size(dir_ / "user.log"), 0u);
  EXPECT_EQ(all_lines(*log).size(), 1u);
  out.set_enabled(true);
  out.write(LogLevel::error, "shown");
  EXPECT_EQ(seen.size(), 1u);
}

TEST_F(LogTest, RemovedCallbackIsNotCalledAgain) {
  std::mutex mutex;
  std::vector<std::pair<LogLevel, std::string>> seen;
  const auto id = capture(seen, mutex);
  auto& out = UserLogOutput::instance();
  out.write(LogLevel::info, "one");
  out.remove_callback(id);
  out.remove_callback(id);  // unknown ids are ignored
  out.write(LogLevel::info, "two");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].second, "one");
}

TEST_F(LogTest, RemoveCallbackFromInsideItselfDoesNotDeadlock) {
  auto& out = UserLogOutput::instance();
  std::atomic<int> calls{0};
  UserLogOutput::CallbackId id = 0;
  id = out.add_callback([&](LogLevel, std::string_view) {
    ++calls;
    out.remove_callback(id);
    out.write(LogLevel::error, "logged from inside a callback");  // not fed back to callbacks
  });
  out.write(LogLevel::info, "one");
  out.write(LogLevel::info, "two");
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(LogTest, RemoveCallbackWaitsForARunningCall) {
  auto& out = UserLogOutput::instance();
  std::atomic<bool> entered{false}, release{false}, finished{false};
  const auto id = out.add_callback([&](LogLevel, std::string_view) {
    entered = true;
    while (!release) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(20ms);
    finished = true;
  });
  std::jthread logger([&] { out.write(LogLevel::info, "slow"); });
  while (!entered) std::this_thread::sleep_for(1ms);
  release = true;
  out.remove_callback(id);
  EXPECT_TRUE(finished.load());  // remove_callback returned only after the call ended
}

TEST_F(LogTest, ConcurrentWritesAndCallbackChurn) {
  auto& out = UserLogOutput::instance();
  std::atomic<int> after_remove{0};
  std::vector<std::jthread> writers;
  for (int t = 0; t < 3; ++t)
    writers.emplace_back([&](std::stop_token stop) {
      while (!stop.stop_requested()) out.write(LogLevel::warning, "busy");
    });
  for (int i = 0; i < 200; ++i) {
    auto removed = std::make_shared<std::atomic<bool>>(false);
    const auto id = out.add_callback([removed, &after_remove](LogLevel, std::string_view) {
      if (*removed) ++after_remove;
    });
    std::this_thread::yield();
    out.remove_callback(id);
    *removed = true;
  }
  writers.clear();
  EXPECT_EQ(after_remove.load(), 0);
}

TEST_F(LogTest, LogFileReceivesShownLines) {
  auto& out = UserLogOutput::instance();
  const auto path = dir_ / "user.log";
  out.set_log_file(path);
  out.write(LogLevel::warning, "to the file");
  out.write(LogLevel::debug, "below minimum");
  out.set_log_file(std::nullopt);
  out.write(LogLevel::error, "after closing");

  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("[warning] to the file"), std::string::npos) << lines[0];

  out.set_log_file(path);  // appends
  out.write(LogLevel::error, "again");
  EXPECT_EQ(read_lines(path).size(), 2u);
}

TEST_F(LogTest, UnopenableLogFileFailsWithIoNamingThePath) {
  auto& out = UserLogOutput::instance();
  const auto good = dir_ / "user.log";
  out.set_log_file(good);
  std::ofstream(dir_ / "plain_file") << "x";
  const auto bad = dir_ / "plain_file" / "user.log";
  try {
    out.set_log_file(bad);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
  }
  // The failure changed nothing: the file set before still receives the shown lines.
  out.write(LogLevel::error, "still here");
  const auto lines = read_lines(good);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("[error] still here"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace smallpeer
