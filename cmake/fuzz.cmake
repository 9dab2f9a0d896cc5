# libFuzzer harnesses (tests/fuzz/fuzz_*.c), one executable each, built with
# clang when ACCSIM_FUZZ is ON (tools/fuzz.sh does that in build-fuzz/). The
# library is instrumented for coverage with fuzzer-no-link, so the harnesses
# explore the loaders' own branches; ASan and UBSan are on throughout.
file(GLOB ACCSIM_FUZZ_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
foreach(src ${ACCSIM_FUZZ_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/host)
  target_link_libraries(${name} PRIVATE accsim_core)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endforeach()
