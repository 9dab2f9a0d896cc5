/* accsim: bit-exact simulation of narrow saturating accumulators in quantized
 * CNNs. This file only dispatches to the subcommands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accsim/fileio.h"
#include "accsim/signals.h"
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
     CLI_OPT_MODEL | CLI_OPT_BITS | CLI_OPT_JSON},
    {"devices", cmd_devices, "list OpenCL platforms and devices", CLI_OPT_DEVICE},
    {"verify", cmd_verify, "run on the C reference and on OpenCL, compare bit for bit",
     CLI_OPTS_CONTEXT | CLI_OPT_BITS | CLI_OPT_IMAGES | CLI_OPT_PSUM},
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
    {"import", cmd_import, "make a network description from an int8 .tflite or .onnx model",
     CLI_OPT_OPERAND | CLI_OPT_OUT},
    {"study", cmd_study, "the whole study on both splits, written as a report",
     CLI_OPTS_CONTEXT | CLI_OPT_OUT | CLI_OPT_PSUM | CLI_OPT_FROM | CLI_OPT_TO |
         CLI_OPT_TOLERANCE | CLI_OPT_SPAN | CLI_OPT_NO_PARETO | CLI_OPT_NO_PROVE},
};

void cli_usage(FILE *out)
{
    fprintf(out, "usage: accsim COMMAND [options]\n"
                 "       accsim import MODEL.tflite|MODEL.onnx --out DIR [-- IMPORTER-OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\ncommon options:\n"
            "  --model DIR|FILE     a network description (DIR/network.json, docs/network-format.md),\n"
            "                       a course-format model (also $ACCSIM_MODEL; default: the shipped LeNet-5),\n"
            "                       or an int8 .tflite/.onnx model, imported on the fly (see accsim import)\n"
            "  --data DIR           CIFAR-10 binary batches, or {test,train}_{images,labels}.npy (also $ACCSIM_DATA; default data/cifar-10-batches-bin)\n"
            "  --split test|train|both\n"
            "  --bits B|B1,B2,...   accumulator width, 2..32, for every MAC layer or one per MAC layer (default 32)\n"
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

/* Every output file's location is checked before any work: a run that
 * cannot write its result fails at once, not after the computing. */
static int check_outputs(const cli_options *opts)
{
    const char *paths[] = {opts->json_path, opts->csv_path, opts->dump_outputs};
    accsim_error err;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (paths[i] && accsim_outfile_check(paths[i], &err) != 0)
            return cli_error(&err);
    return 0;
}

/* --bits with a list must give one width per MAC layer of the network that
 * --model names: checked before any work, as a usage error (the message
 * names the count expected and the layers). A network that does not load is
 * left to the command, which says why. */
static int check_bits_count(const cli_options *opts)
{
    if (!(opts->given & CLI_OPT_BITS) || opts->bits_count == 1)
        return 0;
    cli_network nw;
    accsim_error err;
    if (cli_network_open(opts, &nw, &err) != 0)
        return 0;
    int bits[ACCSIM_MAX_LAYERS];
    int rc = cli_resolve_bits(opts, &nw.net, bits, &err);
    cli_network_close(&nw);
    if (rc != 0)
        fprintf(stderr, "accsim: %s\n", err.message);
    return rc;
}

/* Standard output is a result too: a full disk, /dev/full or a closed pipe
 * must not pass as success. Checked when the command returns (while errno
 * still says why; other libraries' exit handlers may flush stdout first) and
 * closed at exit (atexit, as gnulib's close_stdout does). EBADF from the close
 * alone means stdout was closed by whoever started us and nothing was
 * written. */
static int stdout_failed;

static void stdout_error(int e)
{
    stdout_failed = 1;
    if (e > 0)
        fprintf(stderr, "accsim: standard output: write error: %s\n", strerror(e));
    else
        fprintf(stderr, "accsim: standard output: write error\n");
}

static int check_stdout(int status)
{
    if (fflush(stdout) != 0)
        stdout_error(errno);
    else if (ferror(stdout))
        stdout_error(-1);
    return stdout_failed && status == 0 ? 1 : status;
}

static void close_stdout(void)
{
    int e = 0;
    if (fflush(stdout) != 0)
        e = errno ? errno : -1;
    else if (ferror(stdout))
        e = -1;
    errno = 0;
    if (fclose(stdout) != 0 && !e && errno != EBADF)
        e = errno ? errno : -1;
    if (stdout_failed)
        return; /* said and counted in the exit status already */
    if (e) {
        stdout_error(e);
        _exit(1);
    }
}

int main(int argc, char **argv)
{
    /* Before any thread: SIGINT, SIGTERM and SIGHUP remove temporary files and
     * directories and exit 128 + the signal (accsim/signals.h). */
    if (accsim_signals_install() != 0 || atexit(close_stdout) != 0) {
        fprintf(stderr, "accsim: cannot install the exit handlers: %s\n", strerror(errno));
        return 1;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        cli_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        /* accsim import MODEL ...: the operand comes first. */
        int first = 2;
        if (commands[i].accepts & CLI_OPT_OPERAND) {
            if (argc < 3 || argv[2][0] == '-') {
                fprintf(stderr, "accsim %s: give the model file first: accsim %s MODEL.tflite|MODEL.onnx "
                                "--out DIR\n", commands[i].name, commands[i].name);
                return 2;
            }
            first = 3;
        }
        cli_options opts;
        if (cli_parse(argc - first, argv + first, &opts) != 0)
            return 2;
        opts.command = commands[i].name;
        opts.operand = first == 3 ? argv[2] : NULL;
        if (opts.passthrough && !(commands[i].accepts & CLI_OPT_OPERAND)) {
            fprintf(stderr, "accsim %s: '--' passes options to an importer; only accsim import "
                            "takes it\n", commands[i].name);
            return 2;
        }
        if (cli_check_accepted(commands[i].name, commands[i].accepts, &opts) != 0)
            return 2;
        if (check_outputs(&opts) != 0)
            return 1;
        accsim_error err;
        if ((commands[i].accepts & CLI_OPT_MODEL) && cli_import_model_option(&opts, &err) != 0)
            return cli_error(&err);
        if (check_bits_count(&opts) != 0)
            return 2;
        return check_stdout(commands[i].run(&opts));
    }
    fprintf(stderr, "accsim: unknown command '%s' (try accsim --help)\n", argv[1]);
    return 2;
}
