/* libFuzzer harness for the manifest loader (and, for small networks, the
 * interpreter). The input is the network.json text; the .npy files it names
 * are synthesized from their names:
 *   i1_AxBxC.npy   int8 of that shape (weights)
 *   i4_A.npy       int32 of that shape, values from -5000 to 5000 (biases)
 *   i4m_A.npy      int32 multipliers in [2^30, 2^31 - 1]
 *   i4s_A.npy      int32 shifts in -12..2
 *   f8_A.npy       float64 in 0.001..0.05 (scales)
 * Any other name is a missing file. See tests/fuzz/corpus/network/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/network.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int synthesize(void *ctx, const char *file, accsim_npy *out, accsim_error *err)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
    const char *p = file;
    accsim_npy_dtype dtype;
    int kind; /* 0 weights, 1 bias, 2 multiplier, 3 shift, 4 scale */
    if (strncmp(p, "i1_", 3) == 0)
        dtype = ACCSIM_NPY_I1, kind = 0, p += 3;
    else if (strncmp(p, "i4m_", 4) == 0)
        dtype = ACCSIM_NPY_I4, kind = 2, p += 4;
    else if (strncmp(p, "i4s_", 4) == 0)
        dtype = ACCSIM_NPY_I4, kind = 3, p += 4;
    else if (strncmp(p, "i4_", 3) == 0)
        dtype = ACCSIM_NPY_I4, kind = 1, p += 3;
    else if (strncmp(p, "f8_", 3) == 0)
        dtype = ACCSIM_NPY_F8, kind = 4, p += 3;
    else
        return accsim_fail(err, "%s: no such file", file);
    size_t shape[ACCSIM_NPY_MAX_DIMS], count = 1;
    int ndim = 0;
    for (;;) {
        if (*p < '0' || *p > '9' || ndim == ACCSIM_NPY_MAX_DIMS)
            return accsim_fail(err, "%s: no such file", file);
        size_t v = 0;
        while (*p >= '0' && *p <= '9' && v < 100000)
            v = v * 10 + (size_t)(*p++ - '0');
        shape[ndim++] = v;
        count *= v;
        if (count > 200000)
            return accsim_fail(err, "%s: too large for the fuzzer", file);
        if (*p == 'x') {
            p++;
            continue;
        }
        if (strcmp(p, ".npy") != 0)
            return accsim_fail(err, "%s: no such file", file);
        break;
    }
    size_t item = accsim_npy_itemsize(dtype);
    out->data = malloc(count * item + 1);
    if (!out->data)
        return accsim_fail(err, "out of memory");
    uint32_t s = 2463534242u;
    for (size_t i = 0; i < count; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        switch (kind) {
        case 0: ((int8_t *)out->data)[i] = (int8_t)(s & 0xff); break;
        case 1: ((int32_t *)out->data)[i] = (int32_t)(s % 10001) - 5000; break;
        case 2: ((int32_t *)out->data)[i] = (int32_t)((1u << 30) + s % (1u << 30)); break;
        case 3: ((int32_t *)out->data)[i] = (int32_t)(s % 15) - 12; break;
        default: ((double *)out->data)[i] = 0.001 + (double)(s % 1000) * 0.000049; break;
        }
    }
    out->dtype = dtype;
    out->ndim = ndim;
    memcpy(out->shape, shape, sizeof(size_t) * (size_t)ndim);
    out->count = count;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    accsim_network net;
    accsim_error err;
    if (accsim_network_parse(&net, (const char *)data, size, "network.json", synthesize, NULL,
                             &err) != 0) {
        if (strncmp(err.message, "network.json", 12) != 0)
            abort(); /* every error names the manifest */
        return 0;
    }
    /* Small networks also run, at a width taken from the input. */
    uint64_t macs = 0, elements = 0;
    for (int i = 0; i < net.op_count; i++) {
        const accsim_op *op = &net.ops[i];
        uint64_t out = net.tensors[op->output].count;
        elements += out;
        if (op->kind == ACCSIM_OP_CONV2D)
            macs += out * (uint64_t)(op->c_in / op->groups) * (uint64_t)op->kh * (uint64_t)op->kw;
        else if (op->kind == ACCSIM_OP_FULLY_CONNECTED)
            macs += out * (uint64_t)op->c_in;
        else if (op->kind == ACCSIM_OP_MAX_POOL || op->kind == ACCSIM_OP_AVG_POOL)
            macs += out * (uint64_t)op->kh * (uint64_t)op->kw;
    }
    if (macs <= 2000000 && elements <= 1000000) {
        size_t n = accsim_network_input_count(&net);
        int8_t *x = malloc(2 * n);
        int *bits = malloc(sizeof(int) * (size_t)(net.mac_count + 1));
        accsim_network_result res;
        if (x && bits && accsim_network_result_init(&res, &net, 2, &err) == 0) {
            for (size_t i = 0; i < 2 * n; i++)
                x[i] = (int8_t)(i * 37 + size);
            for (int m = 0; m < net.mac_count; m++)
                bits[m] = 2 + (int)((size + (size_t)m * 7) % 31);
            accsim_network_config cfg = {.bits = bits, .overflow = size % 2 ? ACCSIM_WRAP : ACCSIM_SATURATE,
                                         .threads = 1};
            if (accsim_network_run(&net, &cfg, x, 2, &res, &err) != 0)
                abort();
            for (size_t i = 0; i < 2; i++)
                if (res.predictions[i] >= res.output_count)
                    abort();
            accsim_network_result_free(&res);
        }
        free(x);
        free(bits);
    }
    accsim_network_free(&net);
    return 0;
}
