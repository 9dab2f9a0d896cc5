#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accsim/fileio.h"

int accsim_outfile_open(accsim_outfile *f, const char *path, accsim_error *err)
{
    memset(f, 0, sizeof *f);
    if (strcmp(path, "-") == 0) {
        f->fp = stdout;
        f->is_stdout = 1;
        snprintf(f->path, sizeof f->path, "-");
        return 0;
    }
    if (strlen(path) >= sizeof f->path)
        return accsim_fail(err, "%s: path too long", path);
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->tmp_path, sizeof f->tmp_path, "%s.tmp.%ld", path, (long)getpid());
    f->fp = fopen(f->tmp_path, "w");
    if (!f->fp)
        return accsim_fail(err, "%s: cannot write: %s", path, strerror(errno));
    return 0;
}

int accsim_outfile_commit(accsim_outfile *f, accsim_error *err)
{
    if (f->is_stdout) {
        if (fflush(stdout) != 0 || ferror(stdout))
            return accsim_fail(err, "standard output: write failed");
        return 0;
    }
    int failed = ferror(f->fp);
    if (fclose(f->fp) != 0)
        failed = 1;
    f->fp = NULL;
    if (failed) {
        remove(f->tmp_path);
        return accsim_fail(err, "%s: write failed: %s", f->path, strerror(errno));
    }
    if (rename(f->tmp_path, f->path) != 0) {
        int e = errno;
        remove(f->tmp_path);
        return accsim_fail(err, "%s: cannot rename into place: %s", f->path, strerror(e));
    }
    return 0;
}

void accsim_outfile_abort(accsim_outfile *f)
{
    if (f->is_stdout || !f->fp)
        return;
    fclose(f->fp);
    f->fp = NULL;
    remove(f->tmp_path);
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
    long long file_size;
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
