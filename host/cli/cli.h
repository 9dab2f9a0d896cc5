/* The command line: shared options, and one cmd_* function per subcommand. */
#ifndef ACCSIM_CLI_H
#define ACCSIM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "accsim/dataset.h"
#include "accsim/engine.h"
#include "accsim/model.h"

#define CLI_MAX_WIDTHS 256 /* MAC layers --bits can name */

/* Every option any subcommand takes; each subcommand reads the ones it needs
 * and cli_parse rejects options that are unknown to all of them. */
typedef struct cli_options {
    const char *command;
    const char *model_dir;    /* --model, $ACCSIM_MODEL, else the shipped default */
    const char *data_dir;     /* --data, $ACCSIM_DATA, else data/cifar-10-batches-bin */
    accsim_split split;       /* --split test|train|both (default test) */
    bool split_given;
    int bits[ACCSIM_LAYERS];  /* --bits for the course model: B | B1,B2,B3,B4,B5 (default 32) */
    bool bits_given;
    /* --bits as given: one width, or one per MAC layer of any network. */
    int bits_list[CLI_MAX_WIDTHS];
    int bits_count;
    accsim_overflow overflow; /* --overflow saturate|wrap */
    accsim_engine_options engine; /* --engine, --device, --kernel-dir */
    const char *json_path;    /* --json FILE|- */
    const char *csv_path;     /* --csv FILE */
    const char *images;       /* --images I,J,.. */
    const char *dump_outputs; /* --dump-outputs FILE */
    const char *out_dir;      /* --out DIR */
    int bits_from, bits_to;   /* --from, --to (sweep range) */
    double tolerance;         /* --tolerance, percentage points */
    bool tolerance_given;
    bool psum;                /* --psum: every-partial-sum histograms */
    int search_span;          /* --span N: search box depth below the largest need (0: default) */
    bool no_pareto;           /* --no-pareto: skip the Pareto front */
    bool no_prove;            /* --no-prove: the search box only */
    int limit;                /* --limit N: first N images only (0: all) */
    bool quiet;               /* --quiet */
} cli_options;

int cli_parse(int argc, char **argv, cli_options *opts);
void cli_usage(FILE *out);

/* What most subcommands need: the model, the data, the quantized images and an
 * engine with both loaded. */
typedef struct cli_context {
    accsim_model model;
    accsim_dataset data;
    int8_t *images;            /* [data.count][3072] quantized */
    accsim_engine *engine;
    size_t count;              /* images to run: data.count or --limit */
} cli_context;

int cli_context_open(const cli_options *opts, cli_context *ctx, accsim_error *err);
void cli_context_close(cli_context *ctx);
const char *cli_default_model_dir(void);
/* Whether the model directory holds a network description (network.json,
 * docs/network-format.md) rather than the course's export format. */
bool cli_model_is_network(const cli_options *opts);

/* Parses "I,J,K" (each < limit) into a new array. */
int cli_parse_index_list(const char *text, size_t limit, uint32_t **out, size_t *count,
                         accsim_error *err);

/* Prints "accsim: <message>" on stderr and returns the exit status to use. */
int cli_error(const accsim_error *err);

int cmd_run(const cli_options *opts);
int cmd_energy(const cli_options *opts);
int cmd_devices(const cli_options *opts);
int cmd_verify(const cli_options *opts);
int cmd_hist(const cli_options *opts);
int cmd_sweep(const cli_options *opts);
int cmd_minwidth(const cli_options *opts);
int cmd_search(const cli_options *opts);
int cmd_study(const cli_options *opts);
int cmd_run_network(const cli_options *opts);

#endif
