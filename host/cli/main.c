/* accsim: bit-exact simulation of narrow saturating accumulators in a
 * quantized LeNet-5. This file only dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
    const char *name;
    int (*run)(const cli_options *opts);
    const char *summary;
    unsigned accepts; /* enum cli_option_flag: the options it uses */
} command;

#define ANALYSIS_OPTS (CLI_OPTS_CONTEXT | CLI_OPT_JSON | CLI_OPT_CSV)

static const command commands[] = {
    {"run", cmd_run, "accuracy and per-layer statistics for one width setting",
     CLI_OPTS_CONTEXT | CLI_OPT_BITS | CLI_OPT_IMAGES | CLI_OPT_JSON | CLI_OPT_DUMP},
    {"energy", cmd_energy, "per-layer operation counts and energy for a width setting",
     CLI_OPT_BITS | CLI_OPT_JSON},
    {"devices", cmd_devices, "list OpenCL platforms and devices", CLI_OPT_DEVICE},
    {"verify", cmd_verify, "run on the C reference and on OpenCL, compare bit for bit",
     CLI_OPTS_CONTEXT | CLI_OPT_BITS | CLI_OPT_IMAGES},
    {"hist", cmd_hist, "distributions of layer outputs, peaks and partial sums",
     ANALYSIS_OPTS | CLI_OPT_OUT | CLI_OPT_PSUM},
    {"sweep", cmd_sweep, "Approach A: accuracy, saturation and energy over common widths",
     ANALYSIS_OPTS | CLI_OPT_FROM | CLI_OPT_TO},
    {"minwidth", cmd_minwidth, "Approach B: smallest common width within a tolerance",
     ANALYSIS_OPTS | CLI_OPT_TOLERANCE},
    {"search", cmd_search, "Approach C: per-layer widths of least energy, Pareto front",
     ANALYSIS_OPTS | CLI_OPT_TOLERANCE | CLI_OPT_SPAN | CLI_OPT_NO_PARETO | CLI_OPT_NO_PROVE},
    {"bounds", cmd_bounds, "data-free width bounds (safe, A2Q, FINN) beside the need on data",
     ANALYSIS_OPTS},
    {"study", cmd_study, "the whole study on both splits, written as a report",
     CLI_OPTS_CONTEXT | CLI_OPT_OUT | CLI_OPT_PSUM | CLI_OPT_FROM | CLI_OPT_TO |
         CLI_OPT_TOLERANCE | CLI_OPT_SPAN | CLI_OPT_NO_PARETO | CLI_OPT_NO_PROVE},
};

void cli_usage(FILE *out)
{
    fprintf(out, "usage: accsim COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\ncommon options:\n"
            "  --model DIR          model directory (also $ACCSIM_MODEL; default: the shipped LeNet-5)\n"
            "  --data DIR           CIFAR-10 binary batches (also $ACCSIM_DATA; default data/cifar-10-batches-bin)\n"
            "  --split test|train|both\n"
            "  --bits B|B1,B2,B3,B4,B5   accumulator width(s), 2..32 (default 32)\n"
            "  --overflow saturate|wrap  what an out-of-range add does (default saturate)\n"
            "  --engine auto|cpu|opencl  (default auto: OpenCL when a platform exists)\n"
            "  --device N|NAME      OpenCL device index or name substring (also $ACCSIM_DEVICE)\n"
            "  --kernel-dir DIR     load kernels/*.cl from DIR instead of the embedded copies\n"
            "  --images I,J,..      run only these images and report their outputs\n"
            "  --limit N            only the first N images of the split\n"
            "  --json FILE|-        write the result as JSON\n"
            "  --csv FILE           write the main table as CSV\n"
            "  --dump-outputs FILE  write every image's 10 outputs as CSV\n"
            "  --out DIR            report directory (study, hist; plots with linear and log count axes)\n"
            "  --from B --to B      width range (sweep; default 32 down to 12)\n"
            "  --tolerance PP       accuracy drop allowed, percentage points\n"
            "  --span N             search box: N widths below each layer's largest need (default 3)\n"
            "  --no-pareto          search, study: skip the energy-accuracy front\n"
            "  --no-prove           search, study: decide the box only, not every cheaper setting\n"
            "  --psum               also collect every-partial-sum distributions\n"
            "  --quiet              no progress on stderr\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        cli_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        cli_options opts;
        if (cli_parse(argc - 2, argv + 2, &opts) != 0)
            return 2;
        opts.command = commands[i].name;
        if (cli_check_accepted(commands[i].name, commands[i].accepts, &opts) != 0)
            return 2;
        if (opts.bits_count != 1 && opts.bits_count != ACCSIM_LAYERS && !cli_model_is_network(&opts)) {
            fprintf(stderr, "accsim: --bits: give one width, or five for the course model's layers "
                            "(conv1,conv2,fc1,fc2,fc3); %d given\n", opts.bits_count);
            return 2;
        }
        return commands[i].run(&opts);
    }
    fprintf(stderr, "accsim: unknown command '%s' (try accsim --help)\n", argv[1]);
    return 2;
}
