/* The scalable search (host/analysis/search_scalable.c) on random
 * descriptions with many MAC layers, against the exact search proved over
 * all widths (search.c) and against full recomputation of every setting it
 * reports: its lower bound <= the true optimum's energy <= its answer's,
 * equality where it claims a proof, and every accuracy it reports exact. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/analysis.h"
#include "accsim/energy.h"
#include "netbuild.h"


#ifdef ACCSIM_SANITIZED
#define N 16
#else
#define N 40
#endif

typedef struct fixture {
    accsim_network net;
    accsim_engine *engine;
    int8_t *inputs;
    uint8_t labels[N];
    accsim_imageset set;
    accsim_baseline base;
} fixture;

/* A chain of 3x3 convolutions on a 6x6x2 input, then two fully connected
 * layers: mac_layers MAC layers in all, in execution order. */
static void build_chain(accsim_network *net, uint64_t seed, int mac_layers)
{
    nb_rng rng = {seed | 1};
    int dims[3] = {6, 6, 2};
    nb_init(net, ACCSIM_NHWC, 3, dims, -128);
    nb_mac relu = nb_tflite_mac(-128);
    relu.bias = 0; /* random biases of netbuild would swamp these small reductions */
    relu.gain = 2.5; /* activations spread: several classes predicted */
    int x = 0;
    for (int l = 0; l < mac_layers - 2; l++)
        x = nb_conv(net, &rng, x, 3, 3, 3, 1, 1, 1, NULL, 1, &relu);
    int flat[1] = {(int)net->tensors[x].count};
    x = nb_reshape(net, x, 1, flat);
    x = nb_fc(net, &rng, x, 12, &relu);
    nb_mac logits = nb_tflite_mac(0);
    logits.clamp_lo = -128;
    logits.bias = 0;
    logits.gain = 4;
    nb_fc(net, &rng, x, 10, &logits);
    /* netbuild leaves the MAC layers' execution positions to the caller; its
     * ops are listed in execution order. */
    net->mac_pos = malloc(sizeof(int) * (size_t)net->mac_count);
    cr_assert_not_null(net->mac_pos);
    for (int m = 0; m < net->mac_count; m++)
        net->mac_pos[m] = net->mac_ops[m];
}

/* Labels are the baseline's predictions except every fifth image, so that
 * narrowing can both lose and gain. */
static void setup(fixture *f, uint64_t seed, int mac_layers)
{
    accsim_error err;
    memset(f, 0, sizeof *f);
    build_chain(&f->net, seed, mac_layers);
    cr_assert_eq(f->net.mac_count, mac_layers);
    size_t bytes = f->net.tensors[f->net.input].count;
    nb_rng rng = {seed * 7 + 3};
    f->inputs = malloc((size_t)N * bytes);
    for (size_t i = 0; i < (size_t)N * bytes; i++)
        f->inputs[i] = (int8_t)nb_in(&rng, -128, 127);
    f->engine = accsim_cpu_engine_create(&err);
    cr_assert_not_null(f->engine, "%s", err.message);
    cr_assert_eq(f->engine->ops->load(f->engine, &f->net, f->inputs, N, &err), 0, "%s", err.message);
    f->set = (accsim_imageset){.name = "synthetic", .count = N, .labels = f->labels};
    cr_assert_eq(accsim_baseline_run(&f->base, f->engine, &f->net, &f->set, ACCSIM_SATURATE, true,
                                     &err), 0, "%s", err.message);
    for (int i = 0; i < N; i++)
        f->labels[i] = i % 5 == 0 ? (uint8_t)nb_in(&rng, 0, 9) : (uint8_t)f->base.res.predictions[i];
    accsim_summarize(&f->base.res, f->labels, 0, &f->base.summary);
    int seen[10] = {0}, classes = 0;
    for (int i = 0; i < N; i++)
        classes += !seen[f->base.res.predictions[i]]++;
    cr_assert_geq(classes, 2, "a degenerate network predicts one class");
}

