"""Graphiti's public API on Neo4j and on the falkorsync cache, compared.

Run by tests/integration/test_graphiti_api.sh inside a venv holding the
pinned graphiti-core. Subcommands:

  write            every node and edge type in three groups (incl. Neo4j's
                   default group '') through Graphiti's own save(): on Neo4j,
                   and the same objects through Graphiti's FalkorDriver into
                   FalkorDB database NATIVE_DB (the "native" graphs, as a
                   Graphiti application on FalkorDB would have written them)
  change STAGE     a Graphiti-shaped change, applied the same way to both
  structure        only the cache-vs-native diff of the graphs
  compare LABEL    the public-API calls on Neo4j, on the cache (FalkorDB db 0)
                   and on the native graphs (db NATIVE_DB); then the cache
                   graphs diffed against the native ones node by node, edge by
                   edge, property by property (types included), index by index
  single LABEL     the calls a reader of the single layout makes (no group
                   ids, FalkorDriver(database=FALKORDB_DATABASE)) against
                   Neo4j without group ids
  clean            removes this test's data from Neo4j and both FalkorDB dbs

No LLM: the embedder and the cross-encoder are deterministic fakes; an LLM
call fails the test. Exit status 1 on any difference other than the named
Graphiti-inherent ones (docs/graphiti-schema.md, section 9), each of which is
proved on the native graphs every time it is seen.
"""

import os

os.environ.setdefault("GRAPHITI_TELEMETRY_ENABLED", "false")  # before graphiti_core is imported

import asyncio
import hashlib
import json
import math
import sys
import uuid as uuidlib
from datetime import datetime, timedelta, timezone

import redis.asyncio as aioredis
from falkordb import FalkorDB as SyncFalkorDB
from falkordb.asyncio import FalkorDB
from graphiti_core import Graphiti
from graphiti_core.cross_encoder.client import CrossEncoderClient
from graphiti_core.driver.falkordb_driver import FalkorDriver
from graphiti_core.driver.neo4j_driver import Neo4jDriver
from graphiti_core.edges import (
    CommunityEdge,
    EntityEdge,
    EpisodicEdge,
    HasEpisodeEdge,
    NextEpisodeEdge,
)
from graphiti_core.embedder.client import EmbedderClient
from graphiti_core.llm_client.client import LLMClient
from graphiti_core.nodes import CommunityNode, EntityNode, EpisodeType, EpisodicNode, SagaNode
from graphiti_core.search import search_config_recipes as recipes
from graphiti_core.utils.maintenance.community_operations import remove_communities
from graphiti_core.utils.maintenance.graph_data_operations import clear_data

NEO4J_URI = os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687")
NEO4J_USER = os.environ.get("NEO4J_USER", "neo4j")
NEO4J_PASSWORD = os.environ.get("NEO4J_PASSWORD", "graphiti123")
FHOST = os.environ.get("FALKORDB_HOST", "127.0.0.1")
FPORT = int(os.environ.get("FALKORDB_PORT", "6379"))
FPASS = os.environ.get("FALKORDB_PASSWORD") or None
NATIVE_DB = 1  # Redis database of the natively written graphs (the cache is in db 0)
SINGLE_GRAPH = os.environ.get("GRAPHITI_SINGLE_GRAPH", "graphiti_cache")

# Neo4j group ids; each is cached in the graph named after it, Neo4j's
# default group '' in Graphiti's FalkorDB default graph under its default
# group id '_' (docs/mapping.md).
GA, GB, GD = "fsg_alpha", "fsg-beta", ""
GROUPS = [GA, GB, GD]
GN = "fsg_new"  # a group that appears later (change new_group)
ALL_GROUPS = GROUPS + [GN]
DEFAULT_GRAPH, FALKOR_DEFAULT_GROUP = "default_db", "_"


def fgroup(g):
    return g if g else FALKOR_DEFAULT_GROUP


def fgraph(g):
    return g if g and g != FALKOR_DEFAULT_GROUP else DEFAULT_GRAPH


# Calls where Graphiti itself answers differently on Neo4j and on FalkorDB
# (its routing, not the cache): compared cache-vs-native instead, and only
# accepted while the native graphs give the cache's answer. Names are the
# call names below with the group part; see docs/graphiti-schema.md §9.
INHERENT = {
    # No group ids: on FalkorDB Graphiti reads its driver's own graph only
    # (default_db, i.e. the default group); on Neo4j it reads every group.
    "no_group_reads_one_graph": lambda call: call.endswith("[none]"),
    # search/search_ with group_ids=[''] (Neo4j's default group): Graphiti's
    # search() turns [''] into "no filter", so Neo4j answers from every group;
    # on FalkorDB the call routes to default_db and answers from the default
    # group. Also proved: Neo4j's [''] answer equals its no-group answer.
    "default_group_search_unfiltered_on_neo4j": lambda call: call.startswith("search") and call.endswith("['']"),
    # search/search_ in a group whose id holds a '-': Graphiti's FalkorDB
    # full-text filter (@group_id:"fsg\-beta") matches nothing, so only the
    # vector and graph searches answer; on Neo4j the full-text filter works.
    "fulltext_group_id_with_dash": lambda call: call.startswith("search") and "-" in call.split("[")[-1],
    # get_nodes_and_edges_by_episode is not routed by group: a reader whose
    # driver sits on default_db does not find another group's episodes.
    "episode_lookup_not_routed": lambda call: call.startswith("get_nodes_and_edges_by_episode.default_reader[")
    and not call.endswith("['']"),
}

