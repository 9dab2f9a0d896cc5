#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/fileio.h"
#include "analysis/table.h"

void table_init(table *t, const char *name, const char *title, const char *columns)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->title, sizeof t->title, "%s", title);
    char *copy = strdup(columns), *save = NULL;
    for (char *c = strtok_r(copy, ",", &save); c && t->ncols < TABLE_MAX_COLS;
         c = strtok_r(NULL, ",", &save))
        t->cols[t->ncols++] = strdup(c);
    free(copy);
}

void table_row(table *t, const char *fmt, ...)
{
    char buf[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (t->nrows == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->cells = realloc(t->cells, t->cap * (size_t)t->ncols * sizeof *t->cells);
        if (!t->cells)
            abort();
    }
    char **row = t->cells + t->nrows * (size_t)t->ncols;
    char *p = buf;
    for (int c = 0; c < t->ncols; c++) {
        char *bar = p ? strchr(p, '|') : NULL;
        if (bar)
            *bar = '\0';
        row[c] = strdup(p ? p : "");
        p = bar ? bar + 1 : NULL;
    }
    t->nrows++;
}

void table_free(table *t)
{
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    for (int c = 0; c < t->ncols; c++)
        free(t->cols[c]);
    memset(t, 0, sizeof *t);
}

static const char *cell(const table *t, size_t r, int c)
{
    return t->cells[r * (size_t)t->ncols + (size_t)c];
}

void table_markdown(const table *t, FILE *out)
{
    fprintf(out, "|");
    for (int c = 0; c < t->ncols; c++)
        fprintf(out, " %s |", t->cols[c]);
    fprintf(out, "\n|");
    for (int c = 0; c < t->ncols; c++)
        fprintf(out, "---|");
    fprintf(out, "\n");
    for (size_t r = 0; r < t->nrows; r++) {
        fprintf(out, "|");
        for (int c = 0; c < t->ncols; c++)
            fprintf(out, " %s |", cell(t, r, c));
        fprintf(out, "\n");
    }
}

void table_text(const table *t, FILE *out)
{
    int width[TABLE_MAX_COLS];
    for (int c = 0; c < t->ncols; c++) {
        width[c] = (int)strlen(t->cols[c]);
        for (size_t r = 0; r < t->nrows; r++)
            if ((int)strlen(cell(t, r, c)) > width[c])
                width[c] = (int)strlen(cell(t, r, c));
    }
    for (int c = 0; c < t->ncols; c++)
        fprintf(out, "%*s%s", width[c], t->cols[c], c + 1 < t->ncols ? "  " : "\n");
    for (size_t r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols; c++)
            fprintf(out, "%*s%s", width[c], cell(t, r, c), c + 1 < t->ncols ? "  " : "\n");
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int table_write_csv(const table *t, const char *path, accsim_error *err)
{
    accsim_outfile f;
    if (accsim_outfile_open(&f, path, err) != 0)
        return -1;
    for (int c = 0; c < t->ncols; c++) {
        csv_field(f.fp, t->cols[c]);
        fputc(c + 1 < t->ncols ? ',' : '\n', f.fp);
    }
    for (size_t r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols; c++) {
            csv_field(f.fp, cell(t, r, c));
            fputc(c + 1 < t->ncols ? ',' : '\n', f.fp);
        }
    return accsim_outfile_commit(&f, err);
}

static json_object *json_value(const char *s)
{
    char *end;
    if (*s) {
        long long v = strtoll(s, &end, 10);
        if (*end == '\0')
            return json_object_new_int64(v);
        strtod(s, &end);
        if (*end == '\0')
            return json_object_new_double_s(strtod(s, NULL), s);
    }
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
        return json_object_new_boolean(s[0] == 't');
    return json_object_new_string(s);
}

json_object *table_json(const table *t)
{
    json_object *a = json_object_new_array();
    for (size_t r = 0; r < t->nrows; r++) {
        json_object *o = json_object_new_object();
        for (int c = 0; c < t->ncols; c++)
            json_object_object_add(o, t->cols[c], json_value(cell(t, r, c)));
        json_object_array_add(a, o);
    }
    return a;
}

json_object *json_int_array(const int *v, int n)
{
    json_object *a = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_int(v[i]));
    return a;
}

int json_write_file(json_object *o, const char *path, accsim_error *err)
{
    accsim_outfile f;
    if (accsim_outfile_open(&f, path, err) != 0)
        return -1;
    fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE), f.fp);
    fputc('\n', f.fp);
    return accsim_outfile_commit(&f, err);
}

int table_write_json(const table *t, const char *path, accsim_error *err)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "table", json_object_new_string(t->name));
    json_object_object_add(root, "title", json_object_new_string(t->title));
    json_object_object_add(root, "rows", table_json(t));
    int rc = json_write_file(root, path, err);
    json_object_put(root);
    return rc;
}

int table_write_both(const table *t, const char *dir, accsim_error *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s.csv", dir, t->name);
    if (table_write_csv(t, path, err) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/%s.json", dir, t->name);
    return table_write_json(t, path, err);
}
