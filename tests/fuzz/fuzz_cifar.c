/* libFuzzer harness: the CIFAR-10 batch parser (host/dataset.c). The loader
 * only hands it regular files of exactly one batch; the parser itself must
 * still hold for any bytes and any record count. */
#include <stdint.h>
#include <stdlib.h>

#include "accsim/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Ask for as many records as fit, and on odd sizes for one more, so both
     * the size check and the record checks run. */
    size_t records = size / ACCSIM_CIFAR_RECORD + (size % ACCSIM_CIFAR_RECORD != 0);
    uint8_t *labels = malloc(records + 1);
    uint8_t *pixels = malloc((records + 1) * ACCSIM_IMAGE_BYTES);
    if (labels && pixels) {
        accsim_error err;
        if (accsim_parse_cifar_records("fuzz", data, size, records, labels, pixels, &err) == 0)
            for (size_t r = 0; r < records; r++)
                if (labels[r] > 9)
                    abort(); /* the parser promised labels 0-9 */
    }
    free(labels);
    free(pixels);
    return 0;
}
