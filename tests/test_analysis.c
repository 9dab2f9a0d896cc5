/* The analyses against brute force and hand-known answers, on small synthetic
 * models and images (the C reference engine recomputes everything in full). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/analysis.h"
#include "accsim/energy.h"
#include "testdata.h"

/* Brute force recomputes every image of every setting; the sanitized build
 * runs the same checks on fewer images. */
#ifdef ACCSIM_SANITIZED
#define N 16
#else
#define N 48
#endif

typedef struct fixture {
    accsim_model model;
    accsim_engine *engine;
    int8_t *images;
    uint8_t labels[N];
    accsim_imageset set;
    accsim_baseline base;
} fixture;

static uint64_t rng = 12345;
static uint32_t next(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33);
}

/* A random model and random images; labels are the baseline's predictions
 * except for every fifth image, so narrowing can both lose and gain. */
static void setup_random(fixture *f, uint64_t seed)
{
    accsim_error err;
    rng = seed;
    accsim_model_random(&f->model, seed);
    f->images = malloc((size_t)N * ACCSIM_IMAGE_BYTES);
    for (size_t i = 0; i < (size_t)N * ACCSIM_IMAGE_BYTES; i++)
        f->images[i] = (int8_t)(int)(next() % 256 - 128);
    f->engine = accsim_cpu_engine_create(&err);
    cr_assert_not_null(f->engine, "%s", err.message);
    cr_assert_eq(f->engine->ops->load(f->engine, testdata_net(&f->model), f->images, N, &err), 0, "%s", err.message);
    memset(f->labels, 0, sizeof f->labels);
    f->set = (accsim_imageset){.name = "synthetic", .count = N, .indices = NULL, .labels = f->labels};
    cr_assert_eq(accsim_baseline_run(&f->base, f->engine, testdata_net(&f->model), &f->set, ACCSIM_SATURATE, true, &err), 0,
                 "%s", err.message);
    for (int i = 0; i < N; i++)
        f->labels[i] = i % 5 == 0 ? (uint8_t)(next() % 10) : f->base.res.predictions[i];
    accsim_summarize(&f->base.res, f->labels, 0, &f->base.summary);
}

static void teardown(fixture *f)
{
    accsim_baseline_free(&f->base);
    accsim_engine_destroy(f->engine);
    free(f->images);
    accsim_model_free(&f->model);
}

/* Full recomputation of every image at bits. */
static size_t brute_correct(fixture *f, const int bits[ACCSIM_LAYERS], accsim_result *keep)
{
    accsim_error err;
    accsim_config cfg;
    accsim_config_default(&cfg);
    memcpy(cfg.bits, bits, sizeof(int) * ACCSIM_LAYERS);
    accsim_result res;
    cr_assert_eq(accsim_result_init(&res, testdata_net(&f->model), N, &cfg, &err), 0);
    cr_assert_eq(f->engine->ops->run(f->engine, &cfg, NULL, N, &res, NULL, &err), 0, "%s", err.message);
    size_t c = 0;
    for (int i = 0; i < N; i++)
        c += res.predictions[i] == f->labels[i];
    if (keep)
        *keep = res;
    else
        accsim_result_free(&res);
    return c;
}

Test(analysis, evaluate_equals_full_recomputation)
{
    fixture f;
    setup_random(&f, 7);
    accsim_error err;
    for (int trial = 0; trial < 25; trial++) {
        int bits[ACCSIM_LAYERS];
        for (int l = 0; l < ACCSIM_LAYERS; l++)
            bits[l] = f.base.need_max[l] - (int)(next() % 4);
        if (trial == 0)
            for (int l = 0; l < ACCSIM_LAYERS; l++)
                bits[l] = 32;
        accsim_eval e;
        uint32_t preds[N];
        cr_assert_eq(accsim_evaluate(&f.base, bits, &e, preds, &err), 0, "%s", err.message);
        accsim_result full;
        size_t c = brute_correct(&f, bits, &full);
        cr_assert_eq(e.correct, c, "bits %d,%d,%d,%d,%d", bits[0], bits[1], bits[2], bits[3], bits[4]);
        accsim_summary sum;
        accsim_summarize(&full, f.labels, 0, &sum);
        for (int l = 0; l < ACCSIM_LAYERS; l++) {
            cr_assert_eq(e.saturations[l], sum.layers[l].saturations);
            cr_assert_eq(e.images_saturated[l], sum.layers[l].images_saturated);
        }
        for (int i = 0; i < N; i++)
            cr_assert_eq(preds[i], full.predictions[i]);
        accsim_result_free(&full);
    }
    teardown(&f);
}

