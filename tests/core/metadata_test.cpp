#include "spi/metadata.h"

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"

using namespace smallpeer;

namespace {
// A minified object of exactly `bytes` bytes: {"k":"xxxx..."}.
std::string object_of_size(size_t bytes) {
  const std::string frame = R"({"k":""})";
  return R"({"k":")" + std::string(bytes - frame.size(), 'x') + R"("})";
}

std::string nested_objects(size_t depth) {
  std::string s;
  for (size_t i = 1; i < depth; ++i) s += R"({"a":)";
  s += "{}";
  for (size_t i = 1; i < depth; ++i) s += "}";
  return s;
}

std::string error_of(std::string_view json) {
  try {
    validate_metadata(json);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation);
    return e.what();
  }
  ADD_FAILURE() << "accepted " << json.substr(0, 40);
  return {};
}
}  // namespace

TEST(Metadata, ExactlyTheSizeLimitPassesOneByteMoreFails) {
  EXPECT_EQ(validate_metadata(object_of_size(kMaxMetadataBytes)).size(), kMaxMetadataBytes);
  const auto msg = error_of(object_of_size(kMaxMetadataBytes + 1));
  EXPECT_NE(msg.find("131072"), std::string::npos) << msg;
  EXPECT_NE(msg.find("128 KB"), std::string::npos) << msg;
}

TEST(Metadata, DepthSixtyFourPassesSixtyFiveFails) {
  EXPECT_NO_THROW(validate_metadata(nested_objects(64)));
  const auto msg = error_of(nested_objects(65));
  EXPECT_NE(msg.find("64 levels"), std::string::npos) << msg;
}

TEST(Metadata, ArraysCountTowardsDepth) {
  std::string s = R"({"a":)" + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_NO_THROW(validate_metadata(s));
  s = R"({"a":)" + std::string(64, '[') + std::string(64, ']') + "}";
  EXPECT_NE(error_of(s).find("64 levels"), std::string::npos);
}

TEST(Metadata, NonObjectsAndBrokenJsonFailWithAMessageNamingTheProblem) {
  EXPECT_NE(error_of("[1,2]").find("must be a JSON object, not an array"), std::string::npos);
  EXPECT_NE(error_of("42").find("must be a JSON object, not a number"), std::string::npos);
  EXPECT_NE(error_of(R"("text")").find("not a string"), std::string::npos);
  EXPECT_NE(error_of(R"({"a":)").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("").find("not valid JSON"), std::string::npos);
}

TEST(Metadata, IsStoredMinified) {
  EXPECT_EQ(validate_metadata(R"({ "site" : "north",  "n" : [1, 2] })"), R"({"site":"north","n":[1,2]})");
}
