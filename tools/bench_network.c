/* Speed of the OpenCL network engine (host/opencl/network_engine.c) on a
 * ResNet-8-shaped random network (tests/netbuild.h) or a description
 * directory, against the C reference interpreter.
 *
 *   accsim_bench_network [--model DIR] [--images N] [--bits B,B,..] [--repeat R]
 *                        [--device SPEC] [--batch N] [--check N] [--profile 1]
 *                        [--hist 0|1|2]
 *
 * Reports G MAC/s (products added per second, all MAC layers, statistics on)
 * and images/s per width and overflow mode; --check N compares N images with
 * the interpreter (every output and statistic, and every histogram bin).
 * --hist 1 adds the output and peak histograms, 2 also every partial sum's
 * (ranges: each layer's register range). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accsim/network.h"
#include "netbuild.h"
#include "opencl/network_engine.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Products added per image: every reduction position of every output
 * (padding taps of per-product layers are skipped and not counted). */
static uint64_t macs_per_image(const accsim_network *net, uint64_t *all_taps)
{
    uint64_t total = 0, taps = 0;
    for (int m = 0; m < net->mac_count; m++) {
        const accsim_op *op = &net->ops[net->mac_ops[m]];
        const accsim_tensor *ti = &net->tensors[op->inputs[0]], *to = &net->tensors[op->output];
        if (op->kind == ACCSIM_OP_FULLY_CONNECTED) {
            total += (uint64_t)op->c_out * ti->count;
            taps += (uint64_t)op->c_out * ti->count;
            continue;
        }
        bool nhwc = net->layout == ACCSIM_NHWC;
        int H = nhwc ? ti->dims[0] : ti->dims[1], W = nhwc ? ti->dims[1] : ti->dims[2];
        int OH = nhwc ? to->dims[0] : to->dims[1], OW = nhwc ? to->dims[1] : to->dims[2];
        uint64_t cg = (uint64_t)(op->c_in / op->groups);
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                for (int ky = 0; ky < op->kh; ky++)
                    for (int kx = 0; kx < op->kw; kx++) {
                        int y = oy * op->sh - op->pad_top + ky, x = ox * op->sw - op->pad_left + kx;
                        bool valid = y >= 0 && y < H && x >= 0 && x < W;
                        taps += cg * (uint64_t)op->c_out;
                        if (valid || op->zp_mode != ACCSIM_ZP_PER_PRODUCT)
                            total += cg * (uint64_t)op->c_out;
                    }
    }
    *all_taps = taps;
    return total;
}

