/* The B = 32 baseline, exact evaluation of a width setting from it, and the
 * common-width analyses built on that (Approach A: sweep, Approach B: minwidth). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/analysis.h"
#include "accsim/energy.h"

void accsim_phase_note(bool quiet, const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "accsim: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static uint32_t engine_index(const accsim_imageset *set, size_t i)
{
    return set->indices ? set->indices[i] : (uint32_t)i;
}

int accsim_baseline_run(accsim_baseline *b, accsim_engine *engine, const accsim_network *net,
                        const accsim_imageset *set, accsim_overflow overflow, bool quiet,
                        accsim_error *err)
{
    memset(b, 0, sizeof *b);
    if (net->mac_count > ACCSIM_MAX_LAYERS)
        return accsim_fail(err, "%s has %d MAC layers; at most %d are supported", net->name,
                           net->mac_count, ACCSIM_MAX_LAYERS);
    b->engine = engine;
    b->net = net;
    b->layers = net->mac_count;
    const int L = b->layers;
    /* MAC layers in execution order, and where the collapse bound applies. */
    for (int l = 0; l < L; l++) {
        int k = l;
        while (k > 0 && accsim_network_mac_position(net, b->order[k - 1]) >
                            accsim_network_mac_position(net, l)) {
            b->order[k] = b->order[k - 1];
            k--;
        }
        b->order[k] = l;
        b->cut[l] = accsim_network_mac_is_cut(net, l);
    }
    b->set = *set;
    b->overflow = overflow;
    b->quiet = quiet;
    accsim_config cfg;
    accsim_config_default(&cfg);
    cfg.overflow = overflow;
    cfg.capture_activations = true;
    if (accsim_result_init(&b->res, net, set->count, &cfg, err) != 0)
        return -1;
    b->need = malloc((set->count ? set->count : 1) * (size_t)(L ? L : 1));
    if (!b->need) {
        accsim_baseline_free(b);
        return accsim_fail(err, "out of memory for %zu images", set->count);
    }
    double t0 = accsim_now();
    char label[64];
    snprintf(label, sizeof label, "baseline (32 bits) on %s", set->name);
    accsim_progress progress;
    accsim_progress_start(&progress, label, set->count, quiet);
    if (set->count && engine->ops->run(engine, &cfg, set->indices, set->count, &b->res, &progress,
                                       err) != 0) {
        accsim_baseline_free(b);
        return -1;
    }
    accsim_progress_finish(&progress);
    b->seconds = accsim_now() - t0;
    for (int l = 0; l < L; l++) {
        b->need_min[l] = 33;
        b->need_max[l] = 1;
    }
    for (size_t i = 0; i < set->count; i++)
        for (int l = 0; l < L; l++) {
            size_t k = i * (size_t)L + (size_t)l;
            int lo = accsim_bits_needed(b->res.psum_min[k]), hi = accsim_bits_needed(b->res.psum_max[k]);
            int need = lo > hi ? lo : hi;
            if (need > 32)
                need = 32;
            b->need[k] = (uint8_t)need;
            if (need < b->need_min[l])
                b->need_min[l] = need;
            if (need > b->need_max[l])
                b->need_max[l] = need;
        }
    if (set->count == 0)
        for (int l = 0; l < L; l++)
            b->need_min[l] = b->need_max[l] = 1;
    size_t per_class[256] = {0};
    for (size_t i = 0; i < set->count; i++)
        per_class[set->labels[i]]++;
    for (int c = 0; c < 256; c++)
        if (per_class[c] > b->max_class_count)
            b->max_class_count = per_class[c];
    accsim_summarize(&b->res, set->labels, 0, &b->summary);
    accsim_phase_note(quiet, "%s: %zu images in %.2f s, accuracy %.2f %%", label, set->count,
                      b->seconds, b->summary.accuracy);
    return 0;
}

void accsim_baseline_free(accsim_baseline *b)
{
    accsim_result_free(&b->res);
    free(b->need);
    b->need = NULL;
}

