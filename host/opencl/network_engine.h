/* The generic OpenCL engine for network descriptions (docs/network-format.md):
 * the same results as accsim_network_run (host/network/interp.c), bit for bit,
 * with kernels specialized at run time from the description
 * (kernels/network.cl).
 *
 * Use: create on a device, load a network and the whole input set once (to
 * the device), run lists of image indices with a configuration (widths,
 * overflow) as often as wanted, destroy. The network must stay alive and
 * unchanged while runs use it (destroy and a later load do not read it). */
#ifndef ACCSIM_NETWORK_ENGINE_H
#define ACCSIM_NETWORK_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accsim/error.h"
#include "accsim/network.h"

typedef struct accsim_netcl accsim_netcl;

/* device: index or name substring as accsim_cl_choose (NULL or "": the
 * default, $ACCSIM_DEVICE, else the first GPU, else the first CPU). Fails with
 * "no OpenCL platform/device found" when there is none. */
int accsim_netcl_create(accsim_netcl **out, const char *device, accsim_error *err);
void accsim_netcl_destroy(accsim_netcl *e);

/* "device name (platform)". */
const char *accsim_netcl_device_name(const accsim_netcl *e);

/* Images per launch (0: automatic, the default), before accsim_netcl_load. */
void accsim_netcl_set_batch(accsim_netcl *e, size_t batch);

/* Uploads the weights of net and inputs[count][accsim_network_input_count(net)]
 * (replacing what an earlier load put there). Fails clearly when the device
 * lacks fp64 for a float requantization, or memory for the inputs (saying how
 * many images would fit). */
int accsim_netcl_load(accsim_netcl *e, const accsim_network *net, const int8_t *inputs,
                      size_t count, accsim_error *err);

/* Runs the images indices[0..count) (of the loaded set; NULL: 0..count-1) into
 * res (accsim_network_result_init for count images), with everything
 * accsim_network_run does: histograms, capture into res->acts, restart from
 * cfg->start_acts (then indices are not used, as there). cfg->threads and
 * cfg->indices are ignored (indices is the parameter). */
int accsim_netcl_run(accsim_netcl *e, const accsim_network_config *cfg,
                     const uint32_t *indices, size_t count, accsim_network_result *res,
                     accsim_error *err);

/* Profiling (off by default): a clFinish after every op, and the process's
 * CPU seconds spent in each op (PoCL's threads are the process's) summed over
 * runs, by op index. */
void accsim_netcl_set_profile(accsim_netcl *e, bool on);
double accsim_netcl_op_cpu_seconds(const accsim_netcl *e, int op);

/* Programs built so far (the cache holds one per distinct option string). */
int accsim_netcl_programs_built(const accsim_netcl *e);

/* The same engine behind the engine interface (network_vtable.c). */
#include "accsim/engine.h"
accsim_engine *accsim_netcl_engine_create(const accsim_engine_options *opts, accsim_error *err);

#endif