static void teardown(fixture *f)
{
    accsim_baseline_free(&f->base);
    accsim_engine_destroy(f->engine);
    free(f->inputs);
    accsim_network_free(&f->net);
}

/* Every image recomputed in full at bits. */
static size_t brute_correct(fixture *f, const int *bits)
{
    accsim_error err;
    accsim_config cfg;
    accsim_config_default(&cfg);
    memcpy(cfg.bits, bits, sizeof(int) * (size_t)f->net.mac_count);
    accsim_result res;
    cr_assert_eq(accsim_result_init(&res, &f->net, N, &cfg, &err), 0, "%s", err.message);
    cr_assert_eq(f->engine->ops->run(f->engine, &cfg, NULL, N, &res, NULL, &err), 0, "%s",
                 err.message);
    size_t c = 0;
    for (int i = 0; i < N; i++)
        c += res.predictions[i] == f->labels[i];
    accsim_result_free(&res);
    return c;
}

static void check_exact_counts(fixture *f, const accsim_search_result *r)
{
    cr_assert(r->found);
    cr_assert_eq(brute_correct(f, r->bits), r->correct, "the answer's count is exact");
    cr_assert_geq(r->correct, r->target_correct);
    cr_assert_eq(r->energy, accsim_network_energy(&f->net, r->bits));
    cr_assert_gt(r->path_count, 0);
    for (size_t p = 0; p < r->path_count; p++)
        cr_assert_eq(brute_correct(f, r->path[p].bits), r->path[p].correct, "path point %zu", p);
    cr_assert_eq(memcmp(r->path[r->path_count - 1].bits, r->bits,
                        sizeof(int) * (size_t)r->layers), 0, "the last accepted setting is the answer");
}

/* The true optimum over 2..32 per layer, from the exact method's proof. */
static void exact_optimum(fixture *f, double tolerance, accsim_search_result *r)
{
    accsim_error err;
    accsim_search_options so;
    accsim_search_options_default(&so);
    so.tolerance = tolerance;
    so.method = ACCSIM_SEARCH_EXACT;
    so.pareto = false;
    so.widen = false; /* the proof covers every width outside the box */
    so.span = 1;
    cr_assert_eq(accsim_search(&f->base, &so, r, &err), 0, "%s", err.message);
    cr_assert(r->found && r->proved);
    cr_assert_eq(r->method, ACCSIM_SEARCH_EXACT);
    cr_assert_eq(r->lower_bound, r->energy);
}

static void scalable_vs_exact(uint64_t seed, int layers, double tolerance)
{
    fixture f;
    setup(&f, seed, layers);
    accsim_search_result opt, sc, tight;
    exact_optimum(&f, tolerance, &opt);
    accsim_error err;
    accsim_search_options so;
    accsim_search_options_default(&so);
    so.tolerance = tolerance;
    so.method = ACCSIM_SEARCH_SCALABLE;
    so.chunk = 4; /* early stops inside the small set */
    so.bound_images = (size_t)N * 100000; /* enough to finish the bound here */
    cr_assert_eq(accsim_search(&f.base, &so, &sc, &err), 0, "%s", err.message);
    cr_assert_eq(sc.method, ACCSIM_SEARCH_SCALABLE);
    check_exact_counts(&f, &sc);
    cr_assert_leq(sc.lower_bound, opt.energy, "seed %llu: bound %llu above the optimum %llu",
                  (unsigned long long)seed, (unsigned long long)sc.lower_bound,
                  (unsigned long long)opt.energy);
    cr_assert_leq(opt.energy, sc.energy);
    cr_log_info("seed %llu, %d layers: bound %llu, optimum %llu, answer %llu%s, %zu settings refuted",
                (unsigned long long)seed, layers, (unsigned long long)sc.lower_bound,
                (unsigned long long)opt.energy, (unsigned long long)sc.energy,
                sc.proved ? " (proved)" : "", sc.bound_settings);
    if (sc.proved)
        cr_assert_eq(sc.energy, opt.energy, "a proved answer is the optimum");
    cr_assert(sc.proved || sc.bound_exhausted, "the bound ends proved or out of budget");
    /* A tiny budget: a weaker bound, still below the optimum. */
    so.bound_images = 1;
    cr_assert_eq(accsim_search(&f.base, &so, &tight, &err), 0, "%s", err.message);
    check_exact_counts(&f, &tight);
    cr_assert_leq(tight.lower_bound, opt.energy);
    cr_assert_leq(tight.lower_bound, sc.lower_bound);
    cr_assert_leq(opt.energy, tight.energy);
    accsim_search_result_free(&opt);
    accsim_search_result_free(&sc);
    accsim_search_result_free(&tight);
    teardown(&f);
}

