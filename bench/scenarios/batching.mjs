// Issue 9, S3: batching. An admin lists N users, each with `healthSummary`
// (health subgraph) and `latestReport { primaryConstitution { name } }`
// (diagnosis, then knowledge), at N = 10 and N = 100. Target: the SQL
// statements per operation are identical at both N (every list becomes one
// batched statement per subgraph hop, never one per user).
// Statements come from the platform's counter (`suoke_db_statements_total` on
// each subgraph's /metrics), summed over subgraphs, scraped around each single
// operation; the median per operation is quoted so a background statement (the
// saga sweep) cannot move it. pg_stat_statements would need
// shared_preload_libraries, which this machine's PostgreSQL does not set.
// Throughput and latency per N follow, closed loop, interleaved.
import { sql as drizzleSql } from 'drizzle-orm';
import postgres from 'postgres';
import { openDatabase, platform } from '../../scripts/services.mjs';
import { loadRun, metOrNot, sqlStatements } from '../measure.mjs';
import { log, median, prepareData, record, round, signTokens, startStack } from '../lib.mjs';

// Cost 4701 at N = 100, under the gateway's default query cost limit of 5000 (with displayName and count it would be 6801).
const LIST = 'query List($n: Int) { users(first: $n) { edges { node { id healthSummary(days: 7) { type average } latestReport { primaryConstitution { name } } } } } }';
const SIZES = [10, 100];

async function adminToken(subject) {
  const scope = (await platform()).scopesForRoles(['USER', 'ADMIN']).join(' ');
  const [token] = await signTokens([subject], { roles: ['USER', 'ADMIN'], scope });
  return token;
}

/** The seeded account's id, from the user subgraph's database (PostgreSQL or the PGlite folder). */
async function emailToId(data, email) {
  if (data.databaseUrl) {
    const sql = postgres(data.databaseUrl, { max: 1 });
    const rows = await sql`select id::text as id from "user".users where email = ${email}`;
    await sql.end();
    return rows[0]?.id;
  }
  const database = await openDatabase('user', { ...process.env, PGLITE_DATA_DIR: data.pgliteDir });
  const rows = await database.rows(drizzleSql`select id::text as id from "user".users where email = ${email}`);
  await database.close();
  return rows[0]?.id;
}

async function post(url, body, token) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
  return response.json();
}

