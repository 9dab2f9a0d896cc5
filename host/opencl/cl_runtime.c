/* OpenCL plumbing: devices, sources, builds, errors. */
#define _POSIX_C_SOURCE 200809L

#include "accsim/fileio.h"
#include "opencl/cl_runtime.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct accsim_kernel_source {
    const char *name;
    const char *text;
};
extern const struct accsim_kernel_source accsim_embedded_kernels[];

const char *accsim_cl_error_name(cl_int code)
{
    switch (code) {
#define E(x) case x: return #x;
        E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE)
        E(CL_COMPILER_NOT_AVAILABLE) E(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY) E(CL_PROFILING_INFO_NOT_AVAILABLE)
        E(CL_MEM_COPY_OVERLAP) E(CL_IMAGE_FORMAT_MISMATCH) E(CL_IMAGE_FORMAT_NOT_SUPPORTED)
        E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE) E(CL_MISALIGNED_SUB_BUFFER_OFFSET)
        E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST) E(CL_COMPILE_PROGRAM_FAILURE)
        E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE) E(CL_DEVICE_PARTITION_FAILED)
        E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) E(CL_INVALID_VALUE) E(CL_INVALID_DEVICE_TYPE)
        E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
        E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR)
        E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) E(CL_INVALID_IMAGE_SIZE)
        E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS)
        E(CL_INVALID_PROGRAM) E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME)
        E(CL_INVALID_KERNEL_DEFINITION) E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX)
        E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE) E(CL_INVALID_KERNEL_ARGS)
        E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE) E(CL_INVALID_WORK_ITEM_SIZE)
        E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST) E(CL_INVALID_EVENT)
        E(CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT) E(CL_INVALID_BUFFER_SIZE)
        E(CL_INVALID_MIP_LEVEL) E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_PROPERTY)
#undef E
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return "unknown OpenCL error";
    }
}

int accsim_cl_fail(accsim_error *err, const char *what, cl_int code)
{
    if (code == CL_MEM_OBJECT_ALLOCATION_FAILURE || code == CL_OUT_OF_RESOURCES ||
        code == CL_OUT_OF_HOST_MEMORY || code == CL_INVALID_BUFFER_SIZE)
        return accsim_fail(err,
                           "OpenCL device out of memory: %s failed with %s (%d); try fewer "
                           "images (--limit) or another device (--device)",
                           what, accsim_cl_error_name(code), (int)code);
    return accsim_fail(err, "OpenCL: %s failed with %s (%d)", what, accsim_cl_error_name(code),
                       (int)code);
}

static void get_string(cl_device_id d, cl_device_info what, char *out, size_t size)
{
    out[0] = '\0';
    if (clGetDeviceInfo(d, what, size, out, NULL) != CL_SUCCESS)
        snprintf(out, size, "?");
    out[size - 1] = '\0';
}

