/* libFuzzer target for sync/transcode's one walk of the mapping rules: a property map from
 * raw PackStream bytes goes through the text sink (xc_props, FalkorDB parameter text) and
 * the bulk sink (xc_props_bulk, GRAPH.BULK values). No crash (ASan/UBSan), the same verdict
 * on malformed input, the same counts of dropped values, and the same properties kept:
 * every non-null property of the text is named by the bulk sink, in order, and the same
 * embeddings are written. The first input byte picks the embedding names. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bolt/pack.h"
#include "falkor/param.h"
#include "sync/transcode.h"
#include "util/buf.h"

/* abort() rather than assert(): the check must survive -DNDEBUG builds. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_xc: %s (line %d)\n", #cond, __LINE__);                           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define NEMB 3
static const char *const emb_names[NEMB + 1] = {"e", "name_embedding", "a`b", NULL};

/* The bulk sink's names (NUL-terminated, in order) other than embeddings must be exactly the
 * text's non-null properties. */
static void same_props(const struct fs_value *m, const struct buf *names, uint32_t nprops,
                       const struct xc_rules *rules)
{
    const char *p = names->data ? names->data : "";
    const char *end = p + names->len;
    uint32_t seen = 0;
    for (uint32_t i = 0; i < m->u.map.len; i++) {
        const struct fs_value_pair *e = &m->u.map.items[i];
        if (e->value.kind == FS_VALUE_NULL)
            continue; /* text keeps k:null (SET n = r.p leaves it unset); bulk leaves it out */
        for (;;) {    /* skip embedding names on the bulk side */
            CHECK(p < end);
            bool emb = false;
            for (int j = 0; j < rules->nembeddings; j++)
                emb |= !strcmp(p, rules->embeddings[j]);
            if (!emb)
                break;
            p += strlen(p) + 1;
            seen++;
        }
        CHECK(strlen(p) == e->key.u.str.len && !memcmp(p, e->key.u.str.data, e->key.u.str.len));
        p += strlen(p) + 1;
        seen++;
    }
    while (p < end) { /* only embeddings may follow */
        bool emb = false;
        for (int j = 0; j < rules->nembeddings; j++)
            emb |= !strcmp(p, rules->embeddings[j]);
        CHECK(emb);
        p += strlen(p) + 1;
        seen++;
    }
    CHECK(seen == nprops);
}

/* Skips a value as the transcoder's rules do when they drop one: item by item (pack_skip
 * would refuse, say, a map with keys that are not strings inside a dropped value). */
static int lenient_skip(struct pack_reader *r, int depth)
{
    struct pack_item it;
    if (depth <= 0 || pack_read_item(r, &it))
        return -1;
    uint64_t n = it.kind == FS_VALUE_LIST || it.kind == FS_VALUE_STRUCT ? it.size
                 : it.kind == FS_VALUE_MAP                              ? 2 * (uint64_t)it.size
                                                                        : 0;
    for (uint64_t i = 0; i < n; i++)
        if (lenient_skip(r, depth - 1))
            return -1;
    return 0;
}

/* Whether a name appears twice in the input map (Neo4j never sends that; FalkorDB's strict
 * parameter decoder refuses it, and the text sink keeps the last embedding of a name). */
static bool duplicate_keys(const uint8_t *data, size_t size)
{
    struct pack_reader r;
    struct pack_item m, k;
    pack_reader_init(&r, data, size);
    if (pack_read_item(&r, &m) || m.kind != FS_VALUE_MAP)
        return false;
    const uint8_t *keys[64];
    uint32_t lens[64];
    for (uint32_t i = 0; i < m.size && i < 64; i++) {
        if (pack_read_item(&r, &k) || k.kind != FS_VALUE_STRING || lenient_skip(&r, 1000))
            return false;
        for (uint32_t j = 0; j < i; j++)
            if (lens[j] == k.size && (!k.size || !memcmp(keys[j], k.data, k.size)))
                return true;
        keys[i] = k.data;
        lens[i] = k.size;
    }
    return m.size > 64; /* not looked at: let it pass */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *embs[NEMB + 1];
    int n = 0;
    for (int j = 0; j < NEMB; j++)
        if (data[0] & (1u << j))
            embs[n++] = emb_names[j];
    embs[n] = NULL;
    struct xc_rules rules = {.embeddings = embs, .nembeddings = n};
    data++;
    size--;

    struct buf text, emb[NEMB], names, vals;
    buf_init(&text, 0);
    buf_init(&names, 0);
    buf_init(&vals, 0);
    for (int j = 0; j < NEMB; j++)
        buf_init(&emb[j], 0);
    struct pack_reader r1, r2;
    pack_reader_init(&r1, data, size);
    pack_reader_init(&r2, data, size);
    struct xc_stats s1 = {0}, s2 = {0};
    uint32_t nprops = 0;
    unsigned emb_seen = 0;
    int rc1 = xc_props(&r1, &rules, &text, emb, NULL, &s1);
    int rc2 = xc_props_bulk(&r2, &rules, &names, &vals, &nprops, &emb_seen, &s2);
    CHECK(rc1 <= 0 && rc2 <= 0);
    CHECK((rc1 == 0) == (rc2 == 0)); /* malformed for one sink is malformed for both */
    if (!rc1) {
        CHECK(r1.pos == r2.pos); /* both read exactly the map */
        CHECK(!memcmp(&s1, &s2, sizeof s1));
        if (duplicate_keys(data, size)) /* the last wins in text, a map holds one name */
            goto out;
        for (int j = 0; j < n; j++) { /* the same embeddings written */
            bool text_has = !(emb[j].len == 4 && !memcmp(emb[j].data, "null", 4));
            CHECK(text_has == !!(emb_seen & (1u << j)));
        }
        struct fs_value m = {0};
        int dec = fdb_param_decode(text.data, text.len, &m);
        /* the text is always FalkorDB-readable */
        if (dec != 0 && dec != FS_ETOO_DEEP)
            fprintf(stderr, "fuzz_xc: unreadable text (%d): %.*s\n", dec, (int)text.len, text.data);
        CHECK(dec == 0 || dec == FS_ETOO_DEEP);
        if (!dec) {
            CHECK(m.kind == FS_VALUE_MAP);
            same_props(&m, &names, nprops, &rules);
        }
        fs_value_deinit(&m);
    }
out:
    buf_deinit(&text);
    buf_deinit(&names);
    buf_deinit(&vals);
    for (int j = 0; j < NEMB; j++)
        buf_deinit(&emb[j]);
    return 0;
}