QUERIES = ["Alice works at Acme", "Paris", "meeting notes"]
DIM = 32
T0 = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=timezone.utc)


def uid(*parts):
    return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, "falkorsync-test/" + "/".join(parts)))


def ts(minutes):
    return T0 + timedelta(minutes=minutes)


class FakeEmbedder(EmbedderClient):
    """Bag of hashed words, normalised: deterministic, and similar texts are close."""

    async def create(self, input_data):
        text = input_data if isinstance(input_data, str) else " ".join(map(str, input_data))
        v = [0.0] * DIM
        for w in text.lower().split():
            h = hashlib.sha256(w.strip(".,:;!?").encode()).digest()
            v[h[0] % DIM] += 1.0 + h[1] / 255.0
        n = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / n for x in v]

    async def create_batch(self, input_data_list):
        return [await self.create(t) for t in input_data_list]


class FakeCrossEncoder(CrossEncoderClient):
    """Word overlap; ties broken by the text."""

    async def rank(self, query, passages):
        q = set(query.lower().split())
        scored = [(p, len(q & set(p.lower().split())) / (len(q) or 1)) for p in passages]
        return sorted(scored, key=lambda x: (-x[1], x[0]))


class NoLLM(LLMClient):
    def __init__(self):
        super().__init__(None)

    async def _generate_response(self, *a, **k):
        raise RuntimeError("this test runs without an LLM")


def graphiti(driver):
    return Graphiti(graph_driver=driver, llm_client=NoLLM(), embedder=FakeEmbedder(), cross_encoder=FakeCrossEncoder())


def neo4j_driver():
    return Neo4jDriver(NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD)


def falkor_client(db):
    pool = aioredis.BlockingConnectionPool(host=FHOST, port=FPORT, password=FPASS, db=db, decode_responses=True)
    return FalkorDB(connection_pool=pool)


def falkor_driver(db, database=DEFAULT_GRAPH):
    return FalkorDriver(falkor_db=falkor_client(db), database=database)


# ---- the graph -------------------------------------------------------------


