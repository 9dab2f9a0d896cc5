/* Clean stops on SIGINT, SIGTERM and SIGHUP (see accsim/signals.h). */
#define _GNU_SOURCE /* syscall(SYS_getdents64), mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accsim/signals.h"

enum { SLOT_FREE, SLOT_FILE, SLOT_DIR };
#define CLEANUP_SLOTS 16
#define CLEANUP_PATH 4096

/* Written only by the main thread; read by the handler on the main thread. */
static struct {
    volatile sig_atomic_t kind;
    char path[CLEANUP_PATH];
} registry[CLEANUP_SLOTS];
static volatile sig_atomic_t child_pid;
static pthread_t main_thread;
static pid_t owner_pid;

static const int handled[] = {SIGINT, SIGTERM, SIGHUP};

static void signal_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++)
        sigaddset(set, handled[i]);
}

void accsim_signals_block(sigset_t *old)
{
    sigset_t set;
    signal_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

void accsim_signals_restore(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- async-signal-safe helpers ------------------------------------------ */

static size_t safe_strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static void safe_write(const char *s)
{
    size_t n = safe_strlen(s);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

struct dirent64_raw {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int remove_at(int parent, const char *name, int depth)
{
    if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -1;
    if (depth > 32) {
        errno = ELOOP;
        return -1;
    }
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    /* Entries removed while reading may make the directory stream skip some:
     * read it again from the start until a pass finds nothing. */
    for (int pass = 0; pass < 8; pass++) {
        int found = 0;
        if (lseek(fd, 0, SEEK_SET) < 0)
            break;
        for (;;) {
            _Alignas(8) char buf[4096];
            long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
            if (n <= 0)
                break;
            for (long pos = 0; pos < n;) {
                const struct dirent64_raw *d = (const struct dirent64_raw *)(buf + pos);
                pos += d->d_reclen;
                const char *e = d->d_name;
                if (e[0] == '.' && (e[1] == '\0' || (e[1] == '.' && e[2] == '\0')))
                    continue;
                found = 1;
                remove_at(fd, e, depth + 1);
            }
        }
        if (!found)
            break;
    }
    close(fd);
    if (unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        return -1;
    return 0;
}

int accsim_remove_tree(const char *path)
{
    int saved = errno;
    int rc = remove_at(AT_FDCWD, path, 0);
    if (rc == 0)
        errno = saved;
    return rc;
}

static void stop_child(void)
{
    pid_t pid = (pid_t)child_pid;
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 200; i++) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return;
        nanosleep(&tick, NULL);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static void handler(int sig)
{
    int saved = errno;
    if (getpid() != owner_pid) /* a child between fork and exec */
        _exit(128 + sig);
    if (!pthread_equal(pthread_self(), main_thread)) {
        /* The main thread owns the registry: let it do the cleaning (it runs
         * the handler as soon as it does not block the signal). */
        pthread_kill(main_thread, sig);
        errno = saved;
        return;
    }
    stop_child();
    for (int i = 0; i < CLEANUP_SLOTS; i++)
        if (registry[i].kind == SLOT_FILE)
            unlink(registry[i].path);
    for (int i = 0; i < CLEANUP_SLOTS; i++)
        if (registry[i].kind == SLOT_DIR)
            accsim_remove_tree(registry[i].path);
    safe_write(sig == SIGINT    ? "accsim: interrupted (SIGINT), temporary files removed\n"
               : sig == SIGTERM ? "accsim: interrupted (SIGTERM), temporary files removed\n"
                                : "accsim: interrupted (SIGHUP), temporary files removed\n");
    _exit(128 + sig);
}

/* ---- main-thread side ------------------------------------------------------ */

int accsim_signals_install(void)
{
    main_thread = pthread_self();
    owner_pid = getpid();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    signal_set(&sa.sa_mask); /* one signal at a time */
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++) {
        struct sigaction old;
        /* A signal ignored by whoever started us (nohup, a shell's background
         * job without job control) stays ignored. */
        if (sigaction(handled[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        if (sigaction(handled[i], &sa, NULL) != 0)
            return -1;
    }
    return 0;
}

static int claim(const char *path, int kind)
{
    size_t n = strlen(path);
    if (n >= CLEANUP_PATH) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (int i = 0; i < CLEANUP_SLOTS; i++) {
        if (registry[i].kind != SLOT_FREE)
            continue;
        memcpy(registry[i].path, path, n + 1);
        /* The path is complete before the handler can see the slot in use. */
        atomic_signal_fence(memory_order_seq_cst);
        registry[i].kind = kind;
        return i;
    }
    errno = ENOSPC;
    return -1;
}

int accsim_cleanup_mkstemp(char *template_path, int *slot)
{
    sigset_t old;
    accsim_signals_block(&old);
    int fd = mkostemp(template_path, O_CLOEXEC);
    int s = -1;
    if (fd >= 0 && (s = claim(template_path, SLOT_FILE)) < 0) {
        int e = errno;
        close(fd);
        unlink(template_path);
        fd = -1;
        errno = e;
    }
    int e = errno;
    accsim_signals_restore(&old);
    errno = e;
    *slot = s;
    return fd;
}

int accsim_cleanup_mkdtemp(char *template_path, int *slot)
{
    sigset_t old;
    accsim_signals_block(&old);
    int rc = mkdtemp(template_path) ? 0 : -1;
    int s = -1;
    if (rc == 0 && (s = claim(template_path, SLOT_DIR)) < 0) {
        int e = errno;
        rmdir(template_path);
        rc = -1;
        errno = e;
    }
    int e = errno;
    accsim_signals_restore(&old);
    errno = e;
    *slot = s;
    return rc;
}

int accsim_cleanup_add_dir(const char *path, int *slot)
{
    sigset_t old;
    accsim_signals_block(&old);
    *slot = claim(path, SLOT_DIR);
    int e = errno;
    accsim_signals_restore(&old);
    errno = e;
    return *slot < 0 ? -1 : 0;
}

void accsim_cleanup_forget(int slot)
{
    if (slot >= 0 && slot < CLEANUP_SLOTS)
        registry[slot].kind = SLOT_FREE;
}

void accsim_cleanup_set_child(pid_t pid)
{
    child_pid = (sig_atomic_t)pid;
}
