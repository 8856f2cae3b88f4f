/* libFuzzer target for falkor/arena: RESP bytes scanned (whole, and in two pieces) and parsed
 * into an arena; whatever hiredis' reader also parses must give the same tree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/arena.h"

static void same(const redisReply *a, const redisReply *b)
{
    if (a->type != b->type)
        abort();
    if (a->type == REDIS_REPLY_INTEGER && a->integer != b->integer)
        abort();
    if ((a->type == REDIS_REPLY_STRING || a->type == REDIS_REPLY_STATUS ||
         a->type == REDIS_REPLY_ERROR) &&
        (a->len != b->len || memcmp(a->str, b->str, a->len) || a->str[a->len]))
        abort();
    if (a->type == REDIS_REPLY_ARRAY) {
        if (a->elements != b->elements)
            abort();
        for (size_t i = 0; i < a->elements; i++)
            same(a->element[i], b->element[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct fdb_resp_scan s;
    memset(&s, 0, sizeof s);
    int whole = fdb_resp_scan(&s, in, size);
    /* the same answer when the bytes come in two pieces */
    struct fdb_resp_scan t;
    memset(&t, 0, sizeof t);
    size_t cut = size ? data[0] % (size + 1) : 0;
    int first = fdb_resp_scan(&t, in, cut);
    int again = first == 0 ? fdb_resp_scan(&t, in, size) : first;
    if (first != 1 && again != whole && !(whole < 0 && again < 0))
        abort();
    if (whole != 1)
        return 0;
    if (s.pos > size || (first == 1 && t.pos != s.pos))
        abort();
    char *copy = malloc(s.pos ? s.pos : 1);
    memcpy(copy, in, s.pos);
    struct fdb_arena a;
    fdb_arena_init(&a);
    redisReply *mine = NULL;
    int rc = fdb_resp_parse(&a, copy, s.pos, &mine);
    if (rc && rc != FS_EPROTOCOL) /* a header announcing more than its bytes: refused */
        abort();
    redisReader *r = redisReaderCreate();
    void *theirs = NULL;
    if (!rc && redisReaderFeed(r, in, s.pos) == REDIS_OK &&
        redisReaderGetReply(r, &theirs) == REDIS_OK && theirs)
        same(mine, theirs);
    if (theirs)
        freeReplyObject(theirs);
    redisReaderFree(r);
    fdb_arena_deinit(&a);
    free(copy);
    return 0;
}
