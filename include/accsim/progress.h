/* Progress on stderr for long runs: images/s and time left, redrawn in place.
 * Silent unless stderr is a terminal, and always silent when quiet. */
#ifndef ACCSIM_PROGRESS_H
#define ACCSIM_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct accsim_progress {
    const char *label;
    size_t total;
    size_t done;
    double start_time;
    double last_draw;
    bool enabled;
} accsim_progress;

void accsim_progress_start(accsim_progress *p, const char *label, size_t total, bool quiet);
void accsim_progress_advance(accsim_progress *p, size_t n); /* p may be NULL */
void accsim_progress_finish(accsim_progress *p);
double accsim_now(void); /* monotonic seconds */

#endif
