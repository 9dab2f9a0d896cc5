/* Result files are written to a temporary name and renamed into place, so a
 * failed run never leaves a half-written file behind. */
#ifndef ACCSIM_FILEIO_H
#define ACCSIM_FILEIO_H

#include <stdio.h>

#include "accsim/error.h"

typedef struct accsim_outfile {
    FILE *fp;
    char path[1024];
    char tmp_path[1100];
    int is_stdout; /* path "-" */
} accsim_outfile;

int accsim_outfile_open(accsim_outfile *f, const char *path, accsim_error *err);
/* Flushes, checks for write errors and renames into place. */
int accsim_outfile_commit(accsim_outfile *f, accsim_error *err);
/* Drops the temporary file (on any failure after open). */
void accsim_outfile_abort(accsim_outfile *f);

/* Creates DIR and its parents when missing. */
int accsim_mkdirs(const char *dir, accsim_error *err);

#endif
