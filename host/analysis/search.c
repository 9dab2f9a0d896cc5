/* Approach C: per-layer widths of least energy subject to
 * accuracy >= baseline - tolerance, and the energy-accuracy Pareto front.
 *
 * Method (exact over the box lo[L] <= B_L <= hi[L]):
 *
 * 1. Every setting of the box is listed in increasing energy (SPEC 8), ties
 *    broken by the widths in lexicographic order. The answer is the first
 *    setting in that order whose accuracy meets the target: every cheaper one
 *    has been shown not to.
 *
 * 2. Each setting is decided exactly, by a walk down a tree of prefixes. A node
 *    at depth d fixes the widths of layers 0..d and holds, for every image, the
 *    state it has with those widths and 32 bits after: its prediction and the
 *    bits needed by each later layer (with the captured inputs of the later
 *    layers for the images whose state differs from the parent's). A child is
 *    made by re-running, from layer d+1 at its width, only the images whose
 *    need at layer d+1 exceeds that width (SPEC 7: the others compute exactly
 *    the parent's bits). Nodes are cached, so a prefix is run once for all the
 *    settings that share it.
 *
 * 3. At a node, for a setting below it, the images whose needs in the later
 *    layers all fit keep the node's predictions; the others may end up anything.
 *    So correct >= (correct among the unchanged) and correct <= that + (number
 *    changed): exact bounds. When the upper bound is below the threshold the
 *    setting is decided without going deeper; otherwise the walk goes one layer
 *    down, and at the last layer the count is exact.
 *
 * No monotonicity of accuracy in the widths is assumed anywhere (it does not
 * hold: saturation can turn a wrong prediction right). The box's default is,
 * per layer, hi = the largest need of any image at that layer in the baseline
 * (above it the layer computes the baseline's bits for every image whose
 * earlier layers are exact), lo = hi - span. With widen, the box is extended
 * one width down in every layer where the answer sits on the lower edge, and
 * the search repeats, until the answer is inside.
 *
 * 4. The proof that no setting outside the box does better (opts->prove).
 *    Two facts bound every layer's useful widths for any input whatever:
 *    - safe[L]: every partial sum of layer L lies between the sum of the
 *      smallest and the sum of the largest possible products (inputs in
 *      -128..127 for conv1, 0..127 after a ReLU; fc3's bias included), so
 *      from that width up nothing saturates or wraps and the layer computes
 *      the same bits: a wider setting has the same accuracy and more energy.
 *    - collapse[L]: at or below it the layer's largest value requantizes to 0
 *      (SPEC 8's collapse bound), every image gets the same prediction, and at
 *      most the largest class count is correct; below the target, infeasible.
 *    Every setting in collapse + 1 .. safe per layer that is cheaper than the
 *    answer (energy, then widths) and outside the box is then decided by the
 *    same tree, walked depth first; one that meets the target replaces the
 *    answer. The answer is then the least energy over all of 2..32. The
 *    Pareto front stays the box's. Most of these settings are hopeless, so
 *    the proof's nodes first hold only the first images, enough to refute
 *    them even counting every other image correct, and grow only where a
 *    setting below is not refuted (prove_below).
 *
 * The Pareto front (opts->pareto) is the staircase of the same enumeration
 * over the whole box: a setting is on it when its accuracy is higher than that
 * of every cheaper setting in the box (for equal energies, the most accurate).
 * Deciding "higher than the best so far" uses the same bounds with the
 * threshold best + 1, and a point's accuracy is always computed exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accsim/analysis.h"
#include "accsim/energy.h"

/* A node holds the state of the first `done` images (the proof extends nodes
 * only as far as some setting below them needs; see prove_below); the root
 * and the box search's nodes hold every image. */
typedef struct node {
    int depth, width;
    struct node *parent;
    struct node *child[33];
    size_t done;      /* images 0..done-1 computed */
    uint8_t *need;    /* [count][5]: bits needed, with 32 bits after depth */
    uint8_t *correct; /* [count] */
    size_t ncorrect;  /* among the first done */
    bool shares;      /* need/correct are the parent's (no image changed here) */
    int32_t *slot;    /* [count]: row in acts, or -1 (NULL when shares) */
    int8_t *acts[ACCSIM_MAX_LAYERS]; /* for layers > depth: [rows][restart bytes] */
    size_t rows;
    uint8_t next_need;      /* largest need at layer depth + 1 among the first */
    size_t next_need_done;  /* next_need_done images (0: not yet known) */
} node;

