/* falkorsync-param-bench: how fast the FalkorDB parameter text encoder writes embeddings and
 * long strings (a figure for reports; asserts nothing, so it lives here and not in the unit
 * tests). Run with `make bench-param`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "falkor/param.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int speed_report(void)
{
    struct buf b;
    buf_init(&b, 0);
    double emb[1024];
    for (int i = 0; i < 1024; i++) {
        float f = (float)((double)(rng() >> 11) / 9007199254740992.0 * 2.0 - 1.0) * 0.1f;
        emb[i] = f;
    }
    int rounds = 2000;
    double t0 = 0, dt = 0;
    for (int as_f32 = 0; as_f32 < 2; as_f32++) { /* embeddings are written as float32 */
        t0 = seconds();
        size_t bytes = 0;
        for (int r = 0; r < rounds; r++) {
            buf_reset(&b);
            if (fdb_param_list_begin(&b) != 0)
                return 1;
            for (int i = 0; i < 1024; i++) {
                int rc = i ? fdb_param_write_sep(&b) : 0;
                if (rc == 0)
                    rc = as_f32 ? fdb_param_write_float32(&b, (float)emb[i])
                                : fdb_param_write_double(&b, emb[i]);
                if (rc != 0)
                    return 1;
            }
            if (fdb_param_list_end(&b) != 0)
                return 1;
            bytes += b.len;
        }
        dt = seconds() - t0;
        printf("# 1024-float list (%s text): %.0f ns/value, %.0f MB/s of text, %zu bytes/list\n",
               as_f32 ? "float32" : "double", dt * 1e9 / (1024.0 * rounds),
               (double)bytes / dt / 1e6, bytes / (size_t)rounds);
    }

    size_t n = 1 << 20;
    char *s = malloc(n);
    if (!s)
        return 1;
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            for (size_t i = 0; i < n; i += 64)
                s[i] = (i / 64) % 2 ? '\'' : '\\';
        t0 = seconds();
        for (int r = 0; r < 200; r++) {
            buf_reset(&b);
            if (fdb_param_write_string(&b, s, n) != 0)
                return 1;
        }
        dt = seconds() - t0;
        printf("# 1 MB string (%s): %.0f MB/s\n", pass ? "an escape every 64 bytes" : "plain",
               200.0 * (double)n / dt / 1e6);
    }
    free(s);
    buf_deinit(&b);
    return 0;
}

int main(void)
{
    if (speed_report() != 0) {
        fprintf(stderr, "falkorsync-param-bench: an encoder call failed\n");
        return 1;
    }
    return 0;
}
