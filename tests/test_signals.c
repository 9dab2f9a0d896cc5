/* The cleanup registry and the signal handler (accsim/signals.h), and report
 * directories (accsim/fileio.h), at the exact moments the command-line tests
 * cannot time: a signal while a temporary file is open, while a report is half
 * written, and delivered to a worker thread rather than the main one. Each case
 * runs in a forked child that installs the handlers and raises the signal. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accsim/fileio.h"
#include "accsim/signals.h"
#include "testdata.h"

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp, "cannot write %s", path);
    fputs(text, fp);
    cr_assert_eq(fclose(fp), 0);
}

static char *read_small(const char *path, char *buf, size_t size)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    size_t n = fread(buf, 1, size - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Names in DIR, sorted and joined by spaces ("" when empty). */
static void list_dir(const char *dir, char *out, size_t size)
{
    char names[64][256];
    int n = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot list %s", dir);
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], by_name);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " " : "", names[i]);
}

/* DIR holds exactly these names (sorted, joined by spaces; "" when empty). */
static void expect_dir(const char *dir, const char *want)
{
    char names[2048];
    list_dir(dir, names, sizeof names);
    cr_assert_str_eq(names, want, "in %s", dir);
}

typedef void (*child_fn)(const char *dir);

/* Runs fn(dir) in a child with the handlers installed and its stderr in
 * DIR/../stderr.txt; returns the child's exit status (-1: killed). */
static int in_child(const char *dir, const char *errfile, child_fn fn)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(90);
        if (accsim_signals_install() != 0)
            _exit(91);
        fn(dir);
        _exit(92); /* the signal should have ended the child */
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

typedef struct setup {
    char *root;
    char dir[1100];
    char errfile[1100];
} setup;

static void make_setup(setup *s)
{
    s->root = testdata_tempdir();
    snprintf(s->dir, sizeof s->dir, "%s/out", s->root);
    snprintf(s->errfile, sizeof s->errfile, "%s/stderr.txt", s->root);
    cr_assert_eq(mkdir(s->dir, 0777), 0);
}

static void free_setup(setup *s)
{
    testdata_remove_tree(s->root);
    free(s->root);
}

static void expect_message(const setup *s, const char *sig)
{
    char buf[512], want[128];
    cr_assert_not_null(read_small(s->errfile, buf, sizeof buf));
    snprintf(want, sizeof want, "accsim: interrupted (%s), temporary files removed\n", sig);
    cr_assert_str_eq(buf, want);
}

/* Runs fn(DIR) in a child that signal sig ends: its exit status must be
 * status, its stderr the handler's one line, and DIR must hold exactly left. */
static void expect_signal_cleanup(const setup *s, child_fn fn, int status, const char *sig,
                                  const char *left)
{
    cr_assert_eq(in_child(s->dir, s->errfile, fn), status);
    expect_dir(s->dir, left);
    expect_message(s, sig);
}

/* ---- an open temporary file ---------------------------------------------- */

static void open_file_then_term(const char *dir)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/r.json", dir);
    accsim_outfile f;
    accsim_error err;
    if (accsim_outfile_open(&f, path, &err) != 0)
        _exit(93);
    fputs("{\"half\": ", f.fp);
    fflush(f.fp);
    if (access(f.tmp_path, F_OK) != 0)
        _exit(94);
    raise(SIGTERM);
}

Test(signals, temp_file_removed_on_sigterm)
{
    setup s;
    make_setup(&s);
    expect_signal_cleanup(&s, open_file_then_term, 143, "SIGTERM", "");
    free_setup(&s);
}

/* ---- a half-written report ------------------------------------------------- */

static void report_then_int(const char *dir)
{
    char out[1200], path[1400];
    snprintf(out, sizeof out, "%s/report", dir);
    accsim_reportdir r;
    accsim_error err;
    if (accsim_reportdir_begin(&r, out, &err) != 0)
        _exit(93);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/t%d.csv", r.tmp, i);
        accsim_outfile f;
        if (accsim_outfile_open(&f, path, &err) != 0)
            _exit(94);
        fputs("a,b\n", f.fp);
        if (i < 2 && accsim_outfile_commit(&f, &err) != 0)
            _exit(95);
    }
    /* two files in place, one temporary file open */
    raise(SIGINT);
}

Test(signals, half_report_removed_on_sigint)
{
    setup s;
    make_setup(&s);
    expect_signal_cleanup(&s, report_then_int, 130, "SIGINT", "");
    free_setup(&s);
}

static void make_old_report(const char *dir)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/report", dir);
    cr_assert_eq(mkdir(path, 0750), 0);
    snprintf(path, sizeof path, "%s/report/" ACCSIM_REPORT_MARKER, dir);
    write_file(path, "old\n");
    snprintf(path, sizeof path, "%s/report/summary.md", dir);
    write_file(path, "OLD\n");
}

