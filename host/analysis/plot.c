/* gnuplot as a child process: fork + execvp + waitpid, no shell, so that an
 * interrupt reaches it (accsim's handler signals it too) and its real exit
 * status is reported. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accsim/signals.h"
#include "analysis/plot.h"

/* What the child reports through the close-on-exec pipe when it cannot exec. */
typedef struct child_failure {
    int stage; /* 1: chdir, 2: exec */
    int err;
} child_failure;

int plot_exec(const char *dir, const char *program, const char *script, int *not_found,
              accsim_error *err)
{
    *not_found = 0;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return accsim_fail(err, "cannot run %s: %s", program, strerror(errno));
    /* No signal may run accsim's handler in the child before exec, nor find
     * the child unregistered in the parent. */
    sigset_t mask;
    accsim_signals_block(&mask);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
            struct sigaction sa;
            if (sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
                signal(sigs[i], SIG_DFL);
        }
        sigset_t none;
        sigemptyset(&none);
        pthread_sigmask(SIG_SETMASK, &none, NULL);
        close(pfd[0]);
        child_failure cf = {1, 0};
        if (chdir(dir) == 0) {
            cf.stage = 2;
            char *const argv[] = {(char *)program, (char *)script, NULL};
            execvp(program, argv);
        }
        cf.err = errno;
        ssize_t w = write(pfd[1], &cf, sizeof cf);
        (void)w;
        _exit(127);
    }
    int fork_errno = errno;
    if (pid > 0)
        accsim_cleanup_set_child(pid);
    accsim_signals_restore(&mask);
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        return accsim_fail(err, "cannot run %s: fork: %s", program, strerror(fork_errno));
    }
    child_failure cf = {0, 0};
    ssize_t got;
    do
        got = read(pfd[0], &cf, sizeof cf);
    while (got < 0 && errno == EINTR);
    close(pfd[0]);
    /* Wait for the end without reaping, so that the handler never signals a
     * pid that may have been reused: the child leaves the registry and is
     * reaped with the signals blocked. */
    siginfo_t info;
    int wr;
    do
        wr = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
    while (wr < 0 && errno == EINTR);
    int status = 0;
    accsim_signals_block(&mask);
    accsim_cleanup_set_child(0);
    pid_t w;
    do
        w = waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    int wait_errno = errno;
    accsim_signals_restore(&mask);
    if (got == (ssize_t)sizeof cf) {
        if (cf.stage == 1)
            return accsim_fail(err, "%s: cannot run %s there: %s", dir, program, strerror(cf.err));
        if (cf.err == ENOENT) {
            *not_found = 1;
            return accsim_fail(err, "%s not found", program);
        }
        return accsim_fail(err, "cannot run %s: %s", program, strerror(cf.err));
    }
    if (w < 0)
        return accsim_fail(err, "%s: waiting for it: %s", program, strerror(wait_errno));
    if (WIFSIGNALED(status))
        return accsim_fail(err, "%s was killed by signal %d (%s) while running %s", program,
                           WTERMSIG(status), strsignal(WTERMSIG(status)), script);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return accsim_fail(err, "%s exited with status %d while running %s", program, WEXITSTATUS(status),
                           script);
    return 0;
}

int plot_run(const char *dir, const char *script, accsim_error *err)
{
    int not_found;
    return plot_exec(dir, "gnuplot", script, &not_found, err);
}

int plot_draw(const char *dir, const char *script, bool *drawn, accsim_error *err)
{
    *drawn = false;
    int not_found;
    if (plot_exec(dir, "gnuplot", script, &not_found, err) != 0) {
        if (!not_found)
            return -1;
        fprintf(stderr, "accsim: gnuplot not found: tables written, plots skipped (install gnuplot-nox "
                        "and run 'gnuplot %s' in the report directory)\n", script);
        return 0;
    }
    *drawn = true;
    return 0;
}