/* The position in execution order of the first MAC layer whose width is below
 * the image's need (b->layers when none is): the image computes the
 * baseline's bits before it. */
static int first_changed_step(const accsim_baseline *b, size_t i, const int *bits)
{
    const int L = b->layers;
    for (int k = 0; k < L; k++) {
        int l = b->order[k];
        if (b->need[i * (size_t)L + (size_t)l] > bits[l])
            return k;
    }
    return L;
}

/* bits as "B1,B2,..." for messages (truncated with "..." when long). */
static const char *bits_text(const int *bits, int layers, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int l = 0; l < layers && at + 16 < size; l++)
        at += (size_t)snprintf(buf + at, size - at, "%s%d", l ? "," : "", bits[l]);
    if (layers > 0 && at + 16 >= size)
        snprintf(buf + at, size - at, ",...");
    return buf;
}

int accsim_evaluate(const accsim_baseline *b, const int *bits, accsim_eval *out,
                    uint32_t *predictions, accsim_error *err)
{
    double t0 = accsim_now();
    const int L = b->layers;
    memset(out, 0, sizeof *out);
    out->layers = L;
    memcpy(out->bits, bits, sizeof(int) * (size_t)L);
    out->images = b->set.count;
    out->energy = accsim_network_energy(b->net, bits);
    size_t n = b->set.count;
    uint8_t *start = malloc(n ? n : 1);
    uint32_t *pos = malloc((n ? n : 1) * sizeof *pos);
    uint32_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!start || !pos || !idx) {
        free(start), free(pos), free(idx);
        return accsim_fail(err, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        start[i] = (uint8_t)first_changed_step(b, i, bits);
        if (start[i] < L) {
            out->changed++;
            out->changed_from[b->order[start[i]]]++;
        } else if (b->res.predictions[i] == b->set.labels[i]) {
            out->correct++;
        }
        if (predictions)
            predictions[i] = b->res.predictions[i];
    }
    char label[160], btext[96];
    snprintf(label, sizeof label, "%s at %s bits: re-running changed images", b->set.name,
             bits_text(bits, L, btext, sizeof btext));
    accsim_progress progress;
    accsim_progress_start(&progress, label, out->changed, b->quiet || out->changed < 2000);
    int rc = 0;
    for (int k0 = 0; k0 < L && rc == 0; k0++) {
        const int l0 = b->order[k0];
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (start[i] == k0) {
                pos[m] = (uint32_t)i;
                idx[m] = engine_index(&b->set, i);
                m++;
            }
        if (m == 0)
            continue;
        size_t len = b->res.act_bytes[l0];
        int8_t *acts = NULL;
        if (k0 > 0) {
            acts = malloc(m * len);
            if (!acts) {
                rc = accsim_fail(err, "out of memory");
                break;
            }
            for (size_t j = 0; j < m; j++)
                memcpy(acts + j * len, b->res.acts[l0] + (size_t)pos[j] * len, len);
        }
        accsim_config cfg;
        accsim_config_default(&cfg);
        memcpy(cfg.bits, bits, sizeof(int) * (size_t)L);
        cfg.overflow = b->overflow;
        cfg.start_layer = k0 > 0 ? l0 : 0;
        cfg.start_acts = acts;
        accsim_result res;
        if (accsim_result_init(&res, b->net, m, &cfg, err) != 0) {
            free(acts);
            rc = -1;
            break;
        }
        rc = b->engine->ops->run(b->engine, &cfg, idx, m, &res, &progress, err);
        for (size_t j = 0; j < m && rc == 0; j++) {
            size_t i = pos[j];
            if (res.predictions[j] == b->set.labels[i])
                out->correct++;
            if (predictions)
                predictions[i] = res.predictions[j];
            for (int k = k0; k < L; k++) {
                int l = b->order[k];
                uint32_t ev = res.saturations[j * (size_t)L + (size_t)l];
                out->saturations[l] += ev;
                out->images_saturated[l] += ev != 0;
            }
        }
        accsim_result_free(&res);
        free(acts);
    }
    accsim_progress_finish(&progress);
    free(start), free(pos), free(idx);
    out->accuracy = n ? 100.0 * (double)out->correct / (double)n : 0.0;
    out->seconds = accsim_now() - t0;
    return rc;
}

