/* External sort of (key, payload) records in bounded memory: sorted runs on disk, then a k-way
 * merge. */
#ifndef FALKORSYNC_XSORT_H
#define FALKORSYNC_XSORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

#define XSORT_MAX_RUNS 256

struct xsort_rec {
    const char *key;  /* NUL-terminated */
    const void *data; /* payload bytes */
    uint32_t keylen, datalen;
};

struct xsort {
    size_t mem_cap; /* bytes of records held before a run is written */
    char *arena;    /* records being collected: [u32 klen][u32 dlen][key\0][data] */
    size_t used;
    size_t *offs; /* offsets of records in arena */
    size_t n, offcap;
    FILE *runs[XSORT_MAX_RUNS];
    int nruns;
    /* merge state */
    struct xsort_head {
        char *buf;
        size_t cap;
        struct xsort_rec rec;
        int live;
    } heads[XSORT_MAX_RUNS + 1];
    int merging;
};

/* mem_cap: bytes held in memory (e.g. 16 MB). */
void xsort_init(struct xsort *x, size_t mem_cap);
/* Adds one record (copied). */
int xsort_add(struct xsort *x, const char *key, size_t keylen, const void *data,
              size_t datalen) FS_WARN_UNUSED;
/* Ends the input; records then come out in key order (byte order). */
int xsort_finish(struct xsort *x) FS_WARN_UNUSED;
/* Next record: 1 with *r (valid until the next call), 0 at the end, <0 on error. */
int xsort_next(struct xsort *x, struct xsort_rec *r) FS_WARN_UNUSED;
/* Frees memory and temporary files. */
void xsort_deinit(struct xsort *x);

#endif
