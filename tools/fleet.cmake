# `smallpeer fleet`: N real small peers in one process (the simulated fleet and the benchmarks' load
# generator). Included from tools/CMakeLists.txt; paths are relative to this file so it also works
# when included from elsewhere. Its tests are tests/tools/fleet_test.cpp (tests/CMakeLists.txt).
add_library(smallpeer_fleet STATIC
  ${CMAKE_CURRENT_LIST_DIR}/fleet.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fleet_command.cpp
)
target_include_directories(smallpeer_fleet PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(smallpeer_fleet PUBLIC smallpeer_core CLI11::CLI11 fmt::fmt)
