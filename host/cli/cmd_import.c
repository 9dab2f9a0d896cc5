/* accsim import MODEL --out DIR, and --model MODEL for every command: an int8
 * TFLite (.tflite) or ONNX (.onnx) model made into a network description
 * (docs/network-format.md) by the Python importers tools/import_tflite.py and
 * tools/import_onnx.py, run as child processes (accsim/process.h: fork,
 * execvp, waitpid; no shell) with the python of the pinned environment that
 * tools/setup-python-tools.sh makes and prints.
 *
 * Where the tools are: $ACCSIM_TOOLS when set, else the tools/ directory of
 * the source tree accsim was built from (ACCSIM_SOURCE_DIR, compiled in; the
 * installed binary does not carry the tools). The environment is the setup
 * script's: $ACCSIM_PYTOOLS, else SOURCE/build/pytools (docs/import.md). */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accsim/fileio.h"
#include "accsim/process.h"
#include "accsim/signals.h"
#include "cli/cli.h"

/* Exit status of the setup script and of the importers when a Python package
 * (or the environment) cannot be had. */
#define TOOL_MISSING_PACKAGES 77

typedef struct importer {
    const char *format;    /* for messages */
    const char *extension; /* the file name's ending */
    const char *script;    /* in the tools directory */
} importer;

static const importer importers[] = {
    {"TFLite", ".tflite", "import_tflite.py"},
    {"ONNX", ".onnx", "import_onnx.py"},
};

static const char *tools_dir(void)
{
    const char *env = getenv("ACCSIM_TOOLS");
    if (env && *env)
        return env;
#ifdef ACCSIM_SOURCE_DIR
    return ACCSIM_SOURCE_DIR "/tools";
#else
    return "tools";
#endif
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcasecmp(s + n - k, suffix) == 0;
}

/* Which importer reads PATH: by its extension, else by its content (a TFLite
 * flatbuffer has the identifier "TFL3" at byte 4; an ONNX ModelProto, a
 * protobuf message, starts with field 1, ir_version, a varint: byte 0x08). */
static int detect_format(const char *path, const importer **out, accsim_error *err)
{
    FILE *fp;
    long long size;
    if (accsim_open_regular(path, &fp, &size, err) != 0)
        return -1;
    unsigned char head[8] = {0};
    size_t got = fread(head, 1, sizeof head, fp);
    fclose(fp);
    for (size_t i = 0; i < sizeof importers / sizeof importers[0]; i++)
        if (ends_with(path, importers[i].extension)) {
            *out = &importers[i];
            return 0;
        }
    if (got == sizeof head && memcmp(head + 4, "TFL3", 4) == 0) {
        *out = &importers[0];
        return 0;
    }
    if (got > 0 && head[0] == 0x08) {
        *out = &importers[1];
        return 0;
    }
    return accsim_fail(err, "%s: neither a TFLite (.tflite) nor an ONNX (.onnx) model, by its name or "
                            "its first bytes; --model takes a description directory, a course-format "
                            "model directory or a .tflite/.onnx file", path);
}

/* The python of the pinned environment: tools/setup-python-tools.sh makes it
 * when missing (or checks it) and prints it on its last line of stdout. */
static int pytools_python(const char *tools, char *python, size_t size, accsim_error *err)
{
    char script[ACCSIM_PATH_MAX];
    snprintf(script, sizeof script, "%s/setup-python-tools.sh", tools);
    if (access(script, R_OK) != 0)
        return accsim_fail(err, "%s not found (the importers need it; set $ACCSIM_TOOLS to accsim's "
                                "tools/ directory)", script);
    char out[8192];
    int status;
    char *const argv[] = {"bash", script, NULL};
    const accsim_child setup = {.argv = argv, .output = ACCSIM_CHILD_CAPTURE, .capture = out,
                                .capture_size = sizeof out};
    if (accsim_child_run(&setup, &status, NULL, err) != 0)
        return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == TOOL_MISSING_PACKAGES)
        return accsim_fail(err, "the Python environment of the importers is not available (%s exited "
                                "with status 77: no network to PyPI or no python3-venv; its message is "
                                "above). Run %s where PyPI is reachable, or set $ACCSIM_PYTOOLS to a "
                                "directory where it made the environment", script, script);
    char why[96];
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return accsim_fail(err, "%s %s", script, accsim_child_status_text(status, why, sizeof why));
    /* The last non-empty line. */
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    const char *line = strrchr(out, '\n');
    line = line ? line + 1 : out;
    if (!*line || strlen(line) >= size || access(line, X_OK) != 0)
        return accsim_fail(err, "%s did not print a usable python (last line: \"%.200s\")", script, line);
    snprintf(python, size, "%s", line);
    return 0;
}

