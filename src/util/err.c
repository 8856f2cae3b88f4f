/* Messages and names for the error table in err.h. */
#include "util/err.h"

const char *fs_strerror(int err)
{
    switch (err) {
    case FS_OK:
        return "success";
#define FS_ERR_MSG(name, code, msg)                                                                \
    case code:                                                                                     \
        return msg;
        FS_ERR_MAP(FS_ERR_MSG)
#undef FS_ERR_MSG
    }
    return "unknown error";
}

const char *fs_errname(int err)
{
    switch (err) {
    case FS_OK:
        return "OK";
#define FS_ERR_NAME(name, code, msg)                                                               \
    case code:                                                                                     \
        return #name;
        FS_ERR_MAP(FS_ERR_NAME)
#undef FS_ERR_NAME
    }
    return "UNKNOWN";
}
