"""Shared by the Python benchmark peers: settings, the Graphiti types, value conversion, indexes.

The peers use the official clients from PyPI (`neo4j`, `falkordb`), pinned in
bench/peers/requirements.txt; bench/run.sh creates their virtualenv.
"""

import datetime
import json
import os
import sys
import time

import neo4j
import neo4j.time
from falkordb import FalkorDB

# The types falkorsync syncs (src/sync/schema.c): node labels, then
# relationship types with their source label and possible target labels.
NODE_TYPES = ["Entity", "Episodic", "Community", "Saga"]
EDGE_TYPES = [
    # (type, source label, target labels)
    ("RELATES_TO", "Entity", ["Entity"]),
    ("MENTIONS", "Episodic", ["Entity"]),
    ("HAS_MEMBER", "Community", ["Entity", "Community"]),
    ("HAS_EPISODE", "Saga", ["Episodic"]),
    ("NEXT_EPISODE", "Episodic", ["Episodic"]),
]
EMBEDDINGS = ("name_embedding", "fact_embedding")

# Graphiti's FalkorDB indexes, as falkorsync creates them (src/sync/schema.c).
RANGE_INDEXES = [
    "CREATE INDEX FOR (n:Entity) ON (n.uuid, n.group_id, n.name, n.created_at)",
    "CREATE INDEX FOR (n:Episodic) ON (n.uuid, n.group_id, n.created_at, n.valid_at)",
    "CREATE INDEX FOR (n:Community) ON (n.uuid)",
    "CREATE INDEX FOR (n:Saga) ON (n.uuid, n.group_id, n.name)",
    "CREATE INDEX FOR ()-[e:RELATES_TO]-() ON (e.uuid, e.group_id, e.name, e.created_at, "
    "e.expired_at, e.valid_at, e.invalid_at)",
    "CREATE INDEX FOR ()-[e:MENTIONS]-() ON (e.uuid, e.group_id)",
    "CREATE INDEX FOR ()-[e:HAS_MEMBER]-() ON (e.uuid)",
    "CREATE INDEX FOR ()-[e:HAS_EPISODE]-() ON (e.uuid, e.group_id)",
    "CREATE INDEX FOR ()-[e:NEXT_EPISODE]-() ON (e.uuid, e.group_id)",
]
FULLTEXT_INDEXES = [
    "CREATE FULLTEXT INDEX FOR (e:Episodic) ON (e.content, e.source, e.source_description, "
    "e.group_id)",
    "CREATE FULLTEXT INDEX FOR (n:Entity) ON (n.name, n.summary, n.group_id)",
    "CREATE FULLTEXT INDEX FOR (n:Community) ON (n.name, n.group_id)",
    "CREATE FULLTEXT INDEX FOR ()-[e:RELATES_TO]-() ON (e.name, e.fact, e.group_id)",
]


def env(name, default):
    value = os.environ.get(name, "")
    return value if value else default


def neo4j_driver():
    uri = env("NEO4J_URI", "bolt://127.0.0.1:7687")
    user = env("NEO4J_USER", "neo4j")
    password = env("NEO4J_PASSWORD", "graphiti123")
    return neo4j.GraphDatabase.driver(uri, auth=(user, password))


def neo4j_database():
    return env("NEO4J_DATABASE", "neo4j")


def falkor_graph():
    db = FalkorDB(
        host=env("FALKORDB_HOST", "127.0.0.1"),
        port=int(env("FALKORDB_PORT", "6379")),
        password=os.environ.get("FALKORDB_PASSWORD") or None,
    )
    return db, db.select_graph(env("FALKORDB_DATABASE", "graphiti_cache"))


TEMPORAL = (neo4j.time.DateTime, neo4j.time.Date, neo4j.time.Time)


def iso_utc(value):
    """A Neo4j DateTime as Graphiti's own FalkorDB writer stores it: isoformat() of the UTC value."""
    native = value.to_native()
    if native.tzinfo is not None:
        native = native.astimezone(datetime.timezone.utc)
    return native.isoformat()


def convert_careful(value):
    """Values the way a careful user converts them (and falkorsync's mapping rules)."""
    if isinstance(value, neo4j.time.DateTime):
        return iso_utc(value)
    if isinstance(value, (neo4j.time.Date, neo4j.time.Time)):
        return value.iso_format()
    if isinstance(value, list) and value and isinstance(value[0], TEMPORAL):
        return [convert_careful(v) for v in value]  # Neo4j lists are homogeneous
    return value


def convert_careful_prop(key, value):
    """convert_careful, plus falkorsync's one key-aware rule (docs/mapping.md): Neo4j's
    default group id '' is Graphiti's FalkorDB default group id '_'."""
    if key == "group_id" and value == "":
        return "_"
    return convert_careful(value)


def convert_seed(value):
    """Values the way the seed service converted them: str() of the driver's temporal types
    (nanosecond digits, e.g. 2025-01-01T00:00:00.554047000+00:00)."""
    if isinstance(value, (neo4j.time.DateTime, neo4j.time.Date, neo4j.time.Time)):
        return str(value)
    if isinstance(value, list) and value and isinstance(value[0], TEMPORAL):
        return [convert_seed(v) for v in value]
    return value


def ident(name):
    """A label, type or property name, backtick-quoted."""
    if "`" in name:
        raise ValueError(f"name with a backtick: {name!r}")
    return f"`{name}`"


def create_indexes(graph, statements):
    for q in statements:
        try:
            graph.query(q)
        except Exception as exc:  # an index that already exists is fine
            if "already" not in str(exc).lower():
                raise


def wait_indexes(graph, timeout=600.0):
    q = "CALL db.indexes() YIELD status WHERE status <> 'OPERATIONAL' RETURN count(status)"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if graph.query(q).result_set[0][0] == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("indexes not operational after %s s" % timeout)


def emit(result):
    """Prints the peer's one-line JSON result."""
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()
