/* The command line on bad input: every problem gets a clear message naming the
 * file or option, a non-zero exit, and no half-written result file. And one
 * good run of each kind: run, and the whole study on a few images. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accsim/dataset.h"
#include "testdata.h"

static char output[65536];

typedef struct fixture {
    char *dir;
    char model[1100];
    char data[1100];
} fixture;

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp, "cannot write %s", path);
    fputs(text, fp);
    fclose(fp);
}

/* Replaces the file NAME of the fixture's model with TEXT. */
static void write_model_file(const fixture *f, const char *name, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", f->model, name);
    write_file(path, text);
}

/* A random model on disk and a synthetic CIFAR-10 test batch of the right size. */
static void make_fixture(fixture *f)
{
    f->dir = testdata_tempdir();
    snprintf(f->model, sizeof f->model, "%s/model", f->dir);
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    cr_assert_eq(mkdir(f->model, 0777), 0);
    cr_assert_eq(mkdir(f->data, 0777), 0);
    accsim_model m;
    accsim_error err;
    accsim_model_random(&m, 7);
    cr_assert_eq(accsim_model_save(&m, f->model, &err), 0, "%s", err.message);
    accsim_model_free(&m);
    char path[1200];
    snprintf(path, sizeof path, "%s/test_batch.bin", f->data);
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    uint8_t record[ACCSIM_CIFAR_RECORD];
    uint64_t state = 1;
    for (int r = 0; r < ACCSIM_CIFAR_PER_BATCH; r++) {
        for (int i = 0; i < ACCSIM_CIFAR_RECORD; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            record[i] = (uint8_t)(state >> 56);
        }
        record[0] = (uint8_t)(r % 10);
        fwrite(record, 1, sizeof record, fp);
    }
    fclose(fp);
}

static void drop_fixture(fixture *f)
{
    testdata_remove_tree(f->dir);
    free(f->dir);
}

static int run(const fixture *f, const char *extra)
{
    char args[8192];
    snprintf(args, sizeof args, "run --engine cpu --quiet --model %s --data %s %s", f->model,
             f->data, extra);
    return testdata_run_cli(args, output, sizeof output);
}

#define expect_failure(status, ...)                                                               \
    do {                                                                                          \
        cr_expect_neq((status), 0, "expected a non-zero exit; output:\n%s", output);              \
        const char *needles[] = {__VA_ARGS__};                                                    \
        for (size_t n = 0; n < sizeof needles / sizeof needles[0]; n++)                           \
            cr_expect_not_null(strstr(output, needles[n]), "expected '%s' in:\n%s", needles[n],   \
                               output);                                                           \
    } while (0)

Test(cli, good_run_writes_json_and_outputs)
{
    fixture f;
    make_fixture(&f);
    char args[2400];
    snprintf(args, sizeof args, "--limit 12 --bits 14 --json %s/r.json --dump-outputs %s/o.csv",
             f.dir, f.dir);
    cr_assert_eq(run(&f, args), 0, "%s", output);
    char path[1200];
    snprintf(path, sizeof path, "%s/r.json", f.dir);
    json_object *root = json_object_from_file(path);
    cr_assert_not_null(root);
    json_object *v;
    cr_assert(json_object_object_get_ex(root, "images", &v));
    cr_expect_eq(json_object_get_int(v), 12);
    cr_assert(json_object_object_get_ex(root, "layers", &v));
    cr_expect_eq(json_object_array_length(v), 5);
    json_object *conv1 = json_object_array_get_idx(v, 0), *sat;
    cr_assert(json_object_object_get_ex(conv1, "saturations", &sat));
    cr_expect_gt(json_object_get_int64(sat), 0, "a random model at 14 bits saturates conv1");
    cr_assert(json_object_object_get_ex(root, "energy", &v));
    json_object_put(root);

    snprintf(path, sizeof path, "%s/o.csv", f.dir);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    int lines = 0;
    char line[512];
    while (fgets(line, sizeof line, fp))
        lines++;
    fclose(fp);
    cr_expect_eq(lines, 13, "header and 12 images");

    snprintf(args, sizeof args, "--images 3,7 --json -");
    cr_assert_eq(run(&f, args), 0, "%s", output);
    cr_expect_not_null(strstr(output, "\"outputs\""));
    cr_expect_not_null(strstr(output, "\"7\""));
    drop_fixture(&f);
}

Test(cli, truncated_cifar_batch)
{
    fixture f;
    make_fixture(&f);
    char path[1200];
    snprintf(path, sizeof path, "%s/test_batch.bin", f.data);
    cr_assert_eq(truncate(path, 3073 * 100 + 5), 0);
    char args[2400];
    snprintf(args, sizeof args, "--json %s/r.json", f.dir);
    expect_failure(run(&f, args), "test_batch.bin", "truncated");
    snprintf(path, sizeof path, "%s/r.json", f.dir);
    struct stat st;
    cr_expect_neq(stat(path, &st), 0, "no result file after a failed run");
    drop_fixture(&f);
}

