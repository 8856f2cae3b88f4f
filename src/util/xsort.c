/* External merge sort: records sorted in memory up to a cap, spilled as runs to
 * anonymous temporary files, then merged; memory stays bounded whatever the count. */
#include "util/xsort.h"

#include <stdlib.h>
#include <string.h>

void xsort_init(struct xsort *x, size_t mem_cap)
{
    memset(x, 0, sizeof *x);
    x->mem_cap = mem_cap < 4096 ? 4096 : mem_cap;
}

static const char *arena_key(const struct xsort *x, size_t off)
{
    return x->arena + off + 8;
}

static int cmp_off(const void *a, const void *b, void *ctx)
{
    const struct xsort *x = ctx;
    return strcmp(arena_key(x, *(const size_t *)a), arena_key(x, *(const size_t *)b));
}

/* qsort_r is a GNU extension; a small merge sort keeps us portable C11. */
static void sort_offs(struct xsort *x, size_t *v, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_offs(x, v, tmp, h);
    sort_offs(x, v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp_off(&v[j], &v[i], x) < 0 ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static int spill(struct xsort *x)
{
    if (!x->n)
        return 0;
    if (x->nruns == XSORT_MAX_RUNS)
        return FS_ETOO_BIG;
    size_t *tmp = malloc(x->n * sizeof *tmp);
    if (!tmp)
        return FS_ENOMEM;
    sort_offs(x, x->offs, tmp, x->n);
    free(tmp);
    FILE *f = tmpfile();
    if (!f)
        return FS_EIO;
    for (size_t i = 0; i < x->n; i++) {
        const char *r = x->arena + x->offs[i];
        uint32_t kl, dl;
        memcpy(&kl, r, 4);
        memcpy(&dl, r + 4, 4);
        if (fwrite(r, 1, 8 + (size_t)kl + 1 + dl, f) != 8 + (size_t)kl + 1 + dl) {
            fclose(f);
            return FS_EIO;
        }
    }
    if (fflush(f) || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        return FS_EIO;
    }
    x->runs[x->nruns++] = f;
    x->used = 0;
    x->n = 0;
    return 0;
}

int xsort_add(struct xsort *x, const char *key, size_t keylen, const void *data, size_t datalen)
{
    if (keylen > UINT32_MAX / 2 || datalen > UINT32_MAX / 2)
        return FS_ETOO_BIG;
    size_t need = 8 + keylen + 1 + datalen;
    if (x->used + need > x->mem_cap && x->n) {
        int rc = spill(x);
        if (rc)
            return rc;
    }
    if (!x->arena) {
        x->arena = malloc(x->mem_cap > need ? x->mem_cap : need);
        if (!x->arena)
            return FS_ENOMEM;
    } else if (need > x->mem_cap) { /* one record larger than the cap */
        char *a = realloc(x->arena, need);
        if (!a)
            return FS_ENOMEM;
        x->arena = a;
        x->mem_cap = need;
    }
    if (x->n == x->offcap) {
        size_t cap = x->offcap ? x->offcap * 2 : 1024;
        size_t *o = realloc(x->offs, cap * sizeof *o);
        if (!o)
            return FS_ENOMEM;
        x->offs = o;
        x->offcap = cap;
    }
    char *r = x->arena + x->used;
    uint32_t kl = (uint32_t)keylen, dl = (uint32_t)datalen;
    memcpy(r, &kl, 4);
    memcpy(r + 4, &dl, 4);
    memcpy(r + 8, key, keylen);
    r[8 + keylen] = '\0';
    if (datalen)
        memcpy(r + 8 + keylen + 1, data, datalen);
    x->offs[x->n++] = x->used;
    x->used += need;
    return 0;
}

static int read_head(struct xsort *x, int i)
{
    struct xsort_head *h = &x->heads[i];
    uint32_t len[2];
    if (fread(len, 4, 2, x->runs[i]) != 2) {
        h->live = 0;
        return 0;
    }
    size_t need = (size_t)len[0] + 1 + len[1];
    if (need > h->cap) {
        char *b = realloc(h->buf, need);
        if (!b)
            return FS_ENOMEM;
        h->buf = b;
        h->cap = need;
    }
    if (fread(h->buf, 1, need, x->runs[i]) != need)
        return FS_EIO;
    h->rec.key = h->buf;
    h->rec.keylen = len[0];
    h->rec.data = h->buf + len[0] + 1;
    h->rec.datalen = len[1];
    h->live = 1;
    return 0;
}

int xsort_finish(struct xsort *x)
{
    int rc = spill(x); /* the last run, so every record is on disk and memory is small */
    free(x->arena);
    x->arena = NULL;
    free(x->offs);
    x->offs = NULL;
    x->offcap = 0;
    for (int i = 0; !rc && i < x->nruns; i++)
        rc = read_head(x, i);
    x->merging = -1;
    return rc;
}

int xsort_next(struct xsort *x, struct xsort_rec *r)
{
    if (x->merging >= 0) { /* advance the run the last record came from */
        int rc = read_head(x, x->merging);
        if (rc)
            return rc;
    }
    int best = -1;
    for (int i = 0; i < x->nruns; i++)
        if (x->heads[i].live &&
            (best < 0 || strcmp(x->heads[i].rec.key, x->heads[best].rec.key) < 0))
            best = i;
    x->merging = best;
    if (best < 0)
        return 0;
    *r = x->heads[best].rec;
    return 1;
}

void xsort_deinit(struct xsort *x)
{
    free(x->arena);
    free(x->offs);
    for (int i = 0; i < x->nruns; i++) {
        fclose(x->runs[i]);
        free(x->heads[i].buf);
    }
    memset(x, 0, sizeof *x);
}