/* Hand-made: conv1 has one weight 127 on channel 0 at (0,0), every pixel is
 * 127, so each conv1 output's only nonzero partial sum is 127*127 = 16129:
 * exactly 15 bits. At 15 bits nothing saturates; at 14 bits every output of filter 0 does. */
Test(analysis, need_is_exact_on_a_hand_made_model)
{
    accsim_model m;
    testdata_zero_model(&m);
    m.weights[0][0] = 127;
    int8_t *img = malloc(ACCSIM_IMAGE_BYTES);
    memset(img, 127, ACCSIM_IMAGE_BYTES);
    accsim_error err;
    accsim_engine *e = accsim_cpu_engine_create(&err);
    cr_assert_eq(e->ops->load(e, testdata_net(&m), img, 1, &err), 0);
    uint8_t label = 0;
    accsim_imageset set = {.name = "hand", .count = 1, .labels = &label};
    accsim_baseline b;
    cr_assert_eq(accsim_baseline_run(&b, e, testdata_net(&m), &set, ACCSIM_SATURATE, true, &err), 0, "%s", err.message);
    cr_assert_eq(b.need[0], 15);
    int bits[ACCSIM_LAYERS] = {15, 32, 32, 32, 32};
    accsim_eval ev;
    cr_assert_eq(accsim_evaluate(&b, bits, &ev, NULL, &err), 0);
    cr_assert_eq(ev.changed, 0);
    cr_assert_eq(ev.saturations[0], 0);
    bits[0] = 14;
    cr_assert_eq(accsim_evaluate(&b, bits, &ev, NULL, &err), 0);
    cr_assert_eq(ev.changed, 1);
    cr_assert_eq(ev.images_saturated[0], 1);
    cr_assert_eq(ev.saturations[0], 28 * 28, "%llu", (unsigned long long)ev.saturations[0]); /* one event per output of filter 0: the first add */
    accsim_baseline_free(&b);
    accsim_engine_destroy(e);
    free(img);
    accsim_model_free(&m);
}

/* Hand-made accuracy change: the conv1 peak of filter 0 decides the class.
 * conv1 filter 0 = 127 at (0,0) of channel 0, output scale 1/128 so the
 * activation is 126 at 15 bits and 64 when saturated at 14 bits (8191/128);
 * conv2 filter 0 copies channel 0; fc1/fc2 pass it on; fc3 has a bias of
 * -100 on class 1 against the signal on class 1 and 0 on class 0: large
 * signal -> class 1, small -> class 0. So accuracy (label 1) must change
 * exactly below 15 bits, and minwidth with tolerance 0 answers 15. */