/* Six layers, where the exact method's proof gives the true optimum quickly
 * (at these tolerances the optimum lies at or near the floors; at tolerance 0
 * the exact proof takes minutes on these random networks). */
Test(search_scalable, bound_and_answer_bracket_the_optimum, .timeout = 900)
{
    scalable_vs_exact(17, 6, 20.0);
    scalable_vs_exact(17, 6, 5.0);
}

/* The bound's claim checked directly on ten layers, where the true optimum
 * is out of reach: random settings (2 up to the safe widths) cheaper than the
 * bound all miss the target when recomputed in full. The bound's budget is
 * small, so that it stops short of the answer. */
Test(search_scalable, cheaper_than_the_bound_misses_the_target, .timeout = 900)
{
    fixture f;
    setup(&f, 5, ACCSIM_SEARCH_EXACT_LAYERS + 4);
    accsim_error err;
    accsim_search_options so;
    accsim_search_options_default(&so);
    so.tolerance = 5.0;
    so.bound_images = 3 * N;
    so.chunk = 4;
    accsim_search_result r;
    cr_assert_eq(accsim_search(&f.base, &so, &r, &err), 0, "%s", err.message);
    cr_assert_eq(r.method, ACCSIM_SEARCH_SCALABLE, "auto: more MAC layers than the exact method takes");
    check_exact_counts(&f, &r);
    cr_assert_leq(r.lower_bound, r.energy);
    int floor_bits[ACCSIM_MAX_LAYERS];
    for (int l = 0; l < r.layers; l++) {
        cr_assert_geq(r.floor[l], 2);
        cr_assert_leq(r.floor[l], r.safe[l]);
        floor_bits[l] = r.floor[l];
    }
    cr_assert_geq(r.lower_bound, accsim_network_energy(&f.net, floor_bits),
                  "the bound starts at the floors' energy");
    nb_rng rng = {99};
    int checked = 0;
    for (int trial = 0; trial < 60; trial++) {
        /* From 2 bits everywhere (below the floors too), widen random layers
         * while the setting stays cheaper than the bound. */
        int bits[ACCSIM_MAX_LAYERS];
        for (int l = 0; l < r.layers; l++)
            bits[l] = 2;
        int steps = nb_in(&rng, 0, 40 * r.layers);
        for (int k = 0; k < steps; k++) {
            int l = nb_in(&rng, 0, r.layers - 1);
            if (bits[l] >= r.safe[l])
                continue;
            bits[l]++;
            if (accsim_network_energy(&f.net, bits) >= r.lower_bound)
                bits[l]--;
        }
        cr_assert_lt(accsim_network_energy(&f.net, bits), r.lower_bound);
        checked++;
        cr_assert_lt(brute_correct(&f, bits), r.target_correct,
                     "a setting cheaper than the certified bound meets the target");
    }
    cr_log_info("bound %llu, answer %llu, %d settings below the bound recomputed",
                (unsigned long long)r.lower_bound, (unsigned long long)r.energy, checked);
    accsim_search_result_free(&r);
    teardown(&f);
}
