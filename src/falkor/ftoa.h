/* Shortest round-trip number text for FalkorDB: doubles and float32, written like Python's repr().
 */
#ifndef FALKORSYNC_FALKOR_FTOA_H
#define FALKORSYNC_FALKOR_FTOA_H

#include <stdint.h>

#include "util/err.h"

/* Longest text fdb_ftoa_double or fdb_ftoa_float32 writes, NUL excluded. */
#define FDB_FTOA_MAX 32

/* Writes the shortest text that reads back (strtod) to exactly v into out
 * (at least FDB_FTOA_MAX + 1 bytes, NUL-terminated), like Python's repr():
 * always with a '.' or an exponent so it stays a double (0.1, 1e+16,
 * 5e-324, -0.0). Returns the length, or FS_EUNSUPPORTED for NaN and +-Inf.
 * Pure and thread-safe. */
int fdb_ftoa_double(double v, char *out) FS_WARN_UNUSED;
/* Like fdb_ftoa_double for a float32: the shortest decimal d such that
 * (float)strtod(d) == v, bit for bit (FalkorDB reads text -> double, then
 * vecf32 rounds to float); at most 9 significant digits. It is also the
 * canonical fdb_ftoa_double text of the double it reads as. Returns the
 * length, or FS_EUNSUPPORTED for NaN and +-Inf. Pure and thread-safe. */
int fdb_ftoa_float32(float v, char *out) FS_WARN_UNUSED;
/* Writes the decimal digits of v (no sign, no NUL) so that they end just
 * before end; returns their count (1..20). The caller provides 20 bytes
 * before end. Pure and thread-safe. */
int fdb_ftoa_u64_backwards(uint64_t v, char *end);

#endif