Test(analysis, accuracy_changes_exactly_below_the_need)
{
    accsim_model m;
    testdata_zero_model(&m);
    m.weights[0][0] = 127;                 /* conv1 o0 c0 (0,0) */
    m.output_scale[0] = 1.0 / 128.0;
    m.weights[1][0] = 1;                   /* conv2 o0 c0 (0,0) */
    m.output_scale[1] = 1.0;
    m.weights[2][0] = 1;                   /* fc1 o0 <- input 0 */
    m.weights[3][0] = 1;                   /* fc2 o0 <- input 0 */
    m.weights[4][1 * 84 + 0] = 1;          /* fc3 class 1 <- input 0 */
    m.bias[1] = -100;
    m.output_scale[4] = 1.0;
    int8_t *img = malloc(ACCSIM_IMAGE_BYTES);
    memset(img, 127, ACCSIM_IMAGE_BYTES);
    accsim_error err;
    accsim_engine *e = accsim_cpu_engine_create(&err);
    cr_assert_eq(e->ops->load(e, testdata_net(&m), img, 1, &err), 0);
    uint8_t label = 1;
    accsim_imageset set = {.name = "hand", .count = 1, .labels = &label};
    accsim_baseline b;
    cr_assert_eq(accsim_baseline_run(&b, e, testdata_net(&m), &set, ACCSIM_SATURATE, true, &err), 0, "%s", err.message);
    cr_assert_eq(b.summary.correct, 1, "126 - 100 > 0: class 1");
    accsim_minwidth_result *mw = calloc(1, sizeof *mw);
    cr_assert_eq(accsim_minwidth(&b, 0.0, NULL, mw, &err), 0, "%s", err.message);
    cr_assert_eq(mw->answer, 15);
    cr_assert_eq(mw->rows[32 - 15].correct, 1);
    cr_assert_eq(mw->rows[32 - 14].correct, 0);
    free(mw);
    accsim_baseline_free(&b);
    accsim_engine_destroy(e);
    free(img);
    accsim_model_free(&m);
}

static int cmp_setting(const int a[5], uint64_t ea, const int b[5], uint64_t eb)
{
    if (ea != eb)
        return ea < eb ? -1 : 1;
    for (int l = 0; l < 5; l++)
        if (a[l] != b[l])
            return a[l] < b[l] ? -1 : 1;
    return 0;
}

static void search_vs_brute(uint64_t seed, double tolerance)
{
    fixture f;
    setup_random(&f, seed);
    accsim_error err;
    accsim_search_options so;
    accsim_search_options_default(&so);
    so.tolerance = tolerance;
    so.widen = false;
    so.prove = false; /* the box alone, against brute force over the box */
    so.span = 2;
    accsim_search_result r;
    cr_assert_eq(accsim_search(&f.base, &so, &r, &err), 0, "%s", err.message);
    /* Brute force over the same box: every setting fully recomputed. */
    int best[5] = {0};
    uint64_t best_e = 0;
    bool found = false;
    size_t total = 1;
    for (int l = 0; l < 5; l++)
        total *= (size_t)(r.hi[l] - r.lo[l] + 1);
    int (*bits)[5] = malloc(total * sizeof *bits);
    uint64_t *energy = malloc(total * sizeof *energy);
    size_t *correct = malloc(total * sizeof *correct);
    for (size_t k = 0; k < total; k++) {
        size_t rest = k;
        for (int l = 4; l >= 0; l--) {
            int span = r.hi[l] - r.lo[l] + 1;
            bits[k][l] = r.lo[l] + (int)(rest % (size_t)span);
            rest /= (size_t)span;
        }
        energy[k] = accsim_energy(bits[k]);
        correct[k] = brute_correct(&f, bits[k], NULL);
        if (correct[k] >= r.target_correct &&
            (!found || cmp_setting(bits[k], energy[k], best, best_e) < 0)) {
            memcpy(best, bits[k], sizeof best);
            best_e = energy[k];
            found = true;
        }
    }
    cr_assert(found && r.found);
    cr_assert_eq(r.energy, best_e);
    for (int l = 0; l < 5; l++)
        cr_assert_eq(r.bits[l], best[l], "layer %d: search %d, brute force %d", l, r.bits[l], best[l]);
    /* Pareto: a point (e, c) is on the front iff no setting of energy <= e has
     * correct >= c other than itself, and every front point matches. */
    for (size_t p = 0; p < r.pareto_count; p++) {
        const accsim_pareto_point *q = &r.pareto[p];
        size_t k;
        for (k = 0; k < total; k++)
            if (memcmp(bits[k], q->bits, 5 * sizeof *q->bits) == 0)
                break;
        cr_assert_lt(k, total);
        cr_assert_eq(correct[k], q->correct);
        for (size_t j = 0; j < total; j++)
            if (energy[j] < q->energy)
                cr_assert_lt(correct[j], q->correct, "cheaper setting as accurate as a front point");
    }
    /* and every brute-force staircase record is on the front */
    size_t record = 0;
    bool have = false;
    for (size_t p = 0; p < r.pareto_count; p++)
        cr_assert(p == 0 || r.pareto[p].correct > r.pareto[p - 1].correct);
    for (size_t j = 0; j < total; j++) {
        bool dominated = false;
        for (size_t i = 0; i < total && !dominated; i++)
            dominated = (energy[i] < energy[j] && correct[i] >= correct[j]) ||
                        (energy[i] == energy[j] && correct[i] > correct[j]);
        if (dominated)
            continue;
        bool on = false;
        for (size_t p = 0; p < r.pareto_count; p++)
            on = on || (r.pareto[p].energy == energy[j] && r.pareto[p].correct == correct[j]);
        cr_assert(on, "non-dominated setting missing from the front");
        (void)record, (void)have;
    }
    free(bits), free(energy), free(correct);
    accsim_search_result_free(&r);
    teardown(&f);
}