export async function batching({ quick, command }) {
  const users = quick ? 120 : 1000;
  const samples = quick ? 3 : 15;
  const rounds = quick ? 1 : 3;
  const duration = quick ? 2 : 10;
  const connections = quick ? 10 : 20;
  const data = await prepareData({ users, days: quick ? 7 : 30 });
  let stack;
  try {
    const ids = await data.userIds();
    stack = await startStack({ data, label: 'batching' });
    // admin@suoke.life signs in as ADMIN.
    const adminId = await emailToId(data, 'admin@suoke.life');
    const admin = await adminToken(adminId);
    const me = await post(stack.gatewayUrl, JSON.stringify({ query: '{ me { email roles } }' }), admin);
    if (me.data?.me?.email !== 'admin@suoke.life') throw new Error(`admin token: ${JSON.stringify(me).slice(0, 300)}`);
    const bodies = Object.fromEntries(SIZES.map((n) => [n, JSON.stringify({ query: LIST, variables: { n } })]));
    for (const n of SIZES) {
      const json = await post(stack.gatewayUrl, bodies[n], admin);
      const edges = json.data?.users?.edges ?? [];
      if (json.errors || edges.length !== n) throw new Error(`users(first: ${n}) failed: ${JSON.stringify(json).slice(0, 400)}`);
      const withSummary = edges.filter((e) => e.node.healthSummary.length > 0).length;
      const withReport = edges.filter((e) => e.node.latestReport?.primaryConstitution?.name).length;
      log(`users(first: ${n}): ${withSummary} with a health summary, ${withReport} with a report`);
      if (withSummary === 0 || withReport === 0) throw new Error(`users(first: ${n}): the list carries no health summaries or reports`);
    }

    // Statements per operation, one operation at a time, N alternating.
    const perOperation = Object.fromEntries(SIZES.map((n) => [n, []]));
    const bySubgraph = Object.fromEntries(SIZES.map((n) => [n, []]));
    for (let s = 0; s < samples; s += 1) {
      for (const n of s % 2 ? [...SIZES].reverse() : SIZES) {
        const before = await sqlStatements(stack.subgraphUrls);
        const json = await post(stack.gatewayUrl, bodies[n], admin);
        if (json.errors) throw new Error(`users(first: ${n}): ${JSON.stringify(json.errors).slice(0, 300)}`);
        const after = await sqlStatements(stack.subgraphUrls);
        perOperation[n].push(after.total - before.total);
        bySubgraph[n].push(Object.fromEntries(Object.keys(after.bySubgraph).map((k) => [k, after.bySubgraph[k] - before.bySubgraph[k]])));
      }
    }
    const statements = Object.fromEntries(SIZES.map((n) => [n, median(perOperation[n])]));
    const statementsBySubgraph = Object.fromEntries(
      SIZES.map((n) => [n, Object.fromEntries(Object.keys(bySubgraph[n][0]).map((k) => [k, median(bySubgraph[n].map((x) => x[k]))]))]),
    );
    const identical = statements[SIZES[0]] === statements[SIZES[1]];
    log(`SQL statements per operation: ${SIZES.map((n) => `N=${n} → ${statements[n]} ${JSON.stringify(statementsBySubgraph[n])} (samples ${perOperation[n].join(',')})`).join('; ')}`);

    // Throughput: `users` is limited per caller (300/min by default), so the load rotates ADMIN tokens over every seeded account.
    const tokens = await Promise.all(ids.map((id) => adminToken(id)));
    const headersFor = (i) => ({ authorization: `Bearer ${tokens[i % tokens.length]}` });
    for (const n of SIZES) await loadRun({ url: stack.gatewayUrl, body: bodies[n], headersFor, connections, duration: 1 });
    const runs = Object.fromEntries(SIZES.map((n) => [n, []]));
    for (let r = 0; r < rounds; r += 1) {
      for (const n of r % 2 ? [...SIZES].reverse() : SIZES) {
        const result = await loadRun({ url: stack.gatewayUrl, body: bodies[n], headersFor, connections, duration, processes: stack.processes });
        runs[n].push(result);
        log(`N=${n} round ${r + 1}: ${result.rps} req/s, p50 ${result.p50} ms, p95 ${result.p95} ms, failed ${result.errors + result.timeouts + result.non2xx}`);
      }
    }
    const throughput = Object.fromEntries(
      SIZES.map((n) => {
        const list = runs[n];
        const cpuAll = list.map((x) => Object.entries(x.cpu).filter(([k]) => k !== 'bench').reduce((s, [, v]) => s + v, 0));
        return [
          n,
          {
            rps: round(median(list.map((x) => x.rps)), 1),
            p50: round(median(list.map((x) => x.p50)), 2),
            p95: round(median(list.map((x) => x.p95)), 2),
            p99: round(median(list.map((x) => x.p99)), 2),
            cpuMsPerOperation: round(median(list.map((x, k) => (cpuAll[k] * 1000) / x.requests)), 2),
            failed: list.reduce((s, x) => s + x.errors + x.timeouts + x.non2xx, 0),
            runs: list.map((x) => x.rps),
          },
        ];
      }),
    );
    const table = `
Admin list \`${LIST}\` through the gateway (governance on), ${ids.length} seeded accounts with ${quick ? 7 : 30} days of observations and two reports each.

**SQL statements per operation** (platform counter \`suoke_db_statements_total\` summed over the five subgraphs' /metrics,
scraped around each single operation; median of ${samples} per N, N alternating):

| N | statements / operation | by subgraph | samples |
|---|---|---|---|
${SIZES.map((n) => `| ${n} | **${statements[n]}** | ${Object.entries(statementsBySubgraph[n]).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ')} | ${perOperation[n].join(', ')} |`).join('\n')}

Target: identical at N = 10 and N = 100 — ${metOrNot(identical)}.

**Throughput and latency**, ${connections} connections closed loop, ${rounds} rounds × ${duration} s per N, interleaved, medians;
tokens with the ADMIN role rotated over all ${ids.length} accounts (\`users\` is limited to 300/min per caller). CPU: gateway plus subgraphs, from /proc.

| N | req/s | runs | p50 ms | p95 ms | p99 ms | CPU-ms / operation | errors + non-2xx |
|---|---|---|---|---|---|---|---|
${SIZES.map((n) => `| ${n} | ${throughput[n].rps} | ${throughput[n].runs.join(', ')} | ${throughput[n].p50} | ${throughput[n].p95} | ${throughput[n].p99} | ${throughput[n].cpuMsPerOperation} | ${throughput[n].failed} |`).join('\n')}
`;
    record('batching', command, { statements, statementsBySubgraph, samples: perOperation, identical, throughput, quick }, table);
    if (!identical) log(`batching: statements differ between N=${SIZES[0]} and N=${SIZES[1]} (target not met)`);
    const failed = SIZES.reduce((s, n) => s + throughput[n].failed, 0);
    if (quick && failed > 0) throw new Error(`quick batching run: ${failed} failed requests`);
  } finally {
    await stack?.stop();
    await data.drop();
  }
}