async def objects(g, emb):
    """Every node and edge type of group g (Neo4j group id), deterministic."""
    o = {}
    # Distinct texts and times per group: a tie between groups would leave the
    # order of equal scores (and what a limit cuts) to each database.
    word = {GA: "alpha", GB: "beta two", GD: "gamma three four", GN: "delta five six seven"}[g]  # lengths differ: so do BM25 scores
    shift = {GA: 1, GB: 2, GD: 3, GN: 4}[g]

    def ts(minutes):
        return T0 + timedelta(minutes=minutes, seconds=shift)
    E = [
        ("alice", ["Entity", "Person"], "Alice", f"Alice works at Acme and lives in Paris ({word}).",
         {"age": 34, "email": "alice@example.com", "tags": ["engineer", "climber"], "score": 0.75, "active": True}),
        ("bob", ["Entity", "Person"], "Bob", f"Bob is Alice's colleague at Acme ({word}).", {}),
        ("acme", ["Entity", "Organization"], "Acme", f"Acme is a company that makes {word} anvils.", {"founded": 1949}),
        ("paris", ["Entity"], "Paris", "", {}),
    ]
    o["entities"] = [
        EntityNode(uuid=uid(g, "ent", k), name=f"{n} {g or 'default'}", group_id=g, labels=lab, summary=s,
                   attributes=a, created_at=ts(i))
        for i, (k, lab, n, s, a) in enumerate(E)
    ]
    for n in o["entities"]:
        await n.generate_name_embedding(emb)
    ent = {k: n.uuid for (k, *_), n in zip(E, o["entities"])}
    ep = {k: uid(g, "ep", k) for k in ("m1", "m2", "m3")}
    rel = {k: uid(g, "rel", k) for k in ("works_a", "works_b", "knows", "lives")}
    o["episodes"] = [
        EpisodicNode(uuid=ep["m1"], name="meeting 1", group_id=g, source=EpisodeType.message,
                     source_description="chat log", content=f"alice: I work at Acme. bob: me too! ({word})",
                     created_at=ts(10), valid_at=ts(-60), entity_edges=[rel["works_a"], rel["works_b"]]),
        EpisodicNode(uuid=ep["m2"], name="meeting 2", group_id=g, source=EpisodeType.text,
                     source_description="notes", content=f"Alice knows Bob since 2019; \"quoted\" and back\\slash ({word})",
                     created_at=ts(11), valid_at=ts(-30), entity_edges=[rel["knows"]]),
        EpisodicNode(uuid=ep["m3"], name="meeting 3", group_id=g, source=EpisodeType.json,
                     source_description="crm export", content=json.dumps({"person": "Alice", "city": "Paris", "tag": word}),
                     created_at=ts(12), valid_at=ts(-10), entity_edges=[rel["lives"]]),
    ]
    o["edges"] = [
        EntityEdge(uuid=rel["works_a"], group_id=g, source_node_uuid=ent["alice"], target_node_uuid=ent["acme"],
                   name="WORKS_AT", fact=f"Alice works at Acme {word}", episodes=[ep["m1"]], created_at=ts(20),
                   valid_at=ts(-600), attributes={"role": "engineer", "since": 2020}),
        EntityEdge(uuid=rel["works_b"], group_id=g, source_node_uuid=ent["bob"], target_node_uuid=ent["acme"],
                   name="WORKS_AT", fact=f"Bob works at Acme {word}", episodes=[ep["m1"]], created_at=ts(21)),
        EntityEdge(uuid=rel["knows"], group_id=g, source_node_uuid=ent["alice"], target_node_uuid=ent["bob"],
                   name="KNOWS", fact=f"Alice knows Bob since 2019 {word}", episodes=[ep["m2"]], created_at=ts(22),
                   valid_at=ts(-900)),
        EntityEdge(uuid=rel["lives"], group_id=g, source_node_uuid=ent["alice"], target_node_uuid=ent["paris"],
                   name="LIVES_IN", fact=f"Alice lives in Paris {word}", episodes=[ep["m3"]], created_at=ts(23),
                   valid_at=ts(-1000), invalid_at=ts(-5), expired_at=ts(30)),
    ]
    for e in o["edges"]:
        await e.generate_embedding(emb)
    o["mentions"] = [
        EpisodicEdge(uuid=uid(g, "men", a, b), group_id=g, source_node_uuid=ep[a], target_node_uuid=ent[b],
                     created_at=ts(24))
        for a, b in (("m1", "alice"), ("m1", "bob"), ("m1", "acme"), ("m2", "alice"), ("m2", "bob"),
                     ("m3", "alice"), ("m3", "paris"))
    ]
    o["communities"] = [
        CommunityNode(uuid=uid(g, "com", "acme"), name="Acme people", group_id=g,
                      summary=f"People who work at Acme {word}", created_at=ts(40)),
        CommunityNode(uuid=uid(g, "com", "all"), name="Everyone", group_id=g, summary=f"All communities {word}",
                      created_at=ts(41)),
    ]
    for c in o["communities"]:
        await c.generate_name_embedding(emb)
    o["members"] = [
        CommunityEdge(uuid=uid(g, "mem", k), group_id=g, source_node_uuid=o["communities"][0].uuid,
                      target_node_uuid=ent[k], created_at=ts(42))
        for k in ("alice", "bob", "acme")
    ] + [CommunityEdge(uuid=uid(g, "mem", "nested"), group_id=g, source_node_uuid=o["communities"][1].uuid,
                       target_node_uuid=o["communities"][0].uuid, created_at=ts(43))]
    saga = SagaNode(uuid=uid(g, "saga"), name="Weekly meetings", group_id=g, summary=f"Three meetings {word}",
                    first_episode_uuid=ep["m1"], last_episode_uuid=ep["m3"], last_summarized_at=ts(50),
                    created_at=ts(5))
    o["sagas"] = [saga]
    o["has_episode"] = [
        HasEpisodeEdge(uuid=uid(g, "he", k), group_id=g, source_node_uuid=saga.uuid, target_node_uuid=ep[k],
                       created_at=ts(51))
        for k in ("m1", "m2", "m3")
    ]
    o["next_episode"] = [
        NextEpisodeEdge(uuid=uid(g, "ne", a, b), group_id=g, source_node_uuid=ep[a], target_node_uuid=ep[b],
                        created_at=ts(52))
        for a, b in (("m1", "m2"), ("m2", "m3"))
    ]
    return o


def for_falkor(obj):
    """The same object as a Graphiti FalkorDB application writes it: group '' is '_'."""
    c = obj.model_copy(deep=True)
    c.group_id = fgroup(c.group_id)
    return c


ORDER = ["entities", "episodes", "communities", "sagas", "edges", "mentions", "members", "has_episode",
         "next_episode"]


async def save_all(objs, neo, native, single=None):
    """Graphiti's save() on Neo4j, on the native FalkorDB graph of the group,
    and (single) on one native graph holding every group."""
    for k in ORDER:
        for x in objs.get(k, []):
            await x.save(neo)
            await for_falkor(x).save(native.clone(database=fgraph(x.group_id)))
            if single:
                await for_falkor(x).save(single)


async def cmd_write():
    emb = FakeEmbedder()
    neo = neo4j_driver()
    native = falkor_driver(NATIVE_DB)
    await neo.build_indices_and_constraints()
    single = native.clone(database=SINGLE_GRAPH)
    await single.build_indices_and_constraints()
    for g in GROUPS:
        d = native.clone(database=fgraph(g))
        await d.build_indices_and_constraints()
        await save_all(await objects(g, emb), neo, native, single)
    await settle(native)
    await neo.close()


