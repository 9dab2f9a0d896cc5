/* OpenCL plumbing shared by the engine and `accsim devices`: device
 * enumeration and choice, kernel sources, program builds, error names. */
#ifndef ACCSIM_CL_RUNTIME_H
#define ACCSIM_CL_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>

#include "accsim/error.h"

typedef struct cl_device_entry {
    cl_platform_id platform;
    cl_device_id device;
    int platform_index;
    char platform_name[256];
    char platform_version[256];
    char name[256];
    char version[256];
    cl_device_type type;
    cl_uint compute_units;
    cl_uint clock_mhz;
    cl_ulong global_mem;
    cl_ulong max_alloc;
    size_t max_work_group;
    cl_ulong local_mem;
} cl_device_entry;

typedef struct cl_device_list {
    int count;
    int platforms;
    cl_device_entry *devices;
} cl_device_list;

const char *accsim_cl_error_name(cl_int code);

/* Fills list with every device of every platform. Fails (with a clear message)
 * only when the OpenCL calls fail; no platform gives count 0. */
int accsim_cl_enumerate(cl_device_list *list, accsim_error *err);
void accsim_cl_list_free(cl_device_list *list);

/* Index of the device `spec` names (index or case-insensitive name substring;
 * NULL or "": $ACCSIM_DEVICE, else first GPU, else first CPU, else 0). -1 with
 * err set when nothing matches. */
int accsim_cl_choose(const cl_device_list *list, const char *spec, accsim_error *err);

/* The kernel sources concatenated in file name order: from dir/ *.cl when dir
 * is given, else from the table embedded at build time. Caller frees. */
char *accsim_cl_load_sources(const char *dir, accsim_error *err);

/* Builds source for device with options; on failure prints the build log on
 * stderr and returns NULL with err set. */
cl_program accsim_cl_build(cl_context ctx, cl_device_id device, const char *source,
                           const char *options, accsim_error *err);

/* "call failed: CL_X" with a plain explanation for out-of-memory codes. */
int accsim_cl_fail(accsim_error *err, const char *what, cl_int code);

#endif
