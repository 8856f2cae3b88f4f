/* The neutral value tree: freeing, map lookup and deep equality. */
#include "util/value.h"

#include <stdlib.h>
#include <string.h>

void fs_value_init(struct fs_value *v)
{
    memset(v, 0, sizeof *v);
}

struct fs_value *fs_value_new(void)
{
    return calloc(1, sizeof(struct fs_value));
}

void fs_value_free(struct fs_value *v)
{
    if (!v)
        return;
    fs_value_deinit(v);
    free(v);
}

void fs_value_deinit(struct fs_value *v)
{
    switch (v->kind) {
    case FS_VALUE_STRING:
    case FS_VALUE_BYTES:
        free(v->u.str.data);
        break;
    case FS_VALUE_LIST:
    case FS_VALUE_STRUCT:
        for (uint32_t k = 0; k < v->u.list.len; k++)
            fs_value_deinit(&v->u.list.items[k]);
        free(v->u.list.items);
        break;
    case FS_VALUE_MAP:
        for (uint32_t k = 0; k < v->u.map.len; k++) {
            fs_value_deinit(&v->u.map.items[k].key);
            fs_value_deinit(&v->u.map.items[k].value);
        }
        free(v->u.map.items);
        break;
    default:
        break;
    }
    memset(v, 0, sizeof *v);
}

/* The spec says the last of duplicate keys wins, hence the backwards scan. */
const struct fs_value *fs_value_map_get(const struct fs_value *v, const char *key)
{
    if (!v || v->kind != FS_VALUE_MAP || !key)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t k = v->u.map.len; k-- > 0;) {
        const struct fs_value *kv = &v->u.map.items[k].key;
        if (kv->kind == FS_VALUE_STRING && kv->u.str.len == n &&
            memcmp(kv->u.str.data, key, n) == 0)
            return &v->u.map.items[k].value;
    }
    return NULL;
}

/* Maps compare as unordered sets of entries; lists and struct fields in order. */
bool fs_value_equal(const struct fs_value *a, const struct fs_value *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case FS_VALUE_NULL:
        return true;
    case FS_VALUE_BOOL:
        return a->u.b == b->u.b;
    case FS_VALUE_INT:
        return a->u.i == b->u.i;
    case FS_VALUE_FLOAT:
        return memcmp(&a->u.f, &b->u.f, sizeof a->u.f) == 0;
    case FS_VALUE_STRING:
    case FS_VALUE_BYTES:
        return a->u.str.len == b->u.str.len &&
               (a->u.str.len == 0 || memcmp(a->u.str.data, b->u.str.data, a->u.str.len) == 0);
    case FS_VALUE_STRUCT:
        if (a->tag != b->tag)
            return false;
        /* fall through */
    case FS_VALUE_LIST:
        if (a->u.list.len != b->u.list.len)
            return false;
        for (uint32_t k = 0; k < a->u.list.len; k++)
            if (!fs_value_equal(&a->u.list.items[k], &b->u.list.items[k]))
                return false;
        return true;
    case FS_VALUE_MAP:
        /* Maps are unordered: Neo4j returns keys in an order of its own. */
        if (a->u.map.len != b->u.map.len)
            return false;
        for (uint32_t k = 0; k < a->u.map.len; k++) {
            bool found = false;
            for (uint32_t j = 0; j < b->u.map.len && !found; j++) {
                uint32_t jj = (k + j) % b->u.map.len; /* same order: found at once */
                found = fs_value_equal(&a->u.map.items[k].key, &b->u.map.items[jj].key) &&
                        fs_value_equal(&a->u.map.items[k].value, &b->u.map.items[jj].value);
            }
            if (!found)
                return false;
        }
        return true;
    }
    return false;
}