async def settle(*drivers):
    """Lets the index builds FalkorDriver schedules for itself and its clones finish."""
    await asyncio.sleep(0.2)
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


# ---- changes (the same through both drivers) --------------------------------


async def cmd_change(stage):
    emb = FakeEmbedder()
    neo = neo4j_driver()
    native = falkor_driver(NATIVE_DB)
    g = GA
    nd = native.clone(database=fgraph(g))
    if stage == "new_episode":
        # A new episode that mentions old entities; de-duplication appends it to
        # an existing edge's episodes, the entity's summary is rewritten.
        for gg in (GA, GD):
            ndd = native.clone(database=fgraph(gg))
            ep = EpisodicNode(uuid=uid(gg, "ep", "m4"), name="meeting 4", group_id=gg, source=EpisodeType.message,
                              source_description="chat log", content="alice: still at Acme, now with Bob",
                              created_at=ts(100), valid_at=ts(99), entity_edges=[uid(gg, "rel", "works_a")])
            men = [EpisodicEdge(uuid=uid(gg, "men", "m4", k), group_id=gg, source_node_uuid=ep.uuid,
                                target_node_uuid=uid(gg, "ent", k), created_at=ts(101)) for k in ("alice", "bob")]
            nxt = NextEpisodeEdge(uuid=uid(gg, "ne", "m3", "m4"), group_id=gg, source_node_uuid=uid(gg, "ep", "m3"),
                                  target_node_uuid=ep.uuid, created_at=ts(102))
            he = HasEpisodeEdge(uuid=uid(gg, "he", "m4"), group_id=gg, source_node_uuid=uid(gg, "saga"),
                                target_node_uuid=ep.uuid, created_at=ts(102))
            for drv, conv in ((neo, lambda x: x), (ndd, for_falkor)):
                await conv(ep).save(drv)
                for x in men + [nxt, he]:
                    await conv(x).save(drv)
                edge = await EntityEdge.get_by_uuid(drv, uid(gg, "rel", "works_a"))
                await edge.load_fact_embedding(drv)
                edge.episodes = edge.episodes + [ep.uuid]
                await edge.save(drv)
                node = await EntityNode.get_by_uuid(drv, uid(gg, "ent", "alice"))
                await node.load_name_embedding(drv)
                node.summary = "Alice still works at Acme, now with Bob."
                await node.save(drv)
                saga = await SagaNode.get_by_uuid(drv, uid(gg, "saga"))
                saga.last_episode_uuid = ep.uuid
                await saga.save(drv)
    elif stage == "new_group":
        # A group that did not exist: Graphiti on FalkorDB makes its graph (with
        # its indexes) on the first write; falkorsync must make the same graph.
        await native.clone(database=fgraph(GN)).build_indices_and_constraints()
        await save_all(await objects(GN, emb), neo, native)
    elif stage == "invalidate":
        # Edge invalidation as Graphiti's resolve_edge_contradictions does it.
        for drv in (neo, nd):
            edge = await EntityEdge.get_by_uuid(drv, uid(g, "rel", "knows"))
            await edge.load_fact_embedding(drv)
            edge.invalid_at = ts(200)
            edge.expired_at = ts(201)
            await edge.save(drv)
    elif stage == "remove_episode":
        # Graphiti.remove_episode (its summary rebuild needs an LLM and is skipped
        # by Graphiti itself when the LLM fails: the old summary stays).
        for drv in (neo, nd):
            await graphiti(drv).remove_episode(uid(g, "ep", "m3"))
    elif stage == "communities":
        # A community rebuild: Graphiti removes the group's communities and
        # saves the new ones (the LLM summaries replaced by fixed text).
        for drv, conv in ((neo, lambda x: x), (nd, for_falkor)):
            await remove_communities(drv, group_ids=[fgroup(g) if drv is nd else g])
            c = CommunityNode(uuid=uid(g, "com", "rebuilt"), name="Acme and friends", group_id=g,
                              summary="Alice, Bob and Acme", created_at=ts(300))
            await c.generate_name_embedding(emb)
            await conv(c).save(drv)
            for k in ("alice", "bob", "acme"):
                await conv(CommunityEdge(uuid=uid(g, "mem2", k), group_id=g, source_node_uuid=c.uuid,
                                         target_node_uuid=uid(g, "ent", k), created_at=ts(301))).save(drv)
    elif stage == "delete_group":
        await clear_data(neo, group_ids=[GB])
        await clear_data(native.clone(database=fgraph(GB)), group_ids=[GB])
    else:
        raise SystemExit(f"unknown stage {stage}")
    await settle(native)
    await neo.close()


# ---- comparison -------------------------------------------------------------


