/* Command-line options shared by every subcommand. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int bad(const char *option, const char *value, const char *why)
{
    fprintf(stderr, "accsim: %s %s: %s\n", option, value ? value : "", why);
    return -1;
}

static int parse_int(const char *option, const char *text, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE)
        return bad(option, text, "not a whole number");
    if (v < lo || v > hi) {
        char why[80];
        snprintf(why, sizeof why, "must be between %ld and %ld", lo, hi);
        return bad(option, text, why);
    }
    *out = (int)v;
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
    opts->bits_count = n;
    /* The course model's five layers, when the list fits them. */
    if (n == 1 || n == ACCSIM_LAYERS)
        for (int l = 0; l < ACCSIM_LAYERS; l++)
            opts->bits[l] = opts->bits_list[n == 1 ? 0 : l];
    return 0;
}

int cli_parse(int argc, char **argv, cli_options *opts)
{
    memset(opts, 0, sizeof *opts);
    for (int l = 0; l < ACCSIM_LAYERS; l++)
        opts->bits[l] = 32;
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
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDS_VALUE()                                                   \
    do {                                                                \
        if (!value)                                                     \
            return bad(arg, NULL, "needs a value");                     \
        i++;                                                            \
    } while (0)
        if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0) {
            opts->quiet = true;
        } else if (strcmp(arg, "--psum") == 0) {
            opts->psum = true;
        } else if (strcmp(arg, "--no-pareto") == 0) {
            opts->no_pareto = true;
        } else if (strcmp(arg, "--no-prove") == 0) {
            opts->no_prove = true;
        } else if (strcmp(arg, "--span") == 0) {
            NEEDS_VALUE();
            if (parse_int(arg, value, 0, 30, &opts->search_span) != 0)
                return -1;
        } else if (strcmp(arg, "--model") == 0) {
            NEEDS_VALUE();
            opts->model_dir = value;
        } else if (strcmp(arg, "--data") == 0) {
            NEEDS_VALUE();
            opts->data_dir = value;
        } else if (strcmp(arg, "--split") == 0) {
            NEEDS_VALUE();
            if (accsim_split_parse(value, &opts->split) != 0)
                return bad(arg, value, "expected test, train or both");
            opts->split_given = true;
        } else if (strcmp(arg, "--bits") == 0) {
            NEEDS_VALUE();
            if (parse_bits(value, opts) != 0)
                return -1;
            opts->bits_given = true;
        } else if (strcmp(arg, "--overflow") == 0) {
            NEEDS_VALUE();
            if (strcmp(value, "saturate") == 0)
                opts->overflow = ACCSIM_SATURATE;
            else if (strcmp(value, "wrap") == 0)
                opts->overflow = ACCSIM_WRAP;
            else
                return bad(arg, value, "expected saturate or wrap");
        } else if (strcmp(arg, "--engine") == 0) {
            NEEDS_VALUE();
            if (strcmp(value, "cpu") != 0 && strcmp(value, "opencl") != 0 &&
                strcmp(value, "auto") != 0)
                return bad(arg, value, "expected auto, cpu or opencl");
            opts->engine.kind = value;
        } else if (strcmp(arg, "--device") == 0) {
            NEEDS_VALUE();
            opts->engine.device = value;
        } else if (strcmp(arg, "--kernel-dir") == 0) {
            NEEDS_VALUE();
            opts->engine.kernel_dir = value;
        } else if (strcmp(arg, "--json") == 0) {
            NEEDS_VALUE();
            opts->json_path = value;
        } else if (strcmp(arg, "--csv") == 0) {
            NEEDS_VALUE();
            opts->csv_path = value;
        } else if (strcmp(arg, "--images") == 0) {
            NEEDS_VALUE();
            opts->images = value;
        } else if (strcmp(arg, "--dump-outputs") == 0) {
            NEEDS_VALUE();
            opts->dump_outputs = value;
        } else if (strcmp(arg, "--out") == 0) {
            NEEDS_VALUE();
            opts->out_dir = value;
        } else if (strcmp(arg, "--from") == 0) {
            NEEDS_VALUE();
            if (parse_int(arg, value, 2, 32, &opts->bits_from) != 0)
                return -1;
        } else if (strcmp(arg, "--to") == 0) {
            NEEDS_VALUE();
            if (parse_int(arg, value, 2, 32, &opts->bits_to) != 0)
                return -1;
        } else if (strcmp(arg, "--limit") == 0) {
            NEEDS_VALUE();
            if (parse_int(arg, value, 1, 60000, &opts->limit) != 0)
                return -1;
        } else if (strcmp(arg, "--tolerance") == 0) {
            NEEDS_VALUE();
            char *end;
            double t = strtod(value, &end);
            if (end == value || *end != '\0' || !isfinite(t) || t < 0 || t > 100)
                return bad(arg, value, "expected percentage points between 0 and 100");
            opts->tolerance = t;
            opts->tolerance_given = true;
        } else {
            fprintf(stderr, "accsim: unknown option '%s' (try accsim --help)\n", arg);
            return -1;
        }
#undef NEEDS_VALUE
    }
    if (!opts->engine.device) {
        const char *env = getenv("ACCSIM_DEVICE");
        if (env && *env)
            opts->engine.device = env;
    }
    opts->engine.quiet = opts->quiet;
    return 0;
}
