/* Builds client settings for Neo4j and FalkorDB from the configuration, and opens connections. */
#ifndef FALKORSYNC_SYNC_CONNECT_H
#define FALKORSYNC_SYNC_CONNECT_H

#include "bolt/bolt.h"
#include "config/config.h"
#include "falkor/fdb.h"

/* The Bolt settings of c (strings borrowed from c). */
struct bolt_config sync_bolt_config(const struct cfg *c);
/* The FalkorDB settings of c (strings borrowed from c; fdb_connect copies them). */
struct fdb_config sync_fdb_config(const struct cfg *c);

#endif
