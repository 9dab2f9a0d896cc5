/* libFuzzer harness for the .npy reader: any bytes must give a clean error or
 * a well-formed array, and a parsed array must survive a write and re-read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/network.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    accsim_npy a;
    accsim_error err;
    if (accsim_npy_parse(data, size, "fuzz.npy", &a, &err) != 0) {
        if (err.message[0] == '\0' || strncmp(err.message, "fuzz.npy", 8) != 0)
            abort(); /* every error names the file */
        return 0;
    }
    size_t count = 1;
    for (int d = 0; d < a.ndim; d++)
        count *= a.shape[d];
    if (count != a.count)
        abort();
    char *buf;
    size_t n;
    if (accsim_npy_encode(a.dtype, a.ndim, a.shape, a.data, &buf, &n, &err) == 0) {
        accsim_npy b;
        if (accsim_npy_parse(buf, n, "again.npy", &b, &err) != 0 || b.dtype != a.dtype ||
            b.ndim != a.ndim || b.count != a.count ||
            memcmp(a.data, b.data, a.count * accsim_npy_itemsize(a.dtype)) != 0)
            abort();
        accsim_npy_free(&b);
        free(buf);
    }
    accsim_npy_free(&a);
    return 0;
}
