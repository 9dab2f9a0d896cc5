/* Approach C for networks with many MAC layers (10 to 20): the exact method
 * of search.c enumerates a box whose size grows as span^layers and walks a
 * tree of prefixes that holds every image's restart state per node, which
 * fits five layers, not ten. This method gives
 *
 *   - a setting that meets the target, found by exact evaluations only, and
 *   - a certified lower bound on the energy of ANY setting of 2..32 per layer
 *     that meets the target, so the gap to the optimum is known; when the
 *     bound reaches the setting's energy, the setting is proved optimal.
 *
 * 1. Exact, incremental evaluation (walker). The walker holds a current
 *    setting and, per image, its exact state under it: correct or not, and
 *    per layer the bits its partial sums needed and whether the layer
 *    saturated (or wrapped). A neighbouring setting s' is evaluated from it:
 *    an image computes exactly what it computes now unless some layer whose
 *    width changes (taken in execution order) either saturated now, or is
 *    narrowed below what the image needed there (SPEC 7: a layer that did not
 *    saturate held exact values, so any width holding them computes the same
 *    bits). Such an image is re-run from the first such layer, or from the
 *    first layer where it departs from the 32-bit baseline when that comes
 *    earlier (its restart state there is the baseline's, which the baseline
 *    captured); an image that departs from the baseline nowhere under s' takes
 *    the baseline's state without a run. A run stops as soon as even every
 *    image still to run could not lift the count to the threshold (the count
 *    is then an upper bound below it).
 *
 * 2. The setting (a heuristic; each step is exact):
 *    a. per-layer minima m[L]: with every other layer at 32 bits, the
 *       smallest width from which every wider width meets the target;
 *    b. repair: from m, widen every layer by one bit more at a time (at most
 *       to the largest need of the baseline, where every image is the
 *       baseline's, so this ends with the target met);
 *    c. descent: while some layer narrowed by one bit still meets the target,
 *       take the one saving the most energy; when none does, try narrowing one
 *       layer by a bit while widening another by a bit, when that costs less.
 *       Energy falls strictly at every step, so the descent ends; it also
 *       stops after max_evaluations evaluations in all (default 60 per layer).
 *
 * 3. The certified lower bound. floor[L]: for a MAC layer that every path
 *    from the input to the output passes through, the widths at which the
 *    layer's every representable accumulator value requantizes to one output
 *    per channel (checked at every width from 2 up, with no monotonicity
 *    assumed): at those widths every image gets the same prediction whatever
 *    the other layers do, so at most the most frequent label is right, which
 *    is below the target (accsim_collapse_bound). safe[L]: from the weights,
 *    no input can make a partial sum of the layer leave that width, so any
 *    wider width computes the same bits at more energy. Settings of
 *    floor..safe are then taken in increasing energy (each generated once:
 *    the children of s are s + e_j for j at or after the last layer of s
 *    above its floor) and each is decided exactly (1., threshold the
 *    target), until the image budget is spent or the energy reaches the
 *    found setting's. The bound is the energy of the cheapest setting not yet
 *    decided (or the found energy). Soundness: let t meet the target. If some
 *    layer of t is at or below its floor, t does not meet the target
 *    (collapse): impossible. Clamp every layer of t above safe to safe: t'
 *    computes the same bits, so meets the target, and E(t') <= E(t) (energy
 *    rises with every width). t' is in the enumerated range; every setting of
 *    the range cheaper than the bound was decided and missed the target, so
 *    E(t) >= E(t') >= bound. If a decided setting meets the target, it is
 *    the cheapest in the range that does, hence the optimum.
 *
 *    No monotonicity of accuracy in the widths is assumed anywhere. In
 *    particular "a layer narrower than its single-layer minimum m[L] loses
 *    too much" is NOT a bound: narrowing another layer can turn wrong
 *    predictions right, so a setting may meet the target with a layer below
 *    m[L]. Its energy is reported as an estimate only (single_min_energy).
 *    Where few layers can collapse, the certified bound is weak: refuting
 *    the settings between it and the found energy needs exact runs of each,
 *    and there are very many of them. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/analysis.h"
#include "accsim/energy.h"

typedef struct walker {
    const accsim_baseline *b;
    int L;
    size_t n;
    int bits[ACCSIM_MAX_LAYERS];
    int position[ACCSIM_MAX_LAYERS]; /* of each MAC layer in execution order */
    uint8_t *need, *sat, *correct;   /* current state: [n][L], [n][L], [n] */
    size_t ncorrect;
    uint8_t *base_sat, *base_correct; /* the baseline's */
    uint32_t *run_pos, *run_idx;     /* scratch [n] */
    uint8_t *run_from;               /* scratch [n]: start position */
    size_t chunk;
    size_t images_run;
    size_t max_restart;              /* largest restart state, bytes */
    int8_t *start;                   /* scratch [chunk][max_restart] */
} walker;

