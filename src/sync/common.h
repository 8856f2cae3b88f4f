/* Kept for branches written before the split of issue 13: what was here lives in sync/report.h
 * (report, options, clock), sync/profile.h (rules, indexes) and sync/target.h (groups).
 * Include those instead; this header goes once nothing includes it. */
#ifndef FALKORSYNC_SYNC_COMMON_H
#define FALKORSYNC_SYNC_COMMON_H
#include "sync/profile.h"
#include "sync/report.h"
#include "sync/target.h"
#endif
