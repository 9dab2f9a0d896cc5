/* A small table type: one definition, written as Markdown, CSV and JSON. */
#ifndef ACCSIM_ANALYSIS_TABLE_H
#define ACCSIM_ANALYSIS_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#include "accsim/error.h"

#define TABLE_MAX_COLS 256 /* per-layer columns for up to ACCSIM_MAX_LAYERS MAC layers */

typedef struct table {
    char name[64];   /* file stem: NAME.csv, NAME.json */
    char title[160];
    int ncols;
    char *cols[TABLE_MAX_COLS];
    size_t nrows, cap;
    char **cells;    /* [nrows][ncols] */
} table;

void table_init(table *t, const char *name, const char *title, const char *columns /* comma-separated */);
/* Appends a row; values are given as one string with fields separated by '|'. */
void table_row(table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void table_free(table *t);

void table_markdown(const table *t, FILE *out);
void table_text(const table *t, FILE *out); /* aligned columns for the terminal */
int table_write_csv(const table *t, const char *path, accsim_error *err);
json_object *table_json(const table *t); /* array of objects; numeric cells as numbers */
int table_write_json(const table *t, const char *path, accsim_error *err);
/* DIR/NAME.csv and DIR/NAME.json */
int table_write_both(const table *t, const char *dir, accsim_error *err);
int json_write_file(json_object *o, const char *path, accsim_error *err);
json_object *json_int_array(const int *v, int n); /* [v[0], .., v[n-1]] */

#endif
