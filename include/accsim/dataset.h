/* Labelled data sets: CIFAR-10 binary batches (SPEC section 4), or NumPy
 * arrays (docs/network-format.md, "Data sets"). */
#ifndef ACCSIM_DATASET_H
#define ACCSIM_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "accsim/error.h"
#include "accsim/model.h"
#include "accsim/network.h"

#define ACCSIM_CIFAR_RECORD 3073
#define ACCSIM_CIFAR_PER_BATCH 10000

typedef enum { ACCSIM_SPLIT_TEST, ACCSIM_SPLIT_TRAIN, ACCSIM_SPLIT_BOTH } accsim_split;

typedef enum { ACCSIM_DATA_CIFAR, ACCSIM_DATA_NPY } accsim_data_format;

/* The NumPy form's files (DIR/<split>_images.npy, DIR/<split>_labels.npy). */
#define ACCSIM_NPY_TEST_IMAGES "test_images.npy"
#define ACCSIM_NPY_TEST_LABELS "test_labels.npy"
#define ACCSIM_NPY_TRAIN_IMAGES "train_images.npy"
#define ACCSIM_NPY_TRAIN_LABELS "train_labels.npy"

typedef struct accsim_dataset {
    size_t count;
    uint8_t *labels; /* [count] */
    /* [count][image_values]: CIFAR-10 planes R, G, B, each 32x32 row-major;
     * NumPy images in the file's C order (int8 ones as their bytes). */
    uint8_t *pixels;
    accsim_split split;
    char dir[1024];
    accsim_data_format format;
    size_t test_count;   /* the first test_count images are the test split's */
    size_t image_values; /* values per image */
    int image_ndim;      /* NumPy: the per-image shape (the file's shape less N) */
    size_t image_shape[ACCSIM_NPY_MAX_DIMS];
    bool prequantized;   /* NumPy int8: pixels are the network's int8 inputs */
} accsim_dataset;

/* "test", "train" or "both"; returns -1 for anything else. */
int accsim_split_parse(const char *text, accsim_split *split);
const char *accsim_split_name(accsim_split split);

/* Finds the data directory: explicit (--data), else $ACCSIM_DATA, else
 * data/cifar-10-batches-bin. It must hold the NumPy form (test_images.npy or
 * train_images.npy) or CIFAR-10 batches (test_batch.bin or data_batch_1.bin).
 * The error says where it looked, what it expected and how to get it. */
int accsim_data_dir_resolve(const char *explicit_dir, char *out, size_t out_size, accsim_error *err);

/* Loads a split, in the form the directory holds (the NumPy form when
 * test_images.npy or train_images.npy is there). "both" is the test images
 * followed by the training images. NumPy images are uint8 or int8 [N, ...],
 * labels any integer dtype [N] in 0..255, N equal. */
int accsim_dataset_load(accsim_dataset *data, const char *dir, accsim_split split, accsim_error *err);
void accsim_dataset_free(accsim_dataset *data);

/* The batch parser on bytes already read (public for tests/fuzz/): exactly
 * `records` records of 3073 bytes, labels 0-9, into labels[records] and
 * pixels[records][3072]. NAME is used in messages. */
int accsim_parse_cifar_records(const char *name, const uint8_t *bytes, size_t size,
                               size_t records, uint8_t *labels, uint8_t *pixels,
                               accsim_error *err);

/* Checks a data set against the network that will run it (NumPy: the images'
 * per-image shape equals the input tensor's declared shape; CIFAR-10: the input
 * is 3 x 32 x 32 with 3 channels; labels below the output's element count) and
 * writes its int8 inputs, out[count][accsim_network_input_count(net)]: uint8
 * pixels through input.quantize, int8 images as they are. */
int accsim_dataset_inputs(const accsim_dataset *data, const accsim_network *net, int8_t *out,
                          accsim_error *err);

/* Quantizes every image (SPEC section 4) into out[count][3072]. */
void accsim_dataset_quantize(const accsim_dataset *data, double input_scale, int8_t *out);

#endif
