/* CIFAR-10 binary batches (SPEC section 4). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "accsim/dataset.h"
#include "accsim/fileio.h"

#define BATCH_BYTES ((long)ACCSIM_CIFAR_RECORD * ACCSIM_CIFAR_PER_BATCH)
#define DEFAULT_DATA_DIR "data/cifar-10-batches-bin"

int accsim_split_parse(const char *text, accsim_split *split)
{
    if (strcmp(text, "test") == 0)
        *split = ACCSIM_SPLIT_TEST;
    else if (strcmp(text, "train") == 0)
        *split = ACCSIM_SPLIT_TRAIN;
    else if (strcmp(text, "both") == 0)
        *split = ACCSIM_SPLIT_BOTH;
    else
        return -1;
    return 0;
}

const char *accsim_split_name(accsim_split split)
{
    switch (split) {
    case ACCSIM_SPLIT_TEST: return "test";
    case ACCSIM_SPLIT_TRAIN: return "train";
    case ACCSIM_SPLIT_BOTH: return "both";
    }
    return "?";
}

static int is_data_dir(const char *dir)
{
    char path[1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    if (stat(path, &st) == 0)
        return 1;
    snprintf(path, sizeof path, "%s/data_batch_1.bin", dir);
    return stat(path, &st) == 0;
}

int accsim_data_dir_resolve(const char *explicit_dir, char *out, size_t out_size, accsim_error *err)
{
    const char *env = getenv("ACCSIM_DATA");
    const char *dir = explicit_dir ? explicit_dir : (env && *env) ? env : DEFAULT_DATA_DIR;
    const char *source = explicit_dir ? "--data" : (env && *env) ? "$ACCSIM_DATA" : "the default";
    if (!*dir)
        return accsim_fail(err, "%s: empty directory name", source);
    if (!is_data_dir(dir))
        return accsim_fail(err,
                           "no CIFAR-10 data in %s (from %s): expected test_batch.bin and "
                           "data_batch_1.bin .. data_batch_5.bin. Get them with "
                           "tools/fetch_cifar10.sh (downloads and checks the official binary "
                           "tarball into %s), or point --data or ACCSIM_DATA at a directory "
                           "that holds them",
                           dir, source, DEFAULT_DATA_DIR);
    if (strlen(dir) >= out_size)
        return accsim_fail(err, "%s: path too long", dir);
    snprintf(out, out_size, "%s", dir);
    return 0;
}

int accsim_parse_cifar_records(const char *name, const uint8_t *bytes, size_t size,
                               size_t records, uint8_t *labels, uint8_t *pixels,
                               accsim_error *err)
{
    if (size != records * ACCSIM_CIFAR_RECORD)
        return accsim_fail(err,
                           "%s: %zu bytes, expected %zu (%zu records of %d bytes): "
                           "truncated or not a CIFAR-10 binary batch",
                           name, size, records * ACCSIM_CIFAR_RECORD, records, ACCSIM_CIFAR_RECORD);
    for (size_t r = 0; r < records; r++) {
        const uint8_t *record = bytes + r * ACCSIM_CIFAR_RECORD;
        if (record[0] > 9)
            return accsim_fail(err, "%s: record %zu has label %d, expected 0-9", name, r,
                               record[0]);
        labels[r] = record[0];
        memcpy(pixels + r * ACCSIM_IMAGE_BYTES, record + 1, ACCSIM_IMAGE_BYTES);
    }
    return 0;
}

/* Reads one batch file of 10,000 records into labels/pixels at slot `first`.
 * Only a regular file of exactly the batch size is read: a FIFO or a device
 * would block or never end. */
static int read_batch(accsim_dataset *data, const char *file, size_t first, accsim_error *err)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", data->dir, file);
    FILE *fp;
    long long size;
    if (accsim_open_regular(path, &fp, &size, err) != 0)
        return -1;
    if (size != BATCH_BYTES) {
        fclose(fp);
        return accsim_fail(err,
                           "%s: %lld bytes, expected %ld (10000 records of 3073 bytes): "
                           "truncated or not a CIFAR-10 binary batch",
                           path, size, BATCH_BYTES);
    }
    uint8_t *bytes = malloc((size_t)BATCH_BYTES);
    if (!bytes) {
        fclose(fp);
        return accsim_fail(err, "%s: out of memory", path);
    }
    size_t got = fread(bytes, 1, (size_t)BATCH_BYTES, fp);
    int failed = ferror(fp) || got != (size_t)BATCH_BYTES;
    fclose(fp);
    int rc = failed ? accsim_fail(err, "%s: read error after %zu bytes", path, got)
                    : accsim_parse_cifar_records(path, bytes, got, ACCSIM_CIFAR_PER_BATCH,
                                                 data->labels + first,
                                                 data->pixels + first * ACCSIM_IMAGE_BYTES, err);
    free(bytes);
    return rc;
}

int accsim_dataset_load(accsim_dataset *data, const char *dir, accsim_split split, accsim_error *err)
{
    memset(data, 0, sizeof *data);
    if (strlen(dir) >= sizeof data->dir)
        return accsim_fail(err, "%s: path too long", dir);
    snprintf(data->dir, sizeof data->dir, "%s", dir);
    data->split = split;
    bool test = split != ACCSIM_SPLIT_TRAIN, train = split != ACCSIM_SPLIT_TEST;
    data->count = (test ? 1 : 0) * 10000 + (train ? 5 : 0) * 10000;
    data->labels = malloc(data->count);
    data->pixels = malloc(data->count * ACCSIM_IMAGE_BYTES);
    if (!data->labels || !data->pixels) {
        accsim_dataset_free(data);
        return accsim_fail(err, "out of memory loading %s", dir);
    }
    size_t slot = 0;
    int rc = 0;
    if (test) {
        rc = read_batch(data, "test_batch.bin", slot, err);
        slot += ACCSIM_CIFAR_PER_BATCH;
    }
    for (int b = 1; rc == 0 && train && b <= 5; b++) {
        char file[32];
        snprintf(file, sizeof file, "data_batch_%d.bin", b);
        rc = read_batch(data, file, slot, err);
        slot += ACCSIM_CIFAR_PER_BATCH;
    }
    if (rc != 0)
        accsim_dataset_free(data);
    return rc;
}

void accsim_dataset_free(accsim_dataset *data)
{
    free(data->labels);
    free(data->pixels);
    data->labels = NULL;
    data->pixels = NULL;
    data->count = 0;
}

void accsim_dataset_quantize(const accsim_dataset *data, double input_scale, int8_t *out)
{
    int8_t code[256]; /* only 256 pixel values exist: quantize each once */
    for (int p = 0; p < 256; p++)
        code[p] = accsim_quantize_pixel((uint8_t)p, input_scale);
    size_t n = data->count * ACCSIM_IMAGE_BYTES;
    for (size_t i = 0; i < n; i++)
        out[i] = code[data->pixels[i]];
}
