/* Shared helpers for the tests: where the real data lives, temporary
 * directories, running the accsim binary, and tiny hand-made models. */
#ifndef ACCSIM_TESTDATA_H
#define ACCSIM_TESTDATA_H

#include <stddef.h>

#include "accsim/engine.h"
#include "accsim/model.h"
#include "accsim/network.h"

/* $ACCSIM_DATA, else ../shared/cifar10 beside the source tree; NULL when absent. */
const char *testdata_cifar_dir(void);
/* $ACCSIM_MODEL, else ../shared/models/cs5120-2021-lenet5; NULL when absent. */
const char *testdata_course_model_dir(void);
/* The model shipped in data/lenet5-cifar10; NULL when absent. */
const char *testdata_shipped_model_dir(void);

/* A fresh empty directory under /tmp; the caller frees the string. */
char *testdata_tempdir(void);
void testdata_remove_tree(const char *dir);

/* Runs `accsim ARGS` through the shell, capturing stdout and stderr together
 * into out (NUL-terminated, truncated to size). Returns the exit status. */
int testdata_run_cli(const char *args, char *out, size_t size);

/* A model with every weight and bias zero, input scale 128 and output scales 1. */
void testdata_zero_model(accsim_model *model);

/* The description of a course model (accsim_network_from_course_model), made
 * once per model content and kept until the test process ends, so that
 * engines loaded with it can run while the test holds the model. */
const accsim_network *testdata_net(const accsim_model *model);

/* Runs one engine on the given int8 inputs (images, or start-layer activations
 * when cfg->start_layer > 0) and fills res. Aborts the test on failure. */
void testdata_run(accsim_engine *engine, const accsim_model *model, const int8_t *images,
                  size_t count, const accsim_config *cfg, accsim_result *res);

/* The former C reference engine for the course LeNet-5 (tests/course_oracle.c),
 * the independent oracle the interpreter-backed "cpu" engine is proved against. */
accsim_engine *accsim_course_oracle_create(accsim_error *err);

#endif
