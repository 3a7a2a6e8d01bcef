# Runs onnx_backend_runner over every case directory of ONNX's backend test data.
file(GLOB cases LIST_DIRECTORIES true ${DATA}/node/* ${DATA}/pytorch-converted/*
     ${DATA}/pytorch-operator/* ${DATA}/simple/*)
list(FILTER cases EXCLUDE REGEX "\\.[a-z]+$")
execute_process(COMMAND ${RUNNER} -q --expect ${EXPECT} --skip ${SKIP} ${cases}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(WRITE ${OUT} "${out}${err}")
string(REGEX MATCH "onnx backend cases:[^\n]*" summary "${out}")
string(REGEX MATCHALL "(FAIL|CRASH|REGRESSION) [^\n]*" bad "${out}")
foreach(line ${bad})
  message("${line}")
endforeach()
message("${summary} (full list: ${OUT})")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ONNX backend data: failures or missing expected passes")
endif()
