/* accsim run on a network description (DIR/network.json): the C reference
 * interpreter over CIFAR-10 images, with per-MAC-layer statistics. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "accsim/fileio.h"
#include "accsim/network.h"
#include "accsim/progress.h"
#include "cli/cli.h"

typedef struct net_layer_summary {
    uint64_t saturations, images_saturated;
    int32_t min, max, psum_min, psum_max;
    int64_t peak;
    int bits_needed;
} net_layer_summary;

static void origin(const accsim_dataset *data, size_t p, const char **split, size_t *index)
{
    if (data->split == ACCSIM_SPLIT_BOTH) {
        *split = p < ACCSIM_CIFAR_PER_BATCH ? "test" : "train";
        *index = p < ACCSIM_CIFAR_PER_BATCH ? p : p - ACCSIM_CIFAR_PER_BATCH;
    } else {
        *split = accsim_split_name(data->split);
        *index = p;
    }
}

static void summarize(const accsim_network_result *res, int m, net_layer_summary *s)
{
    memset(s, 0, sizeof *s);
    s->min = s->psum_min = INT32_MAX;
    s->max = s->psum_max = INT32_MIN;
    for (size_t i = 0; i < res->count; i++) {
        size_t k = i * (size_t)res->mac_count + (size_t)m;
        s->saturations += res->saturations[k];
        s->images_saturated += res->saturations[k] != 0;
        if (res->out_min[k] < s->min)
            s->min = res->out_min[k];
        if (res->out_max[k] > s->max)
            s->max = res->out_max[k];
        if (res->psum_min[k] < s->psum_min)
            s->psum_min = res->psum_min[k];
        if (res->psum_max[k] > s->psum_max)
            s->psum_max = res->psum_max[k];
    }
    if (res->count == 0)
        s->min = s->max = s->psum_min = s->psum_max = 0;
    int64_t neg = -(int64_t)s->psum_min;
    s->peak = neg > s->psum_max ? neg : s->psum_max;
    int bmin = accsim_bits_needed(s->psum_min), bmax = accsim_bits_needed(s->psum_max);
    s->bits_needed = bmin > bmax ? bmin : bmax;
}

static int dump(const char *path, const accsim_dataset *data, const accsim_network_result *res,
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
        origin(data, p, &split, &index);
        fprintf(f.fp, "%s,%zu,%d,%" PRIu32, split, index, data->labels[p], res->predictions[i]);
        for (size_t c = 0; c < res->output_count; c++)
            fprintf(f.fp, ",%d", res->outputs[i * res->output_count + c]);
        fprintf(f.fp, "\n");
    }
    return accsim_outfile_commit(&f, err);
}

static json_object *build_json(const cli_options *opts, const accsim_network *net,
                               const accsim_dataset *data, const accsim_network_result *res,
                               const net_layer_summary *sum, const int *bits,
                               const uint32_t *indices, size_t correct, double seconds)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "model", json_object_new_string(net->dir));
    json_object_object_add(root, "network", json_object_new_string(net->name));
    json_object_object_add(root, "split", json_object_new_string(accsim_split_name(opts->split)));
    json_object_object_add(root, "engine", json_object_new_string("C reference interpreter"));
    json_object_object_add(root, "overflow",
                           json_object_new_string(opts->overflow == ACCSIM_WRAP ? "wrap" : "saturate"));
    json_object_object_add(root, "images", json_object_new_int64((int64_t)res->count));
    json_object_object_add(root, "correct", json_object_new_int64((int64_t)correct));
    double accuracy = res->count ? 100.0 * (double)correct / (double)res->count : 0.0;
    char text[32];
    snprintf(text, sizeof text, "%.4f", accuracy);
    json_object_object_add(root, "accuracy", json_object_new_double_s(accuracy, text));
    json_object *jb = json_object_new_array();
    for (int m = 0; m < net->mac_count; m++)
        json_object_array_add(jb, json_object_new_int(bits[m]));
    json_object_object_add(root, "bits", jb);
    json_object *layers = json_object_new_array();
    for (int m = 0; m < net->mac_count; m++) {
        const net_layer_summary *s = &sum[m];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(net->ops[net->mac_ops[m]].name));
        json_object_object_add(o, "bits", json_object_new_int(bits[m]));
        json_object_object_add(o, "saturations", json_object_new_int64((int64_t)s->saturations));
        json_object_object_add(o, "images_saturated", json_object_new_int64((int64_t)s->images_saturated));
        json_object_object_add(o, "min", json_object_new_int(s->min));
        json_object_object_add(o, "max", json_object_new_int(s->max));
        json_object_object_add(o, "peak", json_object_new_int64(s->peak));
        json_object_object_add(o, "psum_min", json_object_new_int(s->psum_min));
        json_object_object_add(o, "psum_max", json_object_new_int(s->psum_max));
        json_object_object_add(o, "bits_needed", json_object_new_int(s->bits_needed));
        json_object_array_add(layers, o);
    }
    json_object_object_add(root, "layers", layers);
    if (indices) {
        json_object *outputs = json_object_new_object();
        for (size_t i = 0; i < res->count; i++) {
            json_object *o = json_object_new_object(), *values = json_object_new_array();
            for (size_t c = 0; c < res->output_count; c++)
                json_object_array_add(values, json_object_new_int(res->outputs[i * res->output_count + c]));
            json_object_object_add(o, "outputs", values);
            json_object_object_add(o, "prediction", json_object_new_int64(res->predictions[i]));
            json_object_object_add(o, "label", json_object_new_int(data->labels[indices[i]]));
            json_object *flags = json_object_new_object(), *counts = json_object_new_object();
            for (int m = 0; m < net->mac_count; m++) {
                uint32_t n = res->saturations[i * (size_t)net->mac_count + (size_t)m];
                const char *name = net->ops[net->mac_ops[m]].name;
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

static void print_table(const cli_options *opts, const accsim_network *net,
                        const accsim_network_result *res, const net_layer_summary *sum,
                        const int *bits, const uint32_t *indices, const accsim_dataset *data,
                        size_t correct, double seconds)
{
    double accuracy = res->count ? 100.0 * (double)correct / (double)res->count : 0.0;
    printf("model     %s (%s)\nsplit     %s, %zu images\nengine    C reference interpreter\n"
           "overflow  %s\naccuracy  %.2f %% (%zu correct)\ntime      %.2f s\n\n",
           net->dir, net->name[0] ? net->name : "unnamed", accsim_split_name(opts->split),
           res->count, opts->overflow == ACCSIM_WRAP ? "wrap" : "saturate", accuracy, correct,
           seconds);
    int width = 5;
    for (int m = 0; m < net->mac_count; m++) {
        int n = (int)strlen(net->ops[net->mac_ops[m]].name);
        width = n > width ? n : width;
    }
    printf("%-*s %4s %12s %9s %12s %12s %12s %5s\n", width, "layer", "bits", "saturations",
           "images", "min", "max", "peak", "need");
    for (int m = 0; m < net->mac_count; m++) {
        const net_layer_summary *s = &sum[m];
        printf("%-*s %4d %12" PRIu64 " %9" PRIu64 " %12d %12d %12" PRId64 " %5d\n", width,
               net->ops[net->mac_ops[m]].name, bits[m], s->saturations, s->images_saturated,
               s->min, s->max, s->peak, s->bits_needed);
    }
    for (size_t i = 0; indices && i < res->count; i++) {
        printf("\nimage %" PRIu32 " (label %d, predicted %" PRIu32 "): outputs", indices[i],
               data->labels[indices[i]], res->predictions[i]);
        for (size_t c = 0; c < res->output_count; c++)
            printf(" %d", res->outputs[i * res->output_count + c]);
        printf("\n  saturations:");
        for (int m = 0; m < net->mac_count; m++)
            printf(" %s %" PRIu32, net->ops[net->mac_ops[m]].name,
                   res->saturations[i * (size_t)net->mac_count + (size_t)m]);
        printf("\n");
    }
}

int cmd_run_network(const cli_options *opts)
{
    accsim_error err;
    if (opts->engine.kind && strcmp(opts->engine.kind, "opencl") == 0) {
        accsim_fail(&err, "the OpenCL engine does not run network descriptions yet "
                          "(use --engine cpu, the C reference interpreter)");
        return cli_error(&err);
    }
    const char *dir = opts->model_dir ? opts->model_dir : cli_default_model_dir();
    accsim_network net;
    if (accsim_network_load(&net, dir, &err) != 0)
        return cli_error(&err);
    int status = 1;
    accsim_dataset data;
    memset(&data, 0, sizeof data);
    int *bits = NULL;
    uint32_t *indices = NULL;
    uint8_t *pixels = NULL;
    int8_t *inputs = NULL;
    net_layer_summary *sum = NULL;
    accsim_network_result res;
    memset(&res, 0, sizeof res);

    const accsim_tensor *in = &net.tensors[net.input];
    if (in->count != ACCSIM_IMAGE_BYTES || in->ndim != 3) {
        accsim_fail(&err, "%s: the input tensor '%s' holds %zu values; CIFAR-10 images need a "
                    "3-D shape of 3 x 32 x 32", dir, in->name, in->count);
        goto done;
    }
    int c = net.layout == ACCSIM_NHWC ? in->dims[2] : in->dims[0];
    if (c != 3) {
        accsim_fail(&err, "%s: the input tensor '%s' has %d channels; CIFAR-10 images have 3", dir,
                    in->name, c);
        goto done;
    }
    bits = malloc(sizeof(int) * (size_t)(net.mac_count ? net.mac_count : 1));
    sum = calloc((size_t)(net.mac_count ? net.mac_count : 1), sizeof *sum);
    if (!bits || !sum) {
        accsim_fail(&err, "out of memory");
        goto done;
    }
    if (opts->bits_count != 1 && opts->bits_count != net.mac_count) {
        accsim_fail(&err, "--bits: %d widths given; %s has %d MAC layers (give one width, or %d "
                    "in the order of the manifest's ops)", opts->bits_count, dir, net.mac_count,
                    net.mac_count);
        goto done;
    }
    for (int m = 0; m < net.mac_count; m++)
        bits[m] = opts->bits_list[opts->bits_count == 1 ? 0 : m];

    char data_dir[1024];
    if (accsim_data_dir_resolve(opts->data_dir, data_dir, sizeof data_dir, &err) != 0 ||
        accsim_dataset_load(&data, data_dir, opts->split, &err) != 0)
        goto done;
    size_t count = data.count;
    if (opts->limit > 0 && (size_t)opts->limit < count)
        count = (size_t)opts->limit;
    if (opts->images && cli_parse_index_list(opts->images, data.count, &indices, &count, &err) != 0)
        goto done;
    pixels = malloc((count ? count : 1) * ACCSIM_IMAGE_BYTES);
    inputs = malloc((count ? count : 1) * ACCSIM_IMAGE_BYTES);
    if (!pixels || !inputs) {
        accsim_fail(&err, "out of memory for %zu images", count);
        goto done;
    }
    for (size_t i = 0; i < count; i++)
        memcpy(pixels + i * ACCSIM_IMAGE_BYTES,
               data.pixels + (size_t)(indices ? indices[i] : i) * ACCSIM_IMAGE_BYTES,
               ACCSIM_IMAGE_BYTES);
    if (accsim_network_quantize_images(&net, pixels, count, inputs, &err) != 0 ||
        accsim_network_result_init(&res, &net, count, &err) != 0)
        goto done;
    accsim_network_config cfg = {.bits = bits, .overflow = opts->overflow};
    if (!opts->quiet)
        fprintf(stderr, "accsim: running %zu images through %s (%d MAC layers)\n", count, dir,
                net.mac_count);
    double start = accsim_now();
    if (accsim_network_run(&net, &cfg, inputs, count, &res, &err) != 0)
        goto done;
    double seconds = accsim_now() - start;
    size_t correct = 0;
    for (size_t i = 0; i < count; i++)
        correct += res.predictions[i] == data.labels[indices ? indices[i] : i];
    for (int m = 0; m < net.mac_count; m++)
        summarize(&res, m, &sum[m]);

    if (opts->dump_outputs && dump(opts->dump_outputs, &data, &res, indices, &err) != 0)
        goto done;
    if (opts->json_path) {
        json_object *root = build_json(opts, &net, &data, &res, sum, bits, indices, correct, seconds);
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
    } else {
        print_table(opts, &net, &res, sum, bits, indices, &data, correct, seconds);
    }
    status = 0;
done:
    if (status != 0)
        cli_error(&err);
    accsim_network_result_free(&res);
    free(inputs);
    free(pixels);
    free(indices);
    free(sum);
    free(bits);
    accsim_dataset_free(&data);
    accsim_network_free(&net);
    return status;
}