typedef struct searcher {
    const accsim_baseline *b;
    node root;
    size_t nodes_run, images_run;
    size_t leaf_chunk;   /* see decide_leaf */
    size_t first_prefix; /* see prove_below */
    uint32_t *pos, *idx; /* scratch [count] */
} searcher;

static void node_free(node *n)
{
    for (int w = 0; w < 33; w++)
        if (n->child[w]) {
            node_free(n->child[w]);
            free(n->child[w]);
        }
    if (!n->shares && n->depth >= 0)
        free(n->need);
    if (!n->shares)
        free(n->correct);
    free(n->slot);
    for (int l = 0; l < ACCSIM_MAX_LAYERS; l++)
        free(n->acts[l]);
    memset(n, 0, sizeof *n);
}

static const int8_t *act_row(const searcher *s, const node *n, int layer, size_t i)
{
    size_t len = s->b->res.act_bytes[layer];
    for (const node *m = n; m && m->depth >= 0; m = m->parent)
        if (m->slot && m->slot[i] >= 0)
            return m->acts[layer] + (size_t)m->slot[i] * len;
    return s->b->res.acts[layer] + i * len;
}

/* Lists the images from..to-1 whose need at layer, below node n, exceeds w:
 * positions in s->pos, data-set indices in s->idx. Returns how many. */
static size_t changed_images(searcher *s, const node *n, int layer, int w, size_t from, size_t to)
{
    const accsim_baseline *b = s->b;
    size_t m = 0;
    for (size_t i = from; i < to; i++)
        if (n->need[i * (size_t)b->layers + (size_t)layer] > w) {
            s->pos[m] = (uint32_t)i;
            s->idx[m] = b->set.indices ? b->set.indices[i] : (uint32_t)i;
            m++;
        }
    return m;
}

/* A run that restarts at layer from start (its inputs), that layer at width
 * w and the later ones at 32 bits. */
static void restart_config(const accsim_baseline *b, int layer, int w, const int8_t *start,
                           accsim_config *cfg)
{
    accsim_config_default(cfg);
    cfg->bits[layer] = w;
    cfg->overflow = b->overflow;
    cfg->start_layer = layer;
    cfg->start_acts = start;
}

/* Extends n (layer d at width w, 32 after) to the first upto images, which
 * its parent holds: runs, from layer d, the new images whose need there
 * exceeds w; the others keep the parent's state (SPEC 7). A node made whole
 * in one step where no image changed shares its parent's arrays. */
static int extend(searcher *s, node *n, size_t upto, accsim_error *err)
{
    const accsim_baseline *b = s->b;
    const node *parent = n->parent;
    const size_t count = b->set.count, from = n->done;
    const int layer = n->depth;
    if (upto <= from)
        return 0;
    size_t m = changed_images(s, parent, layer, n->width, from, upto);
    if (m == 0 && from == 0 && upto == count) {
        n->need = parent->need;
        n->correct = parent->correct;
        n->ncorrect = parent->ncorrect;
        n->shares = true;
        n->done = count;
        return 0;
    }
    const size_t L = (size_t)b->layers;
    if (!n->need) {
        n->need = malloc(count * L);
        n->correct = malloc(count);
        n->slot = malloc(count * sizeof *n->slot);
        if (!n->need || !n->correct || !n->slot)
            return accsim_fail(err, "out of memory");
    }
    memcpy(n->need + from * L, parent->need + from * L, (upto - from) * L);
    memcpy(n->correct + from, parent->correct + from, upto - from);
    for (size_t i = from; i < upto; i++) {
        n->slot[i] = -1;
        n->ncorrect += parent->correct[i];
    }
    n->done = upto;
    if (m == 0)
        return 0;
    size_t len = b->res.act_bytes[layer];
    int8_t *start = NULL;
    if (layer > 0) {
        start = malloc(m * len);
        if (!start)
            return accsim_fail(err, "out of memory");
        for (size_t j = 0; j < m; j++)
            memcpy(start + j * len, act_row(s, parent, layer, s->pos[j]), len);
    }
    accsim_config cfg;
    restart_config(b, layer, n->width, start, &cfg);
    cfg.capture_activations = layer < b->layers - 1;
    accsim_result res;
    if (accsim_result_init(&res, b->net, m, &cfg, err) != 0) {
        free(start);
        return -1;
    }
    if (b->engine->ops->run(b->engine, &cfg, s->idx, m, &res, NULL, err) != 0) {
        accsim_result_free(&res);
        free(start);
        return -1;
    }
    free(start);
    s->nodes_run++;
    s->images_run += m;
    for (int l = layer + 1; l < b->layers; l++) { /* keep the captured inputs */
        size_t row = b->res.act_bytes[l];
        if (!n->acts[l]) {
            n->acts[l] = res.acts[l];
            res.acts[l] = NULL;
            continue;
        }
        int8_t *grown = realloc(n->acts[l], (n->rows + m) * row);
        if (!grown) {
            accsim_result_free(&res);
            return accsim_fail(err, "out of memory");
        }
        n->acts[l] = grown;
        memcpy(grown + n->rows * row, res.acts[l], m * row);
    }
    for (size_t j = 0; j < m; j++) {
        size_t i = s->pos[j];
        uint8_t now = res.predictions[j] == b->set.labels[i];
        n->ncorrect = n->ncorrect - n->correct[i] + now;
        n->correct[i] = now;
        n->slot[i] = (int32_t)(n->rows + j);
        for (int l = layer + 1; l < b->layers; l++) {
            size_t k = j * L + (size_t)l;
            int lo = accsim_bits_needed(res.psum_min[k]), hi = accsim_bits_needed(res.psum_max[k]);
            int need = lo > hi ? lo : hi;
            n->need[i * L + (size_t)l] = (uint8_t)(need > 32 ? 32 : need);
        }
    }
    n->rows += m;
    accsim_result_free(&res);
    return 0;
}