def canon(v, key=None, neo=False):
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).isoformat()
    if hasattr(v, "to_native"):  # neo4j temporal
        return canon(v.to_native(), key, neo)
    if hasattr(v, "value") and hasattr(v, "name") and not isinstance(v, (str, int, float)):  # Enum
        return v.value
    if isinstance(v, bool) or v is None or isinstance(v, int):
        return v
    if isinstance(v, float):
        return float(f"{v:.12g}")
    if isinstance(v, str):
        return fgroup(v) if neo and key == "group_id" else v
    if isinstance(v, dict):
        return {k: canon(x, k, neo) for k, x in sorted(v.items())}
    if isinstance(v, (list, tuple)):
        return [canon(x, None, neo) for x in v]
    if hasattr(v, "model_dump"):
        return canon(v.model_dump(), key, neo)
    return repr(v)


def by_uuid(items, neo):
    return {x.uuid: canon(x, neo=neo) for x in items}


def shape(res, neo):
    """A call's answer as {part: {uuid: fields}}."""
    if hasattr(res, "edges") and hasattr(res, "nodes"):  # SearchResults
        return {p: by_uuid(getattr(res, p, []) or [], neo) for p in ("edges", "nodes", "episodes", "communities")}
    if res is None:
        return {"one": {}}
    if isinstance(res, list):
        return {"list": by_uuid(res, neo)}
    return {"one": by_uuid([res], neo)}


def diff(a, b):
    out = []
    for part in sorted(set(a) | set(b)):
        x, y = a.get(part, {}), b.get(part, {})
        for u in sorted(set(x) - set(y)):
            out.append(f"{part}: only in the first: {u}")
        for u in sorted(set(y) - set(x)):
            out.append(f"{part}: only in the second: {u}")
        for u in sorted(set(x) & set(y)):
            if x[u] != y[u]:
                ks = sorted(k for k in set(x[u]) | set(y[u]) if x[u].get(k) != y[u].get(k))
                out.append(f"{part}: {u}: " + "; ".join(f"{k}: {x[u].get(k)!r} != {y[u].get(k)!r}" for k in ks))
    return out


def count(a):
    return sum(len(v) for v in a.values())


CLASSES = [EntityNode, EpisodicNode, CommunityNode, SagaNode, EntityEdge, EpisodicEdge, CommunityEdge,
           HasEpisodeEdge, NextEpisodeEdge]
RECIPES = sorted(n for n in dir(recipes) if n.isupper() and not n.startswith("_"))


async def calls(gr, driver_for, group_spec, falkor, objs_uuids, reader_for):
    """The public-API calls for one group spec (a Neo4j group id or None), as
    {name: awaitable factory}; gr is the Graphiti on the default driver,
    driver_for(g) the driver a reader uses for group g, reader_for(g) a
    Graphiti whose driver sits on group g's graph."""
    gids = None if group_spec is None else [fgroup(group_spec) if falkor else group_spec]
    tag = "none" if group_spec is None else (group_spec or "''")
    out = {}
    center = uid(group_spec or GD, "ent", "alice")
    for q in QUERIES:
        out[f"search({q!r})[{tag}]"] = lambda q=q: gr.search(q, group_ids=gids)
        out[f"search({q!r},center)[{tag}]"] = lambda q=q: gr.search(q, group_ids=gids, center_node_uuid=center)
        for r in RECIPES:
            cfg = getattr(recipes, r)
            kw = {"center_node_uuid": center} if "NODE_DISTANCE" in r else {}
            out[f"search_.{r}({q!r})[{tag}]"] = lambda q=q, cfg=cfg, kw=kw: gr.search_(q, config=cfg, group_ids=gids, **kw)
    far = datetime(2100, 1, 1, tzinfo=timezone.utc)
    out[f"retrieve_episodes[{tag}]"] = lambda: gr.retrieve_episodes(far, last_n=10, group_ids=gids)
    out[f"retrieve_episodes(last_n=2)[{tag}]"] = lambda: gr.retrieve_episodes(far, last_n=2, group_ids=gids)
    out[f"retrieve_episodes(source=text)[{tag}]"] = lambda: gr.retrieve_episodes(far, last_n=10, group_ids=gids, source=EpisodeType.text)
    if group_spec is None:
        return out
    eps = [uid(group_spec, "ep", k) for k in ("m1", "m2", "m3", "m4")]
    out[f"get_nodes_and_edges_by_episode.group_reader[{tag}]"] = lambda: reader_for(group_spec).get_nodes_and_edges_by_episode(eps)
    out[f"get_nodes_and_edges_by_episode.default_reader[{tag}]"] = lambda: gr.get_nodes_and_edges_by_episode(eps)
    d = driver_for(group_spec)
    for cls in CLASSES:
        us = objs_uuids.get(cls.__name__, {}).get(group_spec, [])
        n = cls.__name__
        out[f"{n}.get_by_group_ids[{tag}]"] = lambda cls=cls: cls.get_by_group_ids(d, gids)
        out[f"{n}.get_by_group_ids(limit=2)[{tag}]"] = lambda cls=cls: cls.get_by_group_ids(d, gids, limit=2)
        out[f"{n}.get_by_uuids[{tag}]"] = lambda cls=cls, us=us: cls.get_by_uuids(d, us)
        for u in us:
            out[f"{n}.get_by_uuid({u[:8]})[{tag}]"] = lambda cls=cls, u=u: cls.get_by_uuid(d, u)
    return out


