# CTest registrations for the Python tools (tools/train_lenet5.py, tools/torch_parity.py).
# Included from the top-level CMakeLists.txt inside if(ACCSIM_TESTS).
#
# These need Debian's /usr/bin/python3 with python3-torch and python3-numpy, and the
# CIFAR-10 binary batches. Where any of that is missing, the tests SKIP (exit code 77)
# and say why, rather than fail.

set(ACCSIM_PY_INTERP /usr/bin/python3)
set(ACCSIM_PY_SKIP 77)

accsim_test_path(ACCSIM_PY_DATA ACCSIM_DATA "${PROJECT_SOURCE_DIR}/../shared/cifar10")
accsim_test_path(ACCSIM_PY_CS5120 ACCSIM_MODEL "${PROJECT_SOURCE_DIR}/../shared/models/cs5120-2021-lenet5")
set(ACCSIM_PY_SMOKE_MODEL "${PROJECT_BINARY_DIR}/py_smoke_model")

# Is there an interpreter with torch and numpy? Checked once at configure time; the
# scripts also check at run time and exit 77 under --skip-missing.
set(ACCSIM_PY_REASON "")
if(NOT EXISTS "${ACCSIM_PY_INTERP}")
  set(ACCSIM_PY_REASON "${ACCSIM_PY_INTERP} not found")
else()
  execute_process(COMMAND "${ACCSIM_PY_INTERP}" -c "import torch, numpy"
                  RESULT_VARIABLE _accsim_py_rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT _accsim_py_rc EQUAL 0)
    set(ACCSIM_PY_REASON
        "${ACCSIM_PY_INTERP} cannot import torch and numpy (apt-get install python3-torch python3-numpy)")
  endif()
endif()

set(ACCSIM_PY_TESTS
  py_train_smoke py_smoke_accsim_run py_smoke_torch_parity
  py_torch_parity_lenet5_cifar10 py_torch_parity_cs5120)

if(NOT ACCSIM_PY_REASON STREQUAL "")
  message(STATUS "Python tool tests will be skipped: ${ACCSIM_PY_REASON}")
  foreach(t ${ACCSIM_PY_TESTS})
    add_test(NAME ${t}
             COMMAND sh -c "echo \"SKIP: $1\"; exit 77" sh "${ACCSIM_PY_REASON}")
  endforeach()
else()
  # (a) the training tool on a small slice, then the export must load in accsim and
  # agree with PyTorch.
  add_test(NAME py_train_smoke
           COMMAND "${ACCSIM_PY_INTERP}" "${PROJECT_SOURCE_DIR}/tools/train_lenet5.py"
                   --data "${ACCSIM_PY_DATA}" --out "${ACCSIM_PY_SMOKE_MODEL}"
                   --train-limit 300 --epochs 1 --test-limit 1000 --calib-images 300
                   --skip-missing)
  set_tests_properties(py_train_smoke PROPERTIES FIXTURES_SETUP accsim_py_smoke_model)

  # A skipped setup test still lets its dependents run, so they check for the model
  # and the data themselves.
  add_test(NAME py_smoke_accsim_run
           COMMAND sh -c [=[
if [ ! -f "$2/test_batch.bin" ]; then echo "SKIP: CIFAR-10 not found in $2"; exit 77; fi
if [ ! -f "$1/scale.json" ]; then echo "SKIP: no smoke model in $1 (py_train_smoke skipped)"; exit 77; fi
exec "$3" run --model "$1" --data "$2" --split test --bits 32 --limit 50 --engine cpu --quiet --json -
]=] sh "${ACCSIM_PY_SMOKE_MODEL}" "${ACCSIM_PY_DATA}" "$<TARGET_FILE:accsim>")
  set_tests_properties(py_smoke_accsim_run PROPERTIES
    FIXTURES_REQUIRED accsim_py_smoke_model)

  add_test(NAME py_smoke_torch_parity
           COMMAND "${ACCSIM_PY_INTERP}" "${PROJECT_SOURCE_DIR}/tools/torch_parity.py"
                   --model "${ACCSIM_PY_SMOKE_MODEL}" --data "${ACCSIM_PY_DATA}"
                   --accsim "$<TARGET_FILE:accsim>" --engine cpu --limit 200
                   --skip-missing)
  set_tests_properties(py_smoke_torch_parity PROPERTIES
    FIXTURES_REQUIRED accsim_py_smoke_model)

  # (b) the full test split, for the committed model and for the course's model.
  add_test(NAME py_torch_parity_lenet5_cifar10
           COMMAND "${ACCSIM_PY_INTERP}" "${PROJECT_SOURCE_DIR}/tools/torch_parity.py"
                   --model "${PROJECT_SOURCE_DIR}/data/lenet5-cifar10"
                   --data "${ACCSIM_PY_DATA}"
                   --accsim "$<TARGET_FILE:accsim>" --engine cpu --skip-missing)
  add_test(NAME py_torch_parity_cs5120
           COMMAND "${ACCSIM_PY_INTERP}" "${PROJECT_SOURCE_DIR}/tools/torch_parity.py"
                   --model "${ACCSIM_PY_CS5120}" --data "${ACCSIM_PY_DATA}"
                   --accsim "$<TARGET_FILE:accsim>" --engine cpu --skip-missing)
endif()

set_tests_properties(${ACCSIM_PY_TESTS} PROPERTIES
  SKIP_RETURN_CODE ${ACCSIM_PY_SKIP}
  TIMEOUT 600
  LABELS python)
