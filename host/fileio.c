#include <errno.h>
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