async def answer(factory):
    try:
        return ("ok", await factory())
    except Exception as e:  # noqa: BLE001 - a raised "not found" is an answer too
        return ("error", type(e).__name__)


async def known_uuids(neo):
    """uuids of every type per Neo4j group, read from Neo4j."""
    out = {}
    q = {
        "EntityNode": "MATCH (x:Entity) RETURN x.uuid AS u, x.group_id AS g",
        "EpisodicNode": "MATCH (x:Episodic) RETURN x.uuid AS u, x.group_id AS g",
        "CommunityNode": "MATCH (x:Community) RETURN x.uuid AS u, x.group_id AS g",
        "SagaNode": "MATCH (x:Saga) RETURN x.uuid AS u, x.group_id AS g",
        "EntityEdge": "MATCH ()-[x:RELATES_TO]->() RETURN x.uuid AS u, x.group_id AS g",
        "EpisodicEdge": "MATCH ()-[x:MENTIONS]->() RETURN x.uuid AS u, x.group_id AS g",
        "CommunityEdge": "MATCH ()-[x:HAS_MEMBER]->() RETURN x.uuid AS u, x.group_id AS g",
        "HasEpisodeEdge": "MATCH ()-[x:HAS_EPISODE]->() RETURN x.uuid AS u, x.group_id AS g",
        "NextEpisodeEdge": "MATCH ()-[x:NEXT_EPISODE]->() RETURN x.uuid AS u, x.group_id AS g",
    }
    for k, cy in q.items():
        recs, _, _ = await neo.execute_query(cy)
        for r in recs:
            out.setdefault(k, {}).setdefault(r["g"], []).append(r["u"])
    for k in out:
        for g in out[k]:
            out[k][g].sort()
    return out


async def cmd_compare(label):
    neo = neo4j_driver()
    cache = falkor_driver(0)
    native = falkor_driver(NATIVE_DB)
    gn, gc, gx = graphiti(neo), graphiti(cache), graphiti(native)
    uu = await known_uuids(neo)
    table = {}  # call family -> [compared, equal, inherent]
    problems, proved = [], {}
    structure = structure_diff([fgraph(g) for g in ALL_GROUPS])  # before any reader touches a graph
    specs = [GA, GB, GD] + ([GN] if GN in uu.get("EntityNode", {}) else []) + [None]
    neo_answers = {}
    for spec in specs:
        cn = await calls(gn, lambda g: neo, spec, False, uu, lambda g: gn)
        cc = await calls(gc, lambda g: cache.clone(database=fgraph(g)), spec, True, uu,
                         lambda g: graphiti(falkor_driver(0, fgraph(g))))
        cx = await calls(gx, lambda g: native.clone(database=fgraph(g)), spec, True, uu,
                         lambda g: graphiti(falkor_driver(NATIVE_DB, fgraph(g))))
        for name in cn:
            fam = name.split("(")[0].split("[")[0]
            row = table.setdefault(fam, [0, 0, 0])
            row[0] += 1
            (sn, rn), (sc, rc), (sx, rx) = await answer(cn[name]), await answer(cc[name]), await answer(cx[name])
            an = (sn, shape(rn, True) if sn == "ok" else rn)
            ac = (sc, shape(rc, False) if sc == "ok" else rc)
            ax = (sx, shape(rx, False) if sx == "ok" else rx)
            neo_answers[name] = an
            # 1. the cache answers exactly as Graphiti's own FalkorDB writes do
            if ac != ax:
                problems.append(f"{name}: cache != native: " + ("; ".join(diff(ac[1], ax[1])[:4]) if sc == sx == "ok" else f"{ac} / {ax}"))
                continue
            # 2. and as Neo4j, unless Graphiti itself differs (proved by 1)
            if an == ac:
                row[1] += 1
                continue
            why = [k for k, f in INHERENT.items() if f(name)]
            if why:
                row[2] += 1
                proved.setdefault(why[0], []).append(name)
                continue
            d = diff(an[1], ac[1]) if sn == sc == "ok" else [f"{an} / {ac}"]
            problems.append(f"{name}: Neo4j != cache ({count(an[1]) if sn == 'ok' else '-'} vs {count(ac[1]) if sc == 'ok' else '-'}): " + "; ".join(d[:4]))
    # The proof of default_group_search_unfiltered_on_neo4j: Neo4j answers [''] as no group.
    for name in proved.get("default_group_search_unfiltered_on_neo4j", []):
        if neo_answers[name] != neo_answers[name.replace("['']", "[none]")]:
            problems.append(f"{name}: Neo4j's [''] answer is not its no-group answer")
    # A FalkorDB reader with no group ids reads default_db: for the calls that
    # Neo4j can restrict to its default group (all but search), the answers agree.
    gd_n = await calls(gn, lambda g: neo, GD, False, uu, lambda g: gn)
    none_c = await calls(gc, lambda g: cache, None, True, uu, None)
    for name in none_c:
        if name.startswith("search"):
            continue
        twin = name.replace("[none]", "['']")
        (sn, rn), (sc, rc) = await answer(gd_n[twin]), await answer(none_c[name])
        an = (sn, shape(rn, True) if sn == "ok" else rn)
        ac = (sc, shape(rc, False) if sc == "ok" else rc)
        row = table.setdefault("FalkorDB no group = Neo4j group '' (" + name.split("[")[0] + ")", [0, 0, 0])
        row[0] += 1
        if an == ac:
            row[1] += 1
        else:
            problems.append(f"{name} (FalkorDB, no group) != {twin} (Neo4j): " + "; ".join(diff(an[1], ac[1])[:4] if sn == sc == "ok" else [f"{an} / {ac}"]))
    problems += structure
    report(label, table, proved, problems)
    await neo.close()
    return 1 if problems else 0


