/* A fixed-size error message buffer carried by each handle (no allocation on the
** error path, so out-of-memory can still be reported). */
#ifndef ERYX_ERRBUF_H
#define ERYX_ERRBUF_H
#include <stdarg.h>
#include "eryx.h"

#define ERYX__ERRMSG_MAX 4096

typedef struct eryx__errbuf {
    char msg[ERYX__ERRMSG_MAX];
    eryx_status status; /* the last eryx__fail's, so a caller wrapping the message keeps its kind */
} eryx__errbuf;

/* Formats a message into buf, records status in it and returns status, so callers
** can `return eryx__fail(&h->err, ERYX_ERR_IO, "cannot open %s: %s", ...)`. */
eryx_status eryx__fail(eryx__errbuf *buf, eryx_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void eryx__errbuf_clear(eryx__errbuf *buf) {
    buf->status = ERYX_OK;
    buf->msg[0] = '\0';
}

#endif