/* Imports MODEL into DEST (a path that must not exist yet; the importer
 * creates it, writing first into a temporary sibling), with the importer's
 * own options extra[0..extra_count) (accsim import MODEL --out DIR -- ...).
 * The importer's messages go to stderr as it writes them; it runs with
 * --quiet, and its stdout goes to stderr as well (a command's stdout is its
 * result). */
static int import_into(const char *model, const char *dest, char *const *extra, int extra_count,
                       accsim_error *err)
{
    const importer *imp = NULL;
    if (detect_format(model, &imp, err) != 0)
        return -1;
    const char *tools = tools_dir();
    char script[ACCSIM_PATH_MAX];
    snprintf(script, sizeof script, "%s/%s", tools, imp->script);
    if (access(script, R_OK) != 0)
        return accsim_fail(err, "%s: the %s importer %s is not there (%s); set $ACCSIM_TOOLS to "
                                "accsim's tools/ directory", model, imp->format, script, strerror(errno));
    char python[ACCSIM_PATH_MAX];
    if (pytools_python(tools, python, sizeof python, err) != 0)
        return -1;
    enum { FIXED_ARGS = 6, MAX_EXTRA = 64 };
    if (extra_count > MAX_EXTRA)
        return accsim_fail(err, "accsim import: more than %d importer options after '--'", MAX_EXTRA);
    char *argv[FIXED_ARGS + MAX_EXTRA + 1] = {python, script, (char *)model, "--out", (char *)dest,
                                             "--quiet"};
    for (int i = 0; i < extra_count; i++)
        argv[FIXED_ARGS + i] = extra[i];
    argv[FIXED_ARGS + extra_count] = NULL;
    const accsim_child importer = {.argv = argv, .output = ACCSIM_CHILD_STDERR};
    int status;
    if (accsim_child_run(&importer, &status, NULL, err) != 0)
        return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == TOOL_MISSING_PACKAGES)
        return accsim_fail(err, "%s: %s cannot run: a Python package is missing (its message is "
                                "above); run %s/setup-python-tools.sh", model, imp->script, tools);
    char why[96];
    return accsim_fail(err, "%s: the %s import failed: %s %s (its message is above)", model,
                       imp->format, imp->script, accsim_child_status_text(status, why, sizeof why));
}

/* ---- accsim import ------------------------------------------------------- */

/* Moves every entry of FROM into TO (same file system) and removes FROM. */
static int move_up(const char *from, const char *to, accsim_error *err)
{
    DIR *d = opendir(from);
    if (!d)
        return accsim_fail(err, "%s: %s", from, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char a[ACCSIM_PATH_MAX + 256], b[ACCSIM_PATH_MAX + 256];
        snprintf(a, sizeof a, "%s/%s", from, e->d_name);
        snprintf(b, sizeof b, "%s/%s", to, e->d_name);
        if (rename(a, b) != 0)
            rc = accsim_fail(err, "cannot move %s to %s: %s", a, b, strerror(errno));
    }
    closedir(d);
    if (rc == 0 && rmdir(from) != 0)
        rc = accsim_fail(err, "%s: %s", from, strerror(errno));
    return rc;
}

/* Imports into r's temporary directory, checks that the result loads, and
 * fills the summary facts; the caller commits or aborts. */
