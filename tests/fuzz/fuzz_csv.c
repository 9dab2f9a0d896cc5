/* libFuzzer harness: the course format's number files (accsim_parse_numbers
 * in host/model.c). The first byte picks how many values to expect. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t expected = data[0] % 16;
    /* The parser gets text as the file reader leaves it: NUL-terminated. */
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    double values[16];
    accsim_error err;
    if (accsim_parse_numbers("fuzz.csv", text, size - 1, expected, values, &err) == 0)
        for (size_t i = 0; i < expected; i++)
            if (isnan(values[i]))
                abort(); /* decimal numbers only: never NaN */
    free(text);
    return 0;
}
