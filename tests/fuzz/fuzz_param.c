/* libFuzzer target for falkor/param: encode -> decode round trips of fuzz-built values, and raw
 * decoding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/param.h"

struct source {
    const uint8_t *p;
    size_t n;
};

static uint8_t take(struct source *s)
{
    if (!s->n)
        return 0;
    s->n--;
    return *s->p++;
}

static uint64_t take64(struct source *s)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | take(s);
    return v;
}

/* Bytes for a string or key: raw fuzz bytes, often the ones that need care. */
static void take_text(struct source *s, struct fs_value *out, size_t max)
{
    static const char tricky[] = "'\"\\`{}[],:$ \n\0a\xC3\xA9\xFF";
    size_t len = take(s) % (max + 1);
    out->kind = FS_VALUE_STRING;
    out->u.str.data = malloc(len + 1);
    if (!out->u.str.data)
        abort();
    uint8_t mode = take(s);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = take(s);
        if (mode & 1)
            c = (uint8_t)tricky[c % (sizeof tricky - 1)];
        else if (mode & 2)
            c = (uint8_t)('a' + c % 26);
        out->u.str.data[i] = (char)c;
    }
    out->u.str.data[len] = '\0';
    out->u.str.len = (uint32_t)len;
}

/* Builds a value tree from the fuzz bytes (up to a few levels past the
 * encoder's depth limit, so that limit is exercised too). */
static void build(struct source *s, int depth, struct fs_value *out)
{
    memset(out, 0, sizeof *out);
    uint8_t op = take(s);
    if (depth > FDB_PARAM_MAX_DEPTH + 2 && op % 10 >= 6)
        op = 0;
    switch (op % 10) {
    case 0:
        out->kind = FS_VALUE_NULL;
        break;
    case 1:
        out->kind = FS_VALUE_BOOL;
        out->u.b = take(s) & 1;
        break;
    case 2:
        out->kind = FS_VALUE_INT;
        out->u.i = (int64_t)take64(s);
        break;
    case 3: {
        out->kind = FS_VALUE_FLOAT;
        uint64_t bits = take64(s);
        memcpy(&out->u.f, &bits, sizeof bits);
        break;
    }
    case 4: { /* a float32 widened, as embeddings are */
        out->kind = FS_VALUE_FLOAT;
        uint32_t bits = (uint32_t)take64(s);
        float f;
        memcpy(&f, &bits, sizeof f);
        out->u.f = f;
        break;
    }
    case 5:
        take_text(s, out, 200);
        break;
    case 6:
    case 7: {
        uint32_t n = take(s) % 6;
        out->kind = FS_VALUE_LIST;
        out->u.list.items = calloc(n ? n : 1, sizeof(struct fs_value));
        if (!out->u.list.items)
            abort();
        for (uint32_t i = 0; i < n; i++, out->u.list.len++)
            build(s, depth + 1, &out->u.list.items[i]);
        break;
    }
    case 8: {
        uint32_t n = take(s) % 5;
        out->kind = FS_VALUE_MAP;
        out->u.map.items = calloc(n ? n : 1, sizeof(struct fs_value_pair));
        if (!out->u.map.items)
            abort();
        for (uint32_t i = 0; i < n; i++, out->u.map.len++) {
            take_text(s, &out->u.map.items[i].key, 12);
            build(s, depth + 1, &out->u.map.items[i].value);
        }
        break;
    }
    default:
        take_text(s, out, 8);
        out->kind = (take(s) & 1) ? FS_VALUE_BYTES : FS_VALUE_STRING;
        break;
    }
}

/* Brackets pair up outside strings and backtick keys, every string ends,
 * and no NUL byte is anywhere. */
static bool balanced(const char *t, size_t n)
{
    char stack[FDB_PARAM_MAX_DEPTH + 1];
    int top = 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (c == '\0')
            return false;
        if (c == '\'' || c == '"') {
            for (i++; i < n && t[i] != c; i++)
                if (t[i] == '\\')
                    i++;
            if (i >= n)
                return false;
        } else if (c == '`') {
            const char *close = memchr(t + i + 1, '`', n - i - 1);
            if (!close)
                return false;
            i = (size_t)(close - t);
        } else if (c == '[' || c == '{') {
            if (top > FDB_PARAM_MAX_DEPTH)
                return false;
            stack[top++] = c;
        } else if (c == ']' || c == '}') {
            if (top == 0 || stack[--top] != (c == ']' ? '[' : '{'))
                return false;
        }
    }
    return top == 0;
}

