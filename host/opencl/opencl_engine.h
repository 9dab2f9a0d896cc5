/* The OpenCL engine (issue 3): kernels/ *.cl on any OpenCL device, bit-exact
 * with the C reference. It runs the course LeNet-5 (a description made by
 * accsim_network_from_course_model); every size its kernels and launches use
 * is read from that description (course_geom_plan in opencl_engine.c), and a
 * description off the LeNet-5 family's shape is refused at load with a message
 * naming the difference. The kernels are built at load, for those sizes. */
#ifndef ACCSIM_OPENCL_ENGINE_H
#define ACCSIM_OPENCL_ENGINE_H

#include <stdbool.h>
#include <stdio.h>

#include "accsim/engine.h"
#include "accsim/error.h"

/* Creates the OpenCL engine on the device chosen by opts->device (index or
 * name substring; NULL: $ACCSIM_DEVICE, else the first GPU, else the first CPU
 * device, else any). opts->kernel_dir loads kernels/ *.cl from that directory
 * instead of the copies embedded at build time. Returns NULL with err set when
 * there is no platform or no matching device; kernels that fail to build fail
 * the first load (the build log goes to stderr). */
accsim_engine *accsim_opencl_engine_create(const accsim_engine_options *opts, accsim_error *err);

/* Number of OpenCL devices on all platforms (0 when there is no platform or
 * no ICD loader finds one). */
int accsim_opencl_device_count(void);

/* Writes the platforms and devices, marking the one the engine would choose
 * for `device` (NULL: the default rules). Returns the number of devices, or -1
 * with err set. */
int accsim_opencl_list_devices(FILE *out, const char *device, accsim_error *err);

#endif
