# CTest registrations for the ONNX importer (tools/import_onnx.py) and its
# parity with onnxruntime (tools/onnx_parity.py). Included from the top-level
# CMakeLists.txt inside if(ACCSIM_TESTS), after tests/import.cmake (whose
# environment fixture, accsim_import_pytools, and data path it uses).
#
# The models are made at test time (tests/make_onnx_models.py: onnxruntime's
# quantize_static and, with Debian's python3-torch, the course LeNet-5 as a
# PyTorch QDQ export). Where the environment, the data or the course model is
# missing the tests SKIP (exit code 77) and say why.

set(ACCSIM_ONNX_WORK "${PROJECT_BINARY_DIR}/import_onnx_test")
set(ACCSIM_ONNX_MODELS "${ACCSIM_ONNX_WORK}/models")
set(ACCSIM_ONNX_TESTS)
macro(accsim_onnx_test name)
  add_test(NAME ${name} COMMAND ${ARGN})
  list(APPEND ACCSIM_ONNX_TESTS ${name})
endmacro()

accsim_onnx_test(import_onnx_make_models
  "${ACCSIM_IMPORT_CHECK}" run "${PROJECT_SOURCE_DIR}/tests/make_onnx_models.py"
  "${ACCSIM_ONNX_MODELS}" --data "${ACCSIM_IMPORT_DATA}")
set_tests_properties(import_onnx_make_models PROPERTIES
  FIXTURES_SETUP accsim_onnx_models FIXTURES_REQUIRED accsim_import_pytools)

# The importer's arithmetic and graph rules on hand-made graphs.
accsim_onnx_test(import_onnx_unit
  "${ACCSIM_IMPORT_CHECK}" run "${PROJECT_SOURCE_DIR}/tests/test_import_onnx.py")
set_tests_properties(import_onnx_unit PROPERTIES FIXTURES_REQUIRED accsim_import_pytools)

# (a) import + (b) parity with onnxruntime (default optimization level, the
# truth; ORT_DISABLE_ALL reported) through accsim run and netdesc_ref.py.
# resnet_qdq: QDQ, uint8 activations (onnxruntime's integer kernels);
# resnet_qop: QOperator (QLinearConv, QLinearAdd, QLinearGlobalAveragePool, QGemm);
# resnet_qop_s8: QOperator with int8 activations; resnet_qcdq: Brevitas-style
# 7-bit weights; lenet5_qdq: the course LeNet-5 exported by PyTorch (1000 images).
# The LeNet-5 export reads x = (p / 255 - 0.5) / 0.5 (tests/make_onnx_lenet5.py).
set(_onnx_args_lenet5_qdq --input-mean 0.5,0.5,0.5 --input-std 0.5,0.5,0.5)
foreach(spec "resnet_qdq|500" "resnet_qop|500" "resnet_qop_s8|500" "resnet_qcdq|500"
             "lenet5_qdq|1000")
  string(REPLACE "|" ";" _parts "${spec}")
  list(GET _parts 0 _m)
  list(GET _parts 1 _n)
  accsim_onnx_test(import_onnx_${_m}
    "${ACCSIM_IMPORT_CHECK}" import "${ACCSIM_ONNX_MODELS}/${_m}.onnx" "${ACCSIM_ONNX_WORK}/${_m}"
    ${_onnx_args_${_m}})
  set_tests_properties(import_onnx_${_m} PROPERTIES
    FIXTURES_SETUP accsim_onnx_${_m} FIXTURES_REQUIRED "accsim_import_pytools;accsim_onnx_models")
  accsim_onnx_test(import_onnx_${_m}_parity
    "${ACCSIM_IMPORT_CHECK}" run "${PROJECT_SOURCE_DIR}/tools/onnx_parity.py"
    --model "${ACCSIM_ONNX_MODELS}/${_m}.onnx" --imported "${ACCSIM_ONNX_WORK}/${_m}"
    --data "${ACCSIM_IMPORT_DATA}" --accsim "$<TARGET_FILE:accsim>" --python-reference
    --limit ${_n} --skip-missing)
  set_tests_properties(import_onnx_${_m}_parity PROPERTIES
    FIXTURES_REQUIRED "accsim_import_pytools;accsim_onnx_${_m}")
endforeach()

# (c) refusals: a message naming the cause, exit 1, no output directory.
set(_onnx_reject_cases
  "unsupported|node 'the_tanh' .Tanh. is not supported"
  "float|a float model"
  "truncated|truncated"
  "empty|empty file"
  "notonnx|not an ONNX model"
  "batchnorm|node 'bn1' .BatchNormalization.: BatchNormalization is not supported")
foreach(c ${_onnx_reject_cases})
  string(REPLACE "|" ";" _parts "${c}")
  list(GET _parts 0 _model)
  list(GET _parts 1 _pattern)
  accsim_onnx_test(import_onnx_reject_${_model}
    "${ACCSIM_IMPORT_CHECK}" reject "${ACCSIM_ONNX_MODELS}/${_model}.onnx" "${_pattern}"
    "${ACCSIM_ONNX_WORK}/reject_${_model}")
  set_tests_properties(import_onnx_reject_${_model} PROPERTIES
    FIXTURES_REQUIRED "accsim_import_pytools;accsim_onnx_models")
endforeach()
accsim_onnx_test(import_onnx_overwrite_rules
  "${ACCSIM_IMPORT_CHECK}" overwrite "${ACCSIM_ONNX_MODELS}/resnet_qdq.onnx"
  "${ACCSIM_ONNX_WORK}/overwrite")
set_tests_properties(import_onnx_overwrite_rules PROPERTIES
  FIXTURES_REQUIRED "accsim_import_pytools;accsim_onnx_models")

set_tests_properties(${ACCSIM_ONNX_TESTS} PROPERTIES
  SKIP_RETURN_CODE ${ACCSIM_IMPORT_SKIP}
  ENVIRONMENT "ACCSIM_PYTOOLS=${PROJECT_BINARY_DIR}/pytools"
  TIMEOUT 900
  LABELS "python;import")
