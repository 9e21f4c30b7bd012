# simdjson for the aarch64 cross build (cmake/aarch64-linux-gnu.cmake says why it is written here):
# the host's header, the arm64 runtime library of libsimdjson14:arm64.
set(_simdjson_lib /usr/lib/aarch64-linux-gnu/libsimdjson.so.14)
if(NOT EXISTS ${_simdjson_lib})
  set(simdjson_FOUND FALSE)
  set(simdjson_NOT_FOUND_MESSAGE "${_simdjson_lib} is missing: apt-get install libsimdjson14:arm64 (scripts/aarch64.sh)")
  return()
endif()
if(NOT TARGET simdjson::simdjson)
  add_library(simdjson::simdjson SHARED IMPORTED)
  set_target_properties(simdjson::simdjson PROPERTIES IMPORTED_LOCATION ${_simdjson_lib}
                                                      INTERFACE_INCLUDE_DIRECTORIES /usr/include)
endif()
set(simdjson_FOUND TRUE)
