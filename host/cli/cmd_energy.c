/* accsim energy: the energy model (SPEC section 8) for a width setting, per MAC
 * layer of any network (accsim_network_layer_ops; for the course model the
 * counts of SPEC 8). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "accsim/energy.h"
#include "accsim/fileio.h"
#include "analysis/table.h"
#include "cli/cli.h"

int cmd_energy(const cli_options *opts)
{
    accsim_error err;
    cli_network nw;
    if (cli_network_open(opts, &nw, &err) != 0) {
        /* The course model's counts need only its shapes: without --model
         * and without a loadable default, a zero model of that shape. */
        if (opts->given & CLI_OPT_MODEL)
            return cli_error(&err);
        memset(&nw, 0, sizeof nw);
        for (int l = 0; l < ACCSIM_LAYERS; l++) {
            nw.model.weights[l] = calloc((size_t)accsim_layers[l].weight_count, 1);
            nw.model.output_scale[l] = 1.0;
        }
        nw.model.input_scale = 1.0;
        nw.have_model = true;
        snprintf(nw.model.dir, sizeof nw.model.dir, "(course model shape)");
        if (accsim_network_from_course_model(&nw.model, &nw.net, &err) != 0) {
            cli_network_close(&nw);
            return cli_error(&err);
        }
    }
    const accsim_network *net = &nw.net;
    int bits[ACCSIM_MAX_LAYERS];
    if (cli_resolve_bits(opts, net, bits, &err) != 0) {
        cli_network_close(&nw);
        return cli_error(&err);
    }
    const int L = net->mac_count;
    int rc = 0;
    if (opts->json_path) {
        json_object *root = json_object_new_object();
        json_object *layers = json_object_new_array();
        for (int l = 0; l < L; l++) {
            accsim_layer_ops ops = accsim_network_layer_ops(net, l);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(net->ops[net->mac_ops[l]].name));
            json_object_object_add(o, "bits", json_object_new_int(bits[l]));
            json_object_object_add(o, "multiplies", json_object_new_int64((int64_t)ops.multiplies));
            json_object_object_add(o, "adds", json_object_new_int64((int64_t)ops.adds));
            json_object_object_add(o, "energy", json_object_new_int64(
                                                    (int64_t)accsim_network_layer_energy(net, l, bits[l])));
            json_object_array_add(layers, o);
        }
        json_object_object_add(root, "bits", json_int_array(bits, L));
        json_object_object_add(root, "energy",
                               json_object_new_int64((int64_t)accsim_network_energy(net, bits)));
        json_object_object_add(root, "layers", layers);
        accsim_outfile f;
        rc = accsim_outfile_open(&f, opts->json_path, &err);
        if (rc == 0) {
            fprintf(f.fp, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
            rc = accsim_outfile_commit(&f, &err);
        }
        json_object_put(root);
        cli_network_close(&nw);
        return rc == 0 ? 0 : cli_error(&err);
    }
    int width = 6;
    for (int l = 0; l < L; l++) {
        int n = (int)strlen(net->ops[net->mac_ops[l]].name);
        width = n > width ? n : width;
    }
    printf("%-*s %4s %12s %12s %14s\n", width, "layer", "bits", "N_mul", "N_add", "energy");
    for (int l = 0; l < L; l++) {
        accsim_layer_ops ops = accsim_network_layer_ops(net, l);
        printf("%-*s %4d %12" PRIu64 " %12" PRIu64 " %14" PRIu64 "\n", width,
               net->ops[net->mac_ops[l]].name, bits[l], ops.multiplies, ops.adds,
               accsim_network_layer_energy(net, l, bits[l]));
    }
    printf("%-*s %4s %12s %12s %14" PRIu64 "\n", width, "total", "", "", "",
           accsim_network_energy(net, bits));
    cli_network_close(&nw);
    return 0;
}