def report(label, table, proved, problems):
    print(f"== {label}: public-API calls, Neo4j vs cache vs native FalkorDB writes")
    print(f"{'call':58} {'compared':>8} {'equal':>6} {'inherent':>8}")
    for fam in sorted(table):
        c, e, i = table[fam]
        print(f"{fam:58} {c:8} {e:6} {i:8}")
    tc, te, ti = (sum(r[i] for r in table.values()) for i in range(3))
    print(f"{'total':58} {tc:8} {te:6} {ti:8}")
    for k, v in proved.items():
        print(f"inherent '{k}': {len(v)} calls; the native FalkorDB graphs answer as the cache (e.g. {v[0]})")
    for p in problems:
        print("FAIL " + p)
    print(f"== {label}: {'FAILED' if problems else 'ok'} ({len(problems)} problems)")


# ---- the graphs themselves ---------------------------------------------------


def typed(v):
    if isinstance(v, float):
        return ["float", float(f"{v:.12g}")]
    if isinstance(v, list):
        return ["list", [typed(x) for x in v]]
    return [type(v).__name__, v]


def dump_graph(db, name):
    fdb = SyncFalkorDB(host=FHOST, port=FPORT, password=FPASS)
    conn = fdb.connection
    if db:
        conn = __import__("redis").Redis(host=FHOST, port=FPORT, password=FPASS, db=db, decode_responses=True)
        fdb = SyncFalkorDB.__new__(SyncFalkorDB)
        fdb.connection = conn
        fdb.execute_command = conn.execute_command
        fdb.flushdb = conn.flushdb
    if conn.type(name) != "graphdata":
        return None
    g = fdb.select_graph(name)
    nodes = {}
    for uuid, labels, props in g.ro_query("MATCH (n) RETURN n.uuid, labels(n), properties(n)").result_set:
        nodes[uuid] = {"labels": sorted(labels), "props": {k: typed(v) for k, v in sorted(props.items())}}
    edges = {}
    for t, uuid, a, b, props in g.ro_query(
        "MATCH (a)-[r]->(b) RETURN type(r), r.uuid, a.uuid, b.uuid, properties(r)"
    ).result_set:
        edges[uuid] = {"type": t, "from": a, "to": b, "props": {k: typed(v) for k, v in sorted(props.items())}}
    idx = []
    for row in g.ro_query("CALL db.indexes()").result_set:
        label, fields, types, options, language, stopwords, entitytype = row[:7]
        idx.append(json.dumps([entitytype, label, sorted(fields), {k: sorted(v) for k, v in types.items()},
                               options, language, sorted(stopwords or [])], sort_keys=True, default=str))
    return {"nodes": nodes, "edges": edges, "indexes": sorted(idx)}


def sizes(d):
    if d is None:
        return "absent"
    props = sum(len(v["props"]) for p in ("nodes", "edges") for v in d[p].values())
    return f"{len(d['nodes'])} nodes, {len(d['edges'])} edges, {props} properties, {len(d['indexes'])} indexes"


def structure_diff(graphs):
    out = []
    for name in sorted(set(graphs)):
        c, x = dump_graph(0, name), dump_graph(NATIVE_DB, name)
        print(f"graph {name}: cache {sizes(c)}, native {sizes(x)}")
        if c is None and (x is None or not x["nodes"]):
            continue  # a vanished group: no graph in the cache, an empty one natively
        if c is None or x is None:
            out.append(f"graph {name}: {'missing in the cache' if c is None else 'missing natively'}")
            continue
        for part in ("nodes", "edges"):
            for u in sorted(set(c[part]) - set(x[part])):
                out.append(f"graph {name}: {part[:-1]} {u} only in the cache")
            for u in sorted(set(x[part]) - set(c[part])):
                out.append(f"graph {name}: {part[:-1]} {u} only natively")
            for u in sorted(set(c[part]) & set(x[part])):
                a, b = c[part][u], x[part][u]
                for k in sorted(set(a) | set(b)):
                    if k == "props":
                        for p in sorted(set(a[k]) | set(b[k])):
                            if a[k].get(p) != b[k].get(p):
                                out.append(f"graph {name}: {part[:-1]} {u} .{p}: cache {str(a[k].get(p))[:80]} != native {str(b[k].get(p))[:80]}")
                    elif a[k] != b[k]:
                        out.append(f"graph {name}: {part[:-1]} {u} {k}: cache {a[k]} != native {b[k]}")
        if c["indexes"] != x["indexes"]:
            for i in sorted(set(c["indexes"]) ^ set(x["indexes"])):
                out.append(f"graph {name}: index only {'in the cache' if i in c['indexes'] else 'natively'}: {i}")
    return out