int accsim_cl_enumerate(cl_device_list *list, accsim_error *err)
{
    memset(list, 0, sizeof *list);
    cl_uint np = 0;
    cl_int rc = clGetPlatformIDs(0, NULL, &np);
    if (rc == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || np == 0)
        return 0;
    if (rc != CL_SUCCESS)
        return accsim_cl_fail(err, "clGetPlatformIDs", rc);
    cl_platform_id *plats = calloc(np, sizeof *plats);
    if (!plats)
        return accsim_fail(err, "out of memory");
    rc = clGetPlatformIDs(np, plats, NULL);
    if (rc != CL_SUCCESS) {
        free(plats);
        return accsim_cl_fail(err, "clGetPlatformIDs", rc);
    }
    list->platforms = (int)np;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0)
            continue;
        cl_device_id *devs = calloc(nd, sizeof *devs);
        cl_device_entry *grown =
            realloc(list->devices, (size_t)(list->count + (int)nd) * sizeof *grown);
        if (!devs || !grown) {
            free(devs);
            if (grown)
                list->devices = grown;
            free(plats);
            accsim_cl_list_free(list);
            return accsim_fail(err, "out of memory");
        }
        list->devices = grown;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL) != CL_SUCCESS) {
            free(devs);
            continue;
        }
        for (cl_uint i = 0; i < nd; i++) {
            cl_device_entry *e = &list->devices[list->count++];
            memset(e, 0, sizeof *e);
            e->platform = plats[p];
            e->device = devs[i];
            e->platform_index = (int)p;
            if (clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof e->platform_name,
                                  e->platform_name, NULL) != CL_SUCCESS)
                snprintf(e->platform_name, sizeof e->platform_name, "?");
            if (clGetPlatformInfo(plats[p], CL_PLATFORM_VERSION, sizeof e->platform_version,
                                  e->platform_version, NULL) != CL_SUCCESS)
                snprintf(e->platform_version, sizeof e->platform_version, "?");
            e->platform_name[sizeof e->platform_name - 1] = '\0';
            e->platform_version[sizeof e->platform_version - 1] = '\0';
            get_string(devs[i], CL_DEVICE_NAME, e->name, sizeof e->name);
            get_string(devs[i], CL_DEVICE_VERSION, e->version, sizeof e->version);
            clGetDeviceInfo(devs[i], CL_DEVICE_TYPE, sizeof e->type, &e->type, NULL);
            clGetDeviceInfo(devs[i], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof e->compute_units,
                            &e->compute_units, NULL);
            clGetDeviceInfo(devs[i], CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof e->clock_mhz,
                            &e->clock_mhz, NULL);
            clGetDeviceInfo(devs[i], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof e->global_mem,
                            &e->global_mem, NULL);
            clGetDeviceInfo(devs[i], CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof e->max_alloc,
                            &e->max_alloc, NULL);
            clGetDeviceInfo(devs[i], CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof e->max_work_group,
                            &e->max_work_group, NULL);
            clGetDeviceInfo(devs[i], CL_DEVICE_LOCAL_MEM_SIZE, sizeof e->local_mem,
                            &e->local_mem, NULL);
        }
        free(devs);
    }
    free(plats);
    return 0;
}

