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

/* Opens PATH for reading, refusing anything but a regular file without
 * blocking (a FIFO would hang, a device could be endless): the error names the
 * file and what it is instead. On success *fp is open at the start and *size
 * holds its size in bytes. */
int accsim_open_regular(const char *path, FILE **fp, long long *size, accsim_error *err);

/* Reads the whole regular file PATH, at most max_bytes of it (larger is an
 * error naming the limit), into a new NUL-terminated buffer (*data, free()).
 * *size excludes the terminator; the text may itself hold NUL bytes, which
 * parsers must reject where they are not allowed. */
int accsim_read_file(const char *path, size_t max_bytes, char **data, size_t *size,
                     accsim_error *err);

/* Creates DIR and its parents when missing. */
int accsim_mkdirs(const char *dir, accsim_error *err);

#endif
