/* Strict JSON parsing: json-c's strict tokener, then one pass of our own for
 * what it still lets through (duplicate keys, single quotes, NaN/Infinity). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/json_strict.h"

#define MAX_DEPTH 64

static size_t line_of(const char *text, size_t offset)
{
    size_t line = 1;
    for (size_t i = 0; i < offset; i++)
        line += text[i] == '\n';
    return line;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Why json-c stopped at OFFSET, in words. */
static const char *describe_stop(const char *text, size_t size, size_t offset,
                                 enum json_tokener_error jerr)
{
    if (offset < size && (text[offset] == '}' || text[offset] == ']')) {
        size_t k = offset;
        while (k > 0 && is_space(text[k - 1]))
            k--;
        if (k > 0 && text[k - 1] == ',')
            return "trailing comma";
    }
    if (offset < size && text[offset] == '/')
        return "comments are not allowed in JSON";
    if (jerr == json_tokener_continue || offset >= size)
        return "unexpected end of file (an object or array is not closed)";
    return json_tokener_error_desc(jerr);
}

typedef struct key_span {
    const char *start;
    size_t length;
} key_span;

typedef struct frame {
    bool is_object;
    bool expect_key; /* the next string in this object is a key */
    size_t first_key; /* index into the key stack */
} frame;

/* Returns the end of the string starting at text[i] == '"' (the closing quote). */
static size_t string_end(const char *text, size_t size, size_t i)
{
    for (i++; i < size && text[i] != '"'; i++)
        if (text[i] == '\\')
            i++;
    return i;
}

/* What json-c accepted but JSON forbids. TEXT has already parsed, so its
 * brackets balance and its strings close. */
static int check_extras(const char *name, const char *text, size_t size, accsim_error *err)
{
    frame stack[MAX_DEPTH + 1];
    int depth = 0;
    key_span *keys = NULL;
    size_t key_count = 0, key_cap = 0;
    int rc = 0;
    for (size_t i = 0; i < size && rc == 0; i++) {
        char c = text[i];
        if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH) {
                rc = accsim_fail(err, "%s: line %zu: nested more than %d deep", name,
                                 line_of(text, i), MAX_DEPTH);
                break;
            }
            stack[depth++] = (frame){.is_object = c == '{', .expect_key = c == '{',
                                     .first_key = key_count};
        } else if (c == '}' || c == ']') {
            if (depth > 0)
                key_count = stack[--depth].first_key;
        } else if (c == ',') {
            if (depth > 0 && stack[depth - 1].is_object)
                stack[depth - 1].expect_key = true;
        } else if (c == '\'') {
            rc = accsim_fail(err, "%s: line %zu: strings must use double quotes", name,
                             line_of(text, i));
        } else if (c == '"') {
            size_t end = string_end(text, size, i);
            if (depth > 0 && stack[depth - 1].expect_key) {
                frame *f = &stack[depth - 1];
                f->expect_key = false;
                key_span key = {text + i + 1, end - i - 1};
                for (size_t k = f->first_key; k < key_count; k++)
                    if (keys[k].length == key.length && memcmp(keys[k].start, key.start, key.length) == 0) {
                        rc = accsim_fail(err, "%s: line %zu: duplicate key \"%.*s\"", name,
                                         line_of(text, i), (int)(key.length > 80 ? 80 : key.length),
                                         key.start);
                        break;
                    }
                if (rc == 0 && key_count == key_cap) {
                    key_cap = key_cap ? 2 * key_cap : 32;
                    key_span *grown = realloc(keys, key_cap * sizeof *keys);
                    if (!grown)
                        rc = accsim_fail(err, "%s: out of memory", name);
                    else
                        keys = grown;
                }
                if (rc == 0)
                    keys[key_count++] = key;
            }
            i = end;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            size_t j = i;
            while (j < size && ((text[j] >= 'a' && text[j] <= 'z') || (text[j] >= 'A' && text[j] <= 'Z')))
                j++;
            size_t n = j - i;
            bool literal = (n == 4 && (memcmp(text + i, "true", 4) == 0 || memcmp(text + i, "null", 4) == 0)) ||
                           (n == 5 && memcmp(text + i, "false", 5) == 0);
            if (!literal)
                rc = accsim_fail(err, "%s: line %zu: '%.*s' is not a JSON value", name,
                                 line_of(text, i), (int)(n > 40 ? 40 : n), text + i);
            i = j - 1;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            /* A number: its exponent letters are not words. */
            while (i + 1 < size && strchr("0123456789.eE+-", text[i + 1]) && text[i + 1] != '\0')
                i++;
        }
    }
    free(keys);
    return rc;
}

/* Whether text[0..length) alone is a complete JSON value: then what json-c
 * stopped at is junk after it, not a fault inside it. */
static bool prefix_is_json(const char *text, size_t length)
{
    json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
    if (!tok)
        return false;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *value = json_tokener_parse_ex(tok, text, (int)length);
    if (json_tokener_get_error(tok) == json_tokener_continue)
        value = json_tokener_parse_ex(tok, "", 1); /* end of input */
    bool complete = json_tokener_get_error(tok) == json_tokener_success;
    json_object_put(value);
    json_tokener_free(tok);
    return complete;
}

int accsim_json_parse(const char *name, const char *text, size_t size, json_object **out,
                      accsim_error *err)
{
    *out = NULL;
    const char *nul = memchr(text, '\0', size);
    if (nul)
        return accsim_fail(err, "%s: line %zu: NUL byte: not a JSON text file", name,
                           line_of(text, (size_t)(nul - text)));
    size_t first = 0;
    while (first < size && is_space(text[first]))
        first++;
    if (first == size)
        return accsim_fail(err, "%s: empty file, expected JSON", name);
    if (size > (size_t)INT32_MAX - 1)
        return accsim_fail(err, "%s: too large for JSON", name);
    json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
    if (!tok)
        return accsim_fail(err, "%s: out of memory", name);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *value = json_tokener_parse_ex(tok, text, (int)size);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t stop = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue && !value) {
        /* A bare literal at the very end (null, 12) completes only when the
         * tokener sees the end of input: give it one NUL, without reading
         * past the caller's buffer. */
        value = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        if (jerr == json_tokener_success)
            stop = size;
    }
    json_tokener_free(tok);
    if (jerr != json_tokener_success) {
        json_object_put(value);
        size_t at = stop < size ? stop : size;
        if (at > first && prefix_is_json(text, at))
            return accsim_fail(err, "%s: line %zu: unexpected text after the JSON value", name,
                               line_of(text, at));
        return accsim_fail(err, "%s: line %zu: %s", name, line_of(text, at),
                           describe_stop(text, size, at, jerr));
    }
    for (size_t i = stop; i < size; i++)
        if (!is_space(text[i])) {
            json_object_put(value);
            return accsim_fail(err, "%s: line %zu: unexpected text after the JSON value", name,
                               line_of(text, i));
        }
    if (check_extras(name, text, size, err) != 0) {
        json_object_put(value);
        return -1;
    }
    *out = value;
    return 0;
}

const char *accsim_json_type_name(const json_object *value)
{
    switch (json_object_get_type(value)) {
    case json_type_null: return "null";
    case json_type_boolean: return "true or false";
    case json_type_double:
    case json_type_int: return "a number";
    case json_type_object: return "an object";
    case json_type_array: return "an array";
    case json_type_string: return "a string";
    }
    return "an unknown value";
}
