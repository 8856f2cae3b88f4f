/* Unit tests for falkor/fdb's pure parts: FalkorDB error replies classified into codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "falkor/fdb.h"

static int classify(const char *msg)
{
    return fdb_classify_error(msg, strlen(msg));
}

/* Messages as FalkorDB 4.16 / Redis 8.2 send them. */
static void test_classify(void **state)
{
    static const struct {
        const char *msg;
        int code;
    } cases[] = {
        {"ERR Invalid graph operation on empty key", FS_EFDB_NOGRAPH},
        {"ERR Graph 'g' does not exist", FS_EFDB_NOGRAPH},
        {"Attribute 'uuid' is already indexed", FS_EFDB_EXISTS},
        {"ERR Constraint already exists", FS_EFDB_EXISTS},
        {"NOPERM User u has no permissions to run the 'graph.bulk' command", FS_EFDB_NOPERM},
        {"NOPERM No permissions to access a key", FS_EFDB_NOPERM},
        {"ERR unknown command 'GRAPH.BULK', with args beginning with: 'g' ",
         FS_EFDB_UNKNOWN_COMMAND},
        {"OOM command not allowed when used memory > 'maxmemory'.", FS_EFDB_OOM},
        {"READONLY You can't write against a read only replica.", FS_EFDB_READONLY},
        {"WRONGTYPE Operation against a key holding the wrong kind of value", FS_EFDB_WRONGTYPE},
        {"NOAUTH Authentication required.", FS_EAUTH},
        {"WRONGPASS invalid username-password pair or user is disabled.", FS_EAUTH},
        {"'nosuchvar' not defined", FS_ESERVER},
        {"errMsg: Invalid input 'X': expected MATCH line: 1, column: 1, offset: 0", FS_ESERVER},
        {"", FS_ESERVER},
        /* a prefix class is a prefix: not anywhere in the message */
        {"ERR value NOPERM in a string", FS_ESERVER},
        {"ERR OOM", FS_ESERVER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = classify(cases[i].msg);
        if (got != cases[i].code)
            fail_msg("\"%s\": got %s, want %s", cases[i].msg, fs_errname(got),
                     fs_errname(cases[i].code));
    }
    assert_int_equal(fdb_classify_error(NULL, 0), FS_ESERVER);
    /* len is honoured: the text need not end with NUL */
    assert_int_equal(fdb_classify_error("NOPERMxyz", 3), FS_ESERVER);
    assert_int_equal(fdb_classify_error("ERR empty keyboard", 9), FS_ESERVER);
}

static void test_reply_errclass(void **state)
{
    redisReply err = {.type = REDIS_REPLY_ERROR,
                      .str = (char *)"ERR Invalid graph operation on empty key"};
    err.len = strlen(err.str);
    assert_int_equal(fdb_reply_errclass(&err), FS_EFDB_NOGRAPH);

    /* an error element inside a GRAPH.QUERY result (a run-time query error) */
    redisReply hdr = {.type = REDIS_REPLY_ARRAY};
    redisReply qerr = {.type = REDIS_REPLY_ERROR, .str = (char *)"OOM command not allowed"};
    qerr.len = strlen(qerr.str);
    redisReply *elems[2] = {&hdr, &qerr};
    redisReply res = {.type = REDIS_REPLY_ARRAY, .elements = 2, .element = elems};
    assert_int_equal(fdb_reply_errclass(&res), FS_EFDB_OOM);

    redisReply ok = {.type = REDIS_REPLY_STATUS, .str = (char *)"OK", .len = 2};
    assert_int_equal(fdb_reply_errclass(&ok), 0);
    assert_int_equal(fdb_reply_errclass(NULL), 0);
    redisReply *okelems[1] = {&ok};
    redisReply okres = {.type = REDIS_REPLY_ARRAY, .elements = 1, .element = okelems};
    assert_int_equal(fdb_reply_errclass(&okres), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_reply_errclass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