void accsim_cl_list_free(cl_device_list *list)
{
    free(list->devices);
    memset(list, 0, sizeof *list);
}

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *h = hay; *h; h++) {
        size_t i = 0;
        while (i < n && h[i] &&
               tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

int accsim_cl_choose(const cl_device_list *list, const char *spec, accsim_error *err)
{
    const char *from = "--device";
    if (!spec || !*spec) {
        spec = getenv("ACCSIM_DEVICE");
        from = "ACCSIM_DEVICE";
    }
    if (list->count == 0)
        return accsim_fail(err, "no OpenCL device found");
    if (spec && *spec) {
        char *end = NULL;
        errno = 0;
        long idx = strtol(spec, &end, 10);
        if (end != spec && *end == '\0' && errno == 0) {
            if (idx < 0 || idx >= list->count)
                return accsim_fail(err, "%s %s: no such OpenCL device (there are %d; see "
                                        "accsim devices)", from, spec, list->count);
            return (int)idx;
        }
        for (int i = 0; i < list->count; i++)
            if (contains_nocase(list->devices[i].name, spec))
                return i;
        for (int i = 0; i < list->count; i++)
            if (contains_nocase(list->devices[i].platform_name, spec))
                return i;
        return accsim_fail(err, "%s '%s' matches no OpenCL device name (see accsim devices)",
                           from, spec);
    }
    for (int i = 0; i < list->count; i++)
        if (list->devices[i].type & CL_DEVICE_TYPE_GPU)
            return i;
    for (int i = 0; i < list->count; i++)
        if (list->devices[i].type & CL_DEVICE_TYPE_CPU)
            return i;
    return 0;
}

/* ---- sources -------------------------------------------------------------- */

static int append(char **buf, size_t *len, size_t *cap, const char *text, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 65536);
        while (nc < *len + n + 1)
            nc *= 2;
        char *g = realloc(*buf, nc);
        if (!g)
            return -1;
        *buf = g;
        *cap = nc;
    }
    memcpy(*buf + *len, text, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define MAX_KERNEL_FILE_BYTES (16u << 20)

/* A kernel file from --kernel-dir: a regular file of bounded size (a FIFO
 * named *.cl must not hang the engine). */
static char *read_text_file(const char *path, size_t *n, accsim_error *err)
{
    char *buf;
    if (accsim_read_file(path, MAX_KERNEL_FILE_BYTES, &buf, n, err) != 0)
        return NULL;
    return buf;
}

char *accsim_cl_load_sources(const char *dir, accsim_error *err)
{
    char *out = NULL;
    size_t len = 0, cap = 0;
    char line[1200];
    if (!dir) {
        for (const struct accsim_kernel_source *k = accsim_embedded_kernels; k->name; k++) {
            snprintf(line, sizeof line, "#line 1 \"%s\"\n", k->name);
            if (append(&out, &len, &cap, line, strlen(line)) != 0 ||
                append(&out, &len, &cap, k->text, strlen(k->text)) != 0 ||
                append(&out, &len, &cap, "\n", 1) != 0) {
                free(out);
                accsim_fail(err, "out of memory");
                return NULL;
            }
        }
        if (!out)
            accsim_fail(err, "no OpenCL kernels were embedded at build time");
        return out;
    }
    DIR *d = opendir(dir);
    if (!d) {
        accsim_fail(err, "--kernel-dir %s: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".cl") != 0)
            continue;
        char **g = realloc(names, (count + 1) * sizeof *g);
        char *copy = malloc(n + 1);
        if (!g || !copy) {
            free(copy);
            if (g)
                names = g;
            for (size_t i = 0; i < count; i++)
                free(names[i]);
            free(names);
            closedir(d);
            accsim_fail(err, "out of memory");
            return NULL;
        }
        memcpy(copy, e->d_name, n + 1);
        names = g;
        names[count++] = copy;
    }
    closedir(d);
    if (count == 0) {
        free(names);
        accsim_fail(err, "--kernel-dir %s: no .cl files there", dir);
        return NULL;
    }
    qsort(names, count, sizeof *names, cmp_names);
    bool ok = true;
    for (size_t i = 0; i < count && ok; i++) {
        char path[2300];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t n = 0;
        char *text = read_text_file(path, &n, err);
        if (!text) {
            ok = false;
            break;
        }
        snprintf(line, sizeof line, "#line 1 \"%s\"\n", names[i]);
        if (append(&out, &len, &cap, line, strlen(line)) != 0 ||
            append(&out, &len, &cap, text, n) != 0 || append(&out, &len, &cap, "\n", 1) != 0) {
            accsim_fail(err, "out of memory");
            ok = false;
        }
        free(text);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

cl_program accsim_cl_build(cl_context ctx, cl_device_id device, const char *source,
                           const char *options, accsim_error *err)
{
    cl_int rc;
    const char *srcs[1] = {source};
    cl_program prog = clCreateProgramWithSource(ctx, 1, srcs, NULL, &rc);
    if (!prog) {
        accsim_cl_fail(err, "clCreateProgramWithSource", rc);
        return NULL;
    }
    rc = clBuildProgram(prog, 1, &device, options, NULL, NULL);
    if (rc != CL_SUCCESS) {
        size_t n = 0;
        clGetProgramBuildInfo(prog, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
        char *log = malloc(n + 1);
        if (log) {
            log[0] = '\0';
            clGetProgramBuildInfo(prog, device, CL_PROGRAM_BUILD_LOG, n, log, NULL);
            log[n] = '\0';
            fprintf(stderr, "accsim: OpenCL build log (options: %s):\n%s\n", options, log);
            free(log);
        }
        clReleaseProgram(prog);
        accsim_fail(err, "OpenCL kernels failed to build (%s); the build log is above",
                    accsim_cl_error_name(rc));
        return NULL;
    }
    return prog;
}
