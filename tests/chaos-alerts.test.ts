// Chaos test for two alerts, end to end: the stack's /metrics scraped every second while its Redis is stopped
// and restarted and while a consultation's saga fails, then the scraped samples are replayed through the
// alert rules by `promtool test rules`: RateLimitInsuranceMode and SagaFailed must fire during the failures
// and be gone after recovery. The stack gets a PRIVATE redis-server on a free loopback port, so that stopping
// it touches nobody else. promtool: scripts/observability-tools.sh (Debian's `prometheus`).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { reservePort, testToken } from '@suoke/platform/testing';
import { codes, randomClientIp, repoRoot, startStack, type Stack } from './harness.js';
import { sampleSum, scrapeMetrics } from './scrape.js';

const RULES = path.join(repoRoot, 'deploy/observability/rules/symptoms.rules.yml');
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
const redisServer = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
if (!promtool || !redisServer) {
  const missing = [promtool ? '' : 'promtool (run scripts/observability-tools.sh)', redisServer ? '' : 'redis-server'].filter(Boolean).join(' and ');
  // In CI a missing tool is a failure, not a skip: the alerts would go unproven.
  if (process.env.CI) throw new Error(`chaos-alerts: ${missing} missing`);
  console.warn(`chaos-alerts skipped: ${missing} missing`);
}

