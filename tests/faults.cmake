# CTest registrations for the fault-injection suite (tests/faults/test_*.py):
# Python 3 standard-library unittest files that drive the built accsim binary
# against hostile file-system states and signals. Included from the top-level
# CMakeLists.txt inside if(ACCSIM_TESTS). Every file is run as
#   python3 tests/faults/test_x.py ACCSIM CIFAR_DIR MODEL_DIR
# (faultlib.main() reads these; so does test_inputs.py). One CTest test per file, named
# faults_<file> (faults_outputs, faults_inputs, ...), labelled `faults`:
#
#   ctest -L faults --output-on-failure
#
# Each file skips (exit 77) when the CIFAR-10 batches are missing, and the
# whole suite is skipped when no Python 3 interpreter is found.

find_package(Python3 COMPONENTS Interpreter QUIET)

accsim_test_path(ACCSIM_FAULTS_DATA ACCSIM_DATA "${PROJECT_SOURCE_DIR}/../shared/cifar10")

# The shipped model: test files copy it where they need to break it.
set(ACCSIM_FAULTS_MODEL "${PROJECT_SOURCE_DIR}/data/lenet5-cifar10")

file(GLOB ACCSIM_FAULT_TEST_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/faults/test_*.py)
foreach(f ${ACCSIM_FAULT_TEST_FILES})
  get_filename_component(name ${f} NAME_WE)
  string(REGEX REPLACE "^test_" "faults_" test_name ${name})
  if(Python3_Interpreter_FOUND)
    add_test(NAME ${test_name}
             COMMAND ${Python3_EXECUTABLE} ${f}
                     $<TARGET_FILE:accsim> ${ACCSIM_FAULTS_DATA} ${ACCSIM_FAULTS_MODEL}
             WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/faults)
  else()
    add_test(NAME ${test_name}
             COMMAND sh -c "echo 'SKIP: no Python 3 interpreter found'; exit 77")
  endif()
  set_tests_properties(${test_name} PROPERTIES
    SKIP_RETURN_CODE 77
    TIMEOUT 1200
    LABELS faults)
endforeach()