static int import_report(const cli_options *opts, accsim_reportdir *r, int *ops, int *macs,
                         char *names, size_t names_size, accsim_error *err)
{
    const char *model = opts->operand;
    char dest[ACCSIM_PATH_MAX];
    /* A subdirectory: the importer's own temporary sibling then lies inside
     * r->tmp, which the signal handler removes. */
    snprintf(dest, sizeof dest, "%s/network", r->tmp);
    if (import_into(model, dest, opts->passthrough, opts->passthrough_count, err) != 0 ||
        move_up(dest, r->tmp, err) != 0)
        return -1;
    accsim_network net;
    if (accsim_network_load(&net, r->tmp, err) != 0) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        return accsim_fail(err, "%s: the importer's description does not load: %s", model, msg);
    }
    *ops = net.op_count;
    *macs = net.mac_count;
    cli_layer_names(&net, names, names_size);
    accsim_network_free(&net);
    return 0;
}

int cmd_import(const cli_options *opts)
{
    accsim_error err;
    if (!opts->out_dir) {
        fprintf(stderr, "accsim import: --out DIR is required (accsim import MODEL --out DIR)\n");
        return 2;
    }
    const char *model = opts->operand;
    assert(model); /* main.c requires it */
    accsim_reportdir r;
    if (accsim_reportdir_begin(&r, opts->out_dir, &err) != 0)
        return cli_error(&err);
    int ops = 0, macs = 0;
    char names[512];
    if (import_report(opts, &r, &ops, &macs, names, sizeof names, &err) != 0) {
        accsim_reportdir_abort(&r);
        return cli_error(&err);
    }
    if (accsim_reportdir_commit(&r, &err) != 0)
        return cli_error(&err);
    if (!opts->quiet)
        printf("accsim import: %s -> %s: %d ops, %d MAC layers (%s)\n", model, opts->out_dir, ops,
               macs, names);
    return 0;
}

/* ---- --model MODEL.tflite|.onnx for every command ----------------------- */

static char model_tmp[ACCSIM_PATH_MAX];  /* the registered temporary directory */
static char model_desc[2 * ACCSIM_PATH_MAX]; /* model_tmp/MODEL_NAME, the description */
static int model_tmp_slot = -1;

/* At exit (the signal handler covers interrupts): the import goes away. */
static void remove_model_tmp(void)
{
    if (!model_tmp[0])
        return;
    accsim_remove_tree(model_tmp);
    accsim_cleanup_forget(model_tmp_slot);
    model_tmp[0] = '\0';
}

int cli_import_model_option(cli_options *opts, accsim_error *err)
{
    const char *path = opts->model_dir;
    if (!path) {
        const char *env = getenv("ACCSIM_MODEL");
        path = env && *env ? env : NULL;
    }
    struct stat st;
    /* Directories (descriptions, course models) and missing paths are the
     * loaders' business; a regular file can only be a model to import. */
    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    assert(!model_tmp[0]); /* once per process */
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir)
        tmpdir = "/tmp";
    snprintf(model_tmp, sizeof model_tmp, "%s/accsim-model.XXXXXX", tmpdir);
    if (accsim_cleanup_mkdtemp(model_tmp, &model_tmp_slot) != 0) {
        int e = errno;
        model_tmp[0] = '\0';
        return accsim_fail(err, "%s: cannot create a temporary directory in %s: %s", path, tmpdir,
                           strerror(e));
    }
    if (atexit(remove_model_tmp) != 0) {
        remove_model_tmp();
        return accsim_fail(err, "cannot register the removal of a temporary directory");
    }
    /* Named after the model file, so that reports' "model" line says which. */
    const char *base = strrchr(path, '/');
    snprintf(model_desc, sizeof model_desc, "%s/%s", model_tmp, base ? base + 1 : path);
    if (!opts->quiet)
        fprintf(stderr, "accsim: importing %s into a temporary description\n", path);
    if (import_into(path, model_desc, NULL, 0, err) != 0) {
        remove_model_tmp();
        return -1;
    }
    opts->model_dir = model_desc;
    return 0;
}