/* Significant digits of a number's text ("-0.00120e-5" -> 2). */
static size_t significant(const char *t)
{
    size_t n = 0, zeros = 0;
    for (; *t && *t != 'e'; t++) {
        if (*t < '0' || *t > '9')
            continue;
        if (*t == '0') {
            zeros += n > 0; /* leading zeros never count; trailing ones are dropped below */
        } else {
            n += zeros + 1;
            zeros = 0;
        }
    }
    return n;
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_param: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1. Raw bytes into the strict decoder: no crash, and whatever it
     *    accepts re-encodes to exactly the same bytes. */
    struct fs_value v;
    int rc = fdb_param_decode((const char *)data, size, &v);
    if (rc == 0) {
        struct buf b;
        buf_init(&b, 0);
        check(fdb_param_encode(&b, &v) == 0, "decoded value does not encode");
        check(b.len == size && memcmp(b.data, data, size) == 0, "decode is not canonical");
        buf_deinit(&b);
        fs_value_deinit(&v);
    } else {
        check(v.kind == FS_VALUE_NULL, "failed decode left a value");
        check(rc == FS_EMALFORMED || rc == FS_ETRUNCATED || rc == FS_ETOO_DEEP,
              "unexpected decode error");
    }

    /* 2. A value built from the bytes: encode, check the text, decode back. */
    struct source s = {data, size};
    build(&s, 0, &v);
    struct buf b;
    buf_init(&b, 0);
    check(buf_append_str(&b, "v=") == 0, "buf");
    rc = fdb_param_encode(&b, &v);
    if (rc) {
        check(rc == FS_EUNSUPPORTED || rc == FS_EINVAL || rc == FS_ETOO_DEEP,
              "unexpected encode error");
        check(b.len == 2 && strcmp(b.data, "v=") == 0, "failed encode changed the buffer");
    } else {
        const char *t = b.data + 2;
        size_t n = b.len - 2;
        check(balanced(t, n), "unbalanced output");
        struct fs_value back;
        rc = fdb_param_decode(t, n, &back);
        if (rc)
            fprintf(stderr, "decode: %s on %.*s\n", fs_errname(rc), (int)(n < 300 ? n : 300), t);
        check(rc == 0, "encoded text does not decode");
        check(fs_value_equal(&v, &back), "round trip changed the value");
        fs_value_deinit(&back);

        /* The piecewise prefix agrees with the tree encoder. */
        struct fdb_param p = {"v", &v};
        struct buf pre;
        buf_init(&pre, 0);
        check(fdb_param_prefix(&pre, &p, 1) == 0, "prefix failed where encode worked");
        check(pre.len == 7 + b.len + 1 && memcmp(pre.data, "CYPHER ", 7) == 0 &&
                  memcmp(pre.data + 7, b.data, b.len) == 0 && pre.data[pre.len - 1] == ' ',
              "prefix differs from encode");
        buf_deinit(&pre);
    }
    buf_deinit(&b);
    fs_value_deinit(&v);

    /* 3. Embedding elements: a float32 from the first bytes reads back
     *    through a double (as FalkorDB's vecf32 reads it) to the same bits,
     *    with no more digits than the double text of the same value, and the
     *    strict decoder takes it (verify decodes it). */
    if (size >= 4) {
        uint32_t bits =
            (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
        float f;
        memcpy(&f, &bits, sizeof f);
        char out[FDB_FTOA_MAX + 1], dbl[FDB_FTOA_MAX + 1];
        int n = fdb_ftoa_float32(f, out);
        if (!isfinite(f)) {
            check(n == FS_EUNSUPPORTED, "float32 NaN/Inf formatted");
        } else {
            check(n > 0 && (size_t)n == strlen(out), "float32 length");
            float back = (float)strtod(out, NULL);
            check(memcmp(&back, &f, sizeof f) == 0, "float32 text does not read back");
            check(fdb_ftoa_double((double)f, dbl) > 0, "double of a float32");
            check(significant(out) <= significant(dbl),
                  "float32 text has more digits than the double text");
            /* verify reads it back with the strict decoder: canonical double text */
            struct fs_value dv;
            check(fdb_param_decode(out, (size_t)n, &dv) == 0 && dv.kind == FS_VALUE_FLOAT,
                  "float32 text is not canonical double text");
            float fb = (float)dv.u.f;
            check(memcmp(&fb, &f, sizeof f) == 0, "decoded float32 text differs");
            fs_value_deinit(&dv);
        }
    }
    return 0;
}
