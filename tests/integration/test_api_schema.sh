#!/usr/bin/env bash
# The running service against docs/openapi.yaml: every documented answer
# (200/202/400/401/404/405/409/413 and their bodies) checked against the
# document's schemas, then schemathesis (pinned) fuzzes every operation and
# fails on any 5xx, schema violation, undocumented status or content type,
# wrong Allow header, or a POST that works without the token.
# shellcheck disable=SC2154  # work, serve_pid, API, MP, ROOT, CACHE are set by lib.sh
set -euo pipefail
export FALKORDB_DATABASE="itest_api_$$"
# shellcheck source=tests/browser/lib.sh
source "${FALKORSYNC_ROOT:?}/tests/browser/lib.sh"

ST_VERSION=4.32.5
VENV="$CACHE/venv-schemathesis"
SPEC="$ROOT/docs/openapi.yaml"

echo "== schemathesis $ST_VERSION (venv in $VENV)"
if ! "$VENV/bin/st" --version 2>/dev/null | grep -qx "st, version $ST_VERSION"; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$ST_VERSION" || fail "pip install schemathesis"
fi

echo "== a small graph and a running service (token, continuous sync every 2 s)"
export SYNC_API_TOKEN="api-$$-$RANDOM" SYNC_ENABLE_CONTINUOUS=true SYNC_INTERVAL_SECONDS=2
serve_start
wait_idle
echo "service on $API, metrics on $MP"

echo "== every documented answer, checked against the document"
failures=()
API="$API" MP="$MP" SPEC="$SPEC" TOKEN="$SYNC_API_TOKEN" "$VENV/bin/python" - <<'PY' || failures+=("documented answers")
import json, os, time, urllib.error, urllib.request
import jsonschema_rs, yaml  # both come with schemathesis

API, MP, TOKEN = os.environ["API"], os.environ["MP"], os.environ["TOKEN"]
spec = yaml.safe_load(open(os.environ["SPEC"]))
schemas = spec["components"]["schemas"]
passed = failed = 0


def to_json_schema(s):
    """OpenAPI 3.0 schema -> JSON Schema: inline $ref, nullable as a union with null."""
    if isinstance(s, list):
        return [to_json_schema(x) for x in s]
    if not isinstance(s, dict):
        return s
    if "$ref" in s:
        return to_json_schema(schemas[s["$ref"].rsplit("/", 1)[1]])
    out = {k: to_json_schema(v) for k, v in s.items() if k not in ("nullable", "example", "description")}
    return {"anyOf": [out, {"type": "null"}]} if s.get("nullable") else out


def request(method, url, body=None, token=None):
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + (": " + detail if detail else ""))


def expect(method, path, status, schema, url=None, **kw):
    """Sends one request; checks the status and that the body matches components/schemas/<schema>."""
    code, headers, body = request(method, (url or API) + path, **kw)
    what = f"{method} {path} -> {status}" + (f" {schema}" if schema else "")
    problems = [] if code == status else [f"got {code}"]
    doc = None
    if schema:
        ctype = headers.get("Content-Type", "")
        if not ctype.startswith("application/json"):
            problems.append("Content-Type " + repr(ctype))
        try:
            doc = json.loads(body)
        except ValueError:
            problems.append("not JSON: %r" % body[:120])
        else:
            v = jsonschema_rs.Draft4Validator(to_json_schema(schemas[schema]))
            for e in v.iter_errors(doc):
                problems.append("%s: %s" % ("/".join(map(str, e.instance_path)) or "(root)", e.message))
    check(not problems, what, "; ".join(problems) + ("  body: " + body[:300].decode(errors="replace") if problems else ""))
    return code, headers, doc


def status():
    return json.loads(request("GET", API + "/api/sync/status")[2])


def wait_idle():
    for _ in range(600):
        if status()["state"] == "idle":
            return
        time.sleep(0.1)
    check(False, "the service becomes idle within 60 s")


# Reads
expect("GET", "/health", 200, "Health")
expect("GET", "/health/live", 200, "Live")
expect("GET", "/health/ready", 200, "Ready")
expect("GET", "/api/sync/status", 200, "Status")
expect("GET", "/api/sync/statistics", 200, "Statistics")
expect("GET", "/api/system/metrics", 200, "SystemMetrics")
_, _, doc = expect("GET", "/api/sync/history?limit=1000", 200, "History")
ids = [r["run_id"] for r in (doc or {}).get("runs", [])]
check(ids and ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids), "history is newest first", str(ids))
_, _, doc = expect("GET", "/api/sync/history?limit=1", 200, "History")
check(doc is not None and len(doc["runs"]) == 1, "history?limit=1 gives one run")
_, _, doc = expect("GET", "/api/sync/history", 200, "History")
check(doc is not None and 1 <= len(doc["runs"]) <= 20, "history defaults to at most 20 runs")
for bad in ("0", "1001", "-1", "abc", "1.5", "", "99999999999999999999"):
    expect("GET", "/api/sync/history?limit=" + bad, 400, "Error")
