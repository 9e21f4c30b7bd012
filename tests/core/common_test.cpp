// core/common: the Error type, and the JSON writer and helpers of json.h (escaping, UTF-8, nesting,
// numbers, pretty printing). Everything written is parsed back with simdjson, the engine's parser.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "common/json.h"
#include "support/expect_error.h"

namespace smallpeer {
namespace {

// `text` written by append_json_string.
std::string json_quoted(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

// The string value of a JSON string literal, as simdjson reads it.
std::string parse_string(const std::string& json) {
  simdjson::dom::parser parser;
  std::string_view s;
  const auto err = parser.parse(json).get_string().get(s);
  EXPECT_FALSE(err) << json << ": " << simdjson::error_message(err);
  return std::string(s);
}

TEST(ErrorTest, CarriesItsCodeAndMessageAndIsARuntimeError) {
  for (const auto code : {ErrorCode::invalid_argument, ErrorCode::validation, ErrorCode::not_found, ErrorCode::closed,
                          ErrorCode::io, ErrorCode::locked, ErrorCode::store, ErrorCode::internal}) {
    try {
      throw Error(code, "what went wrong");
    } catch (const std::runtime_error& e) {
      const auto* error = dynamic_cast<const Error*>(&e);
      ASSERT_NE(error, nullptr);
      EXPECT_EQ(error->code(), code);
      EXPECT_STREQ(e.what(), "what went wrong");
    }
  }
}

TEST(JsonStringTest, ShortEscapesForQuoteBackslashAndNamedControls) {
  EXPECT_EQ(json_quoted(""), R"("")");
  EXPECT_EQ(json_quoted("plain"), R"("plain")");
  EXPECT_EQ(json_quoted("a\"b"), R"("a\"b")");
  EXPECT_EQ(json_quoted("a\\b"), R"("a\\b")");
  EXPECT_EQ(json_quoted("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(json_quoted("/"), R"("/")") << "a solidus needs no escape";
}

TEST(JsonStringTest, EveryOtherControlCharacterIsEscapedAsU00xx) {
  for (int c = 0; c < 0x20; ++c) {
    if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') continue;
    const std::string in(1, static_cast<char>(c));
    char expected[16];
    std::snprintf(expected, sizeof expected, "\"\\u%04x\"", c);
    EXPECT_EQ(json_quoted(in), expected) << "control character " << c;
  }
  EXPECT_EQ(json_quoted(std::string("a\0b", 3)), R"("a\u0000b")") << "an embedded NUL is kept, escaped";
}

TEST(JsonStringTest, EveryAsciiCharacterRoundTripsThroughTheParser) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(parse_string(json_quoted(all)), all);
  // Also one at a time, so escapes at the start and end of a run are covered.
  for (int c = 0; c < 0x80; ++c) {
    const std::string s = std::string("x") + static_cast<char>(c) + "y" + static_cast<char>(c);
    EXPECT_EQ(parse_string(json_quoted(s)), s) << "character " << c;
  }
}

// append_json_string tests eight bytes at a time: every byte value, at every place in and across
// those blocks and in the tail, must be escaped exactly as a byte-by-byte escaper would.
TEST(JsonStringTest, EveryByteAtEveryPlaceOfTheBlocksIsEscapedAsOneByOne) {
  for (int c = 0; c < 0x100; ++c) {
    for (size_t length = 1; length <= 19; ++length) {
      for (size_t at = 0; at < length; ++at) {
        std::string text(length, 'a');
        text[at] = static_cast<char>(c);
        std::string expected = "\"";
        for (size_t i = 0; i < length; ++i) {
          const std::string single = json_quoted(text.substr(i, 1));  // a one-byte string has no block
          expected += single.substr(1, single.size() - 2);
        }
        expected += '"';
        ASSERT_EQ(json_quoted(text), expected) << "byte " << c << " at " << at << " of " << length;
      }
    }
  }
}

TEST(JsonStringTest, Utf8PassesThroughUnchanged) {
  const std::string text = "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80 \xe2\x80\xa8";  // café 日本 🚀 U+2028
  EXPECT_EQ(json_quoted(text), "\"" + text + "\"");
  EXPECT_EQ(parse_string(json_quoted(text)), text);
}

TEST(JsonStringTest, AppendsToWhatIsAlreadyThere) {
  std::string out = "[";
  append_json_string(out, "a");
  out += ',';
  append_json_string(out, "b\n");
  EXPECT_EQ(out, R"(["a","b\n")");
}

TEST(JsonWriterTest, NestedContainersGetCommasOnlyBetweenElements) {
  JsonWriter w;
  w.begin_object()
      .key("a")
      .begin_array()
      .value(1)
      .begin_object()
      .end_object()
      .begin_array()
      .end_array()
      .begin_array()
      .value("x")
      .value("y")
      .end_array()
      .end_array()
      .key("b")
      .begin_object()
      .key("c")
      .begin_object()
      .key("d")
      .null()
      .end_object()
      .end_object()
      .key("e")
      .value(true)
      .end_object();
  EXPECT_EQ(w.str(), R"({"a":[1,{},[],["x","y"]],"b":{"c":{"d":null}},"e":true})");
  simdjson::dom::parser parser;
  EXPECT_FALSE(parser.parse(w.str()).error());
}

// A comma is written from the text before it: raw values and keys in every position must still
// get exactly the commas they need.
TEST(JsonWriterTest, RawValuesAndEmptyContainersGetTheirCommas) {
  JsonWriter w;
  w.begin_array().raw("{}").raw("[]").raw(R"("a,[")").begin_object().key("k").raw("[1,{}]").key("l").raw("0").end_object();
  w.begin_array().end_array().value("").raw("null").end_array();
  EXPECT_EQ(w.str(), R"([{},[],"a,[",{"k":[1,{}],"l":0},[],"",null])");
  simdjson::dom::parser parser;
  EXPECT_FALSE(parser.parse(w.str()).error());
}

TEST(JsonWriterTest, DeepNestingStaysBalanced) {
  JsonWriter w;
  constexpr int kDepth = 200;
  for (int i = 0; i < kDepth; ++i) w.begin_array().value(i);
  for (int i = 0; i < kDepth; ++i) w.end_array();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_FALSE(parser.parse(w.str()).get(root));
  int depth = 0;
  for (auto e = root; e.is_array(); e = e.get_array().at(1).value()) {
    EXPECT_EQ(e.get_array().at(0).get_int64().value(), depth);
    if (++depth == kDepth) break;
  }
  EXPECT_EQ(depth, kDepth);
}

TEST(JsonWriterTest, IntegersAtTheirLimits) {
  JsonWriter w;
  w.begin_array()
      .value(int64_t{0})
      .value(int64_t{-1})
      .value(std::numeric_limits<int64_t>::min())
      .value(std::numeric_limits<int64_t>::max())
      .value(uint64_t{0})
      .value(std::numeric_limits<uint64_t>::max())
      .value(std::numeric_limits<int>::min())
      .end_array();
  EXPECT_EQ(w.str(), "[0,-1,-9223372036854775808,9223372036854775807,0,18446744073709551615,-2147483648]");
  simdjson::dom::parser parser;
  simdjson::dom::array a;
  ASSERT_FALSE(parser.parse(w.str()).get_array().get(a));
  EXPECT_EQ(a.at(2).get_int64().value(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(a.at(5).get_uint64().value(), std::numeric_limits<uint64_t>::max());
}

TEST(JsonWriterTest, StringsBoolsNullsAndOptionals) {
  JsonWriter w;
  w.begin_object()
      .key("literal")
      .value("text")  // must not become a bool
      .key("view")
      .value(std::string_view("q\"uote"))
      .key("t")
      .value(true)
      .key("f")
      .value(false)
      .key("some")
      .value_or_null(std::optional<int64_t>(5))
      .key("none")
      .value_or_null(std::optional<std::string>())
      .key("raw")
      .raw(R"({"x":[1]})")
      .key("esc\nkey")
      .value("")
      .end_object();
  EXPECT_EQ(w.str(),
            R"({"literal":"text","view":"q\"uote","t":true,"f":false,"some":5,"none":null,"raw":{"x":[1]},"esc\nkey":""})");
  const std::string taken = w.take();
  EXPECT_EQ(taken.front(), '{');
}

TEST(JsonWriterTest, TopLevelScalar) {
  JsonWriter w;
  w.value("only");
  EXPECT_EQ(w.str(), R"("only")");
}

TEST(PrettyJsonTest, IndentsTwoSpacesPerLevel) {
  EXPECT_EQ(pretty_json(R"({"a":1,"b":[true,null,{"c":"d"}],"e":{},"f":[]})"),
            "{\n"
            "  \"a\": 1,\n"
            "  \"b\": [\n"
            "    true,\n"
            "    null,\n"
            "    {\n"
            "      \"c\": \"d\"\n"
            "    }\n"
            "  ],\n"
            "  \"e\": {},\n"
            "  \"f\": []\n"
            "}");
  EXPECT_EQ(pretty_json("  42 "), "42");
  EXPECT_EQ(pretty_json("[]"), "[]");
}

TEST(PrettyJsonTest, KeepsValuesExactly) {
  const std::string in =
      R"({"s":"tab\there \u00e9 \"q\" \\ \u0001","big":18446744073709551615,"neg":-9223372036854775808,"f":1.5})";
  const std::string out = pretty_json(in);
  simdjson::dom::parser a;
  simdjson::dom::parser b;
  EXPECT_EQ(simdjson::minify(a.parse(out).value()), simdjson::minify(b.parse(in).value()));
  EXPECT_NE(out.find("\\u0001"), std::string::npos) << "control characters stay escaped: " << out;
}

TEST(PrettyJsonTest, InvalidJsonIsRefusedWithAClearError) {
  for (const std::string_view bad : {"", "{", R"({"a":})", "[1,]", "nul", "{\"a\":1} x", "\"\xff\""}) {
    test_support::expect_error([&] { pretty_json(bad); }, ErrorCode::invalid_argument, "not valid JSON");
  }
}

}  // namespace
}  // namespace smallpeer
