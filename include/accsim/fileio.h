/* Writing results the way careful Unix tools do.
 *
 * An output path that names a regular file (or nothing yet) is replaced
 * atomically: the result goes to a temporary file beside the file's real
 * location (symbolic links are followed, dangling ones too: the link stays and
 * its target gets the result), with the mode of the file it replaces (0666 less
 * the umask for a new one), and is renamed over it only once every write,
 * flush and close succeeded. Anything else -- a device, a FIFO, a socket, "-"
 * for standard output, and every path under /dev/ or /proc/ (/dev/stdout,
 * /dev/fd/N) -- is written in place. Temporary files are registered with
 * accsim/signals.h, so SIGINT and SIGTERM remove them. */
#ifndef ACCSIM_FILEIO_H
#define ACCSIM_FILEIO_H

#include <stdio.h>
#include <sys/types.h>

#include "accsim/error.h"

#define ACCSIM_PATH_MAX 4096

typedef struct accsim_outfile {
    FILE *fp;
    char path[1024];                /* as given, for messages */
    char target[ACCSIM_PATH_MAX];   /* the real location (symbolic links followed) */
    char tmp_path[ACCSIM_PATH_MAX]; /* the temporary file (atomic writes only) */
    int is_stdout;                  /* path "-" */
    int in_place;                   /* written straight into path */
    int slot;                       /* cleanup registry slot, -1 when none */
} accsim_outfile;

/* Checks that PATH can take a result, before any work is done: not a
 * directory, and for a file to be replaced or created, its (real) directory
 * exists and is writable. Devices, FIFOs and "-" pass. */
int accsim_outfile_check(const char *path, accsim_error *err);
int accsim_outfile_open(accsim_outfile *f, const char *path, accsim_error *err);
/* Flushes, checks every write, the flush and the close, and renames the
 * temporary file into place; on failure nothing is left but the old file, and
 * the message names the path and the error. */
int accsim_outfile_commit(accsim_outfile *f, accsim_error *err);
/* Drops the temporary file (on any failure after open). */
void accsim_outfile_abort(accsim_outfile *f);

/* Report directories (accsim study --out, accsim hist --out) appear whole or
 * not at all. begin() checks DIR before the work starts -- it must be missing,
 * empty, or an earlier accsim report (it holds ACCSIM_REPORT_MARKER); any other
 * existing directory is refused, as is a file -- creates missing parents and
 * a temporary sibling directory (tmp), where the caller writes every file.
 * commit() adds the marker and renames tmp into place, swapping it with an
 * earlier report in one step (renameat2 RENAME_EXCHANGE) and then removing the
 * old one. abort() and the signal handler remove tmp; an earlier report is
 * then left as it was. */
#define ACCSIM_REPORT_MARKER ".accsim-report"

typedef struct accsim_reportdir {
    char path[1024];              /* as given, for messages */
    char target[1024];            /* the real location */
    char tmp[1024];               /* where the files go until commit; room is left
                                     in the callers' 1100-byte paths for the names */
    int slot;                     /* cleanup registry slot of tmp, -1 when none */
} accsim_reportdir;

/* Whether DIR may become a report: see above. */
int accsim_reportdir_check(const char *dir, accsim_error *err);
int accsim_reportdir_begin(accsim_reportdir *r, const char *dir, accsim_error *err);
int accsim_reportdir_commit(accsim_reportdir *r, accsim_error *err);
void accsim_reportdir_abort(accsim_reportdir *r);

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
