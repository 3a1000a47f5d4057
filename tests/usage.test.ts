import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { freePort } from '@suoke/platform/testing';
import { createGateway, loadGatewayConfig } from '../gateway/src/server.js';
import { unusedCoordinates, windowOf, type UsageExport } from '../gateway/src/usage/index.js';
import { HARNESS_GATEWAY_SECRET, post, repoRoot, startStack, type Stack } from './harness.js';

// Issue 22, field usage: recorded through the gateway on this run's backend (PostgreSQL with
// DATABASE_URL, else embedded PGlite), read back by the export and by `npm run usage`.

const HOME = `query Home { constitutions { code name recommendedHerbs { id name } } }`;
const HERBS = `query Herbs($nature: Nature) { herbs(nature: $nature, first: 3) { edges { node { id name } } totalCount } }`;
const client = (name: string, version: string) => ({ 'apollographql-client-name': name, 'apollographql-client-version': version });
const postgres = Boolean(process.env.DATABASE_URL);

/** `node scripts/usage.mjs …` as `npm run usage --` runs it (after the build), with only the usage store's settings. */
function cli(args: string[], env: Record<string, string>) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(DATABASE_URL|USAGE_|PGLITE_)/.test(key)));
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'scripts/usage.mjs'), ...args], { cwd: repoRoot, env: { ...clean, ...env }, encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`usage ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

describe('field usage through the gateway', () => {
  let stack: Stack;
  const started = new Date();

  beforeAll(async () => {
    stack = await startStack();
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('operations from two clients: the export names each client, version and operation with counts and first/last seen', async () => {
    for (let i = 0; i < 3; i += 1) expect((await stack.query(HOME, undefined, undefined, client('suoke-app', '2.3.0'))).errors).toBeUndefined();
    for (let i = 0; i < 2; i += 1) expect((await stack.query(HERBS, { nature: 'WARM' }, undefined, client('suoke-web', '1.0.0'))).errors).toBeUndefined();
    // Without the headers: (unknown); failing validation: not recorded at all.
    expect((await stack.query(`{ constitution(code: "balanced") { code } }`)).errors).toBeUndefined();
    expect((await stack.query(`query Bad { constitutions { code nope } }`, undefined, undefined, client('suoke-app', '2.3.0'))).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const exported: UsageExport = await stack.usage.export(1);
    expect(exported).toMatchObject({ format: 'suoke-usage', version: 1 });
    const [home] = exported.coordinates['Constitution.name'] ?? [];
    expect(exported.coordinates['Constitution.name']).toHaveLength(1);
    expect(home).toMatchObject({ client: 'suoke-app', version: '2.3.0', operation: 'Home', count: 3 });
    expect(home!.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(home!.firstSeen)).toBeGreaterThanOrEqual(started.getTime() - 1);
    expect(Date.parse(home!.lastSeen)).toBeGreaterThanOrEqual(Date.parse(home!.firstSeen));
    expect(Date.parse(home!.lastSeen)).toBeLessThanOrEqual(Date.now());
    for (const coordinate of ['Query.herbs', 'Query.herbs(nature:)', 'Query.herbs(first:)', 'Nature.WARM', 'HerbConnection.totalCount']) {
      expect(exported.coordinates[coordinate], coordinate).toEqual([expect.objectContaining({ client: 'suoke-web', version: '1.0.0', operation: 'Herbs', count: 2 })]);
    }
    // Herb.name: both clients, each its own row.
    expect(exported.coordinates['Herb.name']?.map((e) => `${e.client}/${e.operation}/${e.count}`).sort()).toEqual(['suoke-app/Home/3', 'suoke-web/Herbs/2']);
    expect(exported.coordinates['Query.constitution']).toEqual([expect.objectContaining({ client: '(unknown)', version: '(unknown)', operation: '(anonymous)', count: 1 })]);
    expect(exported.coordinates['Nature.COLD']).toBeUndefined();
    expect(exported.coordinates['Constitution.nope']).toBeUndefined();
    expect(Object.values(exported.coordinates).flat().some((e) => e.operation === 'Bad')).toBe(false);

    // Which subgraph served each field, from the query plans.
    const served = await stack.usage.store!.subgraphs(windowOf(1), 'Constitution.name');
    expect(served).toEqual([expect.objectContaining({ subgraph: 'knowledge', count: 3 })]);

    if (stack.usage.url) {
      // npm run usage -- --field, on the same PostgreSQL store (the embedded path's CLI is tested on a gateway process below).
      const text = cli(['--field', 'Query.herbs', '--days', '1'], { USAGE_DATABASE_URL: stack.usage.url });
      expect(text).toMatch(/Query\.herbs: 2 uses in the last 1 days/);
      expect(text).toMatch(/suoke-web\s+1\.0\.0\s+Herbs\s+2\s+\d{4}-\d\d-\d\dT/);
      expect(text).toMatch(/served by:\n\s+subgraph.*\n\s+knowledge\s+2/);
      const json = JSON.parse(cli(['--field', 'Herb.name', '--days', '1', '--json'], { USAGE_DATABASE_URL: stack.usage.url }));
      expect(json.entries.map((e: { client: string; count: number }) => `${e.client}:${e.count}`)).toEqual(['suoke-app:3', 'suoke-web:2']);
    }
  });

  it('a subscription over graphql-ws is recorded like any operation, under the client its connection names', async () => {
    const registered = await stack.query(`mutation($input: RegisterInput!) { register(input: $input) { accessToken } }`, {
      input: { email: `usage.sub.${Date.now()}@example.com`, password: 'usage-subscription-password-1', displayName: 'Sub' },
    });
    expect(registered.errors).toBeUndefined();
    const ws = createClient({
      url: stack.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${registered.data!.register.accessToken}`, 'apollographql-client-name': 'suoke-watch', 'apollographql-client-version': '0.9.0' },
    });
    try {
      const problems: unknown[] = [];
      const query = 'subscription WatchNotifications { notificationAdded { id title } }';
      const stop = ws.subscribe({ query, operationName: 'WatchNotifications' }, { next: () => {}, error: (e) => problems.push(e), complete: () => {} });
      // Recorded when the gateway opens it; read until it is there (the open is asynchronous to the client).
      let rows: UsageExport['coordinates'][string] | undefined;
      for (const deadline = Date.now() + 10_000; !rows && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        rows = (await stack.usage.export(1)).coordinates['Subscription.notificationAdded'];
      }
      stop();
      expect(problems).toEqual([]);
      expect(rows).toEqual([expect.objectContaining({ client: 'suoke-watch', version: '0.9.0', operation: 'WatchNotifications', count: 1 })]);
      const exported = await stack.usage.export(1);
      expect(exported.coordinates['Notification.title']).toEqual([expect.objectContaining({ client: 'suoke-watch', operation: 'WatchNotifications' })]);
    } finally {
      await ws.dispose();
    }
  });

  it('--unused lists a coordinate nobody used, and not one that was used', async () => {
    await stack.query(`{ herbs(first: 1) { totalCount } }`, undefined, undefined, client('unused-check', '1'));
    await stack.usage.flush();
    const sdl = readFileSync(path.join(repoRoot, 'schema/supergraph.graphql'), 'utf8');
    const unused = await unusedCoordinates(stack.usage.store!, sdl, windowOf(30));
    expect(unused).toContain('Query.syndromes');
    expect(unused).toContain('Nature.HOT');
    expect(unused).not.toContain('Query.herbs');
    expect(unused).not.toContain('HerbConnection.totalCount');
    // Supergraph plumbing is not API: never listed.
    expect(unused.some((c) => c.startsWith('join__') || c.startsWith('link__'))).toBe(false);
    if (stack.usage.url) {
      const json = JSON.parse(cli(['--unused', '--days', '30', '--json'], { USAGE_DATABASE_URL: stack.usage.url }));
      expect(json.unused).toContain('Query.syndromes');
      expect(json.unused).not.toContain('Query.herbs');
    }
  });

  // PostgreSQL only: embedded PGlite is one process's database, so replicas cannot share it
  // (GATEWAY_WORKERS > 1 without a database URL is a configuration error at start).
  it.skipIf(!postgres)('two gateway replicas on one PostgreSQL store add up', async () => {
    const second = createGateway({
      config: loadGatewayConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        GATEWAY_SECRET: HARNESS_GATEWAY_SECRET,
        SUPERGRAPH_PATH: path.join(repoRoot, 'schema', 'supergraph.graphql'),
        USAGE_DATABASE_URL: stack.usage.url!,
      }),
      subgraphUrls: stack.subgraphUrls,
    });
    try {
      const { url } = await second.listen(0, '127.0.0.1');
      for (let i = 0; i < 4; i += 1) expect((await post(url, { query: HOME }, undefined, client('replicated-app', '5'))).errors).toBeUndefined();
      for (let i = 0; i < 3; i += 1) await stack.query(HOME, undefined, undefined, client('replicated-app', '5'));
      await second.usage!.flush();
      const exported = await stack.usage.export(1);
      expect(exported.coordinates['Constitution.code']?.find((e) => e.client === 'replicated-app')?.count).toBe(7);
    } finally {
      await second.stop();
    }
  });

  describe('a gateway process (node gateway/dist/index.js)', () => {
    let dataDir: string;
    let child: ChildProcess | undefined;
    beforeAll(() => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'suoke-usage-'));
    });
    afterAll(() => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });

    const storeEnv = () => (stack.usage.url ? { USAGE_DATABASE_URL: stack.usage.url } : { PGLITE_DATA_DIR: dataDir });

    async function startGateway(flushMs: number) {
      const port = await freePort();
      const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(JWT_|GATEWAY_|DATABASE_|REDIS_|SUBGRAPH_|PGLITE_|OTEL_|SUPERGRAPH_|USAGE_|PORT$|NODE_ENV$)/.test(key)));
      const output: string[] = [];
      const process_ = spawn(process.execPath, [path.join(repoRoot, 'gateway/dist/index.js')], {
        cwd: repoRoot,
        env: {
          ...clean,
          // Not `test`: outside it Apollo Server would install its own signal handlers (which re-sent the
          // signal and cut the flush short); a gateway as `npm start` runs it must flush at SIGTERM.
          NODE_ENV: 'development',
          OTEL_SDK_DISABLED: 'true',
          LOG_LEVEL: 'warn',
          LOG_FORMAT: 'json',
          GATEWAY_PORT: String(port),
          GATEWAY_SECRET: HARNESS_GATEWAY_SECRET,
          USAGE_FLUSH_MS: String(flushMs),
          ...Object.fromEntries(Object.entries(stack.subgraphUrls).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, url])),
          ...storeEnv(),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      process_.stdout!.on('data', (chunk) => output.push(String(chunk)));
      process_.stderr!.on('data', (chunk) => output.push(String(chunk)));
      const exited = new Promise<number | null>((resolve) => process_.once('exit', (code) => resolve(code)));
      const deadline = Date.now() + 90_000;
      while (!(await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false))) {
        if (process_.exitCode !== null || Date.now() > deadline) throw new Error(`gateway did not start: ${output.join('')}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      child = process_;
      return { url: `http://127.0.0.1:${port}/graphql`, exited, output };
    }

    const fieldJson = (coordinate: string) => JSON.parse(cli(['--field', coordinate, '--days', '1', '--json'], storeEnv())) as { entries: { client: string; version: string; count: number }[] };

    it('SIGTERM flushes before exit; the CLI reads the store while a gateway runs (embedded: through that gateway)', async () => {
      // No timed flush within the test: only the graceful stop can write these.
      const first = await startGateway(600_000);
      for (let i = 0; i < 3; i += 1) expect((await post(first.url, { query: HOME }, undefined, client('sigterm-app', '1.0.0'))).errors).toBeUndefined();
      child!.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(fieldJson('Constitution.code').entries.filter((e) => e.client === 'sigterm-app').map((e) => e.count)).toEqual([3]);

      // Again, on the same store, with timed flushes; read while it runs.
      const second = await startGateway(200);
      for (let i = 0; i < 2; i += 1) expect((await post(second.url, { query: HOME }, undefined, client('running-app', '2.0.0'))).errors).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      if (!stack.usage.url) expect(readFileSync(path.join(dataDir, 'gateway-usage.reader.json'), 'utf8')).toMatch(/"port":\d+/);
      const whileRunning = fieldJson('Constitution.code').entries.filter((e) => e.client.endsWith('-app') && e.client !== 'suoke-app' && e.client !== 'replicated-app');
      expect(whileRunning.map((e) => `${e.client}@${e.version}:${e.count}`).sort()).toEqual(['running-app@2.0.0:2', 'sigterm-app@1.0.0:3']);
      if (!stack.usage.url) {
        // A second gateway on the same embedded folder does not open it (PGlite is one process's): it says why and serves on.
        const secondChild = child!;
        const third = await startGateway(200);
        expect((await post(third.url, { query: HOME }, undefined, client('third-app', '1.0.0'))).errors).toBeUndefined();
        const deadline = Date.now() + 10_000;
        while (!/another gateway \(pid \d+\) holds the embedded usage store/.test(third.output.join('')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
        expect(third.output.join('')).toContain(`another gateway (pid ${secondChild.pid}) holds the embedded usage store`);
        child!.kill('SIGTERM');
        expect(await third.exited).toBe(0);
        child = secondChild;
        expect(fieldJson('Constitution.code').entries.some((e) => e.client === 'third-app')).toBe(false);
      }

      // schema:check --usage reads the same store by the same settings: a used field's removal fails naming its client, an unused one's passes.
      const knowledgeSdl = readFileSync(path.join(repoRoot, 'subgraphs/knowledge/src/schema.graphql'), 'utf8');
      const without = (field: string, description: string) => {
        const file = path.join(dataDir, `knowledge-without-${field}.graphql`);
        const edited = knowledgeSdl.replace(`  """\n  ${description}\n  """\n  ${field}: String!\n`, '');
        expect(edited).not.toBe(knowledgeSdl);
        writeFileSync(file, edited);
        return file;
      };
      const schemaCheck = (sdl: string) => {
        const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(DATABASE_URL|USAGE_|PGLITE_|TRUSTED_)/.test(key)));
        return spawnSync(process.execPath, [path.join(repoRoot, 'scripts/schema-check.mjs'), 'knowledge', '--sdl', sdl, '--usage', '--days', '1', '--trusted-documents', 'none'], {
          cwd: repoRoot, env: { ...clean, ...storeEnv() }, encoding: 'utf8', timeout: 60_000,
        });
      };
      const used = schemaCheck(without('name', 'Standard Chinese name, e.g. `气虚质`.'));
      expect(used.status, used.stderr).toBe(1);
      expect(used.stdout).toMatch(/BREAKING, USED \(1\)[\s\S]*Constitution\.name[\s\S]*running-app/);
      const unused = schemaCheck(without('shortName', 'Chinese name without 质, e.g. `气虚`.'));
      expect(unused.status, `${unused.stdout}\n${unused.stderr}`).toBe(0);
      expect(unused.stdout).toMatch(/BREAKING, UNUSED \(1\)[\s\S]*Constitution\.shortName/);

      const exportText = cli(['--export', '--days', '1'], storeEnv());
      expect((JSON.parse(exportText) as UsageExport).coordinates['Query.constitutions']?.some((e) => e.client === 'running-app')).toBe(true);
      child!.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      expect(second.output.join('')).not.toMatch(/usage flush failed/);
    }, 240_000);
  });
});
