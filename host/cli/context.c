/* Loading what most subcommands need: model, data, quantized images, engine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#ifdef ACCSIM_HAVE_OPENCL
#include "opencl/network_engine.h"
#endif

#define SHIPPED_MODEL "data/lenet5-cifar10"

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *cli_default_model_dir(void)
{
    const char *env = getenv("ACCSIM_MODEL");
    if (env && *env)
        return env;
    if (is_dir(SHIPPED_MODEL))
        return SHIPPED_MODEL;
#ifdef ACCSIM_SOURCE_DIR
    /* Run from a build directory: the model shipped in the source tree. */
    if (is_dir(ACCSIM_SOURCE_DIR "/" SHIPPED_MODEL))
        return ACCSIM_SOURCE_DIR "/" SHIPPED_MODEL;
#endif
    return SHIPPED_MODEL;
}

bool cli_model_is_network(const cli_options *opts)
{
    const char *dir = opts->model_dir ? opts->model_dir : cli_default_model_dir();
    char path[1200];
    snprintf(path, sizeof path, "%s/network.json", dir);
    struct stat st;
    return stat(path, &st) == 0;
}

int cli_error(const accsim_error *err)
{
    fprintf(stderr, "accsim: %s\n", err->message);
    return 1;
}

int cli_network_open(const cli_options *opts, cli_network *n, accsim_error *err)
{
    memset(n, 0, sizeof *n);
    const char *dir = opts->model_dir ? opts->model_dir : cli_default_model_dir();
    if (cli_model_is_network(opts))
        return accsim_network_load(&n->net, dir, err);
    if (accsim_model_load(&n->model, dir, err) != 0)
        return -1;
    n->have_model = true;
    if (accsim_network_from_course_model(&n->model, &n->net, err) != 0) {
        accsim_model_free(&n->model);
        n->have_model = false;
        return -1;
    }
    return 0;
}

void cli_network_close(cli_network *n)
{
    accsim_network_free(&n->net);
    if (n->have_model)
        accsim_model_free(&n->model);
    memset(n, 0, sizeof *n);
}

const char *cli_layer_names(const accsim_network *net, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int l = 0; l < net->mac_count; l++) {
        const char *name = net->ops[net->mac_ops[l]].name;
        if (at + strlen(name) + 5 >= size) {
            snprintf(buf + at, size - at, "...");
            break;
        }
        at += (size_t)snprintf(buf + at, size - at, "%s%s", l ? "," : "", name);
    }
    return buf;
}

const char *cli_bits_text(const int *bits, int layers, char *buf, size_t size)
{
    bool same = true;
    for (int l = 1; l < layers; l++)
        same = same && bits[l] == bits[0];
    size_t at = 0;
    buf[0] = '\0';
    for (int l = 0; l < (same ? (layers ? 1 : 0) : layers); l++) {
        if (at + 16 >= size) {
            snprintf(buf + at, size - at, "...");
            break;
        }
        at += (size_t)snprintf(buf + at, size - at, "%s%d", l ? "," : "", bits[l]);
    }
    return buf;
}

static const char *count_word(int n, char *buf, size_t size)
{
    static const char *words[] = {"zero", "one", "two", "three", "four", "five", "six",
                                  "seven", "eight", "nine", "ten", "eleven", "twelve"};
    if (n >= 0 && n <= 12)
        return words[n];
    snprintf(buf, size, "%d", n);
    return buf;
}

int cli_resolve_bits(const cli_options *opts, const accsim_network *net, int *bits,
                     accsim_error *err)
{
    if (net->mac_count > ACCSIM_MAX_LAYERS)
        return accsim_fail(err, "%s has %d MAC layers; at most %d are supported", net->dir,
                           net->mac_count, ACCSIM_MAX_LAYERS);
    if (opts->bits_count != 1 && opts->bits_count != net->mac_count) {
        char names[512], word[16];
        return accsim_fail(err, "--bits: %d widths given; %s has %d MAC layers (give one width, "
                                "or %s, one per MAC layer in manifest order: %s)",
                           opts->bits_count, net->name[0] ? net->name : net->dir, net->mac_count,
                           count_word(net->mac_count, word, sizeof word),
                           cli_layer_names(net, names, sizeof names));
    }
    for (int l = 0; l < ACCSIM_MAX_LAYERS; l++)
        bits[l] = l < net->mac_count ? opts->bits_list[opts->bits_count == 1 ? 0 : l] : 32;
    return 0;
}

