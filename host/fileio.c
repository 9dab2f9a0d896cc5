/* Output files and report directories (see accsim/fileio.h), and the input
 * side's regular-file readers. */
#define _GNU_SOURCE /* renameat2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accsim/fileio.h"
#include "accsim/signals.h"

/* ---- output files ---------------------------------------------------------- */

/* Paths the kernel makes up (/dev/stdout, /dev/fd/N, /proc/self/fd/N, device
 * nodes): never replaced, always written in place. */
static int kernel_path(const char *path)
{
    return strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/", 6) == 0;
}

/* An alias of an open descriptor: written at its end (O_APPEND), never
 * truncated, so `accsim ... --json /dev/stdout >> log` appends as a shell
 * redirection would. */
static int descriptor_alias(const char *path)
{
    if (strcmp(path, "/dev/stdout") == 0 || strcmp(path, "/dev/stderr") == 0 ||
        strncmp(path, "/dev/fd/", 8) == 0 || strncmp(path, "/proc/self/fd/", 14) == 0 ||
        strncmp(path, "/proc/thread-self/fd/", 21) == 0)
        return 1;
    if (strncmp(path, "/proc/", 6) != 0)
        return 0;
    const char *p = path + 6;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return strncmp(p, "/fd/", 4) == 0;
}

static mode_t current_umask(void)
{
    mode_t m = umask(0);
    umask(m);
    return m;
}

/* Follows PATH's chain of symbolic links (dangling ones too) to the entry that
 * gets the result: *exists says whether it exists, *st is then its lstat. */
static int resolve_target(const char *path, char *out, size_t size, struct stat *st, int *exists,
                          accsim_error *err)
{
    char cur[ACCSIM_PATH_MAX];
    if (strlen(path) >= sizeof cur)
        return accsim_fail(err, "%s: path too long", path);
    snprintf(cur, sizeof cur, "%s", path);
    for (int hops = 0;; hops++) {
        if (lstat(cur, st) != 0) {
            if (errno != ENOENT)
                return accsim_fail(err, "%s: cannot write: %s", path, strerror(errno));
            *exists = 0;
            break;
        }
        if (!S_ISLNK(st->st_mode)) {
            *exists = 1;
            break;
        }
        if (hops >= 40)
            return accsim_fail(err, "%s: cannot write: %s", path, strerror(ELOOP));
        char link[ACCSIM_PATH_MAX];
        ssize_t len = readlink(cur, link, sizeof link - 1);
        if (len < 0)
            return accsim_fail(err, "%s: cannot read link %s: %s", path, cur, strerror(errno));
        link[len] = '\0';
        char *slash = strrchr(cur, '/');
        if (link[0] == '/' || !slash) {
            memcpy(cur, link, (size_t)len + 1);
        } else {
            size_t d = (size_t)(slash - cur) + 1;
            if (d + (size_t)len >= sizeof cur)
                return accsim_fail(err, "%s: path too long", path);
            memcpy(cur + d, link, (size_t)len + 1);
        }
    }
    if (strlen(cur) >= size)
        return accsim_fail(err, "%s: path too long", path);
    snprintf(out, size, "%s", cur);
    return 0;
}

/* DIR of DIR/NAME ("." for a bare name, "/" for /NAME). */
static void parent_of(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, size, ".");
    else if (slash == path)
        snprintf(out, size, "/");
    else
        snprintf(out, size, "%.*s", (int)(slash - path), path);
}

