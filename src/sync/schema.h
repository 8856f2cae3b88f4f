/* Kept for branches written before the split of issue 13: the profile is sync/profile.h now.
 * Include that instead; this header goes once nothing includes it. */
#ifndef FALKORSYNC_SCHEMA_H
#define FALKORSYNC_SCHEMA_H
#include "sync/profile.h"
#endif