/* Extends n and, first, its ancestors to the first upto images. */
static int ensure_prefix(searcher *s, node *n, size_t upto, accsim_error *err)
{
    if (n->done >= upto)
        return 0;
    if (ensure_prefix(s, n->parent, upto, err) != 0)
        return -1;
    return extend(s, n, upto, err);
}

/* The child of parent at width w, holding the first upto images. */
static node *make_child(searcher *s, node *parent, int w, size_t upto, accsim_error *err)
{
    node *child = calloc(1, sizeof *child);
    if (!child) {
        accsim_fail(err, "out of memory");
        return NULL;
    }
    child->depth = parent->depth + 1;
    child->width = w;
    child->parent = parent;
    if (extend(s, child, upto, err) != 0) {
        node_free(child);
        free(child);
        return NULL;
    }
    return child;
}

/* Decides a complete setting whose last width is w, below node n (at depth
 * layers - 2), against thr, on the images n holds: the images whose
 * need at the last layer exceeds w are run in chunks, and the run stops as
 * soon as even all the images still to run, and those n does not hold, could
 * not lift the count to thr (the settings the proof visits are mostly far
 * below it). *value: the count plus the images n does not hold, which is
 * exact when n holds every image and the run went to the end, else an upper
 * bound (below thr when the run stopped early). */
static int decide_leaf(searcher *s, const node *n, int w, size_t thr, size_t *value,
                       accsim_error *err)
{
    const accsim_baseline *b = s->b;
    const int layer = b->layers - 1;
    const size_t len = b->res.act_bytes[layer];
    const size_t m = changed_images(s, n, layer, w, 0, n->done);
    const size_t unknown = b->set.count - n->done;
    size_t correct = n->ncorrect + unknown;
    for (size_t j = 0; j < m; j++)
        correct -= n->correct[s->pos[j]]; /* counted again below, as it comes out */
    const size_t chunk = thr ? s->leaf_chunk : m + 1; /* chunks only serve the early stop */
    int8_t *start = malloc((m < chunk ? m : chunk) * len + 1);
    if (!start)
        return accsim_fail(err, "out of memory");
    accsim_config cfg;
    restart_config(b, layer, w, start, &cfg);
    s->nodes_run++;
    for (size_t done = 0; done < m;) {
        size_t k = m - done < chunk ? m - done : chunk;
        for (size_t j = 0; j < k; j++)
            memcpy(start + j * len, act_row(s, n, layer, s->pos[done + j]), len);
        accsim_result res;
        if (accsim_result_init(&res, b->net, k, &cfg, err) != 0) {
            free(start);
            return -1;
        }
        if (b->engine->ops->run(b->engine, &cfg, s->idx + done, k, &res, NULL, err) != 0) {
            accsim_result_free(&res);
            free(start);
            return -1;
        }
        for (size_t j = 0; j < k; j++)
            correct += res.predictions[j] == b->set.labels[s->pos[done + j]];
        accsim_result_free(&res);
        done += k;
        s->images_run += k;
        if (correct + (m - done) < thr) {
            correct += m - done;
            break;
        }
    }
    free(start);
    *value = correct;
    return 0;
}

