/* The accumulator-width study (SPEC section 1) on top of any accsim_engine.
 *
 * Everything here is exact, and cheap because of one fact of the semantics
 * (SPEC 5 and 7): run once at B = 32 everywhere (the baseline) and record, for
 * every image i and layer L, need[i][L] = the bits needed by the largest
 * magnitude any of L's accumulators held. Under a width setting (B1..B5), image
 * i computes exactly the baseline's bits when need[i][L] <= B_L for every L, and
 * otherwise it agrees with the baseline up to the first layer L0 with
 * need[i][L0] > B_L0. So a setting is evaluated by re-running only the changed
 * images, each from its L0, on the baseline's captured input activations of L0;
 * every other image keeps its baseline prediction and has no saturation event.
 *
 * An image that saturates even at 32 bits has need 32 there, so it is re-run at
 * every narrower width of that layer: no special case is needed. */
#ifndef ACCSIM_ANALYSIS_H
#define ACCSIM_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accsim/engine.h"
#include "accsim/error.h"
#include "accsim/model.h"
#include "accsim/network.h"
#include "accsim/summary.h"

/* A set of images of the engine's loaded data: the engine indices, their
 * labels, and how to name them (split and index within the split). */
typedef struct accsim_imageset {
    const char *name;         /* "test", "train" */
    size_t count;
    const uint32_t *indices;  /* engine indices; NULL means 0..count-1 */
    const uint8_t *labels;    /* [count] */
} accsim_imageset;

/* The B = 32 run every analysis starts from. */
typedef struct accsim_baseline {
    accsim_engine *engine;
    const accsim_network *net;
    int layers;               /* net->mac_count */
    accsim_imageset set;
    accsim_overflow overflow;
    bool quiet;
    accsim_result res;        /* with capture_activations: res.acts[L] = L's restart state */
    uint8_t *need;            /* [count][layers] bits needed per image and layer, 1..32 */
    int need_min[ACCSIM_MAX_LAYERS], need_max[ACCSIM_MAX_LAYERS];
    /* MAC layers in execution order (restarts go from the first changed one). */
    int order[ACCSIM_MAX_LAYERS];
    /* Layers every path from the input to the output passes through: where the
     * collapse bound applies. */
    bool cut[ACCSIM_MAX_LAYERS];
    size_t max_class_count;   /* images of the most frequent label */
    accsim_summary summary;   /* of the baseline run */
    double seconds;
} accsim_baseline;

int accsim_baseline_run(accsim_baseline *b, accsim_engine *engine, const accsim_network *net,
                        const accsim_imageset *set, accsim_overflow overflow, bool quiet,
                        accsim_error *err);
void accsim_baseline_free(accsim_baseline *b);

/* Exact evaluation of one width setting. */
typedef struct accsim_eval {
    int layers;
    int bits[ACCSIM_MAX_LAYERS];
    size_t images, correct;
    double accuracy;                          /* percent */
    size_t changed;                           /* images re-run (the rest are baseline bits) */
    size_t changed_from[ACCSIM_MAX_LAYERS];   /* re-run from this layer */
    uint64_t saturations[ACCSIM_MAX_LAYERS];  /* events */
    uint64_t images_saturated[ACCSIM_MAX_LAYERS];
    uint64_t energy;
    bool bounded;  /* not simulated: proved by the collapse bound (accuracy is an upper bound) */
    double seconds;
} accsim_eval;

/* Evaluates bits exactly. predictions, when not NULL, receives every image's
 * prediction ([count]). */
int accsim_evaluate(const accsim_baseline *b, const int *bits, accsim_eval *out,
                    uint32_t *predictions, accsim_error *err);

/* The collapse bound: when some MAC layer that every path from the input to
 * the output passes through requantizes every value its B-bit register can
 * hold to one output per channel (for the course model: the widest value
 * gives 0 after the ReLU; for fc3, both extremes give 0), every image computes
 * the same outputs from there on, so at most max_class_count images can be
 * right. Returns true (and sets *bound) when that holds for bits. */
