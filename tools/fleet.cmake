# `smallpeer fleet`: N real small peers in one process (the simulated fleet and the benchmarks' load
# generator). Included from tools/CMakeLists.txt; paths are relative to this file so it also works
# when included from elsewhere.
add_library(smallpeer_fleet STATIC
  ${CMAKE_CURRENT_LIST_DIR}/fleet.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fleet_command.cpp
)
target_include_directories(smallpeer_fleet PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(smallpeer_fleet PUBLIC smallpeer_core CLI11::CLI11 fmt::fmt)

if(SMALLPEER_BUILD_TESTS)
  # Real engine instances against a closed loopback port: no Big Peer needed.
  add_executable(smallpeer_fleet_tests ${CMAKE_CURRENT_LIST_DIR}/../tests/tools/fleet_test.cpp)
  target_include_directories(smallpeer_fleet_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../tests)
  target_link_libraries(smallpeer_fleet_tests PRIVATE smallpeer_fleet GTest::gtest_main simdjson::simdjson)
  gtest_discover_tests(smallpeer_fleet_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 180)
endif()
