/* Placeholder until the analyses land (issue 4). */
#include <stdio.h>

#include "cli/cli.h"

int cmd_sweep(const cli_options *opts)
{
    (void)opts;
    fprintf(stderr, "accsim: 'sweep' is not implemented yet\n");
    return 2;
}
