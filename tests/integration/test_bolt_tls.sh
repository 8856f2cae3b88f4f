#!/usr/bin/env bash
# Bolt over TLS against a second real Neo4j started with a certificate from a
# CA made here: +ssc connects, +s connects when the CA is trusted (SSL_CERT_FILE
# or neo4j.ca_file) and fails with a certificate error when it is not, or when
# the host name does not match.
set -euo pipefail
ROOT="${FALKORSYNC_ROOT:?}"
BIN="${FALKORSYNC_BIN:?}"
work=$(mktemp -d)
port=$((17687 + RANDOM % 1000))
cleanup() {
  FALKORSYNC_RUN="$work/run" NEO4J_PORT=$port "$ROOT/scripts/servers.sh" stop-neo4j >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

tls="$work/tls"; mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=falkorsync test CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "$tls/private.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$work/ext.cnf"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
  -CAcreateserial -days 2 -extfile "$work/ext.cnf" -out "$tls/public.crt" 2>/dev/null

FALKORSYNC_RUN="$work/run" NEO4J_PORT=$port NEO4J_TLS_DIR="$tls" NEO4J_HEAP=512m \
  "$ROOT/scripts/servers.sh" start-neo4j

fail() { echo "FAIL: $*" >&2; exit 1; }
ping_neo4j() { "$BIN" ping 2>&1 | grep '^neo4j:'; }

out=$(NEO4J_URI="bolt+ssc://localhost:$port" ping_neo4j) || true
echo "$out"; [[ "$out" == "neo4j: ok "* ]] || fail "+ssc should connect"

out=$(NEO4J_URI="bolt+s://localhost:$port" SSL_CERT_FILE="$work/ca.pem" ping_neo4j) || true
echo "$out"; [[ "$out" == "neo4j: ok "* ]] || fail "+s with the CA in SSL_CERT_FILE should connect"

out=$(NEO4J_URI="neo4j+s://localhost:$port" NEO4J_CA_FILE="$work/ca.pem" ping_neo4j) || true
echo "$out"; [[ "$out" == "neo4j: ok "* ]] || fail "neo4j+s with neo4j.ca_file should connect"

out=$(NEO4J_URI="bolt+s://localhost:$port" SSL_CERT_FILE=/dev/null ping_neo4j) || true
echo "$out"; [[ "$out" == *"certificate"*"rejected"* ]] || fail "+s without the CA must fail on the certificate"

out=$(NEO4J_URI="bolt+s://127.0.0.1:$port" NEO4J_CA_FILE="$work/ca.pem" ping_neo4j) || true
echo "$out"; [[ "$out" == *"certificate"*"rejected"* ]] || fail "+s to a name not in the certificate must fail"

out=$(NEO4J_URI="bolt://localhost:$port" NEO4J_READ_TIMEOUT=5 ping_neo4j) || true
echo "$out"; [[ "$out" == *"FAILED"* ]] || fail "plain bolt to a TLS-only server must fail"
echo "PASS"