int cli_context_open(const cli_options *opts, cli_context *ctx, accsim_error *err)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->nw = calloc(1, sizeof *ctx->nw);
    if (!ctx->nw)
        return accsim_fail(err, "out of memory");
    if (cli_network_open(opts, ctx->nw, err) != 0) {
        free(ctx->nw);
        ctx->nw = NULL;
        return -1;
    }
    ctx->net = &ctx->nw->net;
    const accsim_network *net = ctx->net;
    if (cli_resolve_bits(opts, net, ctx->bits, err) != 0) {
        cli_context_close(ctx);
        return -1;
    }
    char data_dir[1024];
    if (accsim_data_dir_resolve(opts->data_dir, data_dir, sizeof data_dir, err) != 0 ||
        accsim_dataset_load(&ctx->data, data_dir, opts->split, err) != 0) {
        cli_context_close(ctx);
        return -1;
    }
    ctx->count = ctx->data.count;
    if (opts->limit > 0 && (size_t)opts->limit < ctx->count)
        ctx->count = (size_t)opts->limit;
    /* The data's per-image size is checked against the input's by
     * accsim_dataset_inputs before any image is written. */
    size_t per_image = accsim_network_input_count(net);
    if (per_image < ctx->data.image_values)
        per_image = ctx->data.image_values;
    ctx->images = malloc((ctx->data.count ? ctx->data.count : 1) * per_image);
    if (!ctx->images) {
        cli_context_close(ctx);
        return accsim_fail(err, "out of memory for %zu images", ctx->data.count);
    }
    bool course_cifar = ctx->nw->have_model && ctx->data.format == ACCSIM_DATA_CIFAR;
    if (course_cifar && accsim_network_input_count(net) == ACCSIM_IMAGE_BYTES) {
        accsim_dataset_quantize(&ctx->data, ctx->nw->model.input_scale, ctx->images);
    } else if (accsim_dataset_inputs(&ctx->data, net, ctx->images, err) != 0) {
        cli_context_close(ctx);
        return -1;
    }
    /* Another network than the course model: the C reference engine, unless
     * the user insists on OpenCL: then the generic network engine, which
     * computes outputs and counters (not yet histograms or restarts). */
    bool auto_kind = !opts->engine.kind || strcmp(opts->engine.kind, "auto") == 0;
    if (!net->course && auto_kind) {
        ctx->engine = accsim_cpu_engine_create(err);
    } else if (!net->course && strcmp(opts->engine.kind, "opencl") == 0) {
#ifdef ACCSIM_HAVE_OPENCL
        ctx->engine = accsim_netcl_engine_create(&opts->engine, err);
#else
        accsim_fail(err, "this accsim was built without OpenCL (ACCSIM_OPENCL=OFF)");
#endif
    } else {
        ctx->engine = accsim_engine_create(&opts->engine, err);
    }
    if (!ctx->engine) {
        cli_context_close(ctx);
        return -1;
    }
    if (ctx->engine->ops->load(ctx->engine, net, ctx->images, ctx->data.count, err) == 0)
        return 0;
    /* A device that cannot hold the data (out of memory, say) need not stop
     * the user's work when they did not insist on OpenCL. */
    bool may_fall_back = strcmp(ctx->engine->kind, "cpu") != 0 && auto_kind;
    accsim_engine_destroy(ctx->engine);
    ctx->engine = NULL;
    if (may_fall_back) {
        fprintf(stderr, "accsim: %s; running on the C reference engine instead\n", err->message);
        ctx->engine = accsim_cpu_engine_create(err);
        if (ctx->engine &&
            ctx->engine->ops->load(ctx->engine, net, ctx->images, ctx->data.count, err) == 0)
            return 0;
    }
    cli_context_close(ctx);
    return -1;
}

void cli_context_close(cli_context *ctx)
{
    accsim_engine_destroy(ctx->engine);
    ctx->engine = NULL;
    free(ctx->images);
    ctx->images = NULL;
    accsim_dataset_free(&ctx->data);
    if (ctx->nw) {
        cli_network_close(ctx->nw);
        free(ctx->nw);
    }
    ctx->nw = NULL;
    ctx->net = NULL;
}

int cli_parse_index_list(const char *text, size_t limit, uint32_t **out, size_t *count,
                         accsim_error *err)
{
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    uint32_t *list = malloc(n * sizeof *list);
    if (!list)
        return accsim_fail(err, "out of memory");
    const char *p = text;
    for (size_t i = 0; i < n; i++) {
        /* Decimal digits only, no empty fields ("1,,2", ",1", "1,"). */
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 12 || (p[digits] != ',' && p[digits] != '\0')) {
            free(list);
            return accsim_fail(err, "--images %s: expected image indices like 1300,3108", text);
        }
        unsigned long long v = strtoull(p, NULL, 10);
        if (v >= limit) {
            free(list);
            return accsim_fail(err, "--images %s: image %llu is outside this split (0..%zu)",
                               text, v, limit - 1);
        }
        list[i] = (uint32_t)v;
        p += digits + 1;
    }
    *out = list;
    *count = n;
    return 0;
}