static int check_dir_writable(const char *path, const char *dir, accsim_error *err)
{
    struct stat ds;
    if (stat(dir, &ds) != 0)
        return accsim_fail(err, "%s: cannot write: directory %s: %s", path, dir, strerror(errno));
    if (!S_ISDIR(ds.st_mode))
        return accsim_fail(err, "%s: cannot write: %s is not a directory", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return accsim_fail(err, "%s: cannot write in directory %s: %s", path, dir, strerror(errno));
    return 0;
}

int accsim_outfile_check(const char *path, accsim_error *err)
{
    if (!path || !*path)
        return accsim_fail(err, "empty output file name");
    if (strcmp(path, "-") == 0)
        return 0;
    if (strlen(path) >= 1024)
        return accsim_fail(err, "%s: path too long", path);
    struct stat st;
    int have = stat(path, &st) == 0;
    if (!have && errno != ENOENT)
        return accsim_fail(err, "%s: cannot write: %s", path, strerror(errno));
    if (have && S_ISDIR(st.st_mode))
        return accsim_fail(err, "%s: is a directory", path);
    if (have && !S_ISREG(st.st_mode))
        return 0;
    if (kernel_path(path)) {
        if (have)
            return 0;
        if (descriptor_alias(path))
            return accsim_fail(err, "%s: cannot write: %s", path, strerror(ENOENT));
    }
    char target[ACCSIM_PATH_MAX], dir[ACCSIM_PATH_MAX];
    int exists;
    if (resolve_target(path, target, sizeof target, &st, &exists, err) != 0)
        return -1;
    parent_of(target, dir, sizeof dir);
    return check_dir_writable(path, dir, err);
}

int accsim_outfile_open(accsim_outfile *f, const char *path, accsim_error *err)
{
    memset(f, 0, sizeof *f);
    f->slot = -1;
    if (path && strcmp(path, "-") == 0) {
        f->fp = stdout;
        f->is_stdout = 1;
        snprintf(f->path, sizeof f->path, "-");
        return 0;
    }
    if (accsim_outfile_check(path, err) != 0)
        return -1;
    snprintf(f->path, sizeof f->path, "%s", path);
    struct stat st;
    int have = stat(path, &st) == 0;
    if (kernel_path(path) || (have && !S_ISREG(st.st_mode))) {
        /* In place: a device, a FIFO (open waits for a reader), a descriptor. */
        int flags = O_WRONLY | O_CLOEXEC | O_NOCTTY;
        if (descriptor_alias(path))
            flags |= O_APPEND;
        else if (!have || S_ISREG(st.st_mode))
            flags |= O_CREAT | O_TRUNC;
        int fd = open(path, flags, 0666);
        if (fd < 0)
            return accsim_fail(err, "%s: cannot write: %s", path, strerror(errno));
        f->fp = fdopen(fd, "w");
        if (!f->fp) {
            int e = errno;
            close(fd);
            return accsim_fail(err, "%s: cannot write: %s", path, strerror(e));
        }
        f->in_place = 1;
        return 0;
    }
    int exists;
    if (resolve_target(path, f->target, sizeof f->target, &st, &exists, err) != 0)
        return -1;
    int n = snprintf(f->tmp_path, sizeof f->tmp_path, "%s.tmp.XXXXXX", f->target);
    if (n < 0 || (size_t)n >= sizeof f->tmp_path)
        return accsim_fail(err, "%s: path too long", path);
    int fd = accsim_cleanup_mkstemp(f->tmp_path, &f->slot);
    if (fd < 0) {
        char dir[ACCSIM_PATH_MAX];
        parent_of(f->target, dir, sizeof dir);
        return accsim_fail(err, "%s: cannot create a temporary file in %s: %s", path, dir, strerror(errno));
    }
    mode_t mode;
    if (exists) {
        mode = st.st_mode & 07777;
        /* root keeps the owner of the file it replaces (before fchmod: chown
         * clears set-id bits) */
        if (geteuid() == 0 && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
            fchown(fd, st.st_uid, st.st_gid) != 0) {
            /* not fatal: the file gets our owner, as any new file would */
        }
    } else {
        mode = 0666 & ~current_umask();
    }
    if (fchmod(fd, mode) != 0 || !(f->fp = fdopen(fd, "w"))) {
        int e = errno;
        close(fd);
        unlink(f->tmp_path);
        accsim_cleanup_forget(f->slot);
        f->slot = -1;
        return accsim_fail(err, "%s: cannot write %s: %s", path, f->tmp_path, strerror(e));
    }
    return 0;
}

int accsim_outfile_commit(accsim_outfile *f, accsim_error *err)
{
    if (f->is_stdout) {
        if (fflush(stdout) != 0)
            return accsim_fail(err, "standard output: write error: %s", strerror(errno));
        if (ferror(stdout))
            return accsim_fail(err, "standard output: write error");
        return 0;
    }
    FILE *fp = f->fp;
    f->fp = NULL;
    if (!fp)
        return accsim_fail(err, "%s: not open for writing", f->path);
    int e = 0;
    if (fflush(fp) != 0)
        e = errno ? errno : EIO;
    else if (ferror(fp))
        e = -1;
    if (e == 0 && !f->in_place && fsync(fileno(fp)) != 0)
        e = errno;
    if (fclose(fp) != 0 && e == 0)
        e = errno;
    if (e == 0 && !f->in_place && rename(f->tmp_path, f->target) != 0) {
        e = errno;
        unlink(f->tmp_path);
        accsim_cleanup_forget(f->slot);
        f->slot = -1;
        return accsim_fail(err, "%s: cannot rename %s into place: %s", f->path, f->tmp_path, strerror(e));
    }
    if (!f->in_place) {
        if (e != 0)
            unlink(f->tmp_path);
        accsim_cleanup_forget(f->slot);
        f->slot = -1;
    }
    if (e == -1)
        return accsim_fail(err, "%s: write error", f->path);
    if (e != 0)
        return accsim_fail(err, "%s: write error: %s", f->path, strerror(e));
    return 0;
}

void accsim_outfile_abort(accsim_outfile *f)
{
    if (f->is_stdout || !f->fp)
        return;
    fclose(f->fp);
    f->fp = NULL;
    if (!f->in_place) {
        unlink(f->tmp_path);
        accsim_cleanup_forget(f->slot);
        f->slot = -1;
    }
}

/* ---- report directories ------------------------------------------------------ */

/* 1 when DIR holds no entries, 0 when it does, -1 when it cannot be read. */
static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int empty = 1;
    struct dirent *e;
    while (empty && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}

static int has_file(const char *dir, const char *name)
{
    char path[ACCSIM_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* An earlier report: the marker, or (written before the marker existed) the
 * plot script with a study's summary or hist's ranges table. */
static int is_report(const char *dir)
{
    return has_file(dir, ACCSIM_REPORT_MARKER) ||
           (has_file(dir, "plots.gp") && (has_file(dir, "summary.md") || has_file(dir, "hist_ranges.csv")));
}

/* Where DIR's report goes (symbolic links followed, an existing directory
 * canonical), whether something is there, and the checks of
 * accsim_reportdir_check. */
static int report_target(const char *dir, char *target, size_t size, int *exists, accsim_error *err)
{
    if (!dir || !*dir)
        return accsim_fail(err, "empty output directory name");
    if (strlen(dir) >= 1024)
        return accsim_fail(err, "%s: path too long", dir);
    struct stat st;
    char resolved[ACCSIM_PATH_MAX];
    char trimmed[1024];
    snprintf(trimmed, sizeof trimmed, "%s", dir);
    for (size_t n = strlen(trimmed); n > 1 && trimmed[n - 1] == '/'; n--)
        trimmed[n - 1] = '\0';
    if (resolve_target(trimmed, resolved, sizeof resolved, &st, exists, err) != 0)
        return -1;
    if (*exists) {
        if (!S_ISDIR(st.st_mode))
            return accsim_fail(err, "%s: exists and is not a directory", dir);
        char canon[PATH_MAX];
        if (!realpath(resolved, canon))
            return accsim_fail(err, "%s: %s", dir, strerror(errno));
        if (strcmp(canon, "/") == 0)
            return accsim_fail(err, "%s: cannot replace the root directory", dir);
        if (strlen(canon) >= size)
            return accsim_fail(err, "%s: path too long", dir);
        snprintf(target, size, "%s", canon);
        int empty = dir_is_empty(target);
        if (empty < 0)
            return accsim_fail(err, "%s: cannot read directory: %s", dir, strerror(errno));
        if (!empty && !is_report(target))
            return accsim_fail(err,
                               "%s: directory exists, is not empty and is not an accsim report (no %s "
                               "in it); refusing to replace it: remove it or choose another --out",
                               dir, ACCSIM_REPORT_MARKER);
    } else {
        if (strlen(resolved) >= size)
            return accsim_fail(err, "%s: path too long", dir);
        snprintf(target, size, "%s", resolved);
    }
    /* The parent must take the temporary directory and the rename: its
     * nearest existing ancestor when it is still to be created. */
    char parent[ACCSIM_PATH_MAX];
    parent_of(target, parent, sizeof parent);
    for (;;) {
        if (stat(parent, &st) == 0 || errno != ENOENT || strcmp(parent, ".") == 0 ||
            strcmp(parent, "/") == 0)
            break;
        char up[ACCSIM_PATH_MAX];
        parent_of(parent, up, sizeof up);
        snprintf(parent, sizeof parent, "%s", up);
    }
    return check_dir_writable(dir, parent, err);
}

int accsim_reportdir_check(const char *dir, accsim_error *err)
{
    char target[ACCSIM_PATH_MAX];
    int exists;
    return report_target(dir, target, sizeof target, &exists, err);
}

int accsim_reportdir_begin(accsim_reportdir *r, const char *dir, accsim_error *err)
{
    memset(r, 0, sizeof *r);
    r->slot = -1;
    int exists;
    if (report_target(dir, r->target, sizeof r->target, &exists, err) != 0)
        return -1;
    snprintf(r->path, sizeof r->path, "%s", dir);
    char parent[ACCSIM_PATH_MAX];
    parent_of(r->target, parent, sizeof parent);
    if (!exists && accsim_mkdirs(parent, err) != 0)
        return -1;
    const char *base = strrchr(r->target, '/');
    base = base ? base + 1 : r->target;
    int n = snprintf(r->tmp, sizeof r->tmp, "%s/.%s.tmp.XXXXXX", parent, base);
    if (n < 0 || (size_t)n >= sizeof r->tmp - 64) {
        r->tmp[0] = '\0';
        return accsim_fail(err, "%s: path too long", dir);
    }
    if (accsim_cleanup_mkdtemp(r->tmp, &r->slot) != 0) {
        int e = errno;
        r->tmp[0] = '\0';
        return accsim_fail(err, "%s: cannot create a temporary directory in %s: %s", dir, parent, strerror(e));
    }
    return 0;
}

void accsim_reportdir_abort(accsim_reportdir *r)
{
    if (!r->tmp[0])
        return;
    accsim_remove_tree(r->tmp);
    accsim_cleanup_forget(r->slot);
    r->slot = -1;
    r->tmp[0] = '\0';
}

static int write_marker(const char *dir, accsim_error *err)
{
    char path[ACCSIM_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, ACCSIM_REPORT_MARKER);
    static const char text[] = "accsim report directory: the next accsim study or hist with --out here "
                               "replaces it whole.\n";
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return accsim_fail(err, "%s: cannot write: %s", path, strerror(errno));
    ssize_t w = write(fd, text, sizeof text - 1);
    int e = w < 0 ? errno : w != (ssize_t)(sizeof text - 1) ? ENOSPC : 0;
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (e != 0)
        return accsim_fail(err, "%s: write error: %s", path, strerror(e));
    return 0;
}

/* Swaps the new report with the earlier one where renameat2 cannot: the old
 * one moves to a fresh temporary name, the new one into place, with the
 * signals blocked so that no interrupt can leave neither in place. */
static int swap_by_two_renames(accsim_reportdir *r, char *old, size_t size, int *old_slot,
                               accsim_error *err)
{
    char parent[ACCSIM_PATH_MAX];
    parent_of(r->target, parent, sizeof parent);
    const char *base = strrchr(r->target, '/');
    base = base ? base + 1 : r->target;
    int n = snprintf(old, size, "%s/.%s.old.XXXXXX", parent, base);
    if (n < 0 || (size_t)n >= size)
        return accsim_fail(err, "%s: path too long", r->path);
    sigset_t mask;
    accsim_signals_block(&mask);
    int rc = -1;
    if (!mkdtemp(old)) {
        accsim_fail(err, "%s: cannot create a temporary directory in %s: %s", r->path, parent, strerror(errno));
    } else if (rename(r->target, old) != 0) {
        accsim_fail(err, "%s: cannot move the earlier report aside: %s", r->path, strerror(errno));
        rmdir(old);
    } else if (rename(r->tmp, r->target) != 0) {
        accsim_fail(err, "%s: cannot rename the report into place: %s", r->path, strerror(errno));
        rename(old, r->target);
    } else if (accsim_cleanup_add_dir(old, old_slot) == 0) {
        rc = 0;
    } else {
        rc = 0;
        *old_slot = -1;
    }
    accsim_signals_restore(&mask);
    return rc;
}

int accsim_reportdir_commit(accsim_reportdir *r, accsim_error *err)
{
    if (!r->tmp[0])
        return accsim_fail(err, "%s: no report being written", r->path);
    if (write_marker(r->tmp, err) != 0) {
        accsim_reportdir_abort(r);
        return -1;
    }
    struct stat st;
    int exists = lstat(r->target, &st) == 0;
    mode_t mode = exists && S_ISDIR(st.st_mode) ? st.st_mode & 07777 : 0777 & ~current_umask();
    if (chmod(r->tmp, mode) != 0) {
        accsim_fail(err, "%s: cannot set the mode of %s: %s", r->path, r->tmp, strerror(errno));
        accsim_reportdir_abort(r);
        return -1;
    }
    if (!exists) {
        int rc = renameat2(AT_FDCWD, r->tmp, AT_FDCWD, r->target, RENAME_NOREPLACE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
            rc = rename(r->tmp, r->target);
        if (rc != 0) {
            accsim_fail(err, "%s: cannot rename the report into place: %s", r->path, strerror(errno));
            accsim_reportdir_abort(r);
            return -1;
        }
        accsim_cleanup_forget(r->slot);
        r->slot = -1;
        r->tmp[0] = '\0';
        return 0;
    }
    /* Something is there: replace it only if it still may be replaced. */
    int empty = S_ISDIR(st.st_mode) ? dir_is_empty(r->target) : -1;
    if (!S_ISDIR(st.st_mode) || empty < 0 || (!empty && !is_report(r->target))) {
        accsim_fail(err, "%s: changed while the report was being written (no longer an empty directory "
                         "or an accsim report); the new report was not written", r->path);
        accsim_reportdir_abort(r);
        return -1;
    }
    if (renameat2(AT_FDCWD, r->tmp, AT_FDCWD, r->target, RENAME_EXCHANGE) == 0) {
        /* r->tmp now holds the earlier report, still registered for removal. */
        accsim_reportdir_abort(r);
        return 0;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
        accsim_fail(err, "%s: cannot swap the report into place: %s", r->path, strerror(errno));
        accsim_reportdir_abort(r);
        return -1;
    }
    char old[ACCSIM_PATH_MAX];
    int old_slot = -1;
    if (swap_by_two_renames(r, old, sizeof old, &old_slot, err) != 0) {
        accsim_reportdir_abort(r);
        return -1;
    }
    accsim_cleanup_forget(r->slot);
    r->slot = -1;
    r->tmp[0] = '\0';
    accsim_remove_tree(old);
    accsim_cleanup_forget(old_slot);
    return 0;
}

int accsim_mkdirs(const char *dir, accsim_error *err)
{
    char path[1024];
    if (strlen(dir) >= sizeof path)
        return accsim_fail(err, "%s: path too long", dir);
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return accsim_fail(err, "%s: cannot create directory: %s", path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return accsim_fail(err, "%s: cannot create directory: %s", path, strerror(errno));
    return 0;
}

static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

int accsim_open_regular(const char *path, FILE **fp, long long *size, accsim_error *err)
{
    *fp = NULL;
    if (!path || !*path)
        return accsim_fail(err, "empty file name");
    /* O_NONBLOCK: opening a FIFO for reading must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return accsim_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return accsim_fail(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return accsim_fail(err, "%s: is %s, expected a regular file", path, file_kind(st.st_mode));
    }
    /* Regular files never block; clear the flag so reads behave normally. */
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    *fp = fdopen(fd, "rb");
    if (!*fp) {
        int e = errno;
        close(fd);
        return accsim_fail(err, "%s: cannot open: %s", path, strerror(e));
    }
    *size = (long long)st.st_size;
    return 0;
}

int accsim_read_file(const char *path, size_t max_bytes, char **data, size_t *size,
                     accsim_error *err)
{
    *data = NULL;
    *size = 0;
    FILE *fp;
    long long file_size = 0;
    if (accsim_open_regular(path, &fp, &file_size, err) != 0)
        return -1;
    if (file_size < 0 || (unsigned long long)file_size > max_bytes) {
        fclose(fp);
        return accsim_fail(err, "%s: %lld bytes, more than the %zu this file may have", path,
                           file_size, max_bytes);
    }
    char *buf = malloc((size_t)file_size + 1);
    if (!buf) {
        fclose(fp);
        return accsim_fail(err, "%s: out of memory for %lld bytes", path, file_size);
    }
    size_t got = fread(buf, 1, (size_t)file_size, fp);
    /* A file that grew while we read is cut at the size we checked; one that
     * shrank is a read error. */
    int failed = ferror(fp) || got != (size_t)file_size;
    fclose(fp);
    if (failed) {
        free(buf);
        return accsim_fail(err, "%s: read error (%zu of %lld bytes)", path, got, file_size);
    }
    buf[got] = '\0';
    *data = buf;
    *size = got;
    return 0;
}