/* The proof beyond the box rests on two limits; each is checked here by full
 * recomputation. safe[L]: no input makes layer L saturate, so the safe widths
 * compute the 32-bit bits (random images and the extreme ones). collapse[L]:
 * at that width every image gets the same prediction (the fixture's labels
 * are spread so that the bound matters). The proof itself runs on the real
 * model in the CLI tests and the study. */
Test(analysis, proof_limits)
{
    fixture f;
    setup_random(&f, 31);
    accsim_error err;
    for (int i = 0; i < N; i++)
        f.labels[i] = (uint8_t)(i % 10);
    f.base.max_class_count = (N + 9) / 10;
    int safe[ACCSIM_LAYERS], collapse[ACCSIM_LAYERS];
    accsim_search_limits(&f.base, N, safe, collapse); /* a target no collapse can meet */
    for (int i = 0; i < 2; i++)
        memset(f.images + (size_t)i * ACCSIM_IMAGE_BYTES, i ? -128 : 127, ACCSIM_IMAGE_BYTES);
    cr_assert_eq(f.engine->ops->load(f.engine, testdata_net(&f.model), f.images, N, &err), 0, "%s", err.message);
    int wide[ACCSIM_LAYERS] = {32, 32, 32, 32, 32};
    accsim_result at_safe, at_32;
    brute_correct(&f, safe, &at_safe);
    brute_correct(&f, wide, &at_32);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(at_safe.predictions[i], at_32.predictions[i], "image %d", i);
        cr_assert_eq(memcmp(at_safe.outputs + i * ACCSIM_CLASSES, at_32.outputs + i * ACCSIM_CLASSES,
                            ACCSIM_CLASSES), 0, "image %d", i);
        for (int l = 0; l < ACCSIM_LAYERS; l++)
            cr_assert_eq(at_safe.saturations[i * ACCSIM_LAYERS + l], 0, "image %d layer %d", i, l);
    }
    accsim_result_free(&at_safe);
    accsim_result_free(&at_32);
    int collapsed_layers = 0;
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        cr_assert(safe[l] >= 2 && safe[l] <= 32);
        if (!collapse[l])
            continue;
        collapsed_layers++;
        int bits[ACCSIM_LAYERS] = {32, 32, 32, 32, 32};
        bits[l] = collapse[l];
        accsim_result r;
        brute_correct(&f, bits, &r);
        for (int i = 1; i < N; i++)
            cr_assert_eq(r.predictions[i], r.predictions[0], "layer %d at %d bits, image %d", l,
                         bits[l], i);
        accsim_result_free(&r);
    }
    cr_assert_gt(collapsed_layers, 0, "the fixture should collapse somewhere");
    teardown(&f);
}

/* The proof beyond the box, from the default box, must find what an
 * exhaustive box search over the four widths below each largest need finds
 * (that box search equals brute force above), the answer inside that box and
 * off its lower edge. Leaf chunks of 5 images make the proof stop runs
 * early. */
