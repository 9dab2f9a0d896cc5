/* accsim energy: the course's energy model (SPEC section 8) for a width setting. */
#include <inttypes.h>
#include <stdio.h>

#include <json-c/json.h>

#include "accsim/energy.h"
#include "accsim/fileio.h"
#include "cli/cli.h"

int cmd_energy(const cli_options *opts)
{
    if (opts->json_path) {
        accsim_error err;
        json_object *root = json_object_new_object();
        json_object *layers = json_object_new_array(), *bits = json_object_new_array();
        for (int l = 0; l < ACCSIM_LAYERS; l++) {
            accsim_layer_ops ops = accsim_layer_op_counts(l);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(accsim_layers[l].name));
            json_object_object_add(o, "bits", json_object_new_int(opts->bits[l]));
            json_object_object_add(o, "multiplies", json_object_new_int64((int64_t)ops.multiplies));
            json_object_object_add(o, "adds", json_object_new_int64((int64_t)ops.adds));
            json_object_object_add(o, "energy",
                                   json_object_new_int64((int64_t)accsim_layer_energy(l, opts->bits[l])));
            json_object_array_add(layers, o);
            json_object_array_add(bits, json_object_new_int(opts->bits[l]));
        }
        json_object_object_add(root, "bits", bits);
        json_object_object_add(root, "energy", json_object_new_int64((int64_t)accsim_energy(opts->bits)));
        json_object_object_add(root, "layers", layers);
        accsim_outfile f;
        int rc = accsim_outfile_open(&f, opts->json_path, &err);
        if (rc == 0) {
            fprintf(f.fp, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
            rc = accsim_outfile_commit(&f, &err);
        }
        json_object_put(root);
        return rc == 0 ? 0 : cli_error(&err);
    }
    printf("%-6s %4s %12s %12s %14s\n", "layer", "bits", "N_mul", "N_add", "energy");
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        accsim_layer_ops ops = accsim_layer_op_counts(l);
        printf("%-6s %4d %12" PRIu64 " %12" PRIu64 " %14" PRIu64 "\n", accsim_layers[l].name,
               opts->bits[l], ops.multiplies, ops.adds, accsim_layer_energy(l, opts->bits[l]));
    }
    printf("%-6s %4s %12s %12s %14" PRIu64 "\n", "total", "", "", "", accsim_energy(opts->bits));
    return 0;
}
