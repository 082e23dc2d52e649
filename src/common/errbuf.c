#include "errbuf.h"
#include <stdio.h>

eryx_status eryx__fail(eryx__errbuf *buf, eryx_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf->msg, sizeof buf->msg, fmt, ap);
    va_end(ap);
    buf->status = status;
    return status;
}