# ---- single layout ------------------------------------------------------------


async def cmd_single(label):
    """Layout single serves readers that do not route by group: a FalkorDriver on
    the one graph, calls without group ids; the getters with each group's ids
    (not routed). Compared with Neo4j and with one natively written graph."""
    neo = neo4j_driver()
    cache = falkor_driver(0, SINGLE_GRAPH)
    native = falkor_driver(NATIVE_DB, SINGLE_GRAPH)
    gn, gc, gx = graphiti(neo), graphiti(cache), graphiti(native)
    uu = await known_uuids(neo)
    cn = await calls(gn, lambda g: neo, None, False, uu, None)
    cc = await calls(gc, lambda g: cache, None, True, uu, None)
    cx = await calls(gx, lambda g: native, None, True, uu, None)
    for g in GROUPS:
        for cls in CLASSES:
            name = f"{cls.__name__}.get_by_group_ids (single graph)[{g or chr(39) * 2}]"
            cn[name] = lambda cls=cls, g=g: cls.get_by_group_ids(neo, [g])
            cc[name] = lambda cls=cls, g=g: cls.get_by_group_ids(cache, [fgroup(g)])
            cx[name] = lambda cls=cls, g=g: cls.get_by_group_ids(native, [fgroup(g)])
    table, problems, proved = {}, [], {}
    for name in cn:
        fam = name.split("(")[0].split("[")[0]
        row = table.setdefault(fam, [0, 0, 0])
        row[0] += 1
        (sn, rn), (sc, rc), (sx, rx) = await answer(cn[name]), await answer(cc[name]), await answer(cx[name])
        an = (sn, shape(rn, True) if sn == "ok" else rn)
        ac = (sc, shape(rc, False) if sc == "ok" else rc)
        ax = (sx, shape(rx, False) if sx == "ok" else rx)
        if ac != ax:
            problems.append(f"{name}: cache != native: " + "; ".join(diff(ac[1], ax[1])[:4] if sc == sx == "ok" else [f"{ac} / {ax}"]))
        elif an == ac:
            row[1] += 1
        elif name.startswith("search") and sn == sc == "ok" and all(
            len(an[1][p]) == len(ac[1][p]) for p in an[1]
        ):
            # The same number of results, a different cut at the limit: Neo4j
            # ranks full-text hits with Lucene's BM25, FalkorDB with RediSearch's
            # scorer, so RRF fusion orders some items differently.
            row[2] += 1
            proved.setdefault("fulltext_scorer_differs_at_limit", []).append(name)
        else:
            problems.append(f"{name}: " + "; ".join(diff(an[1], ac[1])[:4] if sn == sc == "ok" else [f"{an} / {ac}"]))
    problems += structure_diff([SINGLE_GRAPH])
    report(label, table, proved, problems)
    await neo.close()
    return 1 if problems else 0


# ---- clean ---------------------------------------------------------------------


async def cmd_clean():
    neo = neo4j_driver()
    for g in ALL_GROUPS:
        await neo.execute_query("MATCH (n) WHERE n.group_id = $g DETACH DELETE n", g=g)
    await neo.close()
    import redis

    for db in (0, NATIVE_DB):
        r = redis.Redis(host=FHOST, port=FPORT, password=FPASS, db=db, decode_responses=True)
        for name in {fgraph(g) for g in ALL_GROUPS} | {SINGLE_GRAPH}:
            if r.type(name) == "graphdata":
                r.execute_command("GRAPH.DELETE", name)
        for k in r.scan_iter(match=f"falkorsync:*{SINGLE_GRAPH}*"):
            r.delete(k)
        for g in ALL_GROUPS:
            r.delete(f"falkorsync:wm:{fgraph(g)}", "telemetry{" + fgraph(g) + "}")
        r.delete("telemetry{" + SINGLE_GRAPH + "}")


def main():
    cmd = sys.argv[1]
    if cmd == "write":
        rc = asyncio.run(cmd_write())
    elif cmd == "change":
        rc = asyncio.run(cmd_change(sys.argv[2]))
    elif cmd == "compare":
        rc = asyncio.run(cmd_compare(sys.argv[2]))
    elif cmd == "structure":
        problems = structure_diff([fgraph(g) for g in ALL_GROUPS])
        for p in problems:
            print("FAIL " + p)
        rc = 1 if problems else 0
    elif cmd == "single":
        rc = asyncio.run(cmd_single(sys.argv[2]))
    elif cmd == "clean":
        rc = asyncio.run(cmd_clean())
    else:
        raise SystemExit(f"usage: {sys.argv[0]} write|change STAGE|compare LABEL|single LABEL|clean")
    sys.exit(rc or 0)


if __name__ == "__main__":
    main()