/* The states of the images a setting changes, against the walker's. */
typedef struct delta {
    size_t m;
    uint32_t *pos;                 /* [n] */
    uint8_t *need, *sat, *correct; /* [n][L], [n][L], [n] */
    size_t correct_total;          /* the setting's correct count (exact when complete) */
    bool complete;
} delta;

static int delta_init(delta *d, size_t n, int L, accsim_error *err)
{
    memset(d, 0, sizeof *d);
    size_t k = n ? n : 1;
    d->pos = malloc(k * sizeof *d->pos);
    d->need = malloc(k * (size_t)L);
    d->sat = malloc(k * (size_t)L);
    d->correct = malloc(k);
    if (!d->pos || !d->need || !d->sat || !d->correct)
        return accsim_fail(err, "out of memory");
    return 0;
}

static void delta_free(delta *d)
{
    free(d->pos), free(d->need), free(d->sat), free(d->correct);
    memset(d, 0, sizeof *d);
}

static void walker_free(walker *w)
{
    free(w->need), free(w->sat), free(w->correct), free(w->base_sat), free(w->base_correct);
    free(w->run_pos), free(w->run_idx), free(w->run_from), free(w->start);
    memset(w, 0, sizeof *w);
}

/* The walker at 32 bits everywhere: the baseline's state. */
static int walker_init(walker *w, const accsim_baseline *b, size_t chunk, accsim_error *err)
{
    memset(w, 0, sizeof *w);
    w->b = b;
    w->L = b->layers;
    w->n = b->set.count;
    w->chunk = chunk;
    const size_t n = w->n ? w->n : 1, L = (size_t)w->L;
    for (int l = 0; l < ACCSIM_MAX_LAYERS; l++)
        w->bits[l] = 32;
    for (int q = 0; q < w->L; q++)
        w->position[b->order[q]] = q;
    for (int l = 0; l < w->L; l++)
        if (b->res.act_bytes[l] > w->max_restart)
            w->max_restart = b->res.act_bytes[l];
    w->need = malloc(n * L);
    w->sat = malloc(n * L);
    w->correct = malloc(n);
    w->base_sat = malloc(n * L);
    w->base_correct = malloc(n);
    w->run_pos = malloc(n * sizeof *w->run_pos);
    w->run_idx = malloc(n * sizeof *w->run_idx);
    w->run_from = malloc(n);
    w->start = malloc(chunk * (w->max_restart ? w->max_restart : 1));
    if (!w->need || !w->sat || !w->correct || !w->base_sat || !w->base_correct || !w->run_pos ||
        !w->run_idx || !w->run_from || !w->start) {
        walker_free(w);
        return accsim_fail(err, "out of memory");
    }
    memcpy(w->need, b->need, w->n * L);
    for (size_t k = 0; k < w->n * L; k++)
        w->base_sat[k] = b->res.saturations[k] != 0;
    memcpy(w->sat, w->base_sat, w->n * L);
    for (size_t i = 0; i < w->n; i++) {
        w->base_correct[i] = b->res.predictions[i] == b->set.labels[i];
        w->ncorrect += w->base_correct[i];
    }
    memcpy(w->correct, w->base_correct, w->n);
    return 0;
}

