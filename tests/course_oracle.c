/* The former C reference engine for the course LeNet-5 (host/cpu/engine_cpu.c
 * until the network interpreter replaced it), kept as an independent oracle:
 * tests/test_engines.c proves the interpreter-backed engine equals it on
 * everything.
 *
 * It follows SPEC sections 5-7 literally, one add at a time, in int64 so that
 * the exact sum is known before it is saturated or wrapped. Images are split
 * between threads; each thread keeps its own histograms, and integer sums merge
 * to the same bits in any order. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accsim/engine.h"
#include "testdata.h"

typedef struct cpu_engine {
    const accsim_model *model;
    const accsim_network *net;
    const int8_t *images;
    size_t image_count;
} cpu_engine;

/* How one layer's accumulator behaves, and where its statistics go. */
typedef struct accumulator {
    int64_t lo, hi;
    int bits;
    accsim_overflow overflow;
    uint32_t events;           /* saturation or wrap events of this image */
    int32_t held_min, held_max; /* of every value held, this image */
    int32_t out_min, out_max;  /* this output's held values (its peak) */
    accsim_layer_hist *hist;   /* NULL when no histograms */
    const accsim_config *cfg;
    int layer;
} accumulator;

static inline uint32_t lin_bin(int64_t v, accsim_lin_range r)
{
    if (v < r.lo)
        return 0;
    uint64_t bin = (uint64_t)(v - r.lo) >> r.shift;
    return bin < ACCSIM_LIN_BINS - 1 ? (uint32_t)bin : ACCSIM_LIN_BINS - 1;
}

static inline int32_t wrap(int64_t v, int bits)
{
    /* Keep the low B bits and sign-extend them, as a B-bit adder would. */
    uint64_t shifted = (uint64_t)v << (64 - bits);
    return (int32_t)((int64_t)shifted >> (64 - bits));
}

/* One add: acc + term, then saturate (or wrap) to B bits (SPEC section 5). */
static inline int32_t accumulate(accumulator *a, int32_t acc, int64_t term)
{
    int64_t exact = (int64_t)acc + term;
    int32_t held = (int32_t)exact;
    if (exact < a->lo || exact > a->hi) {
        a->events++;
        if (a->overflow == ACCSIM_SATURATE)
            held = (int32_t)(exact < a->lo ? a->lo : a->hi);
        else
            held = wrap(exact, a->bits);
    }
    if (held < a->out_min)
        a->out_min = held;
    if (held > a->out_max)
        a->out_max = held;
    if (a->cfg->psum_histograms) {
        accsim_layer_hist *h = a->hist;
        h->psum_bits[accsim_bits_needed(held)]++;
        h->psum_lin[lin_bin(held, a->cfg->psum_range[a->layer])]++;
    }
    return held;
}

/* Before each output: its peak starts from the accumulator's initial 0. */
static inline void begin_output(accumulator *a)
{
    a->out_min = 0;
    a->out_max = 0;
}

/* After each output: fold its peak and final value into the statistics. */
static inline void end_output(accumulator *a, int32_t final_value, int32_t *layer_min,
                              int32_t *layer_max)
{
    if (a->out_min < a->held_min)
        a->held_min = a->out_min;
    if (a->out_max > a->held_max)
        a->held_max = a->out_max;
    if (final_value < *layer_min)
        *layer_min = final_value;
    if (final_value > *layer_max)
        *layer_max = final_value;
    if (a->cfg->histograms) {
        accsim_layer_hist *h = a->hist;
        const accsim_config *cfg = a->cfg;
        int bmin = accsim_bits_needed(a->out_min), bmax = accsim_bits_needed(a->out_max);
        int64_t magnitude = -(int64_t)a->out_min > a->out_max ? -(int64_t)a->out_min : a->out_max;
        h->out_bits[accsim_bits_needed(final_value)]++;
        h->out_lin[lin_bin(final_value, cfg->out_range[a->layer])]++;
        h->peak_bits[bmin > bmax ? bmin : bmax]++;
        h->peak_lin[lin_bin(magnitude, cfg->peak_range[a->layer])]++;
    }
}

static inline int8_t activation(const accsim_layer_info *info, int32_t v, double scale)
{
    if (info->has_relu && v < 0)
        v = 0;
    return accsim_requantize(v, scale);
}