static void proof_vs_box(uint64_t seed, double tolerance)
{
    fixture f;
    setup_random(&f, seed);
    accsim_error err;
    accsim_search_options ref_opts, proof_opts;
    accsim_search_options_default(&ref_opts);
    ref_opts.tolerance = tolerance;
    ref_opts.widen = false;
    ref_opts.prove = false;
    ref_opts.pareto = false;
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        ref_opts.hi[l] = f.base.need_max[l];
        ref_opts.lo[l] = f.base.need_max[l] - 4 > 2 ? f.base.need_max[l] - 4 : 2;
    }
    accsim_search_result ref, proof;
    cr_assert_eq(accsim_search(&f.base, &ref_opts, &ref, &err), 0, "%s", err.message);
    cr_assert(ref.found);
    bool inside = true;
    for (int l = 0; l < ACCSIM_LAYERS; l++)
        inside = inside && (ref.bits[l] > ref.lo[l] || ref.lo[l] == 2);
    cr_assert(inside, "seed %llu: the reference answer sits on its box's lower edge",
              (unsigned long long)seed);

    accsim_search_options_default(&proof_opts);
    proof_opts.tolerance = tolerance;
    proof_opts.pareto = false;
    proof_opts.leaf_chunk = 5;
    cr_assert_eq(accsim_search(&f.base, &proof_opts, &proof, &err), 0, "%s", err.message);
    cr_assert(proof.found && proof.proved);
    cr_assert_gt(proof.proof_settings, 0);
    cr_assert_gt(proof.proof_settings, proof.proof_by_bounds,
                 "the proof should have simulated some settings, not only bounded them");
    cr_assert_eq(proof.energy, ref.energy);
    cr_assert_eq(proof.correct, ref.correct);
    for (int l = 0; l < ACCSIM_LAYERS; l++)
        cr_assert_eq(proof.bits[l], ref.bits[l], "layer %d: proof %d, exhaustive box %d", l,
                     proof.bits[l], ref.bits[l]);

    /* From a box of the one setting at the largest needs (the baseline's
     * accuracy, far too dear), the proof itself must find the answer, with
     * new nodes holding 5 images: what is not refuted on those extends its
     * path step by step to every image, and the useful widths grow with it. */
    for (int l = 0; l < ACCSIM_LAYERS; l++)
        proof_opts.lo[l] = proof_opts.hi[l] = f.base.need_max[l];
    proof_opts.first_prefix = 5;
    accsim_search_result_free(&proof);
    cr_assert_eq(accsim_search(&f.base, &proof_opts, &proof, &err), 0, "%s", err.message);
    cr_assert(proof.found && proof.proved);
    cr_assert_eq(proof.energy, ref.energy, "one-setting box: energy %llu, exhaustive box %llu",
                 (unsigned long long)proof.energy, (unsigned long long)ref.energy);
    cr_assert_eq(proof.correct, ref.correct);
    accsim_search_result_free(&ref);
    accsim_search_result_free(&proof);
    teardown(&f);
}

/* One tolerance only: the random fixture's useful widths span most of 2..32,
 * and the proof decides some 76,000 settings here (about 40 s). */
Test(analysis, proof_equals_exhaustive_box) { proof_vs_box(23, 5.0); }

Test(analysis, search_equals_brute_force_tolerance_0) { search_vs_brute(11, 0.0); }
Test(analysis, search_equals_brute_force_tolerance_5) { search_vs_brute(23, 5.0); }

Test(analysis, minwidth_equals_brute_force)
{
    fixture f;
    setup_random(&f, 5);
    accsim_error err;
    accsim_minwidth_result *mw = calloc(1, sizeof *mw);
    cr_assert_eq(accsim_minwidth(&f.base, 2.0, NULL, mw, &err), 0, "%s", err.message);
    int answer = 0;
    for (int w = 32; w >= 2; w--) {
        int bits[5] = {w, w, w, w, w};
        size_t c = brute_correct(&f, bits, NULL);
        if (!mw->rows[32 - w].bounded)
            cr_assert_eq(mw->rows[32 - w].correct, c, "B = %d", w);
        else
            cr_assert_leq(c, mw->rows[32 - w].correct, "collapse bound at B = %d", w);
        if (c >= mw->target_correct)
            answer = w;
    }
    cr_assert_eq(mw->answer, answer);
    free(mw);
    teardown(&f);
}