/* The position (execution order) from which image i must be re-run under
 * bits, or L when it keeps its current state; *baseline: it departs from the
 * 32-bit baseline nowhere (then it takes the baseline's state, no run). */
static int restart_position(const walker *w, size_t i, const int *bits, bool *baseline)
{
    const accsim_baseline *b = w->b;
    const int L = w->L;
    const size_t row = i * (size_t)L;
    int keep = L, depart = L;
    for (int q = 0; q < L && keep == L; q++) {
        int l = b->order[q];
        if (bits[l] == w->bits[l])
            continue;
        bool same = !w->sat[row + (size_t)l] && (bits[l] > w->bits[l] || w->need[row + (size_t)l] <= bits[l]);
        if (!same)
            keep = q;
    }
    *baseline = false;
    if (keep == L)
        return L;
    for (int q = 0; q < L && depart == L; q++)
        if (b->need[row + (size_t)b->order[q]] > bits[b->order[q]])
            depart = q;
    if (depart == L) {
        *baseline = true;
        return L;
    }
    return keep < depart ? keep : depart;
}

/* Runs the images run_pos[0..m-1] (all starting at position q) under bits,
 * appending their states to d. Returns the number correct, or -1. */
static long run_group(walker *w, const int *bits, int q, size_t m, delta *d, accsim_error *err)
{
    const accsim_baseline *b = w->b;
    const int L = w->L, layer = b->order[q];
    const size_t len = b->res.act_bytes[layer];
    accsim_config cfg;
    accsim_config_default(&cfg);
    memcpy(cfg.bits, bits, sizeof(int) * (size_t)L);
    cfg.overflow = b->overflow;
    cfg.start_layer = q > 0 ? layer : 0;
    cfg.start_acts = q > 0 ? w->start : NULL;
    for (size_t j = 0; q > 0 && j < m; j++)
        memcpy(w->start + j * len, b->res.acts[layer] + (size_t)w->run_pos[j] * len, len);
    accsim_result res;
    if (accsim_result_init(&res, b->net, m, &cfg, err) != 0)
        return -1;
    if (b->engine->ops->run(b->engine, &cfg, w->run_idx, m, &res, NULL, err) != 0) {
        accsim_result_free(&res);
        return -1;
    }
    long correct = 0;
    for (size_t j = 0; j < m; j++) {
        size_t i = w->run_pos[j], k = d->m++;
        d->pos[k] = (uint32_t)i;
        d->correct[k] = res.predictions[j] == b->set.labels[i];
        correct += d->correct[k];
        uint8_t *need = d->need + k * (size_t)L, *sat = d->sat + k * (size_t)L;
        /* Before q the image is the baseline's (q is at or before it departs). */
        memcpy(need, b->need + i * (size_t)L, (size_t)L);
        memcpy(sat, w->base_sat + i * (size_t)L, (size_t)L);
        for (int p = q; p < L; p++) {
            int l = b->order[p];
            size_t r = j * (size_t)L + (size_t)l;
            int lo = accsim_bits_needed(res.psum_min[r]), hi = accsim_bits_needed(res.psum_max[r]);
            int nd = lo > hi ? lo : hi;
            need[l] = (uint8_t)(nd > 32 ? 32 : nd);
            sat[l] = res.saturations[r] != 0;
        }
    }
    accsim_result_free(&res);
    w->images_run += m;
    return correct;
}

/* Evaluates bits from the walker's state into d (not committed): exact when
 * d->complete, else stopped once the count could not reach thr (then
 * d->correct_total is an upper bound below thr). thr 0 never stops. */
