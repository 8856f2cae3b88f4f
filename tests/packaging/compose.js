// Checks docker-compose.yml against what the packaging issue promises, and
// prints the falkorsync service's environment as KEY=VALUE lines with every
// ${VAR:-default} replaced by its default (what `docker compose up` gives
// with nothing set), so the shell test can run `falkorsync config` on it.
// Usage: node compose.js FILE   (env LINT_MODULES: the npm cache's node_modules)
'use strict';
const fs = require('fs');
const path = require('path');
const YAML = require(path.join(process.env.LINT_MODULES, 'yaml'));

const file = process.argv[2];
const doc = YAML.parse(fs.readFileSync(file, 'utf8'));
const errors = [];
const need = (cond, msg) => { if (!cond) errors.push(msg); };
const interpolate = (v) =>
  String(v).replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (m, name, def) => def ?? '');
const envOf = (svc) => {
  const e = (svc && svc.environment) || {};
  if (Array.isArray(e)) {
    return Object.fromEntries(e.map((kv) => { const i = kv.indexOf('='); return [kv.slice(0, i), kv.slice(i + 1)]; }));
  }
  return e;
};
const healthTest = (svc) => svc && svc.healthcheck && svc.healthcheck.test;

const s = (doc && doc.services) || {};
for (const name of ['neo4j', 'falkordb', 'falkorsync']) need(s[name], `service ${name} missing`);
const neo4j = s.neo4j || {}, falkordb = s.falkordb || {}, sync = s.falkorsync || {};

need(/^neo4j:5\.26(\.|$)/.test(neo4j.image || ''), `neo4j image must be neo4j:5.26, is ${neo4j.image}`);
need(/^falkordb\/falkordb(:|$)/.test(falkordb.image || ''), `falkordb image must be falkordb/falkordb, is ${falkordb.image}`);
need(healthTest(neo4j), 'neo4j has no health check');
need(healthTest(falkordb), 'falkordb has no health check');

const auth = interpolate(envOf(neo4j).NEO4J_AUTH || '');
need(auth === 'neo4j/graphiti123', `NEO4J_AUTH defaults to '${auth}', not neo4j/graphiti123`);
need(/\$\{NEO4J_PASSWORD/.test(envOf(neo4j).NEO4J_AUTH || ''), 'NEO4J_AUTH does not come from NEO4J_PASSWORD');

need(sync.build, 'falkorsync is not built from the repository (build:)');
const ctx = sync.build && (typeof sync.build === 'string' ? sync.build : sync.build.context);
need(ctx === '.', `falkorsync build context must be '.', is ${ctx}`);
const deps = sync.depends_on || {};
for (const d of ['neo4j', 'falkordb']) {
  need(deps[d] && deps[d].condition === 'service_healthy', `falkorsync must start after ${d} is healthy`);
}
const ports = (sync.ports || []).map(String);
for (const p of ['8080', '8081']) {
  need(ports.some((x) => x.endsWith(`${p}:${p}`)), `falkorsync must publish port ${p}`);
}

const aliases = ((sync.networks || {}).default || {}).aliases || [];
need(aliases.includes('sync-service'), 'falkorsync must answer to the seed\'s name sync-service (network alias)');

const env = envOf(sync);
const flat = Object.entries(env).map(([k, v]) => [k, interpolate(v)]);
const get = (k) => (flat.find(([n]) => n === k) || [])[1];
need(get('NEO4J_URI') === 'bolt://neo4j:7687', `falkorsync NEO4J_URI is ${get('NEO4J_URI')}`);
need(get('FALKORDB_HOST') === 'falkordb', `falkorsync FALKORDB_HOST is ${get('FALKORDB_HOST')}`);
need(`${get('NEO4J_USER')}/${get('NEO4J_PASSWORD')}` === auth, 'falkorsync and neo4j disagree on the credentials');
for (const k of ['SYNC_HEALTH_PORT', 'SYNC_METRICS_PORT']) {
  need(get(k) === undefined || get(k) === (k === 'SYNC_HEALTH_PORT' ? '8080' : '8081'), `${k} moved away from the published port`);
}

if (errors.length) {
  for (const e of errors) console.error(`docker-compose.yml: ${e}`);
  process.exit(1);
}
for (const [k, v] of flat) console.log(`${k}=${v}`);
