/* Command-line options shared by every subcommand. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int bad(const char *option, const char *value, const char *why)
{
    if (value)
        fprintf(stderr, "accsim: %s %s: %s\n", option, value, why);
    else
        fprintf(stderr, "accsim: %s: %s\n", option, why);
    return -1;
}

static int parse_int(const char *option, const char *text, long lo, long hi, int *out)
{
    /* Decimal digits only: strtol alone would take " 12", "+12" and stop at junk. */
    size_t digits = strspn(text, "0123456789");
    if (digits == 0 || text[digits] != '\0')
        return bad(option, text, "not a whole number");
    if (digits > 9 || strtol(text, NULL, 10) < lo || strtol(text, NULL, 10) > hi) {
        char why[80];
        snprintf(why, sizeof why, "must be between %ld and %ld", lo, hi);
        return bad(option, text, why);
    }
    *out = (int)strtol(text, NULL, 10);
    return 0;
}

/* "B" for every layer, or one width per MAC layer: "B1,B2,...". Every field
 * must be a decimal width; an empty field ("18,,16", ",18", "18,") would put
 * the widths on the wrong layers, so it is an error. */
static int parse_bits(const char *text, cli_options *opts)
{
    int n = 0;
    const char *p = text;
    for (;;) {
        const char *end = p + strcspn(p, ",");
        if (end == p)
            return bad("--bits", text, "empty width in the list (give B, or B1,B2,... with one width per MAC layer)");
        if (n == CLI_MAX_WIDTHS)
            return bad("--bits", text, "too many widths");
        long v = 0;
        for (const char *q = p; q < end; q++) {
            if (*q < '0' || *q > '9')
                return bad("--bits", text, "widths must be decimal whole numbers");
            if (v < 100)
                v = v * 10 + (*q - '0');
        }
        if (v < 2 || v > 32) {
            fprintf(stderr, "accsim: --bits %s: width %.*s is outside 2..32\n", text, (int)(end - p), p);
            return -1;
        }
        opts->bits_list[n++] = (int)v;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    opts->bits_count = n; /* checked against the network's MAC layers in main.c */
    return 0;
}

/* One row per option: its bit in cli_options.given (what each command accepts
 * is a mask of these, in main.c) and whether it takes a value. */
typedef struct option_spec {
    const char *name;
    unsigned flag;
    bool takes_value;
} option_spec;

static const option_spec option_table[] = {
    {"--model", CLI_OPT_MODEL, true},       {"--data", CLI_OPT_DATA, true},
    {"--split", CLI_OPT_SPLIT, true},       {"--bits", CLI_OPT_BITS, true},
    {"--overflow", CLI_OPT_OVERFLOW, true}, {"--engine", CLI_OPT_ENGINE, true},
    {"--device", CLI_OPT_DEVICE, true},     {"--kernel-dir", CLI_OPT_KERNEL_DIR, true},
    {"--images", CLI_OPT_IMAGES, true},     {"--limit", CLI_OPT_LIMIT, true},
    {"--json", CLI_OPT_JSON, true},         {"--csv", CLI_OPT_CSV, true},
    {"--dump-outputs", CLI_OPT_DUMP, true}, {"--out", CLI_OPT_OUT, true},
    {"--from", CLI_OPT_FROM, true},         {"--to", CLI_OPT_TO, true},
    {"--tolerance", CLI_OPT_TOLERANCE, true}, {"--span", CLI_OPT_SPAN, true},
    {"--no-pareto", CLI_OPT_NO_PARETO, false}, {"--no-prove", CLI_OPT_NO_PROVE, false},
    {"--psum", CLI_OPT_PSUM, false},        {"--quiet", CLI_OPT_QUIET, false},
    {"-q", CLI_OPT_QUIET, false},
};

const char *cli_option_name(unsigned flag)
{
    for (size_t i = 0; i < sizeof option_table / sizeof option_table[0]; i++)
        if (option_table[i].flag == flag)
            return option_table[i].name;
    return "?";
}

/* Stores one option's value; the table has already checked that it has one. */
static int apply_option(const option_spec *spec, const char *value, cli_options *opts)
{
    const char *arg = spec->name;
    switch (spec->flag) {
    case CLI_OPT_QUIET: opts->quiet = true; return 0;
    case CLI_OPT_PSUM: opts->psum = true; return 0;
    case CLI_OPT_NO_PARETO: opts->no_pareto = true; return 0;
    case CLI_OPT_NO_PROVE: opts->no_prove = true; return 0;
    case CLI_OPT_SPAN: return parse_int(arg, value, 0, 30, &opts->search_span);
    case CLI_OPT_MODEL: opts->model_dir = value; return 0;
    case CLI_OPT_DATA: opts->data_dir = value; return 0;
    case CLI_OPT_SPLIT:
        if (accsim_split_parse(value, &opts->split) != 0)
            return bad(arg, value, "expected test, train or both");
        opts->split_given = true;
        return 0;
    case CLI_OPT_BITS:
        if (parse_bits(value, opts) != 0)
            return -1;
        opts->bits_given = true;
        return 0;
    case CLI_OPT_OVERFLOW:
        if (strcmp(value, "saturate") == 0)
            opts->overflow = ACCSIM_SATURATE;
        else if (strcmp(value, "wrap") == 0)
            opts->overflow = ACCSIM_WRAP;
        else
            return bad(arg, value, "expected saturate or wrap");
        return 0;
    case CLI_OPT_ENGINE:
        if (strcmp(value, "cpu") != 0 && strcmp(value, "opencl") != 0 && strcmp(value, "auto") != 0)
            return bad(arg, value, "expected auto, cpu or opencl");
        opts->engine.kind = value;
        return 0;
    case CLI_OPT_DEVICE: opts->engine.device = value; return 0;
    case CLI_OPT_KERNEL_DIR: opts->engine.kernel_dir = value; return 0;
    case CLI_OPT_JSON: opts->json_path = value; return 0;
    case CLI_OPT_CSV: opts->csv_path = value; return 0;
    case CLI_OPT_IMAGES: opts->images = value; return 0;
    case CLI_OPT_DUMP: opts->dump_outputs = value; return 0;
    case CLI_OPT_OUT: opts->out_dir = value; return 0;
    case CLI_OPT_FROM: return parse_int(arg, value, 2, 32, &opts->bits_from);
    case CLI_OPT_TO: return parse_int(arg, value, 2, 32, &opts->bits_to);
    case CLI_OPT_LIMIT: return parse_int(arg, value, 1, 60000, &opts->limit);
    case CLI_OPT_TOLERANCE: {
        /* Decimal only: strtod alone would take hex, inf and nan. */
        if (strspn(value, "0123456789.") != strlen(value) || strchr(value, '.') != strrchr(value, '.'))
            return bad(arg, value, "expected percentage points between 0 and 100, like 1 or 0.5");
        char *end;
        double t = strtod(value, &end);
        if (end == value || *end != '\0' || !isfinite(t) || t < 0 || t > 100)
            return bad(arg, value, "expected percentage points between 0 and 100");
        opts->tolerance = t;
        opts->tolerance_given = true;
        return 0;
    }
    }
    assert(!"option without a handler");
    return -1;
}

int cli_parse(int argc, char **argv, cli_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->bits_list[0] = 32;
    opts->bits_count = 1;
    opts->split = ACCSIM_SPLIT_TEST;
    opts->overflow = ACCSIM_SATURATE;
    opts->bits_from = 32;
    opts->bits_to = 12;
    opts->tolerance = -1;
    opts->engine.kind = "auto";

    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            /* The rest belongs to another program (accsim import's importer;
             * main refuses it for every other command). */
            opts->passthrough = argv + i + 1;
            opts->passthrough_count = argc - i - 1;
            break;
        }
        const option_spec *spec = NULL;
        for (size_t k = 0; k < sizeof option_table / sizeof option_table[0] && !spec; k++)
            if (strcmp(arg, option_table[k].name) == 0)
                spec = &option_table[k];
        if (!spec) {
            fprintf(stderr, "accsim: unknown option '%s' (try accsim --help)\n", arg);
            return -1;
        }
        if (opts->given & spec->flag && spec->takes_value)
            return bad(arg, NULL, "given twice");
        const char *value = NULL;
        if (spec->takes_value) {
            if (i + 1 >= argc)
                return bad(arg, NULL, "needs a value");
            value = argv[++i];
            /* `--json --bits 12` would write a file named --bits: a value that
             * looks like an option is a forgotten value ("-" is stdout). */
            if (value[0] == '-' && value[1] != '\0')
                return bad(arg, value, "needs a value, not another option");
            if (value[0] == '\0')
                return bad(arg, "\"\"", "needs a value, not an empty string");
        }
        opts->given |= spec->flag;
        if (apply_option(spec, value, opts) != 0)
            return -1;
    }
    /* $ACCSIM_DEVICE is read where the device is chosen, so that its errors
     * name the variable, not --device. */
    opts->engine.quiet = opts->quiet;
    return 0;
}

int cli_check_accepted(const char *command, unsigned accepted, const cli_options *opts)
{
    unsigned extra = opts->given & ~(accepted | CLI_OPT_QUIET);
    if (!extra)
        return 0;
    unsigned flag = extra & (~extra + 1); /* the lowest one */
    fprintf(stderr, "accsim %s: %s is not an option of this command (see accsim --help)\n",
            command, cli_option_name(flag));
    return -1;
}