static int walk_eval(walker *w, const int *bits, size_t thr, delta *d, accsim_error *err)
{
    const accsim_baseline *b = w->b;
    const int L = w->L;
    d->m = 0;
    d->complete = true;
    size_t fixed = 0, to_run = 0;
    size_t per_position[ACCSIM_MAX_LAYERS + 1] = {0};
    for (size_t i = 0; i < w->n; i++) {
        bool baseline;
        int q = restart_position(w, i, bits, &baseline);
        w->run_from[i] = (uint8_t)q;
        if (baseline) { /* the baseline's state, without a run */
            size_t k = d->m++;
            d->pos[k] = (uint32_t)i;
            d->correct[k] = w->base_correct[i];
            memcpy(d->need + k * (size_t)L, b->need + i * (size_t)L, (size_t)L);
            memcpy(d->sat + k * (size_t)L, w->base_sat + i * (size_t)L, (size_t)L);
            fixed += w->base_correct[i];
        } else if (q == L) {
            fixed += w->correct[i];
        } else {
            per_position[q]++;
            to_run++;
        }
    }
    size_t run_correct = 0, remaining = to_run;
    for (int q = 0; q < L && remaining; q++) {
        size_t i = 0;
        while (per_position[q]) {
            size_t m = 0;
            for (; i < w->n && m < w->chunk; i++)
                if (w->run_from[i] == q) {
                    w->run_pos[m] = (uint32_t)i;
                    w->run_idx[m] = b->set.indices ? b->set.indices[i] : (uint32_t)i;
                    m++;
                }
            assert(m > 0 && m <= per_position[q]);
            long c = run_group(w, bits, q, m, d, err);
            if (c < 0)
                return -1;
            per_position[q] -= m;
            remaining -= m;
            run_correct += (size_t)c;
            if (thr && fixed + run_correct + remaining < thr) {
                d->complete = false;
                d->correct_total = fixed + run_correct + remaining;
                return 0;
            }
        }
    }
    d->correct_total = fixed + run_correct;
    return 0;
}

/* Makes bits (evaluated completely into d) the walker's setting. */
static void walk_commit(walker *w, const int *bits, const delta *d)
{
    assert(d->complete);
    const size_t L = (size_t)w->L;
    for (size_t k = 0; k < d->m; k++) {
        size_t i = d->pos[k];
        w->ncorrect = w->ncorrect - w->correct[i] + d->correct[k];
        w->correct[i] = d->correct[k];
        memcpy(w->need + i * L, d->need + k * L, L);
        memcpy(w->sat + i * L, d->sat + k * L, L);
    }
    assert(w->ncorrect == d->correct_total);
    memcpy(w->bits, bits, sizeof(int) * L);
}

typedef struct scalable {
    walker w;
    delta trial, best;
    accsim_search_result *out;
    const accsim_network *net;
    size_t target;
    int floor[ACCSIM_MAX_LAYERS], safe[ACCSIM_MAX_LAYERS], top[ACCSIM_MAX_LAYERS];
    size_t path_cap;
} scalable;

static int path_add(scalable *S, accsim_error *err)
{
    accsim_search_result *out = S->out;
    if (out->path_count == S->path_cap) {
        size_t cap = S->path_cap ? 2 * S->path_cap : 32;
        accsim_pareto_point *p = realloc(out->path, cap * sizeof *p);
        if (!p)
            return accsim_fail(err, "out of memory");
        out->path = p;
        S->path_cap = cap;
    }
    accsim_pareto_point *p = &out->path[out->path_count++];
    memset(p, 0, sizeof *p);
    memcpy(p->bits, S->w.bits, sizeof(int) * (size_t)S->w.L);
    p->energy = accsim_network_energy(S->net, S->w.bits);
    p->correct = S->w.ncorrect;
    p->accuracy = S->w.n ? 100.0 * (double)p->correct / (double)S->w.n : 0;
    return 0;
}

/* Evaluates cand into S->trial; counts it. */
static int try_setting(scalable *S, const int *cand, size_t thr, accsim_error *err)
{
    S->out->evaluations++;
    return walk_eval(&S->w, cand, thr, &S->trial, err);
}

static void keep_trial(scalable *S)
{
    delta t = S->best;
    S->best = S->trial;
    S->trial = t;
}

