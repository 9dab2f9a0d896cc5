/* Two engines side by side: the seeded randomness (inputs, configurations)
 * and the run-and-compare step shared by the suites that prove one engine
 * equal to another (tests/test_engines.c: OpenCL against the C reference;
 * tests/test_reference.c: the C reference against the course oracle). */
#ifndef ACCSIM_TESTPAIR_H
#define ACCSIM_TESTPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accsim/engine.h"
#include "accsim/model.h"

/* A deterministic stream (splitmix64): a test seeds it so that a failure
 * names a reproducible case. */
void testpair_seed(uint64_t seed);
uint64_t testpair_rng(void);

/* count random course-shaped images (any int8 value); the caller frees them. */
int8_t *testpair_random_images(size_t count);

/* Defaults with the given overflow mode and histogram switches, random widths
 * 2..32 (half the time 2..15, heavy saturation) and random histogram ranges
 * in every layer, edge cases included. */
void testpair_random_config(accsim_config *cfg, accsim_overflow mode, bool histograms,
                            bool psum_histograms);

/* create(), aborting the test with its error when it fails. */
accsim_engine *testpair_engine(accsim_engine *(*create)(accsim_error *));

/* Loads model's description and the images into both engines, runs cfg on
 * the index list (NULL: images 0..count-1) and requires identical results:
 * outputs, predictions, counters, every histogram bin, captured activations.
 * pair names the two engines in the failure message ("C reference vs
 * OpenCL"), what the case. Returns ref's result in *keep when keep is not
 * NULL (the caller frees it). */
void testpair_compare(accsim_engine *ref, accsim_engine *other, const char *pair,
                      const accsim_model *model, const int8_t *images, size_t image_count,
                      const uint32_t *indices, size_t count, const accsim_config *cfg,
                      const char *what, accsim_result *keep);

#endif