/* Bounds on the correct count of bits, from the images node n holds (the
 * others count as possibly correct in the upper bound only). */
static void bounds(const searcher *s, const node *n, const int *bits, size_t *lb, size_t *ub)
{
    size_t changed = 0, lost = 0;
    int d = n->depth;
    const int L = s->b->layers;
    for (size_t i = 0; i < n->done; i++) {
        const uint8_t *need = n->need + i * (size_t)L;
        bool ch = false;
        for (int l = d + 1; l < L && !ch; l++)
            ch = need[l] > bits[l];
        if (ch) {
            changed++;
            lost += n->correct[i];
        }
    }
    *lb = n->ncorrect - lost;
    *ub = *lb + changed + (s->b->set.count - n->done);
}

/* Decides whether bits has at least thr correct images, on whole nodes.
 * Returns 1 with the exact count in *exact when it has, 0 when it has not
 * (then *exact is only an upper bound below thr), -1 on error. *deep: the
 * walk reached the last layer. */
static int decide(searcher *s, const int *bits, size_t thr, size_t *exact,
                  bool *deep, accsim_error *err)
{
    node *n = &s->root;
    *deep = false;
    for (;;) {
        size_t lb, ub;
        bounds(s, n, bits, &lb, &ub);
        if (ub < thr) {
            *exact = ub;
            return 0;
        }
        if (lb == ub) {
            *exact = lb;
            return lb >= thr;
        }
        int layer = n->depth + 1;
        if (layer == s->b->layers - 1) {
            size_t nc; /* exact: n holds every image, and thr 0 never stops early */
            if (decide_leaf(s, n, bits[layer], 0, &nc, err) != 0)
                return -1;
            *deep = true;
            *exact = nc;
            return nc >= thr;
        }
        int w = bits[layer];
        if (!n->child[w]) {
            n->child[w] = make_child(s, n, w, s->b->set.count, err);
            if (!n->child[w])
                return -1;
        }
        n = n->child[w];
    }
}

typedef struct setting {
    uint64_t energy;
    uint8_t bits[ACCSIM_MAX_LAYERS]; /* unused layers 0: they compare equal */
} setting;

static int setting_cmp(const void *pa, const void *pb)
{
    const setting *a = pa, *b = pb;
    if (a->energy != b->energy)
        return a->energy < b->energy ? -1 : 1;
    return memcmp(a->bits, b->bits, ACCSIM_MAX_LAYERS);
}

/* "lo0-hi0,lo1-hi1,..." with add added to every lo. */
static const char *ranges_text(const int *lo, const int *hi, int add, int layers, char *buf,
                               size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int l = 0; l < layers && at + 24 < size; l++)
        at += (size_t)snprintf(buf + at, size - at, "%s%d-%d", l ? "," : "", lo[l] + add, hi[l]);
    if (layers > 0 && at + 24 >= size)
        snprintf(buf + at, size - at, ",...");
    return buf;
}

void accsim_search_options_default(accsim_search_options *o)
{
    memset(o, 0, sizeof *o);
    o->span = 3;
    o->pareto = true;
    o->widen = true;
    o->prove = true;
}

static void draw_progress(bool enabled, const char *name, size_t done, size_t total, double t0,
                          bool final)
{
    if (!enabled)
        return;
    fprintf(stderr, "\rsearch on %s: %zu/%zu settings, %.1f s%s", name, done, total,
            accsim_now() - t0, final ? "          \n" : "   ");
    fflush(stderr);
}

