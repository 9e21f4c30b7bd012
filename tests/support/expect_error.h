// Checks that a call throws smallpeer::Error with a given code and a message naming the problem.
#pragma once

#include <gtest/gtest.h>

#include <string_view>

#include "common/error.h"

namespace smallpeer::test_support {

/// Runs `f` and checks that it throws Error with `code` and a message containing `needle`.
template <class F>
void expect_error(F&& f, ErrorCode code, std::string_view needle) {
  try {
    f();
    ADD_FAILURE() << "expected an Error mentioning \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string_view(e.what()).find(needle), std::string_view::npos) << e.what();
  }
}

}  // namespace smallpeer::test_support