/* 2a: per-layer minima, the other layers at 32 bits (the walker's start). */
static int single_minima(scalable *S, accsim_error *err)
{
    const int L = S->w.L;
    for (int l = 0; l < L; l++) {
        int cand[ACCSIM_MAX_LAYERS];
        for (int k = 0; k < ACCSIM_MAX_LAYERS; k++)
            cand[k] = 32;
        S->out->single_min[l] = S->top[l];
        for (int wd = S->top[l] - 1; wd >= S->floor[l]; wd--) {
            cand[l] = wd;
            if (try_setting(S, cand, S->target, err) != 0)
                return -1;
            if (!S->trial.complete || S->trial.correct_total < S->target)
                break;
            S->out->single_min[l] = wd;
        }
    }
    S->out->single_min_energy = accsim_network_energy(S->net, S->out->single_min);
    return 0;
}

/* 2b: from the minima, widen every layer by the same number of bits (at
 * most to its top, where every image is the baseline's) until the target is
 * met: one evaluation per step, whatever the number of layers. */
static int repair(scalable *S, accsim_error *err)
{
    const int L = S->w.L;
    for (int k = 0; k <= 32; k++) {
        int cur[ACCSIM_MAX_LAYERS];
        bool at_top = true;
        for (int l = 0; l < L; l++) {
            int wd = S->out->single_min[l] + k;
            cur[l] = wd < S->top[l] ? wd : S->top[l];
            at_top = at_top && cur[l] == S->top[l];
        }
        if (try_setting(S, cur, at_top ? 0 : S->target, err) != 0)
            return -1;
        if (!S->trial.complete || S->trial.correct_total < S->target)
            continue;
        walk_commit(&S->w, cur, &S->trial);
        return path_add(S, err);
    }
    return accsim_fail(err, "search: the largest needs miss the target (internal error)");
}

/* 2c: the descent. */
static int descend(scalable *S, size_t max_evaluations, accsim_error *err)
{
    const int L = S->w.L;
    while (S->out->evaluations < max_evaluations) {
        int cur[ACCSIM_MAX_LAYERS], pick[ACCSIM_MAX_LAYERS];
        memcpy(cur, S->w.bits, sizeof cur);
        const uint64_t cur_e = accsim_network_energy(S->net, cur);
        uint64_t best_e = cur_e;
        size_t best_c = 0;
        bool found = false;
        /* single steps down, then one down and one up */
        for (int pass = 0; pass < 2 && !found; pass++)
            for (int a = 0; a < L; a++)
                for (int u = pass ? 0 : -1; u < (pass ? L : 0); u++) {
                    if (u == a || cur[a] <= S->floor[a] || (u >= 0 && cur[u] >= S->safe[u]))
                        continue;
                    int cand[ACCSIM_MAX_LAYERS];
                    memcpy(cand, cur, sizeof cand);
                    cand[a]--;
                    if (u >= 0)
                        cand[u]++;
                    uint64_t e = accsim_network_energy(S->net, cand);
                    if (e >= cur_e || (found && e > best_e))
                        continue; /* not cheaper than the current setting or the best step */
                    if (try_setting(S, cand, S->target, err) != 0)
                        return -1;
                    if (!S->trial.complete || S->trial.correct_total < S->target)
                        continue;
                    size_t c = S->trial.correct_total;
                    if (!found || e < best_e || (e == best_e && c > best_c)) {
                        found = true;
                        best_e = e;
                        best_c = c;
                        memcpy(pick, cand, sizeof pick);
                        keep_trial(S);
                    }
                }
        if (!found)
            return 0;
        walk_commit(&S->w, pick, &S->best);
        if (path_add(S, err) != 0)
            return -1;
    }
    S->out->descent_stopped = true;
    return 0;
}

/* A min-heap of settings by energy, then widths. */
typedef struct hitem {
    uint64_t energy;
    uint8_t bits[ACCSIM_MAX_LAYERS];
} hitem;

typedef struct heap {
    hitem *a;
    size_t n, cap;
} heap;

static bool hless(const hitem *x, const hitem *y)
{
    if (x->energy != y->energy)
        return x->energy < y->energy;
    return memcmp(x->bits, y->bits, ACCSIM_MAX_LAYERS) < 0;
}

