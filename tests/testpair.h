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

/* Two engines compared on one set of int8 inputs. */
typedef struct testpair {
    accsim_engine *ref, *other; /* owned */
    const char *names;          /* the two in failure messages: "C reference vs OpenCL" */
    int8_t *images;             /* owned (malloc'ed) */
    size_t image_count;
} testpair;

/* Takes the engines and the images (testpair_random_images, or the caller's
 * malloc'ed ones) into tp. */
void testpair_open(testpair *tp, accsim_engine *ref, accsim_engine *other, const char *names,
                   int8_t *images, size_t image_count);
void testpair_close(testpair *tp);

/* n random indices below image_count: a shuffled list with repeats. */
void testpair_random_indices(uint32_t *indices, size_t n, size_t image_count);

/* Loads model's description and the images into both engines, runs cfg on
 * the index list (NULL: images 0..count-1) and requires identical results:
 * outputs, predictions, counters, every histogram bin, captured activations;
 * what names the case in a failure. Returns ref's result in *keep when keep
 * is not NULL (the caller frees it). */
void testpair_compare(const testpair *tp, const accsim_model *model, const uint32_t *indices,
                      size_t count, const accsim_config *cfg, const char *what,
                      accsim_result *keep);

/* Restarts from each layer after the first on every image, from the inputs
 * cap captured (a run of cfg with capture_activations on), at random widths
 * min_bits..min_bits+19 in every layer, and compares the two engines. */
void testpair_restarts(const testpair *tp, const accsim_model *model, const accsim_config *cfg,
                       const accsim_result *cap, int min_bits);

#endif