static int search_box(searcher *s, const accsim_search_options *opts, accsim_search_result *out,
                      accsim_error *err)
{
    const accsim_baseline *b = s->b;
    const int L = b->layers;
    size_t total = 1;
    bool too_large = false;
    for (int l = 0; l < L; l++) {
        size_t k = (size_t)(out->hi[l] - out->lo[l] + 1);
        if (total > ACCSIM_SEARCH_MAX_SETTINGS / k)
            too_large = true;
        else
            total *= k;
    }
    if (too_large || total > ACCSIM_SEARCH_MAX_SETTINGS)
        return accsim_fail(err, "search box is too large: over %d settings over %d MAC layers "
                                "(this search enumerates its box; narrow it with --span or "
                                "--box)",
                           ACCSIM_SEARCH_MAX_SETTINGS, L);
    setting *list = calloc(total, sizeof *list);
    if (!list)
        return accsim_fail(err, "out of memory for %zu settings", total);
    size_t k = 0;
    int cur[ACCSIM_MAX_LAYERS];
    memcpy(cur, out->lo, sizeof cur);
    for (;;) {
        for (int l = 0; l < L; l++)
            list[k].bits[l] = (uint8_t)cur[l];
        list[k].energy = accsim_network_energy(b->net, cur);
        k++;
        int l = L - 1;
        while (l >= 0 && cur[l] == out->hi[l]) {
            cur[l] = out->lo[l];
            l--;
        }
        if (l < 0)
            break;
        cur[l]++;
    }
    qsort(list, total, sizeof *list, setting_cmp);
    out->box_settings = total;
    out->found = false;
    out->settings_visited = out->decided_by_bounds = 0;
    free(out->pareto);
    out->pareto = NULL;
    out->pareto_count = 0;
    size_t cap = 0, best = 0;
    bool have_front = false;
    bool show = !b->quiet && isatty(STDERR_FILENO);
    double t0 = accsim_now(), last = 0;
    int rc = 0;
    for (size_t j = 0; j < total; j++) {
        size_t thr = SIZE_MAX;
        if (!out->found)
            thr = out->target_correct;
        if (opts->pareto) {
            size_t t = have_front ? best + 1 : 0;
            if (t < thr)
                thr = t;
        }
        if (thr == SIZE_MAX)
            break;
        int bits[ACCSIM_MAX_LAYERS] = {0};
        for (int l = 0; l < L; l++)
            bits[l] = list[j].bits[l];
        size_t value;
        bool deep;
        int r = decide(s, bits, thr, &value, &deep, err);
        if (r < 0) {
            rc = -1;
            break;
        }
        out->settings_visited++;
        if (r == 0 && !deep)
            out->decided_by_bounds++;
        if (r == 1) {
            if (!out->found && value >= out->target_correct) {
                out->found = true;
                memcpy(out->bits, bits, sizeof bits);
                out->energy = list[j].energy;
                out->correct = value;
                out->accuracy = b->set.count ? 100.0 * (double)value / (double)b->set.count : 0;
            }
            if (opts->pareto && (!have_front || value > best)) {
                if (out->pareto_count && out->pareto[out->pareto_count - 1].energy == list[j].energy) {
                    out->pareto_count--; /* same energy, more accurate */
                } else if (out->pareto_count == cap) {
                    cap = cap ? 2 * cap : 64;
                    accsim_pareto_point *p = realloc(out->pareto, cap * sizeof *p);
                    if (!p) {
                        rc = accsim_fail(err, "out of memory");
                        break;
                    }
                    out->pareto = p;
                }
                accsim_pareto_point *p = &out->pareto[out->pareto_count++];
                memcpy(p->bits, bits, sizeof bits);
                p->energy = list[j].energy;
                p->correct = value;
                p->accuracy = b->set.count ? 100.0 * (double)value / (double)b->set.count : 0;
                best = value;
                have_front = true;
            }
        }
        double now = accsim_now();
        if (now - last > 0.2) {
            draw_progress(show, b->set.name, j + 1, total, t0, false);
            last = now;
        }
    }
    draw_progress(show, b->set.name, out->settings_visited, total, t0, true);
    free(list);
    return rc;
}

void accsim_search_limits(const accsim_baseline *b, size_t target_correct, int *safe,
                          int *collapse)
{
    for (int l = 0; l < b->layers; l++) {
        safe[l] = accsim_network_safe_width(b->net, l); /* see 4. above */
        collapse[l] = 0;
        for (int w = 2; w <= 32; w++) {
            int bits[ACCSIM_MAX_LAYERS];
            for (int k = 0; k < ACCSIM_MAX_LAYERS; k++)
                bits[k] = 32;
            size_t bound;
            bits[l] = w;
            if (accsim_collapse_bound(b, bits, &bound) && bound < target_correct)
                collapse[l] = w;
        }
    }
}

