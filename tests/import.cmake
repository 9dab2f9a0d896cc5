# CTest registrations for the TFLite importer (tools/import_tflite.py) and its
# parity with the TFLite interpreter (tools/tflite_parity.py). Included from the
# top-level CMakeLists.txt inside if(ACCSIM_TESTS).
#
# The tools run in a virtual environment with pinned PyPI packages (tflite,
# numpy, ai-edge-litert) that tools/setup-python-tools.sh creates in the build
# folder (pytools/). Where it cannot be made (no network, no python3-venv), or
# the real model or CIFAR-10 is missing, the tests SKIP (exit code 77) and say why.

set(ACCSIM_IMPORT_SKIP 77)
set(ACCSIM_IMPORT_CHECK "${PROJECT_SOURCE_DIR}/tests/import_check.sh")
set(ACCSIM_IMPORT_WORK "${PROJECT_BINARY_DIR}/import_test")
set(ACCSIM_IMPORT_MODELS "${ACCSIM_IMPORT_WORK}/models")

accsim_test_path(ACCSIM_IMPORT_DATA ACCSIM_DATA "${PROJECT_SOURCE_DIR}/../shared/cifar10")
accsim_test_path(ACCSIM_IMPORT_RESNET8 ACCSIM_RESNET8
  "${PROJECT_SOURCE_DIR}/../shared/models/mlperf-tiny-resnet8/resnet8_int8.tflite")

set(ACCSIM_IMPORT_TESTS)
macro(accsim_import_test name)
  add_test(NAME ${name} COMMAND ${ARGN})
  list(APPEND ACCSIM_IMPORT_TESTS ${name})
endmacro()

# The environment, once (the tests below call the script again: a no-op then).
accsim_import_test(import_pytools_setup "${PROJECT_SOURCE_DIR}/tools/setup-python-tools.sh")
set_tests_properties(import_pytools_setup PROPERTIES FIXTURES_SETUP accsim_import_pytools)

# The importer's arithmetic (QuantizeMultiplier, activation ranges), netdesc_ref's
# fixed-point helpers and rounding rules on hand-computed cases, and the ties
# model against TFLite's reference kernels on random images.
accsim_import_test(import_unit
  "${ACCSIM_IMPORT_CHECK}" run "${PROJECT_SOURCE_DIR}/tests/test_import_tflite.py")
set_tests_properties(import_unit PROPERTIES FIXTURES_REQUIRED accsim_import_pytools)

# Small models made at test time (tests/make_tflite_models.py).
accsim_import_test(import_make_models
  "${ACCSIM_IMPORT_CHECK}" run "${PROJECT_SOURCE_DIR}/tests/make_tflite_models.py"
  "${ACCSIM_IMPORT_MODELS}")
set_tests_properties(import_make_models PROPERTIES
  FIXTURES_SETUP accsim_import_models FIXTURES_REQUIRED accsim_import_pytools)

# The command line: accsim import MODEL --out DIR and --model MODEL.tflite (success,
# the importer's refusals passed through, missing tool or environment, interrupts).
accsim_import_test(import_command
  "${ACCSIM_IMPORT_CHECK}" run "${PROJECT_SOURCE_DIR}/tests/test_import_tflite.py"
  --accsim "$<TARGET_FILE:accsim>" --models "${ACCSIM_IMPORT_MODELS}" --data "${ACCSIM_IMPORT_DATA}")
set_tests_properties(import_command PROPERTIES
  FIXTURES_REQUIRED "accsim_import_pytools;accsim_import_models")

# (a) imports: the small models and the real MLPerf Tiny ResNet-8.
foreach(m mixed affine ties)
  accsim_import_test(import_${m}
    "${ACCSIM_IMPORT_CHECK}" import "${ACCSIM_IMPORT_MODELS}/${m}.tflite"
    "${ACCSIM_IMPORT_WORK}/${m}")
  set_tests_properties(import_${m} PROPERTIES
    FIXTURES_SETUP accsim_import_${m} FIXTURES_REQUIRED "accsim_import_pytools;accsim_import_models")
endforeach()
accsim_import_test(import_resnet8
  "${ACCSIM_IMPORT_CHECK}" import "${ACCSIM_IMPORT_RESNET8}" "${ACCSIM_IMPORT_WORK}/resnet8")
set_tests_properties(import_resnet8 PROPERTIES
  FIXTURES_SETUP accsim_import_resnet8 FIXTURES_REQUIRED accsim_import_pytools)

# (b) parity with TFLite's reference kernels, through accsim run and through
# the NumPy reference of the description (tools/netdesc_ref.py).
foreach(m mixed affine ties)
  accsim_import_test(import_${m}_parity
    "${ACCSIM_IMPORT_CHECK}" run "${PROJECT_SOURCE_DIR}/tools/tflite_parity.py"
    --model "${ACCSIM_IMPORT_MODELS}/${m}.tflite" --imported "${ACCSIM_IMPORT_WORK}/${m}"
    --data "${ACCSIM_IMPORT_DATA}" --accsim "$<TARGET_FILE:accsim>" --python-reference
    --limit 500 --skip-missing)
  set_tests_properties(import_${m}_parity PROPERTIES
    FIXTURES_REQUIRED "accsim_import_pytools;accsim_import_${m}")
endforeach()
accsim_import_test(import_resnet8_parity
  "${ACCSIM_IMPORT_CHECK}" run "${PROJECT_SOURCE_DIR}/tools/tflite_parity.py"
  --model "${ACCSIM_IMPORT_RESNET8}" --imported "${ACCSIM_IMPORT_WORK}/resnet8"
  --data "${ACCSIM_IMPORT_DATA}" --accsim "$<TARGET_FILE:accsim>" --python-reference
  --limit 300 --skip-missing)
set_tests_properties(import_resnet8_parity PROPERTIES
  FIXTURES_REQUIRED "accsim_import_pytools;accsim_import_resnet8")

# (c) what the importer must refuse, with a message naming the cause, leaving
# no output directory behind.
set(_reject_cases
  "unsupported|TANH.*not supported"
  "float|FLOAT32"
  "notflatbuffer|not a TFLite flatbuffer"
  "truncated|truncated"
  "empty|too short")
foreach(c ${_reject_cases})
  string(REPLACE "|" ";" _parts "${c}")
  list(GET _parts 0 _model)
  list(GET _parts 1 _pattern)
  accsim_import_test(import_reject_${_model}
    "${ACCSIM_IMPORT_CHECK}" reject "${ACCSIM_IMPORT_MODELS}/${_model}.tflite" "${_pattern}"
    "${ACCSIM_IMPORT_WORK}/reject_${_model}")
  set_tests_properties(import_reject_${_model} PROPERTIES
    FIXTURES_REQUIRED "accsim_import_pytools;accsim_import_models")
endforeach()
accsim_import_test(import_overwrite_rules
  "${ACCSIM_IMPORT_CHECK}" overwrite "${ACCSIM_IMPORT_MODELS}/affine.tflite"
  "${ACCSIM_IMPORT_WORK}/overwrite")
set_tests_properties(import_overwrite_rules PROPERTIES
  FIXTURES_REQUIRED "accsim_import_pytools;accsim_import_models")

set_tests_properties(${ACCSIM_IMPORT_TESTS} PROPERTIES
  SKIP_RETURN_CODE ${ACCSIM_IMPORT_SKIP}
  ENVIRONMENT "ACCSIM_PYTOOLS=${PROJECT_BINARY_DIR}/pytools"
  TIMEOUT 900
  LABELS "python;import")