bool accsim_collapse_bound(const accsim_baseline *b, const int *bits, size_t *bound);

/* The smallest number of correct images whose accuracy is at least the
 * baseline's minus tolerance percentage points. */
size_t accsim_target_correct(const accsim_baseline *b, double tolerance);

/* Approach A: one common width B for from >= B >= to (rows[from - B]). */
int accsim_sweep(const accsim_baseline *b, int from, int to, accsim_eval *rows, accsim_error *err);

/* Approach B: the smallest common width B in 2..32 whose accuracy is at least
 * the baseline's minus tolerance (percentage points). Widths at which the
 * collapse bound rules the target out are not simulated. rows[32 - B] are
 * filled for every B from 32 down to 2 (bounded ones marked). *monotone_from is
 * the smallest B such that every width from B to 32 meets the target. */
typedef struct accsim_minwidth_result {
    int answer;           /* 0 when no width qualifies */
    int monotone_from;
    size_t target_correct;
    accsim_eval rows[31]; /* B = 32 - k */
} accsim_minwidth_result;

/* known: optional rows (as in out->rows) already evaluated, e.g. by a sweep;
 * entries with images == 0 are evaluated here. */
int accsim_minwidth(const accsim_baseline *b, double tolerance, const accsim_eval *known,
                    accsim_minwidth_result *out, accsim_error *err);

/* Approach C: per-layer widths of least energy (SPEC 8) with accuracy >=
 * baseline - tolerance. Two methods:
 * - exact (search.c): over the box lo[L] <= B_L <= hi[L], then proved over
 *   all of 2..32; it enumerates the box, which suits a few MAC layers;
 * - scalable (search_scalable.c): for many MAC layers, a setting found by
 *   exact evaluations (per-layer minima, repair, descent) and a certified
 *   lower bound on the energy of any setting meeting the target; proved
 *   optimal when the bound reaches the setting's energy.
 * ACCSIM_SEARCH_AUTO takes the exact method when the network has at most
 * ACCSIM_SEARCH_EXACT_LAYERS MAC layers and its box at most
 * ACCSIM_SEARCH_MAX_SETTINGS settings. */
typedef struct accsim_pareto_point {
    int bits[ACCSIM_MAX_LAYERS];
    uint64_t energy;
    size_t correct;
    double accuracy;
} accsim_pareto_point;

typedef struct accsim_search_options {
    double tolerance;               /* percentage points (default 0) */
    int lo[ACCSIM_MAX_LAYERS], hi[ACCSIM_MAX_LAYERS]; /* box; 0: the default box */
    int span;                       /* default box: hi = max need, lo = hi - span (default 3) */
    bool pareto;                    /* also the energy-accuracy front over the box */
    bool widen;                     /* while the answer sits on a lower edge, widen the box */
    bool prove;                     /* then decide every cheaper setting outside the box */
    size_t leaf_chunk;              /* proof: images per run of a last-layer width (0: 2048) */
    size_t first_prefix;            /* proof: images a new node first holds (0: enough to
                                       refute a setting at a quarter of them correct) */
    int method;                     /* ACCSIM_SEARCH_AUTO (0), _EXACT or _SCALABLE */
    size_t bound_images;            /* scalable: images the lower bound may re-run
                                       (0: 4 times the set) */
    size_t chunk;                   /* scalable: images per engine run (0: count/16 in 16..256) */
    size_t max_evaluations;         /* scalable: evaluations before the descent stops (0: 60
                                       per MAC layer) */
} accsim_search_options;

enum { ACCSIM_SEARCH_AUTO = 0, ACCSIM_SEARCH_EXACT = 1, ACCSIM_SEARCH_SCALABLE = 2 };
#define ACCSIM_SEARCH_EXACT_LAYERS 6

