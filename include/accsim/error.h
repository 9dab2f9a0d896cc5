/* Errors travel as a message buffer: every failing call fills it with one line
 * naming the file (or option) and what is wrong, and returns -1. */
#ifndef ACCSIM_ERROR_H
#define ACCSIM_ERROR_H

typedef struct accsim_error {
    char message[2048];
} accsim_error;

#if defined(__GNUC__)
#define ACCSIM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ACCSIM_PRINTF(f, a)
#endif

/* Sets the message (when err is not NULL) and returns -1, so callers can write
 * `return accsim_fail(err, "...")`. */
int accsim_fail(accsim_error *err, const char *fmt, ...) ACCSIM_PRINTF(2, 3);

#endif
