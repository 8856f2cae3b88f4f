/* libFuzzer target for bolt/route: the routing table parser (bytes from the network) and the
 * routing context of a URI (text from the configuration). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bolt/route.h"

/* abort() rather than assert(): the check must survive -DNDEBUG builds. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void check_table(const struct bolt_route_table *t)
{
    CHECK(t->ttl >= 0);
    CHECK(memchr(t->db, '\0', sizeof t->db));
    for (int r = 0; r < BOLT_ROLE_COUNT; r++) {
        CHECK(t->n[r] >= 0 && t->n[r] <= BOLT_ROUTE_MAX_MEMBERS);
        for (int k = 0; k < t->n[r]; k++) {
            const struct bolt_addr *a = &t->members[r][k];
            CHECK(a->port > 0 && a->port <= 65535);
            size_t hl = strnlen(a->host, sizeof a->host);
            CHECK(hl > 0 && hl < sizeof a->host);
            char text[300];
            struct bolt_addr back;
            bolt_addr_format(a, text, sizeof text);
            /* what we print parses back to the same member */
            CHECK(bolt_addr_parse(text, strlen(text), &back) == 0);
            CHECK(back.port == a->port && !strcmp(back.host, a->host));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pack_limits lim = {.max_alloc = (size_t)1 << 20, .max_depth = 32};
    struct bolt_route_table t;
    char err[256];
    if (bolt_route_table_parse(data, size, &lim, &t, err, sizeof err) == 0)
        check_table(&t);
    else
        CHECK(t.n[BOLT_ROLE_READ] == 0 && t.n[BOLT_ROLE_ROUTE] == 0 && t.n[BOLT_ROLE_WRITE] == 0);

    char *uri = malloc(size + 1);
    if (!uri)
        return 0;
    memcpy(uri, data, size);
    uri[size] = '\0';
    struct bolt_route_context c;
    if (bolt_route_context_parse(uri, "h", 7687, &c, err, sizeof err) == 0) {
        struct buf b;
        buf_init(&b, (size_t)1 << 20);
        CHECK(bolt_route_write(&b, &c, "db", NULL) == 0);
        buf_deinit(&b);
        CHECK(c.nparams >= 0 && c.nparams <= BOLT_ROUTE_MAX_PARAMS);
    }
    struct bolt_addr a;
    (void)bolt_addr_parse((const char *)data, size, &a);
    free(uri);
    return 0;
}
