/* libFuzzer target for falkor/compact: RESP bytes parsed by hiredis' reader (as fdb reads them),
 * every array and element decoded as a compact cell. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/compact.h"

/* Decoding must either succeed with a value of a known kind or fail leaving
 * NULL; the scalar accessors must agree with the decoder on scalars. */
static void check_cell(const redisReply *cell)
{
    struct fs_value v;
    int rc = fdb_compact_decode(cell, &v);
    if (rc) {
        if (v.kind != FS_VALUE_NULL)
            abort();
    } else if (v.kind > FS_VALUE_STRUCT) {
        abort();
    }
    int64_t i;
    if (fdb_compact_int(cell, &i) == 0 && fdb_compact_type(cell) == FDB_CT_INTEGER &&
        (rc || v.kind != FS_VALUE_INT || v.u.i != i))
        abort();
    const char *s;
    size_t n;
    if (fdb_compact_string(cell, &s, &n) == 0 &&
        (rc || v.kind != FS_VALUE_STRING || v.u.str.len != n || memcmp(v.u.str.data, s, n)))
        abort();
    bool b;
    if (fdb_compact_bool(cell, &b) == 0 && (rc || v.kind != FS_VALUE_BOOL || v.u.b != b))
        abort();
    double d;
    (void)fdb_compact_double(cell, &d);
    (void)fdb_compact_is_null(cell);
    fs_value_deinit(&v);
}

static void walk(const redisReply *r, int depth)
{
    check_cell(r);
    if (r->type != REDIS_REPLY_ARRAY || depth > 8)
        return;
    for (size_t i = 0; i < r->elements; i++)
        walk(r->element[i], depth + 1);
}

/* Like fdb's reader: an array header announcing more elements than the input
 * could hold (3 bytes each at least) is refused before hiredis allocates for
 * them (a "*2000000000" header would otherwise ask calloc for 16 GB). */
static const redisReplyObjectFunctions *default_fn;

static void *create_array_capped(const redisReadTask *task, int elements)
{
    const size_t *size = task->privdata;
    if (elements > 0 && (size_t)elements > *size / 3)
        return NULL;
    return default_fn->createArray(task, elements);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReader *rd = redisReaderCreate();
    if (!rd)
        return 0;
    static redisReplyObjectFunctions fn;
    default_fn = rd->fn;
    fn = *rd->fn;
    fn.createArray = create_array_capped;
    rd->fn = &fn;
    rd->privdata = &size;
    if (redisReaderFeed(rd, (const char *)data, size) == REDIS_OK) {
        for (int k = 0; k < 16; k++) {
            void *reply = NULL;
            if (redisReaderGetReply(rd, &reply) != REDIS_OK || !reply)
                break;
            (void)fdb_compact_rows(reply);
            walk(reply, 0);
            freeReplyObject(reply);
        }
    }
    redisReaderFree(rd);
    return 0;
}
