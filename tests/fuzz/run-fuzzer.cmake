# cmake -DFUZZER=exe -DCORPUS=dir -DWORK=dir -DSECONDS=n -P run-fuzzer.cmake
#
# Copies the seed corpus into WORK/corpus (the fuzzer adds what it finds
# there, never to the repository), runs the fuzzer for SECONDS and fails if
# it stops for any reason other than running out of time. Crash inputs land
# in WORK/ as crash-*, leak-*, timeout-*; rerun one with `FUZZER WORK/crash-...`.
foreach(v FUZZER CORPUS WORK SECONDS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run-fuzzer.cmake: -D${v}= is required")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus)
file(GLOB seeds ${CORPUS}/*)
if(seeds)
  file(COPY ${seeds} DESTINATION ${WORK}/corpus)
endif()

execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=10
          -print_final_stats=1 -artifact_prefix=${WORK}/ ${WORK}/corpus
  WORKING_DIRECTORY ${WORK}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found ${WORK}/crash-* ${WORK}/leak-* ${WORK}/timeout-* ${WORK}/oom-*)
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}); replay with `${FUZZER} FILE`, "
          "where FILE is one of: ${found}")
endif()