code, headers, body = request("GET", API + "/")
check(code == 200 and headers.get("Content-Type", "").startswith("text/html") and b'id="btn-full"' in body,
      "GET / -> 200 the dashboard (text/html)")

# Unknown routes, wrong methods, big bodies, no token
expect("GET", "/nope", 404, "Error")
expect("GET", "/api/sync", 404, "Error")
expect("POST", "/api/sync/everything", 404, "Error", token=TOKEN)
for method, path, allow in (("DELETE", "/health", "GET"), ("PUT", "/api/sync/status", "GET"),
                            ("POST", "/api/sync/history", "GET"), ("GET", "/api/sync/full", "POST"),
                            ("DELETE", "/api/sync/stop", "POST")):
    _, headers, _ = expect(method, path, 405, "Error", token=TOKEN)
    check(allow in [m.strip() for m in headers.get("Allow", "").split(",")], f"{method} {path}: Allow names {allow}",
          repr(headers.get("Allow")))
for path in ("/api/sync/full", "/api/sync/incremental", "/api/sync/reconcile", "/api/sync/start", "/api/sync/stop"):
    expect("POST", path, 401, "Error")
expect("POST", "/api/sync/full", 401, "Error", token="wrong")
expect("POST", "/api/sync/full", 413, "Error", token=TOKEN, body=b"a" * 70000)

# Continuous off, then triggers, 409 while a run is in progress
_, _, doc = expect("POST", "/api/sync/stop", 200, "Continuous", token=TOKEN)
check(doc == {"continuous": False, "persisted": True, "cancelled": False}, "stop answers continuous false, persisted, nothing to cancel", str(doc))
wait_idle()
st = status()
check(not st["continuous"] and st["next_run_in_seconds"] is None, "status: continuous off, no next run", str(st))
_, _, acc = expect("POST", "/api/sync/full", 202, "Accepted", token=TOKEN)
_, _, conflict = expect("POST", "/api/sync/incremental", 409, "Conflict", token=TOKEN)
if acc and conflict:
    check(conflict["running"]["run_id"] == acc["run_id"], "409 names the run in progress", str(conflict))
wait_idle()
_, _, doc = expect("GET", "/api/sync/history?limit=5", 200, "History")
if acc and doc:
    last = doc["runs"][0]
    check(last["run_id"] == acc["run_id"] and last["mode"] == "full" and last["result"] == "success",
          "the accepted run is the newest in the history, a success", str(last))
for mode in ("reconcile", "incremental"):
    _, _, acc = expect("POST", "/api/sync/" + mode, 202, "Accepted", token=TOKEN)
    check(acc is not None and acc["mode"] == mode, f"{mode} accepted as {mode}", str(acc))
    wait_idle()
expect("GET", "/api/sync/status", 200, "Status")
expect("GET", "/api/sync/statistics", 200, "Statistics")
_, _, doc = expect("POST", "/api/sync/start", 200, "Continuous", token=TOKEN)
check(doc == {"continuous": True, "persisted": True}, "start answers continuous true, persisted", str(doc))
check(status()["continuous"] is True, "status: continuous on")

# The metrics port
murl = "http://127.0.0.1:" + MP
code, headers, body = request("GET", murl + "/metrics")
check(code == 200 and headers.get("Content-Type", "").startswith("text/plain") and b"# TYPE " in body,
      "GET /metrics -> 200 Prometheus text", f"{code} {headers.get('Content-Type')}")
expect("GET", "/other", 404, "Error", url=murl)
_, headers, _ = expect("POST", "/metrics", 405, "Error", url=murl)
check("GET" in headers.get("Allow", ""), "POST /metrics: Allow names GET", repr(headers.get("Allow")))

print(f"documented answers: {passed} passed, {failed} failed")
raise SystemExit(1 if failed else 0)
PY

echo "== schemathesis: every operation on the health port"
st_run() {
  timeout 600 "$VENV/bin/st" run "$SPEC" --max-examples "${ST_MAX_EXAMPLES:-20}" --seed "${ST_SEED:-20261125}" \
    --workers 1 --request-timeout 20 --no-color --report junit --report-dir "$work/st" "$@"
}
# Not unsupported_method: civetweb itself answers TRACE and unknown methods with
# a plain 400 before any handler runs; the 405s are checked above.
st_run --url "$API" --exclude-path /metrics -H "Authorization: Bearer $SYNC_API_TOKEN" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,allow_header_conformance,ignored_auth ||
  failures+=("schemathesis on the health port")
echo "== schemathesis: /metrics on the metrics port"
st_run --url "http://127.0.0.1:$MP" --include-path /metrics \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,allow_header_conformance ||
  failures+=("schemathesis on the metrics port")
kill -0 "$serve_pid" 2>/dev/null || failures+=("the service died during the run")
if [[ ${#failures[@]} -ne 0 ]]; then
  tail -n 20 "$work/serve.log" >&2
  fail "$(IFS=';'; echo "${failures[*]}")"
fi
echo PASS