bool accsim_collapse_bound(const accsim_baseline *b, const int *bits, size_t *bound)
{
    for (int l = 0; l < b->layers; l++) {
        /* Only a layer all paths pass through: its output is then all that
         * the rest of the network sees. */
        if (!b->cut[l] || !accsim_network_mac_constant_at(b->net, l, bits[l]))
            continue;
        {
            /* Every accumulator of this layer holds a value in [lo, hi] (saturate
             * or wrap alike), so every image's outputs of this layer are 0 and
             * all images agree from here on: one prediction for all. */
            *bound = b->max_class_count;
            return true;
        }
    }
    return false;
}

int accsim_sweep(const accsim_baseline *b, int from, int to, accsim_eval *rows, accsim_error *err)
{
    for (int w = from; w >= to; w--) {
        int bits[ACCSIM_MAX_LAYERS];
        for (int l = 0; l < ACCSIM_MAX_LAYERS; l++)
            bits[l] = w;
        accsim_eval *row = &rows[from - w];
        if (accsim_evaluate(b, bits, row, NULL, err) != 0)
            return -1;
        accsim_phase_note(b->quiet, "sweep on %s, B = %d: accuracy %.2f %%, %zu images re-run in %.2f s",
                          b->set.name, w, row->accuracy, row->changed, row->seconds);
    }
    return 0;
}

static size_t target_for(const accsim_baseline *b, double tolerance)
{
    /* correct >= base - tolerance% of n, in integers: the smallest count whose
     * accuracy is not below baseline - tolerance. Exact for any tolerance given
     * to 1e-9 of a percentage point. */
    double n = (double)b->set.count;
    double need = (double)b->summary.correct - tolerance * n / 100.0;
    if (need <= 0)
        return 0;
    size_t t = (size_t)need;
    if ((double)t < need - 1e-9)
        t++;
    return t;
}

size_t accsim_target_correct(const accsim_baseline *b, double tolerance)
{
    return target_for(b, tolerance);
}

int accsim_minwidth(const accsim_baseline *b, double tolerance, const accsim_eval *known,
                    accsim_minwidth_result *out, accsim_error *err)
{
    memset(out, 0, sizeof *out);
    out->target_correct = target_for(b, tolerance);
    bool all_ok = true;
    for (int w = 32; w >= 2; w--) {
        accsim_eval *row = &out->rows[32 - w];
        int bits[ACCSIM_MAX_LAYERS];
        for (int l = 0; l < ACCSIM_MAX_LAYERS; l++)
            bits[l] = w;
        size_t bound;
        if (known && known[32 - w].images) {
            *row = known[32 - w];
        } else if (accsim_collapse_bound(b, bits, &bound) && bound < out->target_correct) {
            memcpy(row->bits, bits, sizeof row->bits);
            row->layers = b->layers;
            row->images = b->set.count;
            row->correct = bound;
            row->accuracy = b->set.count ? 100.0 * (double)bound / (double)b->set.count : 0;
            row->energy = accsim_network_energy(b->net, bits);
            row->bounded = true;
        } else {
            if (accsim_evaluate(b, bits, row, NULL, err) != 0)
                return -1;
            accsim_phase_note(b->quiet, "minwidth on %s, B = %d: accuracy %.2f %%", b->set.name, w,
                              row->accuracy);
        }
        bool ok = row->correct >= out->target_correct && !row->bounded;
        if (ok)
            out->answer = w;
        if (all_ok && ok)
            out->monotone_from = w;
        all_ok = all_ok && ok;
    }
    return 0;
}
