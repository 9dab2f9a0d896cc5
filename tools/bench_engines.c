/* Throughput of the C reference and the OpenCL engine, side by side in one
 * process: images/s and G clamped-MAC/s (MACs per image from the model's
 * description) with
 * statistics off (per-image counters, flags, minima, maxima, peaks only), on
 * (plus layer-output and peak histograms) and with every-partial-sum
 * histograms. Run through tools/bench, which writes BENCHMARKS.md. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/bounds.h"
#include "accsim/dataset.h"
#include "accsim/engine.h"
#include "accsim/network.h"
#include "accsim/progress.h"
#include "opencl/opencl_engine.h"


static void usage(void)
{
    fprintf(stderr, "usage: accsim_bench [--data DIR] [--model DIR] [--split test|train]\n"
                    "                    [--cpu-images N] [--opencl-images N] [--bits B]\n"
                    "                    [--device D] [--repeat R] [--modes 1|2|3] [--only-mode 1|2|3]\n"
                    "--modes N: only the first N statistics settings (off, on, every partial sum)\n"
                    "--only-mode N: only the Nth (for profiling one setting)\n");
}

static const accsim_network *bench_net; /* the course model's description */

/* Multiply-accumulates per image: every MAC layer's outputs times its
 * reduction, from the description. */
static double macs_per_image(const accsim_network *net)
{
    double macs = 0;
    for (int l = 0; l < net->mac_count; l++) {
        const accsim_op *op = &net->ops[net->mac_ops[l]];
        accsim_mac_shape shape;
        accsim_network_mac_shape(net, l, &shape);
        macs += (double)net->tensors[op->output].count * (double)shape.reduction;
    }
    return macs;
}

static double run_once(accsim_engine *e, const accsim_config *cfg, size_t count, int repeat,
                       accsim_error *err)
{
    accsim_result res;
    if (accsim_result_init(&res, bench_net, count, cfg, err) != 0)
        return -1;
    double best = -1;
    for (int r = 0; r < repeat; r++) {
        double t0 = accsim_now();
        if (e->ops->run(e, cfg, NULL, count, &res, NULL, err) != 0) {
            accsim_result_free(&res);
            return -1;
        }
        double t = accsim_now() - t0;
        if (best < 0 || t < best)
            best = t;
    }
    accsim_result_free(&res);
    return best;
}