Test(cli, missing_data_says_where_it_looked)
{
    fixture f;
    make_fixture(&f);
    char args[2400];
    snprintf(args, sizeof args, "run --engine cpu --model %s --data %s/nowhere", f.model, f.dir);
    expect_failure(testdata_run_cli(args, output, sizeof output), "nowhere", "fetch_cifar10");
    drop_fixture(&f);
}

Test(cli, wrong_weight_count)
{
    fixture f;
    make_fixture(&f);
    write_model_file(&f, "fc3.weight.csv", "1.0e+00\n2.0e+00\n");
    expect_failure(run(&f, ""), "fc3.weight.csv", "expected 840 values, found 2");
    drop_fixture(&f);
}

Test(cli, weight_outside_int8)
{
    fixture f;
    make_fixture(&f);
    char path[1200];
    snprintf(path, sizeof path, "%s/conv1.weight.csv", f.model);
    FILE *fp = fopen(path, "w");
    for (int i = 0; i < 450; i++)
        fprintf(fp, "%.18e\n", i == 17 ? 200.0 : 1.0);
    fclose(fp);
    expect_failure(run(&f, ""), "conv1.weight.csv", "value 18", "outside int8");
    drop_fixture(&f);
}

Test(cli, weight_not_a_number)
{
    fixture f;
    make_fixture(&f);
    write_model_file(&f, "fc3.bias.csv", "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n");
    expect_failure(run(&f, ""), "fc3.bias.csv", "line 3", "not a decimal number");
    drop_fixture(&f);
}

static void write_scales(const fixture *f, const char *conv2_scale)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"input_scale\": 128.0, \"conv1_output_scale\": 0.001, \"conv2_output_scale\": %s,"
             " \"fc1_output_scale\": 0.001, \"fc2_output_scale\": 0.001, \"fc3_output_scale\": 0.001}",
             conv2_scale);
    write_model_file(f, "scale.json", text);
}

Test(cli, nan_scale)
{
    fixture f;
    make_fixture(&f);
    /* NaN is not JSON (a negative scale is JSON but not a scale: below). */
    write_scales(&f, "NaN");
    expect_failure(run(&f, ""), "scale.json", "'NaN' is not a JSON value");
    drop_fixture(&f);
}

Test(cli, negative_scale)
{
    fixture f;
    make_fixture(&f);
    write_scales(&f, "-0.5");
    expect_failure(run(&f, ""), "scale.json", "conv2_output_scale", "positive");
    drop_fixture(&f);
}

Test(cli, missing_scale_key)
{
    fixture f;
    make_fixture(&f);
    write_model_file(&f, "scale.json", "{\"input_scale\": 128.0}");
    expect_failure(run(&f, ""), "scale.json", "conv1_output_scale");
    drop_fixture(&f);
}

Test(cli, widths_outside_2_to_32)
{
    fixture f;
    make_fixture(&f);
    expect_failure(run(&f, "--bits 40"), "--bits", "40", "outside 2..32");
    expect_failure(run(&f, "--bits 1"), "--bits", "outside 2..32");
    expect_failure(run(&f, "--bits 18,16,17"), "--bits", "five");
    expect_failure(run(&f, "--bits 16,x,16,16,16"), "--bits");
    cr_expect_eq(run(&f, "--bits 2 --limit 2"), 0, "B = 2 is allowed: %s", output);
    cr_expect_eq(run(&f, "--bits 32,2,32,2,32 --limit 2"), 0, "%s", output);
    drop_fixture(&f);
}

Test(cli, unknown_options_and_commands)
{
    expect_failure(testdata_run_cli("run --no-such-option", output, sizeof output),
                   "--no-such-option");
    expect_failure(testdata_run_cli("frobnicate", output, sizeof output), "frobnicate");
    expect_failure(testdata_run_cli("run --split validation", output, sizeof output),
                   "validation", "test, train or both");
    expect_failure(testdata_run_cli("run --overflow clip", output, sizeof output), "clip");
    expect_failure(testdata_run_cli("run --engine gpu", output, sizeof output), "gpu");
    expect_failure(testdata_run_cli("search --span x", output, sizeof output), "--span", "x");
    expect_failure(testdata_run_cli("search --span 40", output, sizeof output), "--span", "40");
}

Test(cli, image_index_out_of_range)
{
    fixture f;
    make_fixture(&f);
    expect_failure(run(&f, "--images 5,10000"), "10000", "outside");
    drop_fixture(&f);
}

