/* libFuzzer harness: scale.json (accsim_parse_scales in host/model.c, which
 * goes through the strict JSON parser of host/json_strict.c). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    accsim_model model;
    memset(&model, 0, sizeof model);
    accsim_error err;
    if (accsim_parse_scales("scale.json", text, size, &model, &err) == 0) {
        /* Accepted scales are what the engines rely on: positive and finite. */
        if (!(model.input_scale > 0) || !isfinite(model.input_scale))
            abort();
        for (int l = 0; l < ACCSIM_LAYERS; l++)
            if (!(model.output_scale[l] > 0) || !isfinite(model.output_scale[l]))
                abort();
    }
    free(text);
    return 0;
}
