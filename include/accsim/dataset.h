/* CIFAR-10 binary batches (SPEC section 4). */
#ifndef ACCSIM_DATASET_H
#define ACCSIM_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "accsim/error.h"
#include "accsim/model.h"

#define ACCSIM_CIFAR_RECORD 3073
#define ACCSIM_CIFAR_PER_BATCH 10000

typedef enum { ACCSIM_SPLIT_TEST, ACCSIM_SPLIT_TRAIN, ACCSIM_SPLIT_BOTH } accsim_split;

typedef struct accsim_dataset {
    size_t count;
    uint8_t *labels; /* [count] */
    uint8_t *pixels; /* [count][3072], planes R, G, B, each 32x32 row-major */
    accsim_split split;
    char dir[1024];
} accsim_dataset;

/* "test", "train" or "both"; returns -1 for anything else. */
int accsim_split_parse(const char *text, accsim_split *split);
const char *accsim_split_name(accsim_split split);

/* Finds the data directory: explicit (--data), else $ACCSIM_DATA, else
 * data/cifar-10-batches-bin. The error says where it looked and how to get it. */
int accsim_data_dir_resolve(const char *explicit_dir, char *out, size_t out_size, accsim_error *err);

/* Loads a split. "both" is the 10,000 test images followed by the 50,000
 * training images. */
int accsim_dataset_load(accsim_dataset *data, const char *dir, accsim_split split, accsim_error *err);
void accsim_dataset_free(accsim_dataset *data);

/* The batch parser on bytes already read (public for tests/fuzz/): exactly
 * `records` records of 3073 bytes, labels 0-9, into labels[records] and
 * pixels[records][3072]. NAME is used in messages. */
int accsim_parse_cifar_records(const char *name, const uint8_t *bytes, size_t size,
                               size_t records, uint8_t *labels, uint8_t *pixels,
                               accsim_error *err);

/* Quantizes every image (SPEC section 4) into out[count][3072]. */
void accsim_dataset_quantize(const accsim_dataset *data, double input_scale, int8_t *out);

#endif
