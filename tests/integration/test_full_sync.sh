#!/usr/bin/env bash
# Full sync + verify against the real servers: every Graphiti type, several
# groups, hostile strings; both layouts; a reader never sees the live graph
# shrink during a re-sync; kill -9 mid-sync then re-run converges with no
# duplicates.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
GEN="$(dirname "$BIN")/falkorsync-gen"
export FALKORDB_DATABASE="itest_full_$$"
# The binaries read NEO4J_URI, the server scripts NEO4J_PORT: one Neo4j for both.
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${NEO4J_PORT:-7687}}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-graphiti123}"
R() { redis-cli -p "${FALKORDB_PORT:-6379}" ${FALKORDB_PASSWORD:+-a "$FALKORDB_PASSWORD" --no-auth-warning} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# redis-cli exits 0 on an error reply, so pick the command by the key's type.
del_key() {
  if [[ "$(R TYPE "$1")" == graphdata ]]; then R GRAPH.DELETE "$1" >/dev/null; else R DEL "$1" >/dev/null; fi
}
cleanup() {
  for k in $(R --scan --pattern "${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*${FALKORDB_DATABASE}*") $(R --scan --pattern "falkorsync:*:group_*") group_a group_b group_c; do del_key "$k"; done
  R DEL "falkorsync:ckpt:${FALKORDB_DATABASE}" >/dev/null || true
  "$GEN" --clear --entities 0 >/dev/null 2>&1 || true
}
TMPD=$(mktemp -d)
trap 'cleanup; rm -rf "$TMPD"' EXIT

echo "== generate a small Graphiti graph with hostile strings"
"$GEN" --clear --entities 300 --groups 3 --dim 16 --hostile --seed 7

echo "== single layout: full, then verify"
out=$("$BIN" full)
echo "$out"
[[ "$out" == *'"ok":true'* ]] || fail "full sync failed"
"$BIN" verify || fail "verify found differences after a full sync"

echo "== hostile strings, labels with spaces, property names with spaces"
# verify above compared every string byte for byte; these check the hostile items are there.
q() { R GRAPH.QUERY "$FALKORDB_DATABASE" "$1" --raw | sed -n 2p; }
n=$(q "MATCH (n:Entity) WHERE size(n.name) = 127 RETURN count(n)")
[[ "$n" -ge 1 ]] || fail "the string holding every byte 0x01-0x7F is missing or changed"
n=$(q 'MATCH (n:`Weird Label`) RETURN count(n)')
[[ "$n" -ge 1 ]] || fail "label with a space missing"
n=$(q 'MATCH (n:Entity) WHERE n.`a key with spaces` CONTAINS "DETACH DELETE" RETURN count(n)')
[[ "$n" -ge 1 ]] || fail "property name with spaces missing"
[[ "$out" == *'"backtick_in_label":1'* ]] || fail "the label with a backtick must be reported as dropped"

echo "== a concurrent reader never sees the live graph shrink during a re-sync"
total=$(R GRAPH.QUERY "$FALKORDB_DATABASE" "MATCH (n) RETURN count(n)" --raw | sed -n 2p)
"$GEN" --entities 2000 --groups 3 --dim 16 --seed 8 >/dev/null
( SYNC_BATCH_SIZE=100 "$BIN" full >/dev/null ) &
sync_pid=$!
min=$total; reads=0
while kill -0 $sync_pid 2>/dev/null; do
  c=$(R GRAPH.RO_QUERY "$FALKORDB_DATABASE" "MATCH (n) RETURN count(n)" --raw 2>&1 | sed -n 2p)
  reads=$((reads + 1))
  [[ "$c" =~ ^[0-9]+$ ]] || fail "reader got '$c' during the re-sync"
  (( c < min )) && min=$c
done
wait $sync_pid || fail "re-sync failed"
echo "reader: $reads reads, smallest count $min (before: $total)"
(( min >= total )) || fail "the live graph shrank to $min during a re-sync"
"$BIN" verify >/dev/null || fail "verify after the re-sync"

at_entries() { R HKEYS "falkorsync:ckpt:${FALKORDB_DATABASE}" | grep -c '^at:' || true; }
for method in query bulk; do
  echo "== kill -9 in the middle ($method method), then run again: converges, no duplicates"
  R GRAPH.DELETE "$FALKORDB_DATABASE" >/dev/null 2>&1 || true
  ( SYNC_FULL_METHOD=$method SYNC_BATCH_SIZE=50 SYNC_PIPELINE_DEPTH=1 exec "$BIN" full >/dev/null 2>&1 ) &
  pid=$!
  for _ in $(seq 1 200); do
    t=$(R HGET "falkorsync:ckpt:${FALKORDB_DATABASE}" type)
    a=$(R HGET "falkorsync:ckpt:${FALKORDB_DATABASE}" after)
    if [[ $method == query ]]; then
      [[ -n "$t" && ( "$t" -ge 1 || -n "$a" ) ]] && break
    else  # the bulk method records where each command leaves the graph
      (( $(at_entries) >= 8 )) && break
    fi
    sleep 0.05
  done
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  echo "killed at checkpoint type=$t after=$a, $(at_entries) bulk entries"
  # the resumed run keeps the method it started with, whatever the setting now
  other=query; [[ $method == query ]] && other=bulk
  out=$(SYNC_FULL_METHOD=$other "$BIN" full)
  echo "$out"
  [[ "$out" == *'"resumed":true'* ]] || fail "the second run did not resume ($method)"
  [[ "$out" == *"\"method\":\"$method\""* ]] || fail "the resumed run changed method ($method)"
  "$BIN" verify || fail "verify after kill -9 + resume ($method)"
done

echo "== the bulk method falls back to queries where GRAPH.BULK cannot name a label"
"$GEN" --entities 0 --exec 'CREATE (:Entity:`has:colon` {uuid: "zz-colon", group_id: "group_a", name: "colon"})' >/dev/null
out=$(SYNC_FULL_METHOD=bulk "$BIN" full)
echo "$out"
[[ "$out" == *'"ok":true'* && "$out" == *'"method":"query"'* ]] || fail "no fallback to the query method"
"$BIN" verify || fail "verify after the fallback"
n=$(q 'MATCH (n:`has:colon`) RETURN count(n)')
[[ "$n" == 1 ]] || fail "the label holding ':' is missing ($n)"
"$GEN" --entities 0 --exec 'MATCH (n {uuid: "zz-colon"}) DETACH DELETE n' >/dev/null

echo "== the bulk method falls back to queries when FalkorDB refuses GRAPH.BULK (an ACL)"
acl_user="fs_nobulk_$$"
R ACL SETUSER "$acl_user" on '>pw' '~*' '&*' +@all -graph.bulk >/dev/null
out=$(FALKORDB_USERNAME="$acl_user" FALKORDB_PASSWORD=pw SYNC_FULL_METHOD=bulk timeout 120 "$BIN" full 2>"$TMPD/acl.err") || true
R ACL DELUSER "$acl_user" >/dev/null
echo "$out"
[[ "$out" == *'"ok":true'* && "$out" == *'"method":"query"'* ]] || { cat "$TMPD/acl.err"; fail "no fallback when GRAPH.BULK is refused"; }
grep -q "refused GRAPH.BULK" "$TMPD/acl.err" || fail "the refusal was not logged"
"$BIN" verify || fail "verify after the ACL fallback"

echo "== query and bulk methods write the same cache"
# property by property (attribute order may differ), labels sorted
dump_cache() {
  R GRAPH.QUERY "$FALKORDB_DATABASE" "MATCH (n) UNWIND labels(n) AS l RETURN n.uuid, l ORDER BY n.uuid, l" >"$1"
  R GRAPH.QUERY "$FALKORDB_DATABASE" "MATCH (n) UNWIND keys(n) AS k RETURN n.uuid, k, n[k] ORDER BY n.uuid, k" >>"$1"
  R GRAPH.QUERY "$FALKORDB_DATABASE" "MATCH (a)-[e]->(b) UNWIND keys(e) AS k RETURN e.uuid, a.uuid, type(e), b.uuid, k, e[k] ORDER BY e.uuid, a.uuid, b.uuid, k" >>"$1"
}
out=$(SYNC_FULL_METHOD=query "$BIN" full)
[[ "$out" == *'"method":"query"'* ]] || fail "SYNC_FULL_METHOD=query not used"
dump_cache "$TMPD/query.txt"
idx_q=$(R GRAPH.QUERY "$FALKORDB_DATABASE" "CALL db.indexes() YIELD label, properties, types, entitytype RETURN label, properties, types, entitytype ORDER BY entitytype, label" | grep -v "execution time")
out=$(SYNC_FULL_METHOD=bulk "$BIN" full)
[[ "$out" == *'"method":"bulk"'* ]] || fail "SYNC_FULL_METHOD=bulk not used"
dump_cache "$TMPD/bulk.txt"
grep -v "execution time" "$TMPD/query.txt" >"$TMPD/q2.txt"; grep -v "execution time" "$TMPD/bulk.txt" >"$TMPD/b2.txt"
cmp -s "$TMPD/q2.txt" "$TMPD/b2.txt" || { diff "$TMPD/q2.txt" "$TMPD/b2.txt" | head -20; fail "the two methods wrote different caches"; }
echo "identical: $(wc -l <"$TMPD/b2.txt") lines"
idx_b=$(R GRAPH.QUERY "$FALKORDB_DATABASE" "CALL db.indexes() YIELD label, properties, types, entitytype RETURN label, properties, types, entitytype ORDER BY entitytype, label" | grep -v "execution time")
echo "$idx_b" | grep -q RELATES_TO || fail "indexes missing after a bulk load"
[[ "$idx_q" == "$idx_b" ]] || { diff <(echo "$idx_q") <(echo "$idx_b"); fail "the two methods made different indexes"; }

echo "== per_group layout: full, then verify"
export FALKORDB_LAYOUT=per_group
out=$("$BIN" full)
echo "$out"
[[ "$out" == *'"ok":true'* ]] || fail "per_group full sync failed"
"$BIN" verify || fail "verify per_group"
echo PASS