static int heap_push(heap *h, const hitem *it)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 1024;
        hitem *a = realloc(h->a, cap * sizeof *a);
        if (!a)
            return -1;
        h->a = a;
        h->cap = cap;
    }
    size_t k = h->n++;
    h->a[k] = *it;
    while (k > 0 && hless(&h->a[k], &h->a[(k - 1) / 2])) {
        hitem t = h->a[k];
        h->a[k] = h->a[(k - 1) / 2];
        h->a[(k - 1) / 2] = t;
        k = (k - 1) / 2;
    }
    return 0;
}

static hitem heap_pop(heap *h)
{
    hitem top = h->a[0];
    h->a[0] = h->a[--h->n];
    size_t k = 0;
    for (;;) {
        size_t c = 2 * k + 1, m = k;
        if (c < h->n && hless(&h->a[c], &h->a[m]))
            m = c;
        if (c + 1 < h->n && hless(&h->a[c + 1], &h->a[m]))
            m = c + 1;
        if (m == k)
            break;
        hitem t = h->a[k];
        h->a[k] = h->a[m];
        h->a[m] = t;
        k = m;
    }
    return top;
}

/* 3: the certified lower bound (and the proof when it meets the setting). */
static int lower_bound(scalable *S, size_t budget, accsim_error *err)
{
    accsim_search_result *out = S->out;
    const int L = S->w.L;
    heap h = {0};
    hitem it;
    memset(&it, 0, sizeof it);
    int bits[ACCSIM_MAX_LAYERS] = {0};
    for (int l = 0; l < L; l++)
        it.bits[l] = (uint8_t)(bits[l] = S->floor[l]);
    it.energy = accsim_network_energy(S->net, bits);
    if (heap_push(&h, &it) != 0)
        return accsim_fail(err, "out of memory");
    const size_t spent0 = S->w.images_run;
    int rc = 0;
    out->lower_bound = out->energy;
    while (h.n) {
        if (h.a[0].energy >= out->energy)
            break; /* every cheaper setting of the range is refuted: proved */
        if (S->w.images_run - spent0 >= budget || h.n > 4000000) {
            out->bound_exhausted = true;
            out->lower_bound = h.a[0].energy;
            break;
        }
        it = heap_pop(&h);
        for (int l = 0; l < L; l++)
            bits[l] = it.bits[l];
        rc = walk_eval(&S->w, bits, S->target, &S->trial, err);
        if (rc != 0)
            break;
        if (S->trial.complete && S->trial.correct_total >= S->target) {
            /* the cheapest setting of the range that meets the target */
            walk_commit(&S->w, bits, &S->trial);
            if ((rc = path_add(S, err)) != 0)
                break;
            memcpy(out->bits, bits, sizeof(int) * (size_t)L);
            out->energy = it.energy;
            out->lower_bound = it.energy;
            break;
        }
        out->bound_settings++;
        int last = 0;
        for (int l = 0; l < L; l++)
            if (bits[l] > S->floor[l])
                last = l;
        for (int j = last; j < L; j++) {
            if (bits[j] >= S->safe[j])
                continue;
            bits[j]++;
            hitem c;
            memset(&c, 0, sizeof c);
            for (int l = 0; l < L; l++)
                c.bits[l] = (uint8_t)bits[l];
            c.energy = accsim_network_energy(S->net, bits);
            bits[j]--;
            if (heap_push(&h, &c) != 0) {
                rc = accsim_fail(err, "out of memory");
                break;
            }
        }
        if (rc != 0)
            break;
    }
    free(h.a);
    return rc;
}

/* floor[l]: the smallest width above every width (from 2 up) at which the
 * collapse bound rules the target out whatever the other layers are. */
static int collapse_floor(const accsim_baseline *b, int l, size_t target)
{
    int bits[ACCSIM_MAX_LAYERS];
    for (int k = 0; k < ACCSIM_MAX_LAYERS; k++)
        bits[k] = 32;
    int w = 2;
    for (; w < 32; w++) {
        size_t bound;
        bits[l] = w;
        if (!accsim_collapse_bound(b, bits, &bound) || bound >= target)
            break;
    }
    return w;
}