typedef struct accsim_search_result {
    bool found;
    int layers;
    int bits[ACCSIM_MAX_LAYERS];
    uint64_t energy;
    size_t correct, target_correct;
    double accuracy;
    int lo[ACCSIM_MAX_LAYERS], hi[ACCSIM_MAX_LAYERS]; /* the box searched last */
    size_t box_settings;            /* settings in the box */
    size_t settings_visited;        /* in energy order, up to the answer (or all, for pareto) */
    size_t decided_by_bounds;       /* decided without simulating down to fc3 */
    bool proved;                    /* the answer is the least energy over all of 2..32 */
    int safe[ACCSIM_MAX_LAYERS];    /* widths at which no input saturates the layer */
    int collapse[ACCSIM_MAX_LAYERS]; /* widths <= this make every image alike (0: none) */
    size_t proof_settings;          /* cheaper, undominated settings outside the box, decided */
    size_t proof_by_bounds;         /* of those, decided without simulating down to fc3 */
    size_t nodes_run;               /* engine runs of tree nodes */
    size_t images_run;              /* image-layers re-run in all */
    accsim_pareto_point *pareto;    /* ascending energy, ascending accuracy */
    size_t pareto_count;
    double seconds;
    /* The method that ran (ACCSIM_SEARCH_EXACT or _SCALABLE) and, for both, a
     * certified lower bound on the energy of any setting of 2..32 per layer
     * meeting the target (== energy when proved; 0 when not known). */
    int method;
    uint64_t lower_bound;
    /* Scalable method (search_scalable.c). */
    int floor[ACCSIM_MAX_LAYERS];   /* widths below these fail for any setting
                                       (collapse bound); 2 where none */
    int single_min[ACCSIM_MAX_LAYERS]; /* per layer, the smallest width from which every
                                          wider one meets the target with the other layers
                                          at 32 bits (a heuristic start, not a bound) */
    uint64_t single_min_energy;     /* energy of single_min: a lower bound only if accuracy
                                       were monotone in every width, which it is not */
    size_t evaluations;             /* exact evaluations of settings by the heuristic */
    size_t bound_settings;          /* settings refuted in energy order for the bound */
    bool bound_exhausted;           /* the bound stopped at its image budget */
    bool descent_stopped;           /* the descent stopped at its evaluation budget */
    accsim_pareto_point *path;      /* the heuristic's accepted settings, in order */
    size_t path_count;
} accsim_search_result;

void accsim_search_options_default(accsim_search_options *o);
/* The proof's limits per layer: safe, the width from which no input can make
 * the layer saturate (from the weights); collapse, the widest width at which
 * every image gets one prediction and too few can be right (0: none). */
void accsim_search_limits(const accsim_baseline *b, size_t target_correct, int *safe,
                          int *collapse);
/* Settings of the largest box the search enumerates. */
#define ACCSIM_SEARCH_MAX_SETTINGS 4000000
int accsim_search(const accsim_baseline *b, const accsim_search_options *opts,
                  accsim_search_result *out, accsim_error *err);
void accsim_search_result_free(accsim_search_result *r);
/* The scalable method alone (accsim_search calls it); out->box is the range it
 * searched per layer (floor .. safe width). */
int accsim_search_scalable(const accsim_baseline *b, const accsim_search_options *opts,
                           accsim_search_result *out, accsim_error *err);

/* Histograms of layer outputs, peaks (and every partial sum when psum) at B = 32. */
typedef struct accsim_hist_ranges {
    accsim_lin_range out[ACCSIM_MAX_LAYERS], peak[ACCSIM_MAX_LAYERS], psum[ACCSIM_MAX_LAYERS];
} accsim_hist_ranges;

/* Ranges covering every value seen by the given baselines (so that histograms
 * of several splits share bins and can be overlaid). */
void accsim_hist_ranges_for(const accsim_baseline *const *bases, int n, accsim_hist_ranges *r);
/* hist: [net->mac_count]. */
int accsim_hist_run(accsim_engine *engine, const accsim_network *net, const accsim_imageset *set,
                    accsim_overflow overflow, const accsim_hist_ranges *ranges, bool psum,
                    bool quiet, accsim_layer_hist *hist, accsim_error *err);

/* Prints "accsim: <what>: <n> images in <s> s" on stderr unless quiet. */
void accsim_phase_note(bool quiet, const char *fmt, ...) ACCSIM_PRINTF(2, 3);

#endif
