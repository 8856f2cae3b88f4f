"""Checks packaging/grafana-dashboard.json: valid JSON in the shape Grafana imports (a schema
check of the fields it needs), the panels the issue asks for, and every metric an expression
names served by a real /metrics (its text is the second argument).
Usage: python3 grafana.py DASHBOARD METRICS_TEXT"""
import json
import re
import sys

dash_path, metrics_path = sys.argv[1], sys.argv[2]
errors = []
need = lambda cond, msg: cond or errors.append(msg)

try:
    dash = json.load(open(dash_path))
except ValueError as e:
    print(f"{dash_path}: not JSON: {e}", file=sys.stderr)
    sys.exit(1)

SCHEMA = {  # field: type, for the dashboard and for each panel
    "dashboard": {"title": str, "uid": str, "schemaVersion": int, "panels": list, "templating": dict},
    "panel": {"id": int, "type": str, "title": str, "gridPos": dict, "targets": list},
}
for k, t in SCHEMA["dashboard"].items():
    need(isinstance(dash.get(k), t), f"dashboard.{k} must be a {t.__name__}")
served = set()
for line in open(metrics_path):
    m = re.match(r"# TYPE (\S+) (\S+)", line)
    if m:
        served.add(m.group(1))
        if m.group(2) == "histogram":
            served |= {m.group(1) + s for s in ("_bucket", "_sum", "_count")}
ids, titles, used = set(), [], set()
for p in dash.get("panels", []):
    for k, t in SCHEMA["panel"].items():
        need(isinstance(p.get(k), t), f"panel {p.get('title')}: {k} must be a {t.__name__}")
    need(p.get("id") not in ids, f"panel id {p.get('id')} twice")
    ids.add(p.get("id"))
    g = p.get("gridPos", {})
    need(all(isinstance(g.get(k), int) for k in "xywh") and g.get("x", 0) + g.get("w", 0) <= 24,
         f"panel {p.get('title')}: gridPos x,y,w,h within 24 columns")
    titles.append(p.get("title", "").lower())
    for t in p.get("targets", []):
        expr = t.get("expr", "")
        need(expr and t.get("refId"), f"panel {p.get('title')}: a target without expr or refId")
        for name in re.findall(r"\b((?:falkorsync|process)_[a-z_]+)\b", expr):
            used.add(name)
            need(name in served, f"panel {p.get('title')}: {name} is not served by /metrics")
for want in ("lag", "items", "error", "run", "memory"):
    need(any(want in t for t in titles), f"no panel about {want}")
if errors:
    print("\n".join(f"{dash_path}: {e}" for e in errors), file=sys.stderr)
    sys.exit(1)
print(f"{len(ids)} panels, {len(used)} metrics, all served")
