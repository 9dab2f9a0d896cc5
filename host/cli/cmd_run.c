/* accsim run: accuracy and per-layer statistics for one width setting. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "accsim/energy.h"
#include "accsim/fileio.h"
#include "accsim/network.h"
#include "accsim/summary.h"
#include "analysis/table.h"
#include "cli/cli.h"

/* Where position p of a loaded split comes from: "both" is test then train. */
static void image_origin(const accsim_dataset *data, size_t p, const char **split, size_t *index)
{
    if (data->split == ACCSIM_SPLIT_BOTH) {
        *split = p < data->test_count ? "test" : "train";
        *index = p < data->test_count ? p : p - data->test_count;
    } else {
        *split = accsim_split_name(data->split);
        *index = p;
    }
}

static json_object *build_json(const cli_options *opts, const cli_context *ctx,
                               const accsim_result *res, const accsim_summary *sum,
                               const uint32_t *indices, double seconds)
{
    const accsim_network *net = ctx->net;
    const int L = net->mac_count;
    json_object *root = json_object_new_object();
    json_object_object_add(root, "model", json_object_new_string(net->dir));
    if (!net->course)
        json_object_object_add(root, "network", json_object_new_string(net->name));
    json_object_object_add(root, "split", json_object_new_string(accsim_split_name(opts->split)));
    json_object_object_add(root, "engine", json_object_new_string(ctx->engine->description));
    json_object_object_add(root, "overflow",
                           json_object_new_string(opts->overflow == ACCSIM_WRAP ? "wrap" : "saturate"));
    json_object_object_add(root, "images", json_object_new_int64((int64_t)sum->images));
    json_object_object_add(root, "correct", json_object_new_int64((int64_t)sum->correct));
    char accuracy[32]; /* percent to 4 places: exact for up to 10^6 images, and readable */
    snprintf(accuracy, sizeof accuracy, "%.4f", sum->accuracy);
    json_object_object_add(root, "accuracy", json_object_new_double_s(sum->accuracy, accuracy));
    json_object_object_add(root, "bits", json_int_array(ctx->bits, L));
    json_object_object_add(root, "energy",
                           json_object_new_int64((int64_t)accsim_network_energy(net, ctx->bits)));
    json_object *layers = json_object_new_array();
    for (int l = 0; l < L; l++) {
        const accsim_layer_summary *s = &sum->layers[l];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(net->ops[net->mac_ops[l]].name));
        json_object_object_add(o, "bits", json_object_new_int(ctx->bits[l]));
        json_object_object_add(o, "saturations", json_object_new_int64((int64_t)s->saturations));
        json_object_object_add(o, "images_saturated", json_object_new_int64((int64_t)s->images_saturated));
        json_object_object_add(o, "min", json_object_new_int(s->min));
        json_object_object_add(o, "max", json_object_new_int(s->max));
        json_object_object_add(o, "peak", json_object_new_int64(s->peak));
        json_object_object_add(o, "psum_min", json_object_new_int(s->psum_min));
        json_object_object_add(o, "psum_max", json_object_new_int(s->psum_max));
        json_object_object_add(o, "bits_needed", json_object_new_int(s->bits_needed));
        json_object_object_add(o, "energy",
                               json_object_new_int64((int64_t)accsim_network_layer_energy(net, l, ctx->bits[l])));
        json_object_array_add(layers, o);
    }
    json_object_object_add(root, "layers", layers);
    if (indices) {
        json_object *outputs = json_object_new_object();
        for (size_t i = 0; i < res->count; i++) {
            json_object *o = json_object_new_object(), *values = json_object_new_array();
            for (size_t c = 0; c < res->output_count; c++)
                json_object_array_add(values,
                                      json_object_new_int(res->outputs[i * res->output_count + c]));
            json_object_object_add(o, "outputs", values);
            json_object_object_add(o, "prediction", json_object_new_int64(res->predictions[i]));
            json_object_object_add(o, "label", json_object_new_int(ctx->data.labels[indices[i]]));
            json_object *flags = json_object_new_object(), *counts = json_object_new_object();
            for (int l = 0; l < L; l++) {
                uint32_t n = res->saturations[i * (size_t)L + (size_t)l];
                const char *name = net->ops[net->mac_ops[l]].name;
                json_object_object_add(flags, name, json_object_new_boolean(n != 0));
                json_object_object_add(counts, name, json_object_new_int64(n));
            }
            json_object_object_add(o, "saturated", flags);
            json_object_object_add(o, "saturations", counts);
            char key[32];
            snprintf(key, sizeof key, "%" PRIu32, indices[i]);
            json_object_object_add(outputs, key, o);
        }
        json_object_object_add(root, "outputs", outputs);
    }
    json_object_object_add(root, "seconds", json_object_new_double(seconds));
    return root;
}

