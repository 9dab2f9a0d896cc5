#include <stdarg.h>
#include <stdio.h>

#include "accsim/error.h"

int accsim_fail(accsim_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}
