# Runs raft_bench for half a second and checks the shape of what it prints:
# exactly one JSON line, from libraft, with ops > 0. Never a speed check.
#
#   cmake -DRAFT_BENCH=path/to/raft_bench -DDIR=data/dir [-DEXTRA=--processes] -P smoke.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(
  COMMAND ${RAFT_BENCH} --duration 0.5 --concurrency 8 --dir ${DIR} ${EXTRA}
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "raft_bench exited with ${rc}; stderr:\n${err}")
endif()
string(REGEX MATCHALL "\n" newlines "${out}")
list(LENGTH newlines lines)
if(NOT lines EQUAL 1 OR NOT out MATCHES "^{.*}\n$")
  message(FATAL_ERROR "raft_bench printed other than one JSON line:\n${out}")
endif()
string(JSON system ERROR_VARIABLE json_error GET "${out}" system)
string(JSON ops ERROR_VARIABLE json_error2 GET "${out}" ops)
if(json_error OR json_error2)
  message(FATAL_ERROR "raft_bench printed bad JSON (${json_error}${json_error2}):\n${out}")
endif()
if(NOT system STREQUAL "libraft" OR NOT ops GREATER 0)
  message(FATAL_ERROR "raft_bench printed system=${system} ops=${ops}:\n${out}")
endif()
message(STATUS "${out}")