int main(int argc, char **argv)
{
    const char *data_dir = NULL, *model_dir = NULL, *device = NULL;
    accsim_split split = ACCSIM_SPLIT_TRAIN;
    size_t cpu_images = 2000, ocl_images = 50000;
    int bits = 16, repeat = 2, nmodes = 3, only_mode = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        if (strcmp(a, "--data") == 0)
            data_dir = v;
        else if (strcmp(a, "--model") == 0)
            model_dir = v;
        else if (strcmp(a, "--device") == 0)
            device = v;
        else if (strcmp(a, "--split") == 0) {
            if (accsim_split_parse(v, &split) != 0) {
                usage();
                return 2;
            }
        } else if (strcmp(a, "--cpu-images") == 0)
            cpu_images = (size_t)strtoul(v, NULL, 10);
        else if (strcmp(a, "--opencl-images") == 0)
            ocl_images = (size_t)strtoul(v, NULL, 10);
        else if (strcmp(a, "--bits") == 0)
            bits = atoi(v);
        else if (strcmp(a, "--modes") == 0)
            nmodes = atoi(v) >= 1 && atoi(v) <= 3 ? atoi(v) : 3;
        else if (strcmp(a, "--only-mode") == 0)
            only_mode = atoi(v) >= 1 && atoi(v) <= 3 ? atoi(v) : 0;
        else if (strcmp(a, "--repeat") == 0)
            repeat = atoi(v) > 0 ? atoi(v) : 1;
        else {
            usage();
            return 2;
        }
        i++;
    }
    accsim_error err;
    accsim_model model;
    int8_t *images = NULL;
    size_t count = 0;
    const char *source = "random images";
    char dir[1024];
    if (model_dir) {
        if (accsim_model_load(&model, model_dir, &err) != 0) {
            fprintf(stderr, "accsim_bench: %s\n", err.message);
            return 1;
        }
    } else {
        accsim_model_random(&model, 1);
    }
    accsim_dataset data;
    if (data_dir && accsim_data_dir_resolve(data_dir, dir, sizeof dir, &err) == 0 &&
        accsim_dataset_load(&data, dir, split, &err) == 0) {
        count = data.count;
        images = malloc(count * ACCSIM_IMAGE_BYTES);
        if (!images)
            return 1;
        accsim_dataset_quantize(&data, model.input_scale, images);
        accsim_dataset_free(&data);
        source = split == ACCSIM_SPLIT_TRAIN ? "CIFAR-10 train" : "CIFAR-10 test";
    } else {
        if (data_dir)
            fprintf(stderr, "accsim_bench: %s; using random images\n", err.message);
        count = ocl_images > cpu_images ? ocl_images : cpu_images;
        images = malloc(count * ACCSIM_IMAGE_BYTES);
        if (!images)
            return 1;
        uint64_t s = 12345;
        for (size_t i = 0; i < count * ACCSIM_IMAGE_BYTES; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            images[i] = (int8_t)(s >> 56);
        }
    }
    if (cpu_images > count)
        cpu_images = count;
    if (ocl_images > count)
        ocl_images = count;

    static accsim_network net;
    if (accsim_network_from_course_model(&model, &net, &err) != 0) {
        fprintf(stderr, "accsim_bench: %s\n", err.message);
        return 1;
    }
    bench_net = &net;
    accsim_engine *cpu = accsim_cpu_engine_create(&err);
    if (!cpu || cpu->ops->load(cpu, &net, images, count, &err) != 0) {
        fprintf(stderr, "accsim_bench: %s\n", err.message);
        return 1;
    }
    accsim_engine *ocl = NULL;
    if (accsim_opencl_device_count() > 0) {
        accsim_engine_options opts = {.kind = "opencl", .device = device, .quiet = true};
        ocl = accsim_opencl_engine_create(&opts, &err);
        if (!ocl || ocl->ops->load(ocl, &net, images, count, &err) != 0) {
            fprintf(stderr, "accsim_bench: %s\n", err.message);
            return 1;
        }
    } else {
        fprintf(stderr, "accsim_bench: no OpenCL device; C reference only\n");
    }

    printf("model: %s\n", model_dir ? model_dir : "random (accsim_model_random seed 1)");
    printf("images: %s; width %d in every layer, saturate\n", source, bits);
    printf("C reference: %s\n", cpu->description);
    if (ocl)
        printf("OpenCL: %s\n", ocl->description);
    printf("\n| engine | statistics | images | seconds | images/s | G clamped-MAC/s |\n");
    printf("|---|---|---:|---:|---:|---:|\n");
    static const char *modes[] = {"off (counters, flags, min/max, peaks)",
                                  "on (+ output and peak histograms)",
                                  "every partial sum (+ psum histograms)"};
    double rate[2][3] = {{0}};
    for (int m = 0; m < nmodes; m++) {
        if (only_mode && m != only_mode - 1)
            continue;
        accsim_config cfg;
        accsim_config_default(&cfg);
        for (int l = 0; l < ACCSIM_LAYERS; l++) {
            cfg.bits[l] = bits;
            cfg.out_range[l] = accsim_lin_range_for(-(1 << 20), 1 << 20);
            cfg.peak_range[l] = accsim_lin_range_for(0, 1 << 21);
            cfg.psum_range[l] = accsim_lin_range_for(-(1 << 21), 1 << 21);
        }
        cfg.histograms = m >= 1;
        cfg.psum_histograms = m == 2;
        for (int k = 0; k < 2; k++) {
            accsim_engine *e = k == 0 ? cpu : ocl;
            size_t n = k == 0 ? cpu_images : ocl_images;
            if (!e || n == 0)
                continue;
            /* Warm-up: builds the kernel variant, fills caches. */
            if (run_once(e, &cfg, n < 64 ? n : 64, 1, &err) < 0 ||
                (k == 1 && run_once(e, &cfg, n, 1, &err) < 0)) {
                fprintf(stderr, "accsim_bench: %s\n", err.message);
                return 1;
            }
            double t = run_once(e, &cfg, n, repeat, &err);
            if (t < 0) {
                fprintf(stderr, "accsim_bench: %s\n", err.message);
                return 1;
            }
            rate[k][m] = (double)n / t;
            printf("| %s | %s | %zu | %.3f | %.0f | %.2f |\n", k == 0 ? "C reference" : "OpenCL",
                   modes[m], n, t, (double)n / t, (double)n * macs_per_image(&net) / t / 1e9);
            fflush(stdout);
        }
    }
    if (ocl) {
        printf("\n");
        for (int m = 0; m < 3; m++)
            if (rate[0][m] > 0)
                printf("OpenCL / C reference, statistics %s: %.1fx\n", modes[m],
                       rate[1][m] / rate[0][m]);
        if (rate[1][0] > 0 && nmodes == 3)
            printf("OpenCL: 50,000 images at one width take %.2f s (statistics off), %.2f s (on), "
                   "%.2f s (every partial sum)\n",
                   50000.0 / rate[1][0], 50000.0 / rate[1][1], 50000.0 / rate[1][2]);
    }
    accsim_engine_destroy(cpu);
    accsim_engine_destroy(ocl);
    free(images);
    accsim_model_free(&model);
    return 0;
}