Test(signals, earlier_report_kept_on_signal)
{
    setup s;
    make_setup(&s);
    make_old_report(s.dir);
    expect_signal_cleanup(&s, report_then_int, 130, "SIGINT", "report");
    char buf[64], path[1200];
    snprintf(path, sizeof path, "%s/report", s.dir);
    expect_dir(path, ".accsim-report summary.md");
    snprintf(path, sizeof path, "%s/report/summary.md", s.dir);
    cr_assert_str_eq(read_small(path, buf, sizeof buf), "OLD\n");
    free_setup(&s);
}

/* ---- the signal lands on a worker thread ------------------------------------ */

static void *raise_on_worker(void *arg)
{
    (void)arg;
    /* pthread_kill to itself: the handler runs on this thread and must hand
     * the work to the main thread, which alone owns the registry. */
    pthread_kill(pthread_self(), SIGTERM);
    return NULL;
}

static void report_then_worker_term(const char *dir)
{
    char out[1200], path[1400];
    snprintf(out, sizeof out, "%s/report", dir);
    accsim_reportdir r;
    accsim_error err;
    if (accsim_reportdir_begin(&r, out, &err) != 0)
        _exit(93);
    snprintf(path, sizeof path, "%s/t.csv", r.tmp);
    accsim_outfile f;
    if (accsim_outfile_open(&f, path, &err) != 0)
        _exit(94);
    pthread_t t;
    if (pthread_create(&t, NULL, raise_on_worker, NULL) != 0)
        _exit(95);
    pthread_join(t, NULL);
    /* the forwarded signal is handled here at the latest */
    struct timespec second = {1, 0};
    nanosleep(&second, NULL);
}

Test(signals, signal_on_worker_thread_cleaned_by_main)
{
    setup s;
    make_setup(&s);
    make_old_report(s.dir);
    expect_signal_cleanup(&s, report_then_worker_term, 143, "SIGTERM", "report");
    free_setup(&s);
}

/* ---- report directories without signals -------------------------------------- */

static void write_report(const char *out, const char *name, const char *text)
{
    accsim_reportdir r;
    accsim_error err;
    cr_assert_eq(accsim_reportdir_begin(&r, out, &err), 0, "%s", err.message);
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", r.tmp, name);
    write_file(path, text);
    cr_assert_eq(accsim_reportdir_commit(&r, &err), 0, "%s", err.message);
}

Test(reportdir, replaces_earlier_report_whole)
{
    setup s;
    make_setup(&s);
    make_old_report(s.dir);
    char out[1200];
    snprintf(out, sizeof out, "%s/report", s.dir);
    write_report(out, "new.csv", "x\n");
    expect_dir(out, ".accsim-report new.csv");
    struct stat st;
    cr_assert_eq(stat(out, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0750, "mode %o", st.st_mode & 0777);
    expect_dir(s.dir, "report");
    free_setup(&s);
}

Test(reportdir, refuses_foreign_directory)
{
    setup s;
    make_setup(&s);
    char out[1200], path[1400];
    snprintf(out, sizeof out, "%s/mine", s.dir);
    cr_assert_eq(mkdir(out, 0777), 0);
    snprintf(path, sizeof path, "%s/notes.txt", out);
    write_file(path, "mine\n");
    accsim_reportdir r;
    accsim_error err;
    cr_assert_eq(accsim_reportdir_begin(&r, out, &err), -1);
    cr_assert_not_null(strstr(err.message, "not an accsim report"), "%s", err.message);
    expect_dir(s.dir, "mine");
    expect_dir(out, "notes.txt");
    free_setup(&s);
}

Test(reportdir, abort_leaves_nothing)
{
    setup s;
    make_setup(&s);
    char out[1200], path[1400];
    snprintf(out, sizeof out, "%s/report", s.dir);
    accsim_reportdir r;
    accsim_error err;
    cr_assert_eq(accsim_reportdir_begin(&r, out, &err), 0, "%s", err.message);
    snprintf(path, sizeof path, "%s/a.csv", r.tmp);
    write_file(path, "x\n");
    accsim_reportdir_abort(&r);
    accsim_reportdir_abort(&r); /* twice is harmless */
    expect_dir(s.dir, "");
    free_setup(&s);
}

Test(signals, remove_tree_does_not_follow_links)
{
    setup s;
    make_setup(&s);
    char path[1400], outside[1200];
    snprintf(outside, sizeof outside, "%s/outside", s.root);
    cr_assert_eq(mkdir(outside, 0777), 0);
    snprintf(path, sizeof path, "%s/keep.txt", outside);
    write_file(path, "keep\n");
    snprintf(path, sizeof path, "%s/a", s.dir);
    cr_assert_eq(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/a/b", s.dir);
    cr_assert_eq(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/a/b/f.txt", s.dir);
    write_file(path, "f\n");
    snprintf(path, sizeof path, "%s/a/link", s.dir);
    cr_assert_eq(symlink(outside, path), 0);
    snprintf(path, sizeof path, "%s/a", s.dir);
    cr_assert_eq(accsim_remove_tree(path), 0);
    expect_dir(s.dir, "");
    expect_dir(outside, "keep.txt");
    cr_assert_eq(accsim_remove_tree(path), 0, "a missing path is not an error");
    free_setup(&s);
}
