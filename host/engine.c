/* Picks an engine: the C reference, or OpenCL when asked for or available. */
#include <stdio.h>
#include <string.h>

#include "accsim/bounds.h"
#include "accsim/engine.h"
#ifdef ACCSIM_HAVE_OPENCL
#include "opencl/opencl_engine.h"
#endif

accsim_engine *accsim_engine_create(const accsim_engine_options *opts, accsim_error *err)
{
    const char *kind = opts && opts->kind ? opts->kind : "auto";
    if (strcmp(kind, "cpu") == 0)
        return accsim_cpu_engine_create(err);
    if (strcmp(kind, "opencl") != 0 && strcmp(kind, "auto") != 0) {
        accsim_fail(err, "unknown engine '%s' (expected cpu, opencl or auto)", kind);
        return NULL;
    }
#ifdef ACCSIM_HAVE_OPENCL
    /* Only a missing platform (or one without devices) falls back to the C
     * reference; an unknown device or a kernel that does not build is the
     * user's to fix, not to paper over. */
    if (accsim_opencl_device_count() == 0) {
        if (strcmp(kind, "opencl") == 0) {
            accsim_fail(err, "no OpenCL platform or device found (is an ICD such as "
                             "pocl-opencl-icd installed?)");
            return NULL;
        }
        if (!opts || !opts->quiet)
            fprintf(stderr, "accsim: no OpenCL platform or device found; running on the C "
                            "reference engine\n");
        return accsim_cpu_engine_create(err);
    }
    return accsim_opencl_engine_create(opts, err);
#else
    if (strcmp(kind, "opencl") == 0) {
        accsim_fail(err, "this accsim was built without OpenCL (ACCSIM_OPENCL=OFF)");
        return NULL;
    }
    return accsim_cpu_engine_create(err);
#endif
}

void accsim_engine_destroy(accsim_engine *engine)
{
    if (engine)
        engine->ops->destroy(engine);
}

int accsim_safe_width(const accsim_model *model, int l, int input_min)
{
    const accsim_layer_info *li = &accsim_layers[l];
    accsim_mac_shape shape = {
        .weights = model->weights[l],
        .out_channels = li->out_channels,
        .reduction = li->weight_count / li->out_channels,
        .bias = li->has_bias ? model->bias : NULL,
        .input_min = input_min,
        .input_max = 127,
    };
    accsim_mac_bounds bounds;
    accsim_mac_bounds_compute(&shape, &bounds);
    return bounds.safe < 2 ? 2 : bounds.safe > 32 ? 32 : bounds.safe;
}
