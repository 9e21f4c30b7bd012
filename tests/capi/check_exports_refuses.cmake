# check_exports.cmake can fail: run against deliberately mismatched copies of the list and the
# headers, it must fail and name the symbol at fault. Three cases:
#   1. the list lacks sp_version, which the library exports and the header declares
#      (an export that is not in the list);
#   2. the list names sp_not_a_function, which nothing declares or exports;
#   3. a header declares sp_added_without_listing, which the list lacks.
#   cmake -DLIB=... -DLIST=capi/exports.txt -DHEADER_DIR=capi/include/smallpeer -DCHECKER=check_exports.cmake
#         -DWORK_DIR=dir -P check_exports_refuses.cmake
cmake_minimum_required(VERSION 3.25)
foreach(var LIB LIST HEADER_DIR CHECKER WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_exports_refuses: pass -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
file(READ "${LIST}" list_text)
if(NOT list_text MATCHES "\nsp_version\n")
  message(FATAL_ERROR "${LIST} does not list sp_version; this test needs a listed, exported symbol to drop")
endif()

# Runs the checker; fails this test unless it fails with every string in ARGN in its output.
function(expect_refusal case list header_dir)
  execute_process(COMMAND ${CMAKE_COMMAND} -DLIB=${LIB} -DLIST=${list} -DHEADER_DIR=${header_dir} -P ${CHECKER}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(rc EQUAL 0)
    message(FATAL_ERROR "${case}: the checker passed a mismatched list:\n${out}${err}")
  endif()
  foreach(expected IN LISTS ARGN)
    string(FIND "${out}${err}" "${expected}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${case}: the checker failed without saying '${expected}':\n${out}${err}")
    endif()
  endforeach()
  message(STATUS "${case}: refused, as it must be")
endfunction()

# The unchanged inputs pass, so the refusals below are caused by the edits alone.
execute_process(COMMAND ${CMAKE_COMMAND} -DLIB=${LIB} -DLIST=${LIST} -DHEADER_DIR=${HEADER_DIR} -P ${CHECKER}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the checker refuses the real list, headers and library:\n${out}${err}")
endif()

string(REPLACE "\nsp_version\n" "\n" without "${list_text}")
file(WRITE "${WORK_DIR}/exports_without_sp_version.txt" "${without}")
expect_refusal("exported but not listed" "${WORK_DIR}/exports_without_sp_version.txt" "${HEADER_DIR}"
               "exported by" "but not in exports_without_sp_version.txt: sp_version"
               "declared in a header but not in exports_without_sp_version.txt: sp_version")

file(WRITE "${WORK_DIR}/exports_with_extra.txt" "${list_text}sp_not_a_function\n")
expect_refusal("listed but absent" "${WORK_DIR}/exports_with_extra.txt" "${HEADER_DIR}"
               "in exports_with_extra.txt but not exported by" "sp_not_a_function")

file(COPY "${HEADER_DIR}/" DESTINATION "${WORK_DIR}/headers")
file(WRITE "${WORK_DIR}/headers/extra.h" "SP_API sp_status_t\n  sp_added_without_listing(sp_ditto_t* ditto);\n")
expect_refusal("declared but not listed" "${LIST}" "${WORK_DIR}/headers"
               "declared in a header but not in exports.txt: sp_added_without_listing")
