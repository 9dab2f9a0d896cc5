# The OpenCL network engine: its benchmark (tools/bench_network.c) with a
# smoke run, and the sanitizer setting for its tests, which load PoCL.
# Included from the top-level CMakeLists.txt inside if(ACCSIM_TESTS).
if(ACCSIM_OPENCL)
  add_executable(accsim_bench_network ${PROJECT_SOURCE_DIR}/tools/bench_network.c)
  target_include_directories(accsim_bench_network PRIVATE ${PROJECT_SOURCE_DIR}/host
                             ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(accsim_bench_network PRIVATE accsim_core)

  add_test(NAME bench_network_smoke
           COMMAND accsim_bench_network --images 8 --repeat 1 --check 4 --bits 32,12)
  # With every histogram (partial sums too), compared bin for bin.
  add_test(NAME bench_network_hist_smoke
           COMMAND accsim_bench_network --images 1 --repeat 1 --check 1 --bits 12 --hist 2)
  # 77: no OpenCL device (skipped).
  set_tests_properties(bench_network_smoke bench_network_hist_smoke PROPERTIES TIMEOUT 1800
                       SKIP_RETURN_CODE 77)

  if(ACCSIM_SANITIZE)
    # PoCL keeps allocations alive until exit (see tests/opencl.cmake).
    set_tests_properties(test_network_opencl bench_network_smoke bench_network_hist_smoke PROPERTIES
      ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")
  endif()
endif()
