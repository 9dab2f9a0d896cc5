/* Child processes (gnuplot for the plots, the Python importers): fork +
 * execvp + waitpid, no shell, so that arguments need no quoting, an interrupt
 * reaches the child (accsim's handler, accsim/signals.h, stops it before
 * cleaning up) and its real exit status is reported. */
#ifndef ACCSIM_PROCESS_H
#define ACCSIM_PROCESS_H

#include <stddef.h>

#include "accsim/error.h"

/* Where the child's standard output goes. */
typedef enum accsim_child_output {
    ACCSIM_CHILD_STDOUT,  /* ours, as it is */
    ACCSIM_CHILD_STDERR,  /* our stderr (when a command's stdout is its result) */
    ACCSIM_CHILD_CAPTURE, /* into capture[capture_size], NUL-terminated; the rest is dropped */
} accsim_child_output;

typedef struct accsim_child {
    char *const *argv; /* NULL-terminated; argv[0] found on $PATH, or a path */
    const char *dir;   /* the child's working directory; NULL: ours */
    accsim_child_output output;
    char *capture;
    size_t capture_size;
} accsim_child;

/* Runs the child to its end. Returns 0 with *status its waitpid status when
 * it ran, whatever that status; -1 with err when it could not run: "cannot run
 * PROGRAM: ..." (pipe, fork or exec), "DIR: cannot run PROGRAM there: ..."
 * (chdir), "PROGRAM: waiting for it: ...". *exec_errno (when not NULL) is
 * errno of a failed exec, else 0: ENOENT says PROGRAM is not installed. */
int accsim_child_run(const accsim_child *child, int *status, int *exec_errno, accsim_error *err);

/* How a waitpid status ended: "exited with status N" or "was killed by signal
 * N (NAME)". Returns buf. */
const char *accsim_child_status_text(int status, char *buf, size_t size);

#endif