/* conv: for each output channel and position, channel by channel (SPEC 5). */
static void run_conv(const accsim_layer_info *info, const int8_t *in, const int8_t *weights,
                     double scale, accumulator *state, int32_t *acc_grid, int32_t *layer_min,
                     int32_t *layer_max, int8_t *out)
{
    /* A local copy lets the compiler keep the accumulator's state in
     * registers: the int8 loads below could otherwise alias it. */
    accumulator local = *state, *a = &local;
    const int C = info->in_channels, S = info->in_size, K = info->kernel, O = info->out_size;
    for (int o = 0; o < info->out_channels; o++) {
        for (int y = 0; y < O; y++) {
            for (int x = 0; x < O; x++) {
                begin_output(a);
                int32_t acc = 0;
                for (int c = 0; c < C; c++) {
                    const int8_t *w = weights + ((o * C + c) * K) * K;
                    const int8_t *plane = in + c * S * S;
                    int32_t t = 0;
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++)
                            t = accumulate(a, t, (int32_t)plane[(y + ky) * S + x + kx] * w[ky * K + kx]);
                    acc = accumulate(a, acc, t);
                }
                end_output(a, acc, layer_min, layer_max);
                acc_grid[(o * O + y) * O + x] = acc;
            }
        }
        /* ReLU, 2x2 max-pool and requantization commute (SPEC 6): pool first. */
        const int P = O / 2;
        for (int py = 0; py < P; py++) {
            for (int px = 0; px < P; px++) {
                const int32_t *g = acc_grid + (o * O + 2 * py) * O + 2 * px;
                int32_t m = g[0];
                if (g[1] > m) m = g[1];
                if (g[O] > m) m = g[O];
                if (g[O + 1] > m) m = g[O + 1];
                out[(o * P + py) * P + px] = activation(info, m, scale);
            }
        }
    }
    *state = local;
}

static void run_fc(const accsim_layer_info *info, const int8_t *in, const int8_t *weights,
                   const int32_t *bias, double scale, accumulator *state, int32_t *layer_min,
                   int32_t *layer_max, int8_t *out)
{
    accumulator local = *state, *a = &local;
    const int N = info->in_channels;
    for (int o = 0; o < info->out_channels; o++) {
        begin_output(a);
        const int8_t *w = weights + o * N;
        int32_t acc = 0;
        for (int i = 0; i < N; i++)
            acc = accumulate(a, acc, (int32_t)in[i] * w[i]);
        if (info->has_bias)
            acc = accumulate(a, acc, bias[o]);
        end_output(a, acc, layer_min, layer_max);
        out[o] = activation(info, acc, scale);
    }
    *state = local;
}

static uint8_t argmax(const int8_t *v)
{
    uint8_t best = 0;
    for (int c = 1; c < ACCSIM_CLASSES; c++)
        if (v[c] > v[best]) /* strictly greater: the lowest index wins ties */
            best = (uint8_t)c;
    return best;
}

static void run_image(const accsim_model *model, const accsim_config *cfg, const int8_t *input,
                      size_t position, accsim_result *res, accsim_layer_hist *hist,
                      int32_t *acc_grid)
{
    int8_t buffers[2][ACCSIM_IMAGE_BYTES];
    const int8_t *in = input;
    for (int l = cfg->start_layer; l < ACCSIM_LAYERS; l++) {
        const accsim_layer_info *info = &accsim_layers[l];
        if (cfg->capture_activations)
            memcpy(res->acts[l] + position * (size_t)info->input_count, in,
                   (size_t)info->input_count);
        accumulator a = {
            .lo = -((int64_t)1 << (cfg->bits[l] - 1)),
            .hi = ((int64_t)1 << (cfg->bits[l] - 1)) - 1,
            .bits = cfg->bits[l],
            .overflow = cfg->overflow,
            .hist = &hist[l],
            .cfg = cfg,
            .layer = l,
        };
        int32_t layer_min = INT32_MAX, layer_max = INT32_MIN;
        int8_t *out = buffers[l % 2];
        if (info->is_conv)
            run_conv(info, in, model->weights[l], model->output_scale[l], &a, acc_grid, &layer_min,
                     &layer_max, out);
        else
            run_fc(info, in, model->weights[l], model->bias, model->output_scale[l], &a, &layer_min,
                   &layer_max, out);
        size_t k = position * ACCSIM_LAYERS + (size_t)l;
        res->saturations[k] = a.events;
        res->out_min[k] = layer_min;
        res->out_max[k] = layer_max;
        res->psum_min[k] = a.held_min;
        res->psum_max[k] = a.held_max;
        in = out;
    }
    memcpy(res->outputs + position * ACCSIM_CLASSES, in, ACCSIM_CLASSES);
    res->predictions[position] = argmax(in);
}

typedef struct worker {
    pthread_t thread;
    const cpu_engine *engine;
    const accsim_config *cfg;
    const uint32_t *indices;
    size_t first, end;
    accsim_result *res;
    accsim_layer_hist hist[ACCSIM_LAYERS];
    accsim_progress *progress;
    pthread_mutex_t *progress_lock;
    int failed;
    bool started;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    const accsim_config *cfg = w->cfg;
    int32_t *acc_grid = malloc(sizeof(int32_t) * accsim_layers[0].output_count);
    if (!acc_grid) {
        w->failed = 1;
        return NULL;
    }
    size_t reported = w->first;
    for (size_t p = w->first; p < w->end; p++) {
        const int8_t *input;
        if (cfg->start_layer > 0)
            input = cfg->start_acts + p * (size_t)accsim_layers[cfg->start_layer].input_count;
        else
            input = w->engine->images + (size_t)(w->indices ? w->indices[p] : p) * ACCSIM_IMAGE_BYTES;
        run_image(w->engine->model, cfg, input, p, w->res, w->hist, acc_grid);
        if (w->progress && (p + 1 - reported >= 64 || p + 1 == w->end)) {
            pthread_mutex_lock(w->progress_lock);
            accsim_progress_advance(w->progress, p + 1 - reported);
            pthread_mutex_unlock(w->progress_lock);
            reported = p + 1;
        }
    }
    free(acc_grid);
    return NULL;
}

