/* accsim devices: the OpenCL platforms and devices, and which one accsim
 * would use (--device, $ACCSIM_DEVICE, else a GPU, else the CPU). */
#include <stdio.h>

#include "cli/cli.h"
#ifdef ACCSIM_HAVE_OPENCL
#include "opencl/opencl_engine.h"
#endif

int cmd_devices(const cli_options *opts)
{
#ifdef ACCSIM_HAVE_OPENCL
    accsim_error err;
    int n = accsim_opencl_list_devices(stdout, opts->engine.device, &err);
    if (n < 0)
        return cli_error(&err);
    return 0;
#else
    (void)opts;
    printf("this accsim was built without OpenCL (ACCSIM_OPENCL=OFF); it runs on the C "
           "reference engine\n");
    return 0;
#endif
}