Test(cli, unknown_device)
{
    fixture f;
    make_fixture(&f);
    char args[2400];
    snprintf(args, sizeof args, "run --engine opencl --device no-such-device-xyz --model %s --data %s",
             f.model, f.data);
    int status = testdata_run_cli(args, output, sizeof output);
    cr_expect_neq(status, 0, "%s", output);
#ifdef ACCSIM_HAVE_OPENCL
    cr_expect_not_null(strstr(output, "no-such-device-xyz"), "the error names the device: %s", output);
#else
    cr_expect_not_null(strstr(output, "without OpenCL"), "%s", output);
#endif
    drop_fixture(&f);
}

Test(cli, energy_command)
{
    cr_assert_eq(testdata_run_cli("energy --bits 18,16,17,16,17", output, sizeof output), 0);
    cr_expect_not_null(strstr(output, "204032186"), "%s", output);
    cr_assert_eq(testdata_run_cli("energy --bits 17 --json -", output, sizeof output), 0);
    cr_expect_not_null(strstr(output, "199829594"), "%s", output);
}

/* The whole study on 300 images of each split with the shipped model: the
 * report's tables, the proof beyond the search box, and (with gnuplot) the
 * plots. */
Test(cli, study_writes_a_report, .timeout = 600)
{
    const char *data = testdata_cifar_dir(), *model = testdata_shipped_model_dir();
    if (!data || !model)
        cr_skip_test("CIFAR-10 or data/lenet5-cifar10 not found (set ACCSIM_DATA)");
    /* OpenCL when there is a device; PoCL's allocations outlive the run, which
     * LeakSanitizer would report in the sanitized build. */
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    char *dir = testdata_tempdir();
    char args[2400], path[2600];
    snprintf(args, sizeof args, "study --quiet --limit 300 --model %s --data %s --out %s/report",
             model, data, dir);
    cr_assert_eq(testdata_run_cli(args, output, sizeof output), 0, "%s", output);
    static const char *files[] = {"summary.md",  "sweep.csv",   "sweep.json", "minwidth.json",
                                  "pareto.csv",  "energy.json", "ranges.csv", "check_images.csv",
                                  "timing.json", "plots.gp"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/report/%s", dir, files[i]);
        cr_assert(access(path, R_OK) == 0, "missing %s", path);
    }
    snprintf(path, sizeof path, "%s/report/summary.md", dir);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    static char md[1 << 18];
    size_t n = fread(md, 1, sizeof md - 1, fp);
    md[n] = '\0';
    fclose(fp);
    cr_expect_not_null(strstr(md, "## Approach C"));
    cr_expect_not_null(strstr(md, "the answer is the least energy over all settings"),
                       "the proof beyond the box is stated");
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
        snprintf(path, sizeof path, "%s/report/sweep.png", dir);
        cr_expect(access(path, R_OK) == 0, "missing %s", path);
    }
    testdata_remove_tree(dir);
    free(dir);
}

/* accsim bounds on a random model: every data-free bound is sound, so no
 * layer can need more on real images than the exact worst case (safe), and
 * the peers' bounds never undercut it. */
Test(cli, bounds_are_sound)
{
    fixture f;
    make_fixture(&f);
    char args[8192], path[1200];
    snprintf(path, sizeof path, "%s/b.json", f.dir);
    snprintf(args, sizeof args, "bounds --engine cpu --quiet --limit 200 --model %s --data %s --json %s",
             f.model, f.data, path);
    cr_assert_eq(testdata_run_cli(args, output, sizeof output), 0, "%s", output);
    json_object *root = json_object_from_file(path), *rows;
    cr_assert_not_null(root);
    cr_assert(json_object_object_get_ex(root, "rows", &rows));
    cr_assert_eq(json_object_array_length(rows), 5);
    for (size_t i = 0; i < 5; i++) {
        json_object *row = json_object_array_get_idx(rows, i), *v;
        int value[5];
        const char *keys[5] = {"safe", "a2q", "finn", "needed", "a2q_datatype"};
        for (int k = 0; k < 5; k++) {
            cr_assert(json_object_object_get_ex(row, keys[k], &v), "row %zu: no %s", i, keys[k]);
            value[k] = json_object_get_int(v);
        }
        cr_expect_leq(value[3], value[0], "row %zu: needed %d > safe %d", i, value[3], value[0]);
        cr_expect_geq(value[1], value[0], "row %zu: A2Q below safe", i);
        cr_expect_geq(value[2], value[0], "row %zu: FINN below safe", i);
        cr_expect_geq(value[4], value[1], "row %zu: the data-type bound is the looser one", i);
    }
    json_object_put(root);
    drop_fixture(&f);
}