static int cpu_load(accsim_engine *engine, const accsim_network *net, const int8_t *images,
                    size_t count, accsim_error *err)
{
    cpu_engine *e = engine->impl;
    if (!net->course)
        return accsim_fail(err, "the course oracle runs the course LeNet-5 only");
    e->net = net;
    e->model = net->course;
    e->images = images;
    e->image_count = count;
    return 0;
}

static int cpu_run(accsim_engine *engine, const accsim_config *cfg, const uint32_t *indices,
                   size_t count, accsim_result *res, accsim_progress *progress, accsim_error *err)
{
    cpu_engine *e = engine->impl;
    if (!e->model)
        return accsim_fail(err, "C reference engine: no model loaded");
    if (accsim_config_check(cfg, e->net, err) != 0)
        return -1;
    if (!e->model)
        return accsim_fail(err, "C reference engine: no model loaded");
    if (res->count != count)
        return accsim_fail(err, "C reference engine: result holds %zu images, run asks %zu",
                           res->count, count);
    for (size_t p = 0; indices && cfg->start_layer == 0 && p < count; p++)
        if (indices[p] >= e->image_count)
            return accsim_fail(err, "image index %u is outside the %zu loaded images",
                               indices[p], e->image_count);
    if (!indices && cfg->start_layer == 0 && count > e->image_count)
        return accsim_fail(err, "%zu images requested, %zu loaded", count, e->image_count);

    /* A thread per core, but at least about a million MACs each: the search
     * makes thousands of runs of a few images through the last layers, where
     * starting threads cost more than the work. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = cores < 1 ? 1 : cores > 64 ? 64 : (size_t)cores;
    uint64_t macs = 0;
    for (int l = cfg->start_layer; l < ACCSIM_LAYERS; l++) {
        const accsim_layer_info *li = &accsim_layers[l];
        macs += (uint64_t)li->weight_count * (uint64_t)li->out_size * (uint64_t)li->out_size;
    }
    macs *= count;
    if (threads > macs / 1000000)
        threads = macs / 1000000 ? (size_t)(macs / 1000000) : 1;
    if (threads > count)
        threads = count ? count : 1;
    worker *workers = calloc(threads, sizeof *workers);
    if (!workers)
        return accsim_fail(err, "out of memory");
    pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
    memset(res->hist, 0, ACCSIM_LAYERS * sizeof *res->hist);
    for (size_t t = 0; t < threads; t++) {
        worker *w = &workers[t];
        *w = (worker){.engine = e, .cfg = cfg, .indices = indices, .res = res,
                      .first = count * t / threads, .end = count * (t + 1) / threads,
                      .progress = progress, .progress_lock = &progress_lock};
        w->started = t > 0 && pthread_create(&w->thread, NULL, work, w) == 0;
    }
    for (size_t t = 0; t < threads; t++) {
        if (workers[t].started)
            pthread_join(workers[t].thread, NULL);
        else
            work(&workers[t]); /* the calling thread's share, or one that could not start */
    }
    int failed = 0;
    for (size_t t = 0; t < threads; t++) {
        failed |= workers[t].failed;
        for (int l = 0; l < ACCSIM_LAYERS; l++) {
            uint64_t *dst = (uint64_t *)&res->hist[l];
            const uint64_t *src = (const uint64_t *)&workers[t].hist[l];
            for (size_t b = 0; b < sizeof(accsim_layer_hist) / sizeof(uint64_t); b++)
                dst[b] += src[b];
        }
    }
    free(workers);
    pthread_mutex_destroy(&progress_lock);
    if (failed)
        return accsim_fail(err, "out of memory in the C reference engine");
    return 0;
}

static void cpu_destroy(accsim_engine *engine)
{
    free(engine->impl);
    free(engine);
}

static const accsim_engine_ops cpu_ops = {
    .load = cpu_load,
    .run = cpu_run,
    .destroy = cpu_destroy,
};

accsim_engine *accsim_course_oracle_create(accsim_error *err)
{
    accsim_engine *engine = calloc(1, sizeof *engine);
    cpu_engine *impl = calloc(1, sizeof *impl);
    if (!engine || !impl) {
        free(engine);
        free(impl);
        accsim_fail(err, "out of memory");
        return NULL;
    }
    engine->ops = &cpu_ops;
    engine->kind = "oracle";
    engine->impl = impl;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(engine->description, sizeof engine->description,
             "course oracle (%ld threads)", cores < 1 ? 1 : cores);
    return engine;
}
