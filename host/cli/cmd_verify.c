/* Placeholder until the OpenCL engine lands (issue 3). */
#include <stdio.h>

#include "cli/cli.h"

int cmd_verify(const cli_options *opts)
{
    (void)opts;
    fprintf(stderr, "accsim: 'verify' is not implemented yet\n");
    return 2;
}
