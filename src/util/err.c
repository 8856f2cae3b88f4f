/* Messages, names and sides for the error table in err.h. */
#include "util/err.h"

const char *fs_strerror(int err)
{
    switch (err) {
    case FS_OK:
        return "success";
#define FS_ERR_MSG(name, code, side, msg)                                                          \
    case code:                                                                                     \
        return msg;
        FS_ERR_MAP(FS_ERR_MSG)
        FS_SIGNAL_MAP(FS_ERR_MSG)
#undef FS_ERR_MSG
    }
    return "unknown error";
}

const char *fs_errname(int err)
{
    switch (err) {
    case FS_OK:
        return "OK";
#define FS_ERR_NAME(name, code, side, msg)                                                         \
    case code:                                                                                     \
        return #name;
        FS_ERR_MAP(FS_ERR_NAME)
        FS_SIGNAL_MAP(FS_ERR_NAME)
#undef FS_ERR_NAME
    }
    return "UNKNOWN";
}

enum fs_side fs_errside(int err)
{
    switch (err) {
#define FS_ERR_SIDE(name, code, side, msg)                                                         \
    case code:                                                                                     \
        return FS_SIDE_##side;
        FS_ERR_MAP(FS_ERR_SIDE)
#undef FS_ERR_SIDE
    }
    return FS_SIDE_INTERNAL;
}

enum fs_side fs_err_side(int err, enum fs_side peer)
{
    enum fs_side s = fs_errside(err);
    return s == FS_SIDE_PEER ? peer : s;
}

const char *fs_sidename(enum fs_side side)
{
    switch (side) {
    case FS_SIDE_INTERNAL:
        return "internal";
    case FS_SIDE_NEO4J:
        return "neo4j";
    case FS_SIDE_FALKORDB:
        return "falkordb";
    case FS_SIDE_CONFIG:
        return "config";
    case FS_SIDE_PEER:
        return "peer";
    }
    return "internal";
}
