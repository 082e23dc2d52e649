/* Little-endian integers in byte buffers (file headers: session blobs, saved
** factory states). */
#ifndef ERYX_LE_H
#define ERYX_LE_H
#include <stdint.h>

static inline void eryx__put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t eryx__get_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

#endif