int accsim_search_scalable(const accsim_baseline *b, const accsim_search_options *opts,
                           accsim_search_result *out, accsim_error *err)
{
    double t0 = accsim_now();
    memset(out, 0, sizeof *out); /* out is overwritten, not freed */
    const int L = b->layers;
    out->layers = L;
    out->method = ACCSIM_SEARCH_SCALABLE;
    if (L < 1)
        return accsim_fail(err, "search: the network has no MAC layer");
    scalable S;
    memset(&S, 0, sizeof S);
    S.out = out;
    S.net = b->net;
    S.target = accsim_target_correct(b, opts->tolerance);
    out->target_correct = S.target;
    /* Chunks small beside the set, so that a hopeless setting stops early. */
    size_t chunk = b->set.count / 16;
    chunk = chunk < 16 ? 16 : chunk > 256 ? 256 : chunk;
    if (opts->chunk)
        chunk = opts->chunk;
    if (walker_init(&S.w, b, chunk, err) != 0)
        return -1;
    if (delta_init(&S.trial, S.w.n, L, err) != 0 || delta_init(&S.best, S.w.n, L, err) != 0) {
        delta_free(&S.trial);
        walker_free(&S.w);
        return -1;
    }
    int collapse_unused[ACCSIM_MAX_LAYERS];
    accsim_search_limits(b, S.target, out->safe, collapse_unused);
    out->box_settings = 1;
    for (int l = 0; l < L; l++) {
        S.floor[l] = out->floor[l] = collapse_floor(b, l, S.target);
        out->collapse[l] = S.floor[l] - 1 >= 2 ? S.floor[l] - 1 : 0;
        S.safe[l] = out->safe[l] < S.floor[l] ? S.floor[l] : out->safe[l];
        S.top[l] = b->need_max[l] < S.floor[l] ? S.floor[l] : b->need_max[l];
        if (S.top[l] > S.safe[l])
            S.top[l] = S.safe[l];
        out->lo[l] = S.floor[l];
        out->hi[l] = S.safe[l];
        size_t k = (size_t)(S.safe[l] - S.floor[l] + 1);
        out->box_settings = out->box_settings > SIZE_MAX / k ? SIZE_MAX : out->box_settings * k;
    }
    int rc = single_minima(&S, err);
    if (rc == 0) {
        accsim_phase_note(b->quiet, "search on %s (scalable): per-layer minima found, %zu evaluations",
                          b->set.name, out->evaluations);
        rc = repair(&S, err);
    }
    if (rc == 0)
        rc = descend(&S, opts->max_evaluations ? opts->max_evaluations : 60 * (size_t)L, err);
    if (rc == 0) {
        out->found = true;
        memcpy(out->bits, S.w.bits, sizeof(int) * (size_t)L);
        out->energy = accsim_network_energy(b->net, S.w.bits);
        accsim_phase_note(b->quiet, "search on %s (scalable): setting found, energy %llu, "
                          "%zu evaluations", b->set.name, (unsigned long long)out->energy,
                          out->evaluations);
        size_t budget = opts->bound_images ? opts->bound_images : 4 * (S.w.n ? S.w.n : 1);
        rc = lower_bound(&S, budget, err);
    }
    if (rc == 0) {
        out->correct = S.w.ncorrect;
        out->accuracy = S.w.n ? 100.0 * (double)out->correct / (double)S.w.n : 0;
        out->proved = out->lower_bound == out->energy;
        assert(out->lower_bound <= out->energy);
    }
    out->images_run = S.w.images_run;
    out->seconds = accsim_now() - t0;
    delta_free(&S.trial);
    delta_free(&S.best);
    walker_free(&S.w);
    if (rc == 0)
        accsim_phase_note(b->quiet, "search on %s (scalable): energy %llu, certified lower bound %llu "
                          "(gap %.2f %%)%s; %zu evaluations, %zu settings refuted for the bound, "
                          "%zu image runs, %.2f s", b->set.name, (unsigned long long)out->energy,
                          (unsigned long long)out->lower_bound,
                          out->energy ? 100.0 * (double)(out->energy - out->lower_bound) /
                                            (double)out->energy : 0.0,
                          out->proved ? ", proved optimal" : "", out->evaluations,
                          out->bound_settings, out->images_run, out->seconds);
    return rc;
}