static int parse_bits(const char *s, int *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s)
            return -1;
        out[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *device = NULL;
    size_t images = 256, batch = 0, check = 16;
    int profile = 0, repeat = 3, bits_list[16] = {32, 16}, nbits = 2, hist = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "usage: see the comment at the top of tools/bench_network.c\n");
            return 2;
        }
        if (strcmp(a, "--model") == 0)
            model = v;
        else if (strcmp(a, "--device") == 0)
            device = v;
        else if (strcmp(a, "--images") == 0)
            images = strtoul(v, NULL, 10);
        else if (strcmp(a, "--batch") == 0)
            batch = strtoul(v, NULL, 10);
        else if (strcmp(a, "--hist") == 0)
            hist = atoi(v);
        else if (strcmp(a, "--profile") == 0)
            profile = atoi(v);
        else if (strcmp(a, "--check") == 0)
            check = strtoul(v, NULL, 10);
        else if (strcmp(a, "--repeat") == 0)
            repeat = atoi(v);
        else if (strcmp(a, "--bits") == 0)
            nbits = parse_bits(v, bits_list, 16);
        else {
            fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (nbits <= 0 || images == 0 || repeat < 1) {
        fprintf(stderr, "bad --bits, --images or --repeat\n");
        return 2;
    }
    accsim_error err;
    accsim_network net;
    if (model) {
        if (accsim_network_load(&net, model, &err) != 0) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
    } else {
        nb_resnet8(&net, 2024);
    }
    uint64_t taps;
    uint64_t macs = macs_per_image(&net, &taps);
    printf("network %s: %d ops, %d MAC layers, %.3f M MACs per image (%.3f M taps incl. "
           "skipped padding)\n",
           net.name, net.op_count, net.mac_count, macs / 1e6, taps / 1e6);
    size_t in_count = accsim_network_input_count(&net);
    int8_t *inputs = malloc(images * in_count + 1);
    nb_rng rng = {77};
    for (size_t i = 0; i < images * in_count; i++)
        inputs[i] = (int8_t)nb_in(&rng, -128, 127);
    accsim_netcl *e;
    if (accsim_netcl_create(&e, device, &err) != 0) {
        fprintf(stderr, "%s\n", err.message);
        free(inputs);
        accsim_network_free(&net);
        return 77; /* ctest: skipped */
    }
    printf("device: %s\n", accsim_netcl_device_name(e));
    accsim_netcl_set_batch(e, batch);
    double t0 = now();
    if (accsim_netcl_load(e, &net, inputs, images, &err) != 0) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("load: %.3f s\n", now() - t0);
    int bits[256];
    accsim_network_result res, ref;
    int rc = 0;
    for (int ov = 0; ov < 2 && rc == 0; ov++)
        for (int b = 0; b < nbits && rc == 0; b++) {
            for (int m = 0; m < net.mac_count; m++)
                bits[m] = bits_list[b];
            accsim_lin_range ranges[256];
            for (int m = 0; m < net.mac_count; m++)
                ranges[m] = accsim_lin_range_for(-((int64_t)1 << (bits[m] - 1)),
                                                 ((int64_t)1 << (bits[m] - 1)) - 1);
            accsim_network_config cfg = {.bits = bits, .overflow = (accsim_overflow)ov,
                                         .histograms = hist >= 1, .psum_histograms = hist >= 2,
                                         .out_range = ranges, .peak_range = ranges,
                                         .psum_range = ranges};
            if (accsim_network_result_init(&res, &net, images, &err) != 0)
                return 1;
            t0 = now();
            /* warm-up (builds the programs) */
            accsim_network_result one;
            accsim_network_result_init(&one, &net, 1, &err);
            if (accsim_netcl_run(e, &cfg, NULL, 1, &one, &err) != 0) {
                fprintf(stderr, "%s\n", err.message);
                return 1;
            }
            accsim_network_result_free(&one);
            double warm = now() - t0, best = 1e30, cpu = 1e30;
            accsim_netcl_set_profile(e, profile != 0); /* the timed runs only */
            for (int r = 0; r < repeat; r++) {
                t0 = now();
                double c0 = cpu_now();
                if (accsim_netcl_run(e, &cfg, NULL, images, &res, &err) != 0) {
                    fprintf(stderr, "%s\n", err.message);
                    return 1;
                }
                double t = now() - t0, c = cpu_now() - c0;
                best = t < best ? t : best;
                cpu = c < cpu ? c : cpu;
            }
            accsim_netcl_set_profile(e, false);
            uint64_t sat = 0;
            for (size_t i = 0; i < images * (size_t)net.mac_count; i++)
                sat += res.saturations[i];
            printf("opencl B=%-2d %-8s%s: %7.1f images/s  %6.2f G MAC/s  (%zu images, best of %d: "
                   "%.3f s; first run incl. builds %.2f s; saturations/image %.0f)\n"
                   "  CPU time %.3f s: %.2f G MAC per CPU-second\n",
                   bits_list[b], ov ? "wrap" : "saturate",
                   hist == 0 ? "" : hist == 1 ? " hist" : " hist+psum", images / best,
                   (double)macs * images / best / 1e9, images, repeat, best, warm,
                   (double)sat / images, cpu, (double)macs * images / cpu / 1e9);
            size_t n = check < images ? check : images;
            accsim_network_result part, *got = &res;
            if (n > 0 && n < images && hist) {
                /* Histograms sum over the run: rerun just the checked images. */
                if (accsim_network_result_init(&part, &net, n, &err) != 0 ||
                    accsim_netcl_run(e, &cfg, NULL, n, &part, &err) != 0) {
                    fprintf(stderr, "%s\n", err.message);
                    return 1;
                }
                got = &part;
            }
            if (n > 0) {
                accsim_network_result_init(&ref, &net, n, &err);
                accsim_network_config c1 = cfg;
                c1.threads = 0;
                t0 = now();
                accsim_network_run(&net, &c1, inputs, n, &ref, &err);
                double tc = now() - t0;
                size_t bad = 0;
                size_t mc = (size_t)net.mac_count;
                for (size_t i = 0; i < n; i++) {
                    bad += memcmp(ref.outputs + i * ref.output_count,
                                  got->outputs + i * ref.output_count, ref.output_count) != 0;
                    bad += ref.predictions[i] != got->predictions[i];
                    for (size_t m = 0; m < mc; m++) {
                        size_t s = i * mc + m;
                        bad += ref.saturations[s] != got->saturations[s] ||
                               ref.psum_min[s] != got->psum_min[s] ||
                               ref.psum_max[s] != got->psum_max[s] ||
                               ref.out_min[s] != got->out_min[s] || ref.out_max[s] != got->out_max[s];
                    }
                }
                if (hist)
                    bad += memcmp(ref.hist, got->hist, (size_t)net.mac_count * sizeof *ref.hist) != 0;
                printf("  interpreter on %zu images: %.2f G MAC/s (all cores); %s\n", n,
                       (double)macs * n / tc / 1e9,
                       bad ? "MISMATCH" : "outputs and statistics identical");
                if (bad)
                    rc = 1;
                accsim_network_result_free(&ref);
                if (got != &res)
                    accsim_network_result_free(got);
            }
            accsim_network_result_free(&res);
        }
    printf("programs built: %d\n", accsim_netcl_programs_built(e));
    if (profile) {
        double total = 0;
        for (int k = 0; k < net.op_count; k++)
            total += accsim_netcl_op_cpu_seconds(e, k);
        printf("CPU seconds per op, timed runs (with a clFinish after each op; %.2f s in "
               "all):\n",
               total);
        for (int k = 0; k < net.op_count; k++) {
            const accsim_op *op = &net.ops[k];
            double t = accsim_netcl_op_cpu_seconds(e, k);
            uint64_t m = 0;
            if (op->mac_index >= 0) {
                accsim_network one = net;
                one.mac_count = 1;
                one.mac_ops = &net.mac_ops[op->mac_index];
                uint64_t taps;
                m = macs_per_image(&one, &taps);
            }
            printf("  %-12s %6.3f s %5.1f%%  %8.3f M MACs/image\n", op->name, t,
                   total > 0 ? 100 * t / total : 0, m / 1e6);
        }
    }
    accsim_netcl_destroy(e);
    free(inputs);
    accsim_network_free(&net);
    return rc;
}