static bool in_box(const accsim_search_result *out, const int *bits)
{
    for (int l = 0; l < out->layers; l++)
        if (bits[l] < out->lo[l] || bits[l] > out->hi[l])
            return false;
    return true;
}

typedef struct prover {
    searcher *s;
    accsim_search_result *out;
    int lo[ACCSIM_MAX_LAYERS], hi[ACCSIM_MAX_LAYERS];
    setting answer;
    double t0, last;
    bool show;
} prover;

/* The cheapest setting that starts with bits[0..layer]: the rest at lo. */
static setting cheapest_completion(const prover *p, const int *bits, int layer)
{
    int full[ACCSIM_MAX_LAYERS] = {0};
    setting t;
    memset(&t, 0, sizeof t);
    for (int l = 0; l < p->s->b->layers; l++) {
        full[l] = l <= layer ? bits[l] : p->lo[l];
        t.bits[l] = (uint8_t)full[l];
    }
    t.energy = accsim_network_energy(p->s->b->net, full);
    return t;
}

/* The widest useful width at layer depth + 1 below n: the largest need there
 * among the images n holds (above it a setting computes what the one at
 * that need computes, at more energy), within lo..hi. */
static int useful_top(node *n, int layers, int lo, int hi)
{
    if (n->next_need_done != n->done) {
        uint8_t m = 2;
        int layer = n->depth + 1;
        for (size_t i = 0; i < n->done; i++)
            if (n->need[i * (size_t)layers + (size_t)layer] > m)
                m = n->need[i * (size_t)layers + (size_t)layer];
        n->next_need = m;
        n->next_need_done = n->done;
    }
    /* Below lo the layer collapses: every image alike, not enough correct. */
    int top = n->next_need < hi ? n->next_need : hi;
    return top < lo ? lo : top;
}

/* How far a node that held first images is extended when a setting below
 * it is not yet refuted: by half again, at least a chunk. */
static size_t next_prefix(const searcher *s, size_t first)
{
    size_t step = first / 2 > s->leaf_chunk ? first / 2 : s->leaf_chunk;
    return first + step < s->b->set.count ? first + step : s->b->set.count;
}

/* Decides the complete setting bits below n (at depth layers - 2):
 * refuted on the images the path holds when even all the others could not
 * lift it to the target, else the path is extended and it is tried again; at
 * every image the count is exact, and a setting that meets the target
 * becomes the answer. */
static int prove_leaf(prover *p, node *n, const int *bits, const setting *cost,
                      accsim_error *err)
{
    searcher *s = p->s;
    accsim_search_result *out = p->out;
    const size_t count = s->b->set.count, target = out->target_correct;
    bool outside = !in_box(out, bits);
    if (!outside && n->done == count)
        return 0; /* decided by the box search */
    if (outside)
        out->proof_settings++;
    for (;;) {
        size_t lb, ub, value;
        bounds(s, n, bits, &lb, &ub);
        if (ub < target) {
            if (outside)
                out->proof_by_bounds++;
            return 0;
        }
        value = lb;
        if (lb != ub && decide_leaf(s, n, bits[s->b->layers - 1], target, &value, err) != 0)
            return -1;
        if (value < target)
            return 0;
        if (n->done < count) {
            if (ensure_prefix(s, n, next_prefix(s, n->done), err) != 0)
                return -1;
            continue;
        }
        p->answer = *cost;
        memcpy(out->bits, bits, sizeof(int) * (size_t)s->b->layers);
        out->energy = cost->energy;
        out->correct = value;
        out->accuracy = count ? 100.0 * (double)value / (double)count : 0;
        return 0;
    }
}

/* Depth-first over the prefixes below n, every width from lo up to the
 * useful top, only while some completion is cheaper than the answer. Each
 * complete setting outside the box is decided exactly; one that meets the
 * target becomes the answer, and the walk goes on with the lower energy. The
 * order does not matter: every setting cheaper than the final answer is
 * decided, skipped as dominated by a cheaper one that is, or lies in the
 * box.
 *
 * A new node first holds only the first s->first_prefix images, enough to
 * refute the hopeless settings, which most are (far below the target, even
 * with every image not yet run counted correct); a node is extended when a
 * setting below it is not refuted. The useful top is then the one of the
 * images held: a width w above it computes, on those images, exactly what the
 * top computes, so each setting below w matches one below the top that was
 * refuted on at most those images (and is refuted as well), or the node
 * would hold more. That is why settings in the box are decided here too while
 * their node is partial. */
