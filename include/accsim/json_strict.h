/* Strict JSON for every file accsim reads (scale.json, network.json): RFC 8259
 * and nothing more, with messages a person understands. json-c alone, even in
 * its strict mode, accepts duplicate keys (the last wins), single quotes and
 * NaN; those are rejected here. */
#ifndef ACCSIM_JSON_STRICT_H
#define ACCSIM_JSON_STRICT_H

#include <stddef.h>

#include <json-c/json.h>

#include "accsim/error.h"

/* Parses TEXT (SIZE bytes; no terminator needed) read
 * from NAME as one JSON value followed only by white space. On success *out
 * holds the value (NULL for a literal null: callers check the type and say
 * what they expected). Errors read "NAME: line 3: trailing comma". */
int accsim_json_parse(const char *name, const char *text, size_t size, json_object **out,
                      accsim_error *err);

/* "an object", "an array", "a string", "a number", "true or false", "null":
 * for messages like "expected an object, found an array". */
const char *accsim_json_type_name(const json_object *value);

#endif
