/* Kept for branches written before the split of issue 13: verify and reconcile are in
 * sync/verify.h, the incremental entry point in sync/orchestrator.h. Include those instead;
 * this header goes once nothing includes it. */
#ifndef FALKORSYNC_COMPARE_H
#define FALKORSYNC_COMPARE_H
#include "sync/orchestrator.h"
#include "sync/target.h"
#include "sync/verify.h"
#endif