static int prove_below(prover *p, node *n, int *bits, accsim_error *err)
{
    searcher *s = p->s;
    int layer = n->depth + 1;
    for (int w = p->lo[layer]; w <= useful_top(n, s->b->layers, p->lo[layer], p->hi[layer]);
         w++) {
        bits[layer] = w;
        setting cheapest = cheapest_completion(p, bits, layer);
        if (setting_cmp(&cheapest, &p->answer) >= 0)
            break; /* wider is dearer still */
        if (layer == s->b->layers - 1) {
            if (prove_leaf(p, n, bits, &cheapest, err) != 0)
                return -1;
        } else {
            node *c = n->child[w];
            bool fresh = c == NULL;
            if (fresh) {
                c = make_child(s, n, w, s->first_prefix, err);
                if (!c)
                    return -1;
            }
            n->child[w] = c;
            int rc = prove_below(p, c, bits, err);
            if (fresh) { /* each prefix is walked once: free it */
                node_free(c);
                free(c);
                n->child[w] = NULL;
            }
            if (rc != 0)
                return rc;
        }
        double now = accsim_now();
        if (p->show && now - p->last > 0.2) {
            fprintf(stderr, "\rproof on %s: %zu settings outside the box decided, %.1f s   ",
                    s->b->set.name, p->out->proof_settings, now - p->t0);
            fflush(stderr);
            p->last = now;
        }
    }
    return 0;
}

/* 4. above: every setting outside the box, within collapse + 1 .. safe, that
 * is cheaper than the answer. */
static int prove_global(searcher *s, accsim_search_result *out, accsim_error *err)
{
    const accsim_baseline *b = s->b;
    prover p = {.s = s, .out = out};
    accsim_search_limits(b, out->target_correct, out->safe, out->collapse);
    for (int l = 0; l < b->layers; l++) {
        p.lo[l] = out->collapse[l] + 1 > 2 ? out->collapse[l] + 1 : 2;
        p.hi[l] = out->safe[l] < p.lo[l] ? p.lo[l] : out->safe[l];
    }
    p.answer.energy = out->energy;
    for (int l = 0; l < b->layers; l++)
        p.answer.bits[l] = (uint8_t)out->bits[l];
    out->proof_settings = out->proof_by_bounds = 0;
    p.show = !b->quiet && isatty(STDERR_FILENO);
    p.t0 = accsim_now();
    int bits[ACCSIM_MAX_LAYERS] = {0};
    int rc = prove_below(&p, &s->root, bits, err);
    if (p.show)
        fprintf(stderr, "\rproof on %s: %zu settings outside the box decided in %.1f s          \n",
                b->set.name, out->proof_settings, accsim_now() - p.t0);
    if (rc == 0)
        out->proved = true;
    return rc;
}

/* Whether the scalable method runs: asked for, or (auto) the network has
 * more MAC layers than the exact method's tree and proof handle, or its
 * first box is over the enumeration limit. */
static bool use_scalable(const accsim_search_options *opts, const accsim_search_result *out,
                         int layers)
{
    if (opts->method != ACCSIM_SEARCH_AUTO)
        return opts->method == ACCSIM_SEARCH_SCALABLE;
    if (layers > ACCSIM_SEARCH_EXACT_LAYERS)
        return true;
    size_t total = 1;
    for (int l = 0; l < layers; l++) {
        size_t k = (size_t)(out->hi[l] - out->lo[l] + 1);
        if (total > ACCSIM_SEARCH_MAX_SETTINGS / k)
            return true;
        total *= k;
    }
    return false;
}

