/* Shared helpers for integration tests against the real servers of scripts/servers.sh. */
#ifndef FALKORSYNC_ITEST_H
#define FALKORSYNC_ITEST_H

/* Ports and credentials, from the same environment variables as scripts/servers.sh. */
int itest_neo4j_port(void);
const char *itest_neo4j_user(void);
const char *itest_neo4j_password(void);
int itest_falkordb_port(void);
const char *itest_falkordb_password(void); /* NULL when none */
/* bolt://127.0.0.1:<port> in a static buffer. */
const char *itest_neo4j_uri(void);
/* Repository root and the built falkorsync binary (from ctest's environment). */
const char *itest_root(void);
const char *itest_bin(void);

#endif
