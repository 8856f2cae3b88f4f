#!/usr/bin/env bash
# The read limit: the exact Neo4j queries a single-layout full sync runs
# (src/sync/full.c count_items, record_watermarks and extract_query over the
# types and watermark families of src/sync/schema.c), each drained by
# falkorsync-drain through falkorsync's own Bolt client with every record
# skipped, not decoded. `$after` becomes the literal '' (Neo4j parameterises
# literals itself, so the plan is the same).
#
#   bench/readlimit.sh DRAIN_BINARY LINES_FILE
#
# Appends one JSON line per query to LINES_FILE and prints their sum as one
# JSON line (rows, seconds: the sum of the drains' query times, connects excluded).
set -euo pipefail
DRAIN="$1"
LINES="$2"
QUERIES=(
  "CALL { MATCH (x:\`Entity\`) RETURN count(x) AS c UNION ALL MATCH (x:\`Episodic\`) RETURN count(x) AS c UNION ALL MATCH (x:\`Community\`) RETURN count(x) AS c UNION ALL MATCH (x:\`Saga\`) RETURN count(x) AS c UNION ALL MATCH ()-[x:\`RELATES_TO\`]->() RETURN count(x) AS c UNION ALL MATCH ()-[x:\`MENTIONS\`]->() RETURN count(x) AS c UNION ALL MATCH ()-[x:\`HAS_MEMBER\`]->() RETURN count(x) AS c UNION ALL MATCH ()-[x:\`HAS_EPISODE\`]->() RETURN count(x) AS c UNION ALL MATCH ()-[x:\`NEXT_EPISODE\`]->() RETURN count(x) AS c } RETURN sum(c)"
  "MATCH (n:Entity) WHERE true RETURN max(n.created_at)"
  "MATCH (n:Episodic) WHERE true RETURN max(n.created_at)"
  "MATCH (n:Community) WHERE true RETURN max(n.created_at)"
  "MATCH (n:Saga) WHERE true RETURN max(n.created_at)"
  "MATCH (a)-[r:RELATES_TO]->() WHERE true WITH max(r.created_at) AS c, max(r.expired_at) AS e RETURN CASE WHEN e IS NULL OR c > e THEN c ELSE e END"
  "MATCH (a:Episodic)-[r:MENTIONS]->() WHERE true RETURN max(a.created_at)"
  "MATCH (a:Community)-[r:HAS_MEMBER]->() WHERE true RETURN max(coalesce(r.created_at, a.created_at))"
  "MATCH (a)-[r:HAS_EPISODE]->(b:Episodic) WHERE true RETURN max(b.created_at)"
  "MATCH (a)-[r:NEXT_EPISODE]->(b:Episodic) WHERE true RETURN max(b.created_at)"
  "MATCH (n:\`Entity\`) WHERE n.uuid > '' RETURN n, n.uuid ORDER BY n.uuid"
  "MATCH (n:\`Episodic\`) WHERE n.uuid > '' RETURN n, n.uuid ORDER BY n.uuid"
  "MATCH (n:\`Community\`) WHERE n.uuid > '' RETURN n, n.uuid ORDER BY n.uuid"
  "MATCH (n:\`Saga\`) WHERE n.uuid > '' RETURN n, n.uuid ORDER BY n.uuid"
  "MATCH (a:\`Entity\`)-[r:\`RELATES_TO\`]->(b:Entity) WHERE r.uuid > '' RETURN r, a.uuid, b.uuid, 'Entity', r.uuid ORDER BY r.uuid"
  "MATCH (a:\`Episodic\`)-[r:\`MENTIONS\`]->(b:Entity) WHERE r.uuid > '' RETURN r, a.uuid, b.uuid, 'Entity', r.uuid ORDER BY r.uuid"
  "MATCH (a:\`Community\`)-[r:\`HAS_MEMBER\`]->(b) WHERE r.uuid > '' RETURN r, a.uuid, b.uuid, CASE WHEN b:Community THEN 'Community' ELSE 'Entity' END, r.uuid ORDER BY r.uuid"
  "MATCH (a:\`Saga\`)-[r:\`HAS_EPISODE\`]->(b:Episodic) WHERE r.uuid > '' RETURN r, a.uuid, b.uuid, 'Episodic', r.uuid ORDER BY r.uuid"
  "MATCH (a:\`Episodic\`)-[r:\`NEXT_EPISODE\`]->(b:Episodic) WHERE r.uuid > '' RETURN r, a.uuid, b.uuid, 'Episodic', r.uuid ORDER BY r.uuid"
)
: >"$LINES"
for q in "${QUERIES[@]}"; do
  "$DRAIN" --query "$q" --fetch "${NEO4J_FETCH_SIZE:-10000}" >>"$LINES"
done
# Extract rows: the records of the last nine queries (the others return one row each).
jq -s -c '{queries: length, rows: (map(.rows) | add), items: (.[10:] | map(.rows) | add),
           seconds: (map(.seconds) | add), extract_seconds: (.[10:] | map(.seconds) | add),
           payload_bytes: (map(.payload_bytes) | add), max_rss_kb: (map(.max_rss_kb) | max),
           server: .[0].server, bolt: .[0].bolt}' "$LINES"