int accsim_search(const accsim_baseline *b, const accsim_search_options *opts,
                  accsim_search_result *out, accsim_error *err)
{
    double t0 = accsim_now();
    memset(out, 0, sizeof *out);
    const int L = b->layers;
    out->layers = L;
    if (L < 1)
        return accsim_fail(err, "search: the network has no MAC layer");
    /* The tree walks the layers in index order, restarting each from its
     * restart state: that needs the MAC layers listed in execution order. */
    for (int l = 1; l < L; l++)
        if (b->order[l] != l)
            return accsim_fail(err, "search: %s's MAC layers are not listed in execution order "
                                    "(%s runs before %s); list the ops in the order they run",
                               b->net->name, b->net->ops[b->net->mac_ops[b->order[l - 1]]].name,
                               b->net->ops[b->net->mac_ops[b->order[l]]].name);
    size_t count = b->set.count;
    searcher s = {.b = b, .leaf_chunk = opts->leaf_chunk ? opts->leaf_chunk : 2048};
    s.root.depth = -1;
    s.root.done = count;
    s.root.need = b->need;
    s.root.correct = malloc(count ? count : 1);
    s.pos = malloc((count ? count : 1) * sizeof *s.pos);
    s.idx = malloc((count ? count : 1) * sizeof *s.idx);
    if (!s.root.correct || !s.pos || !s.idx) {
        free(s.root.correct), free(s.pos), free(s.idx);
        return accsim_fail(err, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        s.root.correct[i] = b->res.predictions[i] == b->set.labels[i];
        s.root.ncorrect += s.root.correct[i];
    }
    out->target_correct = accsim_target_correct(b, opts->tolerance);
    /* Enough images that a setting right on a quarter of them is refuted by
     * them alone: (count - target) / (1 - 1/4). */
    size_t first = (count - out->target_correct) * 4 / 3 + 1;
    first = (first + s.leaf_chunk - 1) / s.leaf_chunk * s.leaf_chunk;
    if (opts->first_prefix)
        first = opts->first_prefix;
    s.first_prefix = first < count ? first : count;
    int span = opts->span > 0 ? opts->span : 3;
    for (int l = 0; l < L; l++) {
        out->hi[l] = opts->hi[l] ? opts->hi[l] : b->need_max[l];
        out->lo[l] = opts->lo[l] ? opts->lo[l] : out->hi[l] - span;
        if (out->lo[l] < 2)
            out->lo[l] = 2;
        if (out->hi[l] < out->lo[l])
            out->hi[l] = out->lo[l];
        if (out->hi[l] > 32 || out->lo[l] > 32) {
            free(s.root.correct), free(s.pos), free(s.idx);
            return accsim_fail(err, "search box for %s is outside 2..32",
                               b->net->ops[b->net->mac_ops[l]].name);
        }
    }
    if (use_scalable(opts, out, L)) {
        free(s.root.correct), free(s.pos), free(s.idx);
        return accsim_search_scalable(b, opts, out, err);
    }
    out->method = ACCSIM_SEARCH_EXACT;
    int rc = 0;
    for (int round = 0; round < 16; round++) {
        rc = search_box(&s, opts, out, err);
        if (rc != 0 || !out->found || !opts->widen)
            break;
        bool widened = false;
        for (int l = 0; l < L; l++)
            if (out->bits[l] == out->lo[l] && out->lo[l] > 2 && !opts->lo[l]) {
                out->lo[l]--;
                widened = true;
            }
        if (!widened)
            break;
        char box[512];
        accsim_phase_note(b->quiet, "search on %s: answer on the box's lower edge; widening to %s",
                          b->set.name, ranges_text(out->lo, out->hi, 0, L, box, sizeof box));
    }
    if (rc == 0 && out->found && opts->prove)
        rc = prove_global(&s, out, err);
    out->nodes_run = s.nodes_run;
    out->images_run = s.images_run;
    s.root.need = NULL;
    s.root.shares = true; /* root's need belongs to the baseline */
    free(s.root.correct);
    s.root.correct = NULL;
    node_free(&s.root);
    free(s.pos), free(s.idx);
    out->seconds = accsim_now() - t0;
    if (out->proved)
        out->lower_bound = out->energy;
    if (rc == 0)
        accsim_phase_note(b->quiet, "search on %s: %zu of %zu settings visited, %zu decided by bounds, "
                          "%zu node runs (%zu images) in %.2f s", b->set.name,
                          out->settings_visited, out->box_settings, out->decided_by_bounds,
                          out->nodes_run, out->images_run, out->seconds);
    if (rc == 0 && out->proved) {
        char useful[512];
        accsim_phase_note(b->quiet, "search on %s: proved over 2..32: %zu cheaper, undominated settings outside "
                          "the box (useful widths %s) decided, %zu by bounds", b->set.name,
                          out->proof_settings,
                          ranges_text(out->collapse, out->safe, 1, L, useful, sizeof useful),
                          out->proof_by_bounds);
    }
    return rc;
}

void accsim_search_result_free(accsim_search_result *r)
{
    free(r->pareto);
    r->pareto = NULL;
    r->pareto_count = 0;
    free(r->path);
    r->path = NULL;
    r->path_count = 0;
}
