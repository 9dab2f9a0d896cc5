/* Child processes: see accsim/process.h. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accsim/process.h"
#include "accsim/signals.h"

/* What the child reports through the close-on-exec pipe when it cannot exec. */
typedef struct exec_failure {
    int stage; /* 1: chdir, 2: redirecting stdout or exec */
    int err;
} exec_failure;

/* The child's side: default signal dispositions (accsim's handler must not run
 * there; ignored signals stay ignored) and an empty mask, the working
 * directory, stdout redirected (out_fd >= 0), then exec. Never returns. */
static void child_exec(const accsim_child *c, int out_fd, int fail_fd)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        if (sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
            signal(sigs[i], SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    exec_failure f = {1, 0};
    if (!c->dir || chdir(c->dir) == 0) {
        f.stage = 2;
        if (out_fd < 0 || dup2(out_fd, STDOUT_FILENO) >= 0)
            execvp(c->argv[0], c->argv);
    }
    f.err = errno;
    ssize_t w = write(fail_fd, &f, sizeof f);
    (void)w;
    _exit(127);
}

/* Reads fd to its end into buf[size] (NUL-terminated; what does not fit is
 * read and dropped, so that the child never blocks on a full pipe). */
static void read_all(int fd, char *buf, size_t size)
{
    size_t used = 0;
    char scratch[4096];
    for (;;) {
        char *dst = used + 1 < size ? buf + used : scratch;
        size_t room = used + 1 < size ? size - 1 - used : sizeof scratch;
        ssize_t n = read(fd, dst, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (dst != scratch)
            used += (size_t)n;
    }
    if (size)
        buf[used] = '\0';
}

/* Waits for pid's end without reaping it first, so that the handler never
 * signals a pid that may have been reused: the child leaves the registry and
 * is reaped with the signals blocked. Returns waitpid's result. */
static pid_t reap(pid_t pid, int *status, int *wait_errno)
{
    siginfo_t info;
    int wr;
    do
        wr = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
    while (wr < 0 && errno == EINTR);
    sigset_t mask;
    accsim_signals_block(&mask);
    accsim_cleanup_set_child(0);
    pid_t w;
    do
        w = waitpid(pid, status, 0);
    while (w < 0 && errno == EINTR);
    *wait_errno = errno;
    accsim_signals_restore(&mask);
    return w;
}

int accsim_child_run(const accsim_child *c, int *status, int *exec_errno, accsim_error *err)
{
    const char *program = c->argv[0];
    const bool capture = c->output == ACCSIM_CHILD_CAPTURE;
    if (exec_errno)
        *exec_errno = 0;
    *status = 0;
    int fail[2], pout[2] = {-1, -1};
    if (pipe2(fail, O_CLOEXEC) != 0)
        return accsim_fail(err, "cannot run %s: %s", program, strerror(errno));
    if (capture && pipe2(pout, O_CLOEXEC) != 0) {
        int e = errno;
        close(fail[0]), close(fail[1]);
        return accsim_fail(err, "cannot run %s: %s", program, strerror(e));
    }
    /* No signal may run accsim's handler in the child before exec, nor find
     * the child unregistered in the parent. */
    sigset_t mask;
    accsim_signals_block(&mask);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fail[0]);
        int out_fd = capture ? pout[1] : c->output == ACCSIM_CHILD_STDERR ? STDERR_FILENO : -1;
        child_exec(c, out_fd, fail[1]);
    }
    int fork_errno = errno;
    if (pid > 0)
        accsim_cleanup_set_child(pid);
    accsim_signals_restore(&mask);
    close(fail[1]);
    if (pout[1] >= 0)
        close(pout[1]);
    if (pid < 0) {
        close(fail[0]);
        if (pout[0] >= 0)
            close(pout[0]);
        return accsim_fail(err, "cannot run %s: fork: %s", program, strerror(fork_errno));
    }
    exec_failure f = {0, 0};
    ssize_t got;
    do
        got = read(fail[0], &f, sizeof f);
    while (got < 0 && errno == EINTR);
    close(fail[0]);
    if (pout[0] >= 0) {
        read_all(pout[0], c->capture, c->capture_size);
        close(pout[0]);
    }
    int wait_errno;
    pid_t w = reap(pid, status, &wait_errno);
    if (got == (ssize_t)sizeof f) {
        if (f.stage == 1)
            return accsim_fail(err, "%s: cannot run %s there: %s", c->dir, program, strerror(f.err));
        if (exec_errno)
            *exec_errno = f.err;
        return accsim_fail(err, "cannot run %s: %s", program, strerror(f.err));
    }
    if (w < 0)
        return accsim_fail(err, "%s: waiting for it: %s", program, strerror(wait_errno));
    return 0;
}

const char *accsim_child_status_text(int status, char *buf, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, size, "exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return buf;
}
