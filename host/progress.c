#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "accsim/progress.h"

double accsim_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void accsim_progress_start(accsim_progress *p, const char *label, size_t total, bool quiet)
{
    p->label = label;
    p->total = total;
    p->done = 0;
    p->start_time = accsim_now();
    p->last_draw = 0;
    /* Progress is for people watching a terminal, never for pipes or logs. */
    p->enabled = !quiet && isatty(STDERR_FILENO);
}

static void draw(accsim_progress *p, double now)
{
    double elapsed = now - p->start_time;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    double left = rate > 0 ? (double)(p->total - p->done) / rate : 0;
    fprintf(stderr, "\r%s: %zu/%zu images, %.0f images/s, %.0f s left   ", p->label, p->done,
            p->total, rate, left);
    fflush(stderr);
    p->last_draw = now;
}

void accsim_progress_advance(accsim_progress *p, size_t n)
{
    if (!p)
        return;
    p->done += n;
    if (p->done > p->total)
        p->done = p->total;
    if (!p->enabled)
        return;
    double now = accsim_now();
    if (now - p->last_draw >= 0.2)
        draw(p, now);
}

void accsim_progress_finish(accsim_progress *p)
{
    if (!p || !p->enabled)
        return;
    double elapsed = accsim_now() - p->start_time;
    fprintf(stderr, "\r%s: %zu images in %.2f s%-30s\n", p->label, p->done, elapsed, "");
}