/** A redis-server of this test's own, without persistence, that the test stops and starts again on the same port. */
class PrivateRedis {
  private process: ChildProcess | undefined;
  constructor(readonly port: number) {}
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        if (chunk.toString().includes('Ready to accept connections')) {
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready`)));
    });
  }
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    this.process = undefined;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

/** The series the two alerts read, one sample per scrape. */
interface Tick {
  insurance: Record<string, number>;
  failedSagas: number | undefined;
  completedSagas: number | undefined;
}

let stack: Stack;
let redis: PrivateRedis;
const ticks: Tick[] = [];
let scraping: NodeJS.Timeout | undefined;

async function scrapeOnce(): Promise<void> {
  const services = { gateway: stack.gatewayUrl, ...stack.subgraphUrls };
  const insurance: Record<string, number> = {};
  let failedSagas: number | undefined;
  let completedSagas: number | undefined;
  await Promise.all(
    Object.entries(services).map(async ([service, url]) => {
      const samples = await scrapeMetrics(url);
      const mode = sampleSum(samples, 'suoke_rate_limit_insurance_mode');
      if (mode !== undefined) insurance[service] = mode;
      if (service === 'diagnosis') {
        failedSagas = sampleSum(samples, 'suoke_sagas_total', { saga: 'consultation', outcome: 'failed' });
        completedSagas = sampleSum(samples, 'suoke_sagas_total', { saga: 'consultation', outcome: 'completed' });
      }
    }),
  );
  ticks.push({ insurance, failedSagas, completedSagas });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits for `probe` to hold at the latest scrape, up to `timeoutMs`. */
async function untilScraped(what: string, probe: (tick: Tick) => boolean, timeoutMs = 30_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  const from = ticks.length;
  for (;;) {
    const index = ticks.findIndex((tick, i) => i >= from && probe(tick));
    if (index >= 0) return index;
    if (Date.now() > end) throw new Error(`chaos-alerts: ${what} not seen in ${timeoutMs} ms of scrapes`);
    await sleep(200);
  }
}

beforeAll(async () => {
  if (!promtool || !redisServer) return;
  const reserved = await reservePort();
  await reserved.release();
  redis = new PrivateRedis(reserved.port);
  await redis.start();
  stack = await startStack({ gatewayEnv: { REDIS_URL: redis.url }, subgraphEnv: { REDIS_URL: redis.url } });
  scraping = setInterval(() => void scrapeOnce().catch(() => {}), 1_000);
}, 120_000);

afterAll(async () => {
  clearInterval(scraping);
  await stack?.stop();
  await redis?.stop();
});

const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken } }`;

async function completeConsultation(token: string): Promise<string> {
  const questions = (await stack.query('{ constitutionQuestionnaire { id } }')).data?.constitutionQuestionnaire as { id: string }[];
  const id = (await stack.query('mutation { startConsultation { id } }', {}, token)).data?.startConsultation.id;
  const answers = questions.map((q) => ({ questionId: q.id, value: 3 }));
  await stack.query('mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }', { input: { consultationId: id, answers } }, token);
  const completed = await stack.query('mutation($id: ID!) { completeConsultation(id: $id) { report { status } } }', { id }, token);
  return completed.data?.completeConsultation.report.status;
}

describe.skipIf(!promtool || !redisServer)('alerts proven on scraped metrics (promtool)', () => {
  it('RateLimitInsuranceMode fires while Redis is down and clears after; SagaFailed fires after a failed saga and clears 15m later', async () => {
    // Rate-limited operations (login: 5 a minute per address) on Redis.
    const login = async () => codes(await stack.query(LOGIN, { input: { email: `chaos-${randomUUID()}@example.com`, password: 'wrong-password-1234' } }, undefined, { 'x-forwarded-for': randomClientIp() }));
    for (let i = 0; i < 3; i += 1) expect(await login()).not.toContain('RATE_LIMITED');
    const healthyBefore = await untilScraped('every service off insurance mode', (t) => Object.keys(t.insurance).length > 0 && Object.values(t.insurance).every((v) => v === 0));

    // Redis stops: operations are still answered, on the insurance limiter.
    await redis.stop();
    const down = await untilScraped('the gateway in insurance mode', (t) => t.insurance.gateway === 1);
    for (let i = 0; i < 3; i += 1) {
      const answered = await login();
      expect(answered.some((code) => code === 'INTERNAL_SERVER_ERROR' || code === 'SERVICE_UNAVAILABLE')).toBe(false);
    }
    // Down for at least four scrapes (four minutes of promtool time: the alert waits one).
    while (ticks.length < down + 5) await sleep(200);
    const insuranceServices = Object.entries(ticks.at(-1)!.insurance).filter(([, v]) => v === 1).map(([service]) => service);
    await redis.start();
    const up = await untilScraped('every service off insurance mode again', (t) => Object.values(t.insurance).every((v) => v === 0));
    // Recovered for a few scrapes.
    while (ticks.length < up + 3) await sleep(200);

    // The saga's last step (NOTIFY) fails for good for a user the user subgraph does not know: the saga ends FAILED.
    expect(await completeConsultation(await testToken({ id: randomUUID() }))).toBe('FAILED');
    const failed = await untilScraped('the failed saga counted', (t) => (t.failedSagas ?? 0) >= 1);
    // Recovery: a registered user's consultation completes its saga.
    const registered = await stack.query('mutation($input: RegisterInput!) { register(input: $input) { accessToken } }', {
      input: { email: `chaos-${randomUUID()}@example.com`, password: 'chaos-password-2026', displayName: 'Chaos' },
    });
    expect(await completeConsultation(registered.data?.register.accessToken)).toBe('PUBLISHED');
    const completed = await untilScraped('the completed saga counted', (t) => (t.completedSagas ?? 0) >= 1);
    while (ticks.length < completed + 2) await sleep(200);
    clearInterval(scraping);
    const samples = ticks.slice();

    // ---- The samples as a promtool unit test. One scrape = one sample = 1m of promtool time (interval: 1m), so the
    // rules' `for: 1m` and `[15m]` windows span scrapes, not seconds; series values are given one per minute.
    const minutes = samples.length;
    const services = [...new Set(samples.flatMap((t) => Object.keys(t.insurance)))];
    const values = (pick: (t: Tick) => number | undefined) => samples.map((t) => (pick(t) === undefined ? '_' : String(pick(t)))).join(' ');
    // Padded with the last value for 20 more minutes, so that SagaFailed's 15m window can run out after recovery.
    const pad = (series: string, last: number | undefined) => `${series}${last === undefined ? '' : ` ${last}+0x20`}`;
    const input_series = [
      ...services.map((service) => ({
        series: `suoke_rate_limit_insurance_mode{service="${service}"}`,
        values: pad(values((t) => t.insurance[service]), samples.at(-1)!.insurance[service]),
      })),
      ...(['failed', 'completed'] as const).map((outcome) => ({
        series: `suoke_sagas_total{service="diagnosis",saga="consultation",outcome="${outcome}"}`,
        values: pad(values((t) => (outcome === 'failed' ? t.failedSagas : t.completedSagas)), outcome === 'failed' ? samples.at(-1)!.failedSagas : samples.at(-1)!.completedSagas),
      })),
    ];

    // The rules as written, without their annotations (text for people, checked by `promtool check rules` and the
    // rules' own tests): promtool compares annotations too, and this test proves when the alerts fire and with which labels.
    const rules = YAML.parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: { alert?: string; labels?: Record<string, string>; annotations?: unknown }[] }[] };
    const staticLabels: Record<string, Record<string, string>> = {};
    for (const group of rules.groups) {
      for (const rule of group.rules) {
        if (!rule.alert) continue;
        delete rule.annotations;
        staticLabels[rule.alert] = rule.labels ?? {};
      }
    }
    expect(Object.keys(staticLabels)).toEqual(expect.arrayContaining(['RateLimitInsuranceMode', 'SagaFailed']));
    const dir = mkdtempSync(path.join(tmpdir(), 'suoke-chaos-alerts-'));
    writeFileSync(path.join(dir, 'symptoms.rules.yml'), YAML.stringify(rules));

    const at = (minute: number) => `${minute}m`;
    const insuranceAlerts = (names: string[]) => names.map((service) => ({ exp_labels: { ...staticLabels.RateLimitInsuranceMode, service } }));
    const sagaAlert = [{ exp_labels: { ...staticLabels.SagaFailed, service: 'diagnosis', saga: 'consultation', outcome: 'failed' } }];
    const lastMinute = minutes - 1 + 20;
    const alert_rule_test = [
      // Healthy before the outage: nothing.
      { eval_time: at(healthyBefore), alertname: 'RateLimitInsuranceMode', exp_alerts: [] },
      // Redis down: firing (after `for: 1m`, one scrape) for every service on the insurance limiter at both of the last two scrapes.
      { eval_time: at(down + 2), alertname: 'RateLimitInsuranceMode', exp_alerts: insuranceAlerts(services.filter((s) => samples[down + 1]!.insurance[s] === 1 && samples[down + 2]!.insurance[s] === 1)) },
      // Back to 0 after recovery: cleared.
      { eval_time: at(up + 1), alertname: 'RateLimitInsuranceMode', exp_alerts: [] },
      { eval_time: at(failed - 1), alertname: 'SagaFailed', exp_alerts: [] },
      { eval_time: at(failed), alertname: 'SagaFailed', exp_alerts: sagaAlert },
      { eval_time: at(completed), alertname: 'SagaFailed', exp_alerts: sagaAlert },
      // 15m after the failure and more: cleared.
      { eval_time: at(lastMinute), alertname: 'SagaFailed', exp_alerts: [] },
    ];
    const testFile = path.join(dir, 'chaos.test.yml');
    const test = { rule_files: ['symptoms.rules.yml'], evaluation_interval: '1m', tests: [{ name: 'chaos', interval: '1m', input_series, alert_rule_test }] };
    writeFileSync(testFile, YAML.stringify(test, { aliasDuplicateObjects: false }));
    const result = spawnSync('promtool', ['test', 'rules', testFile], { encoding: 'utf8', cwd: dir });
    // Kept when it fails, to be run again by hand.
    expect(result.status, `promtool test rules ${testFile}:\n${result.stdout}${result.stderr}`).toBe(0);
    rmSync(dir, { recursive: true, force: true });
    expect(insuranceServices).toContain('gateway');
  }, 240_000);
});
