# OpenCL engine extras (issue 3): the benchmark program behind tools/bench and
# the sanitizer settings for tests that load PoCL. Included from the top-level
# CMakeLists.txt inside if(ACCSIM_TESTS).
if(ACCSIM_OPENCL)
  add_executable(accsim_bench ${PROJECT_SOURCE_DIR}/tools/bench_engines.c)
  target_include_directories(accsim_bench PRIVATE ${PROJECT_SOURCE_DIR}/host)
  target_link_libraries(accsim_bench PRIVATE accsim_core)

  # A smoke run so the benchmark keeps building and running.
  add_test(NAME bench_smoke
           COMMAND accsim_bench --cpu-images 8 --opencl-images 16 --repeat 1)
  set_tests_properties(bench_smoke PROPERTIES TIMEOUT 1800)

  if(ACCSIM_SANITIZE)
    # PoCL (and LLVM inside it) keeps allocations alive until exit that
    # LeakSanitizer reports as leaks; our own leaks are covered by the C
    # reference tests, which run without PoCL. Address and UB checks stay on.
    set_tests_properties(test_engines bench_smoke PROPERTIES
      ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")
  endif()
endif()
