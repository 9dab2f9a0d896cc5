/* The command line: shared options, and one cmd_* function per subcommand. */
#ifndef ACCSIM_CLI_H
#define ACCSIM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "accsim/dataset.h"
#include "accsim/engine.h"
#include "accsim/model.h"
#include "accsim/network.h"

/* Each option's bit, for cli_options.given and the commands' accepted sets. */
enum cli_option_flag {
    CLI_OPT_MODEL = 1u << 0, CLI_OPT_DATA = 1u << 1, CLI_OPT_SPLIT = 1u << 2,
    CLI_OPT_BITS = 1u << 3, CLI_OPT_OVERFLOW = 1u << 4, CLI_OPT_ENGINE = 1u << 5,
    CLI_OPT_DEVICE = 1u << 6, CLI_OPT_KERNEL_DIR = 1u << 7, CLI_OPT_IMAGES = 1u << 8,
    CLI_OPT_LIMIT = 1u << 9, CLI_OPT_JSON = 1u << 10, CLI_OPT_CSV = 1u << 11,
    CLI_OPT_DUMP = 1u << 12, CLI_OPT_OUT = 1u << 13, CLI_OPT_FROM = 1u << 14,
    CLI_OPT_TO = 1u << 15, CLI_OPT_TOLERANCE = 1u << 16, CLI_OPT_SPAN = 1u << 17,
    CLI_OPT_NO_PARETO = 1u << 18, CLI_OPT_NO_PROVE = 1u << 19, CLI_OPT_PSUM = 1u << 20,
    CLI_OPT_QUIET = 1u << 21,
    CLI_OPT_OPERAND = 1u << 22, /* not an option: the command takes MODEL first (import) */
};
/* What every command that loads a model, data and an engine accepts. */
#define CLI_OPTS_CONTEXT                                                                  \
    (CLI_OPT_MODEL | CLI_OPT_DATA | CLI_OPT_SPLIT | CLI_OPT_ENGINE | CLI_OPT_DEVICE |     \
     CLI_OPT_KERNEL_DIR | CLI_OPT_LIMIT | CLI_OPT_OVERFLOW)

#define CLI_MAX_WIDTHS 256 /* MAC layers --bits can name */

/* Every option any subcommand takes; each subcommand reads the ones it needs
 * and cli_parse rejects options that are unknown to all of them. */
typedef struct cli_options {
    const char *command;
    const char *operand;      /* the command's MODEL argument (accsim import MODEL) */
    char **passthrough;       /* after "--": the importer's own options (accsim import) */
    int passthrough_count;
    unsigned given;           /* enum cli_option_flag bits of the options given */
    const char *model_dir;    /* --model, $ACCSIM_MODEL, else the shipped default */
    const char *data_dir;     /* --data, $ACCSIM_DATA, else data/cifar-10-batches-bin */
    accsim_split split;       /* --split test|train|both (default test) */
    bool split_given;
    bool bits_given;
    /* --bits as given: one width, or one per MAC layer of the network (commands
     * use cli_context.bits / cli_resolve_bits). */
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
/* Rejects (with a message, -1) any option given that COMMAND does not use:
 * an ignored option would look as if it had been applied. */
int cli_check_accepted(const char *command, unsigned accepted, const cli_options *opts);
const char *cli_option_name(unsigned flag);
void cli_usage(FILE *out);

/* The network of --model: DIR/network.json when there is one, else the course
 * model in its export format (then *have_model and model hold it, and net is
 * its description, net->course pointing at model: model must stay put). */
typedef struct cli_network {
    accsim_model model;
    bool have_model;
    accsim_network net;
} cli_network;
int cli_network_open(const cli_options *opts, cli_network *n, accsim_error *err);
void cli_network_close(cli_network *n);
/* --bits for net: one width for every MAC layer, or one per MAC layer. */
int cli_resolve_bits(const cli_options *opts, const accsim_network *net, int *bits,
                     accsim_error *err);
/* "conv1,conv2,..." (truncated with "..." when long). */
const char *cli_layer_names(const accsim_network *net, char *buf, size_t size);
/* Widths as "B" when all alike, else "B1,B2,...". */
const char *cli_bits_text(const int *bits, int layers, char *buf, size_t size);

/* What most subcommands need: the network, the data, the quantized images and
 * an engine with both loaded. */
typedef struct cli_context {
    cli_network *nw;           /* heap: the network's address must not change */
    const accsim_network *net; /* &nw->net */
    accsim_dataset data;
    int8_t *images;            /* [data.count][accsim_network_input_count(net)] quantized */
    accsim_engine *engine;
    size_t count;              /* images to run: data.count or --limit */
    int bits[ACCSIM_MAX_LAYERS]; /* --bits, one per MAC layer */
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
int cmd_bounds(const cli_options *opts);
int cmd_import(const cli_options *opts);
/* --model (or $ACCSIM_MODEL) naming a .tflite or .onnx file: imports it into a
 * temporary directory (removed at exit and on a signal) and points
 * opts->model_dir at the description there. Nothing to do for directories. */
int cli_import_model_option(cli_options *opts, accsim_error *err);

#endif
