#define _XOPEN_SOURCE 700 /* nftw */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "testdata.h"

static const char *existing_dir(const char *env_name, const char *fallback)
{
    const char *env = getenv(env_name);
    const char *dir = env && *env ? env : fallback;
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? dir : NULL;
}

const char *testdata_cifar_dir(void)
{
    return existing_dir("ACCSIM_DATA", ACCSIM_SOURCE_DIR "/../shared/cifar10");
}

const char *testdata_course_model_dir(void)
{
    return existing_dir("ACCSIM_COURSE_MODEL",
                        ACCSIM_SOURCE_DIR "/../shared/models/cs5120-2021-lenet5");
}

const char *testdata_shipped_model_dir(void)
{
    return existing_dir("ACCSIM_SHIPPED_MODEL", ACCSIM_SOURCE_DIR "/data/lenet5-cifar10");
}

char *testdata_tempdir(void)
{
    char *dir = strdup("/tmp/accsim-test-XXXXXX");
    cr_assert_not_null(dir);
    cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
    return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void testdata_remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int testdata_run_cli(const char *args, char *out, size_t size)
{
    char command[4096];
    snprintf(command, sizeof command, "%s %s 2>&1", ACCSIM_BIN, args);
    FILE *pipe = popen(command, "r");
    cr_assert_not_null(pipe, "cannot run %s", command);
    size_t used = 0;
    if (size)
        out[0] = '\0';
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0) {
        size_t room = size > used + 1 ? size - used - 1 : 0;
        size_t take = n < room ? n : room;
        memcpy(out + used, chunk, take);
        used += take;
        out[used] = '\0';
    }
    int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void testdata_zero_model(accsim_model *model)
{
    memset(model, 0, sizeof *model);
    snprintf(model->dir, sizeof model->dir, "(hand-made test model)");
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        model->weights[l] = calloc((size_t)accsim_layers[l].weight_count, 1);
        cr_assert_not_null(model->weights[l]);
        model->output_scale[l] = 1.0;
    }
    model->input_scale = 128.0;
}

typedef struct net_entry {
    const accsim_model *model;
    uint64_t hash;
    accsim_network *net;
    struct net_entry *next;
} net_entry;

static net_entry *net_cache;

static void net_cache_free(void)
{
    while (net_cache) {
        net_entry *e = net_cache;
        net_cache = e->next;
        accsim_network_free(e->net);
        free(e->net);
        free(e);
    }
}

static uint64_t model_hash(const accsim_model *model)
{
    uint64_t h = 1469598103934665603ULL;
#define MIX(p, n)                                                                                 \
    for (size_t i_ = 0; i_ < (n); i_++)                                                           \
        h = (h ^ ((const uint8_t *)(p))[i_]) * 1099511628211ULL;
    for (int l = 0; l < ACCSIM_LAYERS; l++)
        MIX(model->weights[l], (size_t)accsim_layers[l].weight_count);
    MIX(model->bias, sizeof model->bias);
    MIX(&model->input_scale, sizeof model->input_scale);
    MIX(model->output_scale, sizeof model->output_scale);
#undef MIX
    return h;
}

const accsim_network *testdata_net(const accsim_model *model)
{
    uint64_t h = model_hash(model);
    for (net_entry *e = net_cache; e; e = e->next)
        if (e->model == model && e->hash == h)
            return e->net;
    if (!net_cache)
        atexit(net_cache_free);
    net_entry *e = calloc(1, sizeof *e);
    cr_assert_not_null(e);
    e->net = calloc(1, sizeof *e->net);
    cr_assert_not_null(e->net);
    accsim_error err;
    cr_assert_eq(accsim_network_from_course_model(model, e->net, &err), 0, "%s", err.message);
    e->model = model;
    e->hash = h;
    e->next = net_cache;
    net_cache = e;
    return e->net;
}

void testdata_run(accsim_engine *engine, const accsim_model *model, const int8_t *images,
                  size_t count, const accsim_config *cfg, accsim_result *res)
{
    accsim_error err;
    const accsim_network *net = testdata_net(model);
    cr_assert_eq(accsim_result_init(res, net, count, cfg, &err), 0, "%s", err.message);
    cr_assert_eq(engine->ops->load(engine, net, images, count, &err), 0, "%s", err.message);
    accsim_config run_cfg = *cfg;
    if (cfg->start_layer > 0)
        run_cfg.start_acts = images;
    cr_assert_eq(engine->ops->run(engine, &run_cfg, NULL, count, res, NULL, &err), 0, "%s",
                 err.message);
}