static void print_table(FILE *out, const cli_options *opts, const cli_context *ctx,
                        const accsim_result *res, const accsim_summary *sum,
                        const uint32_t *indices, double seconds)
{
    const accsim_network *net = ctx->net;
    const int L = net->mac_count;
    if (net->course)
        fprintf(out, "model     %s\n", net->dir);
    else
        fprintf(out, "model     %s (%s)\n", net->dir, net->name[0] ? net->name : "unnamed");
    fprintf(out, "split     %s, %zu images\nengine    %s\noverflow  %s\n",
            accsim_split_name(opts->split), sum->images, ctx->engine->description,
            opts->overflow == ACCSIM_WRAP ? "wrap" : "saturate");
    fprintf(out, "accuracy  %.2f %% (%zu correct)\nenergy    %" PRIu64 "\ntime      %.2f s\n\n",
            sum->accuracy, sum->correct, accsim_network_energy(net, ctx->bits), seconds);
    int width = 6;
    for (int l = 0; l < L; l++) {
        int n = (int)strlen(net->ops[net->mac_ops[l]].name);
        width = n > width ? n : width;
    }
    fprintf(out, "%-*s %4s %12s %9s %12s %12s %12s %5s\n", width, "layer", "bits", "saturations",
            "images", "min", "max", "peak", "need");
    for (int l = 0; l < L; l++) {
        const accsim_layer_summary *s = &sum->layers[l];
        fprintf(out, "%-*s %4d %12" PRIu64 " %9" PRIu64 " %12d %12d %12" PRId64 " %5d\n", width,
                net->ops[net->mac_ops[l]].name, ctx->bits[l], s->saturations,
                s->images_saturated, s->min, s->max, s->peak, s->bits_needed);
    }
    for (size_t i = 0; indices && i < res->count; i++) {
        fprintf(out, "\nimage %" PRIu32 " (label %d, predicted %" PRIu32 "): outputs", indices[i],
                ctx->data.labels[indices[i]], res->predictions[i]);
        for (size_t c = 0; c < res->output_count; c++)
            fprintf(out, " %d", res->outputs[i * res->output_count + c]);
        fprintf(out, "\n  saturations:");
        for (int l = 0; l < L; l++)
            fprintf(out, " %s %" PRIu32, net->ops[net->mac_ops[l]].name,
                    res->saturations[i * (size_t)L + (size_t)l]);
        fprintf(out, "\n");
    }
}

static int dump_outputs(const char *path, const cli_context *ctx, const accsim_result *res,
                        const uint32_t *indices, accsim_error *err)
{
    accsim_outfile f;
    if (accsim_outfile_open(&f, path, err) != 0)
        return -1;
    fprintf(f.fp, "split,index,label,prediction");
    for (size_t c = 0; c < res->output_count; c++)
        fprintf(f.fp, ",out%zu", c);
    fprintf(f.fp, "\n");
    for (size_t i = 0; i < res->count; i++) {
        size_t p = indices ? indices[i] : i, index;
        const char *split;
        image_origin(&ctx->data, p, &split, &index);
        fprintf(f.fp, "%s,%zu,%d,%" PRIu32, split, index, ctx->data.labels[p], res->predictions[i]);
        for (size_t c = 0; c < res->output_count; c++)
            fprintf(f.fp, ",%d", res->outputs[i * res->output_count + c]);
        fprintf(f.fp, "\n");
    }
    return accsim_outfile_commit(&f, err);
}

int cmd_run(const cli_options *opts)
{
    accsim_error err;
    cli_context ctx;
    if (cli_context_open(opts, &ctx, &err) != 0)
        return cli_error(&err);

    uint32_t *indices = NULL;
    size_t count = ctx.count;
    if (opts->images && cli_parse_index_list(opts->images, ctx.data.count, &indices, &count, &err) != 0) {
        cli_context_close(&ctx);
        return cli_error(&err);
    }
    accsim_config cfg;
    accsim_config_default(&cfg);
    memcpy(cfg.bits, ctx.bits, sizeof cfg.bits);
    cfg.overflow = opts->overflow;

    int status = 1;
    accsim_result res;
    if (accsim_result_init(&res, ctx.net, count, &cfg, &err) != 0) {
        free(indices);
        cli_context_close(&ctx);
        return cli_error(&err);
    }
    accsim_progress progress;
    accsim_progress_start(&progress, "run", count, opts->quiet);
    double start = accsim_now();
    if (ctx.engine->ops->run(ctx.engine, &cfg, indices, count, &res, &progress, &err) != 0)
        goto done;
    double seconds = accsim_now() - start;
    accsim_progress_finish(&progress);

    uint8_t *labels = malloc(count ? count : 1);
    if (!labels) {
        accsim_fail(&err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++)
        labels[i] = ctx.data.labels[indices ? indices[i] : i];
    accsim_summary sum;
    accsim_summarize(&res, labels, 0, &sum);
    free(labels);

    if (opts->dump_outputs && dump_outputs(opts->dump_outputs, &ctx, &res, indices, &err) != 0)
        goto done;
    if (opts->json_path) {
        json_object *root = build_json(opts, &ctx, &res, &sum, indices, seconds);
        accsim_outfile f;
        int rc = accsim_outfile_open(&f, opts->json_path, &err);
        if (rc == 0) {
            fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE),
                  f.fp);
            fputc('\n', f.fp);
            rc = accsim_outfile_commit(&f, &err);
        }
        json_object_put(root);
        if (rc != 0)
            goto done;
    }
    if (!opts->json_path)
        print_table(stdout, opts, &ctx, &res, &sum, indices, seconds);
    status = 0;
done:
    if (status != 0)
        cli_error(&err);
    accsim_result_free(&res);
    free(indices);
    cli_context_close(&ctx);
    return status;
}
