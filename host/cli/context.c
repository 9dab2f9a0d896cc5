/* Loading what most subcommands need: model, data, quantized images, engine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

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

int cli_context_open(const cli_options *opts, cli_context *ctx, accsim_error *err)
{
    memset(ctx, 0, sizeof *ctx);
    const char *model_dir = opts->model_dir ? opts->model_dir : cli_default_model_dir();
    if (accsim_model_load(&ctx->model, model_dir, err) != 0)
        return -1;
    char data_dir[1024];
    if (accsim_data_dir_resolve(opts->data_dir, data_dir, sizeof data_dir, err) != 0 ||
        accsim_dataset_load(&ctx->data, data_dir, opts->split, err) != 0) {
        cli_context_close(ctx);
        return -1;
    }
    ctx->count = ctx->data.count;
    if (opts->limit > 0 && (size_t)opts->limit < ctx->count)
        ctx->count = (size_t)opts->limit;
    ctx->images = malloc(ctx->data.count * ACCSIM_IMAGE_BYTES);
    if (!ctx->images) {
        cli_context_close(ctx);
        return accsim_fail(err, "out of memory for %zu images", ctx->data.count);
    }
    accsim_dataset_quantize(&ctx->data, ctx->model.input_scale, ctx->images);
    ctx->engine = accsim_engine_create(&opts->engine, err);
    if (!ctx->engine) {
        cli_context_close(ctx);
        return -1;
    }
    if (ctx->engine->ops->load(ctx->engine, &ctx->model, ctx->images, ctx->data.count, err) == 0)
        return 0;
    /* A device that cannot hold the data (out of memory, say) need not stop
     * the user's work when they did not insist on OpenCL. */
    bool may_fall_back = strcmp(ctx->engine->kind, "cpu") != 0 &&
                         (!opts->engine.kind || strcmp(opts->engine.kind, "auto") == 0);
    accsim_engine_destroy(ctx->engine);
    ctx->engine = NULL;
    if (may_fall_back) {
        fprintf(stderr, "accsim: %s; running on the C reference engine instead\n", err->message);
        ctx->engine = accsim_cpu_engine_create(err);
        if (ctx->engine &&
            ctx->engine->ops->load(ctx->engine, &ctx->model, ctx->images, ctx->data.count, err) == 0)
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
    accsim_model_free(&ctx->model);
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
