// Consistency of what ships: docker-compose.yml, the Dockerfiles, deploy/postgres
// and deploy/k8s against supergraph.yaml and the services' own config modules.
// Nothing here runs Docker or a cluster. Variables are learned by calling each
// service's real config loader (the one its container runs): what it reads,
// what it refuses without, and which defaults point at localhost.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ConfigError, DEFAULT_TRUSTED_SERVICES, generateSigningJwk } from '@suoke/platform';
import { SERVICE_NODE_OPTIONS } from '../scripts/services.mjs';
import { readSupergraphConfig } from '../scripts/supergraph-config.mjs';

type Env = Record<string, string | undefined>;
type Load = (env: Env) => unknown;
interface Service {
  name: string;
  /** Package folder, relative to the root. */
  dir: string;
  port: number;
  /** Variable that carries the port. */
  portVar: 'PORT' | 'GATEWAY_PORT';
  load: Load;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const subgraphs = readSupergraphConfig().subgraphs.map((s) => ({ ...s, url: new URL(s.routingUrl) }));
const GATEWAY_PORT = 4000;
/** Read by Apollo Gateway itself, not by our config module. */
const READ_BY_LIBRARIES = new Set(['APOLLO_TELEMETRY_DISABLED']);
const SECRET_NAME = /SECRET|PASSWORD|API_KEY|SIGNING_KEYS|(^|_)TOKEN$/;

const services: Service[] = [];
beforeAll(async () => {
  const gateway = await import('../gateway/src/config.js');
  services.push({ name: 'gateway', dir: 'gateway', port: GATEWAY_PORT, portVar: 'GATEWAY_PORT', load: gateway.loadGatewayConfig });
  for (const s of subgraphs) {
    const { definition } = await import(/* @vite-ignore */ path.join(root, 'subgraphs', s.name, 'src/server.ts'));
    services.push({ name: s.name, dir: `subgraphs/${s.name}`, port: s.url.port ? Number(s.url.port) : 80, portVar: 'PORT', load: definition.loadConfig });
  }
}, 120_000);

// ---- what a config loader reads and requires ----

function problemsOf(load: Load, env: Env): string[] {
  try {
    load(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

/** Every variable the loader looks at (a recording proxy: cannot drift from the zod schemas). */
function variablesRead(load: Load): Set<string> {
  const seen = new Set<string>();
  const env = new Proxy({ NODE_ENV: 'development' } as Env, {
    get(target, key) {
      if (typeof key === 'string' && /^[A-Z][A-Z0-9_]*$/.test(key)) seen.add(key);
      return Reflect.get(target, key);
    },
  });
  problemsOf(load, env);
  return seen;
}

/** Groups of variables of which one must be set, as the loader reports them when the environment is empty. */
function requiredGroups(load: Load, nodeEnv: string): string[][] {
  return problemsOf(load, { NODE_ENV: nodeEnv }).map((problem) => problem.split(':')[0]!.split(/\s+or\s+/).map((name) => name.trim()));
}

/** Variables whose default points at this machine: right for `npm start`, wrong in a container. */
function localhostDefaults(load: Load): string[] {
  const config = load({ NODE_ENV: 'development' }) as Record<string, unknown>;
  return Object.entries(config)
    .filter(([, value]) => typeof value === 'string' && /\/\/(localhost|127\.0\.0\.1)\b/.test(value))
    .map(([name]) => name);
}

/** Problems of one container environment against its service's loader. */
function envProblems(service: Service, env: Env, where: string): string[] {
  const out: string[] = [];
  const reads = variablesRead(service.load);
  for (const name of Object.keys(env)) {
    const known = reads.has(name) || READ_BY_LIBRARIES.has(name) || (service.name === 'gateway' && /^SUBGRAPH_[A-Z0-9_]+_URL$/.test(name));
    if (!known) out.push(`${where}: sets ${name}, which ${service.name} never reads`);
  }
  // What production requires is checked where the environment says production (compose with NODE_ENV=production and the
  // operator's keys, Kubernetes): compose's development default leaves the private keys unset on purpose.
  for (const group of [...requiredGroups(service.load, 'development'), ...(env.NODE_ENV === 'production' ? requiredGroups(service.load, 'production') : [])]) {
    if (!group.some((name) => env[name])) out.push(`${where}: ${group.join(' or ')} is required by ${service.name} and not set`);
  }
  for (const name of localhostDefaults(service.load)) {
    if (!env[name] || /\/\/(localhost|127\.0\.0\.1)\b/.test(env[name]!)) out.push(`${where}: ${name} defaults to localhost; set it to a service name`);
  }
  for (const problem of problemsOf(service.load, env)) out.push(`${where}: ${service.name} refuses this environment: ${problem}`);
  if (env[service.portVar] !== String(service.port)) out.push(`${where}: ${service.portVar} is ${env[service.portVar]}, expected ${service.port}`);
  return out;
}

// ---- docker-compose.yml ----

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const compose: any = YAML.parse(read('docker-compose.yml'), { merge: true });
const OPERATOR_PROVIDED = 'provided-by-the-operator-0123456789abcdef';
/** Private key sets an operator provides to the signing services (never committed). */
const OPERATOR_KEYS: Env = Object.fromEntries(['USER', 'AGENT', 'DIAGNOSIS'].map((name) => [`${name}_SIGNING_KEYS`, JSON.stringify({ keys: [generateSigningJwk()] })]));
const SIGNERS = new Set(['user', 'agent', 'diagnosis']);

/** Compose interpolation: ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR}, $$. */
function interpolate(value: string, host: Env): string {
  return value.replace(/\$\$|\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (match, name: string, op: string | undefined, arg: string) => {
    if (match === '$$') return '$';
    const given = host[name];
    if (op?.endsWith('?')) return given || OPERATOR_PROVIDED;
    if (op === ':-') return given || arg;
    if (op === '-') return given ?? arg;
    return given ?? '';
  });
}

function composeEnv(service: string, host: Env = {}): Env {
  const raw = compose.services[service]?.environment ?? {};
  const pairs: [string, string][] = Array.isArray(raw) ? raw.map((e: string) => e.split(/=(.*)/s).slice(0, 2) as [string, string]) : Object.entries(raw).map(([k, v]) => [k, String(v)]);
  return Object.fromEntries(pairs.map(([k, v]) => [k, interpolate(v, host)]));
}

function composeHealthPort(service: string): number | undefined {
  const test = compose.services[service]?.healthcheck?.test;
  const text = Array.isArray(test) ? test.join(' ') : String(test ?? '');
  const match = /:(\d+)\/health\/ready/.exec(text);
  return match ? Number(match[1]) : undefined;
}

// ---- Dockerfile ----
// One Dockerfile builds every service (ARG SERVICE). The checks below read it the
// way the builder does for each SERVICE: global ARGs substituted into FROM, the
// final stage's chain of parent stages (ENV, EXPOSE, CMD, USER and HEALTHCHECK are
// inherited along it), and the stages its COPY --from names.

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name?: string;
  /** The FROM image, ARGs not yet substituted. */
  from: string;
  instructions: Instruction[];
}
interface ParsedDockerfile {
  args: Record<string, string>;
  stages: Stage[];
}

function parseDockerfile(text: string): ParsedDockerfile {
  const logical: string[] = [];
  let pending = '';
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*#/.test(line) || (!pending && !line.trim())) continue;
    if (/\\\s*$/.test(line)) pending += line.replace(/\\\s*$/, ' ');
    else {
      logical.push(pending + line);
      pending = '';
    }
  }
  const parsed: ParsedDockerfile = { args: {}, stages: [] };
  for (const line of logical) {
    const [, op, args = ''] = /^\s*(\w+)\s*(.*)$/s.exec(line) ?? [];
    if (!op) continue;
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const [, from, name] = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(args.trim()) ?? [];
      parsed.stages.push({ from: from!, name, instructions: [] });
    } else if (parsed.stages.length === 0) {
      if (upper === 'ARG') {
        const [, name, value = ''] = /^(\w+)(?:=(\S*))?/.exec(args.trim()) ?? [];
        if (name) parsed.args[name] = value;
      }
    } else parsed.stages.at(-1)!.instructions.push({ op: upper, args: args.trim() });
  }
  return parsed;
}

const expand = (text: string, vars: Record<string, string | undefined>) =>
  text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? '');

/** `ENV A=1 B="two words"` → pairs. */
function envPairs(args: string): [string, string][] {
  return [...args.matchAll(/(\w+)=(?:"([^"]*)"|(\S+))/g)].map((m) => [m[1]!, m[2] ?? m[3]!]);
}

interface ResolvedImage {
  /** Stages the build runs for this SERVICE, the final one last. */
  stages: Stage[];
  /** The final stage and its parents, the base-most first. */
  chain: Stage[];
  env: Record<string, string>;
  last: (op: string) => string | undefined;
  all: (op: string) => string[];
  /** Every source a used stage copies from the build context (COPY without --from). */
  contextSources: string[];
  /** Every RUN of a used stage, its ENV substituted as the shell would. */
  runs: string[];
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const dockerStage = (name: string) => dockerfile.stages.find((s) => s.name === name);

function resolveImage(service: string): ResolvedImage {
  const args = { ...dockerfile.args, SERVICE: service };
  const chainOf = (stage: Stage): Stage[] => {
    const parent = dockerStage(expand(stage.from, args));
    return parent ? [...chainOf(parent), stage] : [stage];
  };
  const envOf = (chain: Stage[]) => {
    const env: Record<string, string> = {};
    for (const i of chain.flatMap((s) => s.instructions)) if (i.op === 'ENV') for (const [k, v] of envPairs(i.args)) env[k] = v;
    return env;
  };
  const final = dockerfile.stages.at(-1)!;
  const chain = chainOf(final);
  const used = new Set<Stage>();
  const visit = (stage: Stage) => {
    for (const s of chainOf(stage)) {
      if (used.has(s)) continue;
      used.add(s);
      for (const i of s.instructions) {
        const from = /--from=(\S+)/.exec(i.args)?.[1];
        if (i.op === 'COPY' && from && dockerStage(from)) visit(dockerStage(from)!);
      }
    }
  };
  visit(final);
  const stages = dockerfile.stages.filter((s) => used.has(s));
  const contextSources: string[] = [];
  const runs: string[] = [];
  for (const stage of stages) {
    const env = { ...args, ...envOf(chainOf(stage)) };
    for (const i of stage.instructions) {
      if (i.op === 'RUN') runs.push(expand(i.args, env));
      if (i.op !== 'COPY' || /--from=/.test(i.args)) continue;
      contextSources.push(...expand(i.args, env).split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1));
    }
  }
  const instructions = chain.flatMap((s) => s.instructions);
  const all = (op: string) => instructions.filter((i) => i.op === op).map((i) => i.args);
  return { stages, chain, env: envOf(chain), all, last: (op) => all(op).at(-1), contextSources, runs };
}

// ---- Node.js lines (https://nodejs.org/en/about/previous-releases and the Release
// working group's schedule): end of life of each line. A line not listed is unknown. ----
const NODE_END_OF_LIFE: Record<number, string> = {
  18: '2025-04-30',
  19: '2023-06-01',
  20: '2026-04-30',
  21: '2024-06-01',
  22: '2027-04-30',
  23: '2025-06-01',
  24: '2028-04-30',
  25: '2026-06-01',
  26: '2029-04-30',
};

/** Why an image is not on a supported Node.js line on `today`, or undefined when it is. */
function nodeLineProblem(image: string, today: Date): string | undefined {
  const major = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)(?:[.-]|$)/.exec(image)?.[1];
  if (!major) return `${image} is not an official node image with its major line in the tag`;
  const eol = NODE_END_OF_LIFE[Number(major)];
  if (!eol) return `${image}: Node.js ${major} is not in the table of known lines`;
  if (today.getTime() >= new Date(`${eol}T00:00:00Z`).getTime()) return `${image}: Node.js ${major} reached end of life on ${eol}`;
  return undefined;
}

/** Every Dockerfile in the repository (Dockerfile, Dockerfile.*, *.Dockerfile), dependencies and build output aside. */
function dockerfiles(dir = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!['node_modules', '.git', 'dist', '.data', 'coverage'].includes(entry.name)) out.push(...dockerfiles(rel));
    } else if (/^Dockerfile(\..+)?$|\.Dockerfile$/.test(entry.name)) out.push(rel);
  }
  return out;
}

// ---- deploy/k8s ----

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = any;
const k8sDir = 'deploy/k8s';
const kustomization = YAML.parse(read(`${k8sDir}/kustomization.yaml`));
const manifests: Manifest[] = (kustomization.resources as string[]).flatMap((file) =>
  YAML.parseAllDocuments(read(`${k8sDir}/${file}`)).map((doc) => doc.toJS()).filter(Boolean),
);
const find = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata?.name === name);
const matches = (selector: Record<string, string> = {}, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

function secretPlaceholder(key: string): string {
  if (key === 'JWT_SIGNING_KEYS') return OPERATOR_KEYS.USER_SIGNING_KEYS!;
  if (key === 'DATABASE_URL') return 'postgres://placeholder:placeholder@postgres.invalid:5432/suoke';
  if (key.endsWith('_URL')) return 'redis://placeholder.invalid:6379';
  return 'k8s-secret-placeholder-0123456789abcdef0123';
}

/** A container's environment as the kubelet would build it; Secrets are not committed, so their values are placeholders. */
function containerEnv(container: Manifest, where: string, out: string[]): Env {
  const env: Env = {};
  for (const from of container.envFrom ?? []) {
    const map = from.configMapRef && find('ConfigMap', from.configMapRef.name);
    if (from.configMapRef && !map) out.push(`${where}: envFrom ConfigMap ${from.configMapRef.name} is not in the manifests`);
    Object.assign(env, map?.data ?? {});
    if (from.secretRef) out.push(`${where}: envFrom secretRef hides which keys a Secret must hold; use env secretKeyRef`);
  }
  for (const item of container.env ?? []) {
    const secret = item.valueFrom?.secretKeyRef;
    const mapRef = item.valueFrom?.configMapKeyRef;
    if (secret) {
      if (!secret.optional) env[item.name] = secretPlaceholder(secret.key);
    } else if (mapRef) env[item.name] = find('ConfigMap', mapRef.name)?.data?.[mapRef.key];
    else env[item.name] = item.value === undefined ? undefined : String(item.value);
    if (SECRET_NAME.test(item.name) && !secret) out.push(`${where}: ${item.name} must come from a Secret (secretKeyRef), not a literal`);
  }
  return env;
}

const portOf = (container: Manifest, port: number | string) =>
  typeof port === 'number' ? port : container.ports?.find((p: { name?: string }) => p.name === port)?.containerPort;

// ---- deploy/postgres ----

const rolesScript = read('deploy/postgres/subgraph-roles.psql');
const rolesHook = read('deploy/postgres/10-subgraph-roles.sh');
/** The schema a subgraph migrates into: defineSubgraph applies its migrations to the Postgres schema named after it. */
const schemaOf = (name: string): string | undefined => name;
const ownerOf = (schema: string) => new RegExp(`create schema if not exists "${schema}" authorization (\\w+)`, 'i').exec(rolesScript)?.[1];

describe('deployment files agree with supergraph.yaml and the services', () => {
  it('learns each service’s variables from its config loader (so the checks below are not vacuous)', () => {
    expect(services.map((s) => s.name)).toEqual(['gateway', ...subgraphs.map((s) => s.name)]);
    for (const service of services) {
      const reads = variablesRead(service.load);
      expect([...reads]).toEqual(expect.arrayContaining([service.portVar, 'NODE_ENV', 'JWT_JWKS_URL', 'TRUSTED_SERVICES', 'GATEWAY_SECRET', 'REDIS_URL']));
      if (service.name !== 'gateway') expect(reads).toContain('DATABASE_URL');
      expect(requiredGroups(service.load, 'production').flat()).toEqual(expect.arrayContaining(['JWT_JWKS_URL', 'GATEWAY_SECRET']));
      // Only the services that sign tokens read a private key.
      expect(reads.has('JWT_SIGNING_KEYS'), service.name).toBe(SIGNERS.has(service.name));
      if (SIGNERS.has(service.name)) expect(requiredGroups(service.load, 'production').flat()).toContain('JWT_SIGNING_KEYS');
    }
  });

  it('every subgraph in supergraph.yaml has a compose service, a Dockerfile stage and Kubernetes Deployment, Service, HPA and PDB', () => {
    const missing: string[] = [];
    for (const { name } of services) {
      if (!compose.services?.[name]) missing.push(`docker-compose.yml: service ${name}`);
      if (!dockerStage(`service-${name}`)) missing.push(`Dockerfile: stage service-${name}`);
      for (const kind of ['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']) {
        if (!find(kind, name)) missing.push(`${k8sDir}: ${kind} ${name}`);
      }
    }
    const listed = new Set<string>(kustomization.resources);
    for (const file of readdirSync(path.join(root, k8sDir)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
      if (!listed.has(file)) missing.push(`${k8sDir}/kustomization.yaml: resources does not list ${file}`);
    }
    expect(missing).toEqual([]);
  });

  it('compose: build contexts and Dockerfiles exist; ports, URLs, health checks and depends_on agree', () => {
    const problems: string[] = [];
    for (const [name, service] of Object.entries<Manifest>(compose.services)) {
      if (!service.build) continue;
      const context = path.join(root, service.build.context ?? service.build);
      if (!existsSync(context)) problems.push(`${name}: build context ${service.build.context} does not exist`);
      if (!existsSync(path.join(context, service.build.dockerfile ?? 'Dockerfile'))) problems.push(`${name}: ${service.build.dockerfile} does not exist`);
      if (service.build.args?.SERVICE !== name) problems.push(`${name}: builds with SERVICE=${service.build.args?.SERVICE}, expected ${name}`);
      for (const [dep, how] of Object.entries<Manifest>(service.depends_on ?? {})) {
        const target = compose.services[dep];
        if (!target) problems.push(`${name}: depends_on ${dep}, which is not a service`);
        else if (how?.condition === 'service_healthy' && !target.healthcheck) problems.push(`${name}: waits for ${dep} to be healthy, which has no healthcheck`);
      }
    }
    const gatewayEnv = composeEnv('gateway');
    for (const service of services) {
      const s = compose.services[service.name];
      if (composeHealthPort(service.name) !== service.port) problems.push(`${service.name}: healthcheck probes port ${composeHealthPort(service.name)}, expected ${service.port}`);
      if (service.name === 'gateway') continue;
      const routing = subgraphs.find((x) => x.name === service.name)!.url;
      const url = gatewayEnv[`SUBGRAPH_${service.name.toUpperCase()}_URL`];
      const expected = `${routing.protocol}//${service.name}:${service.port}${routing.pathname}`;
      if (url !== expected) problems.push(`gateway: SUBGRAPH_${service.name.toUpperCase()}_URL is ${url}, expected ${expected}`);
      if (compose.services.gateway.depends_on?.[service.name]?.condition !== 'service_healthy') problems.push(`gateway: should wait for ${service.name} to be healthy`);
      for (const store of ['postgres', 'redis']) {
        if (s.depends_on?.[store]?.condition !== 'service_healthy') problems.push(`${service.name}: should wait for ${store} to be healthy`);
      }
      if (!String(s.command ?? '').includes(`deploy/migrate.mjs ${service.name}`)) problems.push(`${service.name}: does not apply its migrations before starting`);
    }
    const prometheus = read('deploy/observability/prometheus.yml');
    for (const service of services) {
      // /metrics is on METRICS_PORT when one is set (served there only, and never published).
      const env = composeEnv(service.name, { NODE_ENV: 'production' });
      const metricsPort = env.METRICS_PORT ? Number(env.METRICS_PORT) : service.port;
      if (!prometheus.includes(`'${service.name}:${metricsPort}'`)) problems.push(`prometheus.yml: no target ${service.name}:${metricsPort}`);
      if (!env.METRICS_PORT && !env.METRICS_TOKEN) problems.push(`compose ${service.name}: with NODE_ENV=production /metrics needs METRICS_PORT or METRICS_TOKEN`);
      const published = (compose.services[service.name]?.ports ?? []).map((p: string) => String(p).split(':').at(-1));
      if (env.METRICS_PORT && published.includes(env.METRICS_PORT)) problems.push(`compose ${service.name}: publishes its METRICS_PORT ${env.METRICS_PORT}`);
    }
    expect(problems).toEqual([]);
  });

  it('compose: every service environment satisfies its config loader, in development and in production', () => {
    const problems = services.flatMap((service) => [
      ...envProblems(service, composeEnv(service.name), `compose ${service.name}`),
      ...envProblems(service, composeEnv(service.name, { NODE_ENV: 'production', ...OPERATOR_KEYS }), `compose ${service.name} (NODE_ENV=production)`),
    ]);
    expect(problems).toEqual([]);
  });

  it('compose: no secret is committed (only ${VAR:?…} or clearly dev-only fallbacks)', () => {
    const problems: string[] = [];
    for (const [name, service] of Object.entries<Manifest>(compose.services)) {
      for (const [key, value] of Object.entries<string>(service.environment ?? {})) {
        const secretValue = SECRET_NAME.test(key) ? String(value) : /\/\/[^:/]+:([^@]+)@/.exec(String(value))?.[1];
        if (secretValue === undefined) continue;
        const fallback = /^\$\{[A-Z0-9_]+(?::?-([^}]*))?(?::\?[^}]*)?\}$/.exec(secretValue);
        if (!fallback) problems.push(`${name}.${key}: a literal secret; use \${VAR:?…} or \${VAR:-dev-only-…}`);
        // An empty fallback leaves the variable unset: development makes its own, production refuses to start.
        else if (fallback[1] !== undefined && fallback[1] !== '' && !/dev-only/.test(fallback[1])) problems.push(`${name}.${key}: fallback "${fallback[1]}" does not say dev-only`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('compose: MinIO holds the media in a private bucket made by a one-shot job; diagnosis reaches it and signs for a host clients reach', () => {
    const problems: string[] = [];
    const minio = compose.services.minio;
    const job = compose.services['minio-bucket'];
    const diagnosis = compose.services.diagnosis;
    const env = composeEnv('diagnosis');
    if (!/^minio\/minio:RELEASE\./.test(minio?.image ?? '')) problems.push(`minio: image ${minio?.image} is not a pinned minio/minio release`);
    if (!minio?.healthcheck) problems.push('minio: no healthcheck (the bucket job waits for it)');
    const published = (minio?.ports ?? []).map((p: string) => String(p));
    if (!published.includes('9000:9000')) problems.push('minio: the S3 API port 9000 is not published (clients upload to it)');
    for (const port of published.filter((p: string) => p.endsWith(':9001'))) if (!port.startsWith('127.0.0.1:')) problems.push(`minio: the console is published beyond this machine (${port})`);
    if (!/^minio\/mc:RELEASE\./.test(job?.image ?? '')) problems.push(`minio-bucket: image ${job?.image} is not a pinned minio/mc release`);
    if (job?.depends_on?.minio?.condition !== 'service_healthy') problems.push('minio-bucket: should wait for minio to be healthy');
    if (job?.restart !== 'no') problems.push('minio-bucket: a one-shot job must not restart');
    const script = interpolate([job?.entrypoint ?? [], job?.command ?? []].flat().join('\n'), {}).replaceAll('$MEDIA_BUCKET', String(job?.environment?.MEDIA_BUCKET));
    if (!script.includes(`mc mb --ignore-existing "local/${env.S3_BUCKET}"`)) problems.push(`minio-bucket: does not create the bucket diagnosis uses (${env.S3_BUCKET})`);
    if (!script.includes(`mc anonymous set none "local/${env.S3_BUCKET}"`)) problems.push('minio-bucket: the bucket is not made private');
    if (/anonymous set (download|upload|public)/.test(script)) problems.push('minio-bucket: grants anonymous access to media');
    const endpoint = new URL(env.S3_ENDPOINT ?? 'http://unset');
    if (!compose.services[endpoint.hostname] || endpoint.hostname !== 'minio' || endpoint.port !== '9000') problems.push(`diagnosis: S3_ENDPOINT is ${env.S3_ENDPOINT}, expected http://minio:9000`);
    const publicEndpoint = new URL(env.S3_PUBLIC_ENDPOINT ?? 'http://unset');
    if (compose.services[publicEndpoint.hostname] || !published.some((p: string) => p.endsWith(`:${publicEndpoint.port}`) && !p.startsWith('127.0.0.1:'))) {
      problems.push(`diagnosis: S3_PUBLIC_ENDPOINT ${env.S3_PUBLIC_ENDPOINT} is not a published MinIO port under a name clients resolve`);
    }
    // diagnosis signs in as the MinIO user the job made, with the same (dev-only) credentials, not as root.
    const jobEnv = composeEnv('minio-bucket');
    if (env.S3_ACCESS_KEY_ID !== jobEnv.DIAGNOSIS_S3_ACCESS_KEY_ID || env.S3_SECRET_ACCESS_KEY !== jobEnv.DIAGNOSIS_S3_SECRET_ACCESS_KEY) problems.push('diagnosis: S3 credentials differ from the user minio-bucket makes');
    if (env.S3_ACCESS_KEY_ID === jobEnv.MINIO_ROOT_USER) problems.push('diagnosis: uses the MinIO root account');
    if (diagnosis?.depends_on?.['minio-bucket']?.condition !== 'service_completed_successfully') problems.push('diagnosis: should start once the bucket job has completed');
    if (!(compose.volumes && 'minio-data' in compose.volumes) || !(minio?.volumes ?? []).some((v: string) => v.startsWith('minio-data:'))) problems.push('minio: data is not on a named volume');
    expect(problems).toEqual([]);
  });

  it('the Dockerfile builds each service: multi-stage, non-root, /health/ready checked, its port exposed, only its package and the platform copied', async () => {
    const problems: string[] = [];
    const stray = dockerfiles().filter((f) => f !== 'Dockerfile');
    if (stray.length) problems.push(`one Dockerfile serves every service; also found ${stray.join(', ')}`);
    for (const service of services) {
      const where = `Dockerfile SERVICE=${service.name}`;
      const image = resolveImage(service.name);
      if (image.stages.length < 3) problems.push(`${where}: not multi-stage (${image.stages.length} stages)`);
      if (image.env.SERVICE_DIR !== service.dir) problems.push(`${where}: SERVICE_DIR is ${image.env.SERVICE_DIR}, expected ${service.dir}`);
      const user = image.last('USER');
      if (!user || !/^\d+(:\d+)?$/.test(user) || /^0(:|$)/.test(user)) problems.push(`${where}: final stage runs as ${user ?? 'root (no USER)'}, expected a numeric non-root UID`);
      const healthcheck = image.last('HEALTHCHECK') ?? '';
      if (!/\/health\/ready/.test(healthcheck) || !healthcheck.includes(`process.env.${service.portVar}`)) problems.push(`${where}: no HEALTHCHECK on /health/ready at ${service.portVar}`);
      if (!image.all('EXPOSE').some((e) => e.split(/\s+/).includes(String(service.port)))) problems.push(`${where}: does not EXPOSE ${service.port}`);
      if (image.env[service.portVar] !== String(service.port)) problems.push(`${where}: ENV ${service.portVar}=${service.port} missing (the HEALTHCHECK reads it)`);
      if (image.env.NODE_ENV !== 'production') problems.push(`${where}: NODE_ENV is ${image.env.NODE_ENV}, expected production`);
      if (image.env.NODE_OPTIONS !== SERVICE_NODE_OPTIONS.join(' ')) problems.push(`${where}: ENV NODE_OPTIONS should be "${SERVICE_NODE_OPTIONS.join(' ')}" (scripts/services.mjs, as npm start and the bench run the services)`);
      if (!(image.last('CMD') ?? '').includes(`"${service.dir}/dist/index.js"`) || !existsSync(path.join(root, service.dir, 'src/index.ts'))) problems.push(`${where}: CMD does not run ${service.dir}/dist/index.js`);
      if (!image.runs.some((r) => new RegExp(`^npm run build -w "?${service.dir}"?$`).test(r))) problems.push(`${where}: does not run the package's own build`);
      if (!image.runs.some((r) => new RegExp(`^npm ci --omit=dev -w "?platform"? -w "?${service.dir}"?\\b`).test(r))) problems.push(`${where}: does not install the production dependencies of platform and ${service.dir} alone`);
      const allowed = [
        ...['package.json', 'package-lock.json', 'tsconfig.base.json', 'codegen.ts', 'platform/', 'platform/package.json', `${service.dir}/`, `${service.dir}/package.json`],
        ...['deploy/migrate.mjs', 'schema/supergraph.graphql', 'scripts/', 'clients/app/operations/'],
      ];
      for (const source of image.contextSources) if (!allowed.includes(source)) problems.push(`${where}: copies ${source} from the context`);
      // What ships besides dist/: each file the service reads at run time, found from its code.
      const runtime = (image.env.RUNTIME_FILES ?? '').split(/\s+/).filter(Boolean);
      const needed =
        service.name === 'gateway'
          ? [path.relative(root, (await import('../gateway/src/usage/store.js')).MIGRATIONS_DIR), 'schema/supergraph.graphql']
          : [
              path.relative(root, (await import(/* @vite-ignore */ path.join(root, service.dir, 'src/migrate.ts'))).migrationsDir).replace(/\/$/, ''),
              `${service.dir}/src/schema.graphql`,
              'deploy/migrate.mjs',
            ];
      for (const file of needed) if (!runtime.includes(file)) problems.push(`${where}: RUNTIME_FILES lacks ${file}, which it reads at run time`);
      for (const file of runtime) {
        if (!existsSync(path.join(root, file))) problems.push(`${where}: RUNTIME_FILES names ${file}, which does not exist`);
        if (!file.startsWith(`${service.dir}/`) && !needed.includes(file)) problems.push(`${where}: RUNTIME_FILES ships ${file}, which is not its own`);
      }
      if (service.name !== 'gateway') {
        // Resolver types are generated (src/generated is never in the context): the build must run codegen.
        const build = JSON.parse(read(`${service.dir}/package.json`)).scripts?.build ?? '';
        if (!/graphql-codegen/.test(build)) problems.push(`${service.dir}/package.json: build does not run graphql-codegen`);
        if (!image.contextSources.includes('codegen.ts')) problems.push(`${where}: codegen.ts is not copied for the build`);
        // What codegen.ts imports and reads when it loads must be in the build stage too.
        const codegen = read('codegen.ts');
        const loads = [...codegen.matchAll(/from '\.\/([^/']+\/)/g), ...codegen.matchAll(/'((?:schema|clients\/app\/operations)\/)[^']*'/g)].map((m) => m[1]!);
        const copied = (source: string) => image.contextSources.some((s) => s === source || (s.endsWith('/') && source.startsWith(s)) || s.startsWith(source));
        for (const source of new Set(loads)) if (!copied(source)) problems.push(`${where}: codegen.ts loads ${source}, which the build does not copy`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every FROM in every Dockerfile is on a Node.js line that is in support today', () => {
    // The check itself: a line past its end of life, and one not in the table, are refused.
    expect(nodeLineProblem('node:20-bookworm-slim', new Date('2026-05-01T00:00:00Z'))).toMatch(/end of life on 2026-04-30/);
    expect(nodeLineProblem('node:20-bookworm-slim', new Date('2026-04-29T00:00:00Z'))).toBeUndefined();
    expect(nodeLineProblem('node:99-trixie-slim', new Date('2026-05-01T00:00:00Z'))).toMatch(/not in the table/);
    expect(nodeLineProblem('debian:trixie-slim', new Date('2026-05-01T00:00:00Z'))).toMatch(/not an official node image/);
    const problems: string[] = [];
    const files = dockerfiles();
    expect(files).toContain('Dockerfile');
    for (const file of files) {
      const parsed = parseDockerfile(read(file));
      const stageNames = new Set(parsed.stages.map((s) => s.name).filter(Boolean));
      for (const stage of parsed.stages) {
        // A FROM naming an earlier stage (also through ARG SERVICE, for any service) is not a base image.
        const candidates = services.map((s) => expand(stage.from, { ...parsed.args, SERVICE: s.name }));
        if (candidates.every((c) => stageNames.has(c))) continue;
        const problem = nodeLineProblem(expand(stage.from, parsed.args), new Date());
        if (problem) problems.push(`${file}: FROM ${stage.from}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('CI runs the Node.js line of the images, fetched outside the project; no package depends on the node package', () => {
    const ci = read('.ci/run');
    const ciMajor = /^LTS_MAJOR=(\d+)$/m.exec(ci)?.[1];
    expect(ciMajor, '.ci/run sets LTS_MAJOR').toBeDefined();
    expect(ciMajor, 'the Dockerfile\'s default NODE_MAJOR is the line CI tests').toBe(dockerfile.args.NODE_MAJOR);
    expect(nodeLineProblem(`node:${ciMajor}`, new Date())).toBeUndefined();
    expect(ci).toMatch(/npm install --prefix "\$lts_dir"[^\n]*"node@\$LTS_MAJOR"/);
    // Its node_modules/.bin/node would run every npm script of the project on that runtime.
    const manifests = ['package.json', ...services.map((s) => `${s.dir}/package.json`), 'platform/package.json'];
    for (const file of manifests) {
      const manifest = JSON.parse(read(file));
      for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) expect(manifest[field]?.node, `${file} ${field}`).toBeUndefined();
      expect(manifest.engines?.node, `${file} engines`).toBe(JSON.parse(read('package.json')).engines.node);
    }
  });

  it('compose: third-party images are pinned to explicit versions; observability on supported lines', () => {
    const problems: string[] = [];
    const tags: Record<string, string> = {};
    for (const [name, service] of Object.entries<Manifest>(compose.services)) {
      if (service.build) continue;
      const image = String(service.image ?? '');
      // registry[:port]/repo:tag[@digest]: the tag follows the last ':' after the last '/'.
      const [, repo, tag] = /^((?:[^/]+\/)*[^/:@]+)(?::([^/@]+))?(?:@sha256:[0-9a-f]{64})?$/.exec(image) ?? [];
      if (!repo || !tag || tag === 'latest' || !/^(v?\d+(\.\d+)*([-.][\w.-]+)?|RELEASE\.[\dT-]+Z)$/.test(tag)) problems.push(`${name}: image ${image || '(none)'} is not pinned to a version`);
      else tags[repo] = tag;
    }
    const major = (repo: string) => Number(/^v?(\d+)/.exec(tags[repo] ?? '')?.[1]);
    if (major('jaegertracing/jaeger') !== 2) problems.push(`jaeger: expected jaegertracing/jaeger 2.x (the 1.x line is retired), found ${compose.services.jaeger?.image}`);
    if (major('prom/prometheus') !== 3) problems.push('prometheus: expected prom/prometheus v3.x');
    if (!(major('grafana/grafana') >= 12)) problems.push('grafana: expected grafana/grafana 12 or later');
    // Configuration files mounted from the repository exist (a missing one becomes an empty folder).
    for (const [name, service] of Object.entries<Manifest>(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = String(volume).split(':')[0]!;
        if (source.startsWith('./') && !existsSync(path.join(root, source))) problems.push(`${name}: mounts ${source}, which does not exist`);
      }
    }
    const jaeger = compose.services.jaeger;
    const config = (jaeger?.command ?? []).join(' ').match(/--config[= ](\S+)/)?.[1];
    const mounted = (jaeger?.volumes ?? []).map((v: string) => v.split(':')).find(([, target]: string[]) => target === config);
    if (!config || !mounted) problems.push('jaeger: no --config file mounted from the repository');
    else {
      const text = read(mounted[0]);
      for (const endpoint of ['0.0.0.0:4317', '0.0.0.0:4318', '0.0.0.0:16686']) if (!text.includes(`endpoint: ${endpoint}`)) problems.push(`jaeger: ${mounted[0]} does not listen on ${endpoint}`);
    }
    expect(problems).toEqual([]);
  });

  it('each package stands alone: build, start, test and migrate scripts', () => {
    const problems: string[] = [];
    for (const service of services) {
      const scripts = JSON.parse(read(`${service.dir}/package.json`)).scripts ?? {};
      const wanted = service.name === 'gateway' ? ['build', 'start', 'test'] : ['build', 'start', 'test', 'migrate'];
      for (const name of wanted) if (!scripts[name]) problems.push(`${service.dir}/package.json: no "${name}" script`);
      if (scripts.test && !scripts.test.includes(`${service.dir}/`)) problems.push(`${service.dir}/package.json: test does not select ${service.dir}/ alone`);
      if (scripts.migrate && !scripts.migrate.includes(`deploy/migrate.mjs ${service.name}`)) problems.push(`${service.dir}/package.json: migrate does not run deploy/migrate.mjs ${service.name}`);
    }
    expect(problems).toEqual([]);
  });

  it('k8s: Deployment, Service, HPA and PDB of each service select the same pods and agree on the port, probes and security context', () => {
    const problems: string[] = [];
    for (const service of services) {
      const where = `${k8sDir} ${service.name}`;
      const deployment = find('Deployment', service.name);
      const pod = deployment?.spec?.template;
      const labels = pod?.metadata?.labels;
      const container = pod?.spec?.containers?.find((c: Manifest) => c.name === service.name);
      if (!container) {
        problems.push(`${where}: Deployment has no container named ${service.name}`);
        continue;
      }
      if (!matches(deployment.spec.selector?.matchLabels, labels)) problems.push(`${where}: Deployment selector does not match its pods`);
      if (!container.ports?.some((p: Manifest) => p.containerPort === service.port)) problems.push(`${where}: containerPort is not ${service.port}`);
      for (const [probe, pathname] of [['readinessProbe', '/health/ready'], ['livenessProbe', '/health/live']] as const) {
        const get = container[probe]?.httpGet;
        if (get?.path !== pathname || portOf(container, get?.port) !== service.port) problems.push(`${where}: ${probe} should GET ${pathname} on ${service.port}`);
      }
      if (!container.resources?.requests?.cpu || !container.resources?.requests?.memory || !container.resources?.limits?.memory) problems.push(`${where}: resources need cpu and memory requests and a memory limit`);
      const uid = /^(\d+)/.exec(resolveImage(service.name).last('USER') ?? '')?.[1];
      const podSecurity = pod.spec.securityContext ?? {};
      if (podSecurity.runAsNonRoot !== true || String(podSecurity.runAsUser) !== uid) problems.push(`${where}: pod must set runAsNonRoot and runAsUser ${uid} (the image's USER)`);
      for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
        if (c.securityContext?.allowPrivilegeEscalation !== false) problems.push(`${where}: container ${c.name} allows privilege escalation`);
      }
      const svc = find('Service', service.name);
      if (!matches(svc?.spec?.selector, labels)) problems.push(`${where}: Service selector does not match the pods`);
      const svcPort = svc?.spec?.ports?.find((p: Manifest) => p.port === service.port);
      if (!svcPort || portOf(container, svcPort.targetPort ?? svcPort.port) !== service.port) problems.push(`${where}: Service does not forward ${service.port} to the container's ${service.port}`);
      const hpa = find('HorizontalPodAutoscaler', service.name);
      if (hpa?.spec?.scaleTargetRef?.kind !== 'Deployment' || hpa.spec.scaleTargetRef.name !== service.name) problems.push(`${where}: HPA does not scale Deployment ${service.name}`);
      if (!(hpa?.spec?.minReplicas >= 2) || !(hpa.spec.maxReplicas >= hpa.spec.minReplicas)) problems.push(`${where}: HPA needs minReplicas ≥ 2 (a replica may always be down) and maxReplicas ≥ minReplicas`);
      if (deployment.spec.replicas !== undefined) problems.push(`${where}: Deployment sets replicas, which every apply would reset under the HPA`);
      const pdb = find('PodDisruptionBudget', service.name);
      if (!matches(pdb?.spec?.selector?.matchLabels, labels)) problems.push(`${where}: PDB selector does not match the pods`);
      if (pdb?.spec?.minAvailable !== undefined && !(pdb.spec.minAvailable < hpa?.spec?.minReplicas)) problems.push(`${where}: PDB minAvailable ≥ HPA minReplicas blocks every node drain`);
      if (service.name !== 'gateway' && !pod.spec.initContainers?.some((c: Manifest) => c.command?.join(' ').includes(`deploy/migrate.mjs ${service.name}`))) problems.push(`${where}: no init container applies the migrations`);
    }
    if (manifests.some((m) => m.kind === 'Secret')) problems.push(`${k8sDir}: a Secret is committed`);
    expect(problems).toEqual([]);
  });

  it('k8s: every container environment satisfies its config loader; the gateway routes to the Services', () => {
    const problems: string[] = [];
    for (const service of services) {
      const pod = find('Deployment', service.name)?.spec?.template?.spec ?? {};
      for (const container of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
        const where = `${k8sDir} ${service.name}/${container.name}`;
        problems.push(...envProblems(service, containerEnv(container, where, problems), where));
      }
    }
    const gateway = find('Deployment', 'gateway')?.spec?.template?.spec?.containers?.find((c: Manifest) => c.name === 'gateway');
    const env = containerEnv(gateway ?? {}, 'gateway', problems);
    for (const s of subgraphs) {
      const url = env[`SUBGRAPH_${s.name.toUpperCase()}_URL`];
      const parsed = url ? new URL(url) : undefined;
      const target = parsed && find('Service', parsed.hostname);
      const port = services.find((x) => x.name === s.name)!.port;
      if (!target || Number(parsed!.port) !== port || parsed!.pathname !== s.url.pathname || !target.spec.ports.some((p: Manifest) => p.port === port)) {
        problems.push(`gateway: SUBGRAPH_${s.name.toUpperCase()}_URL is ${url}, expected http://<the ${s.name} Service>:${port}${s.url.pathname}`);
      }
    }
    // Each subgraph connects as its own role: one Secret per subgraph, the same in its init and main containers.
    const dbSecrets = subgraphs.map((s) => {
      const pod = find('Deployment', s.name)?.spec?.template?.spec ?? {};
      const refs = new Set(
        [...(pod.initContainers ?? []), ...(pod.containers ?? [])].map((c: Manifest) => {
          const ref = c.env?.find((e: Manifest) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef;
          return ref ? `${ref.name}/${ref.key}` : 'none';
        }),
      );
      if (refs.size !== 1) problems.push(`${k8sDir} ${s.name}: containers read DATABASE_URL from different Secrets: ${[...refs].join(', ')}`);
      return [...refs][0];
    });
    if (new Set(dbSecrets).size !== dbSecrets.length) problems.push(`DATABASE_URL Secrets are shared between subgraphs: ${dbSecrets.join(', ')}`);
    expect(problems).toEqual([]);
  });

  it('k8s: each pod serves /metrics on its METRICS_PORT, annotated for scraping, and no Service exposes it', () => {
    const problems: string[] = [];
    for (const service of services) {
      const pod = find('Deployment', service.name)?.spec?.template;
      const container = pod?.spec?.containers?.find((c: Manifest) => c.name === service.name);
      const env = containerEnv(container ?? {}, service.name, problems);
      const metricsPort = Number(env.METRICS_PORT);
      if (!env.METRICS_PORT && !env.METRICS_TOKEN) problems.push(`${service.name}: production without METRICS_PORT or METRICS_TOKEN serves no metrics`);
      if (!env.METRICS_PORT) continue;
      if (Number(pod.metadata?.annotations?.['prometheus.io/port']) !== metricsPort) problems.push(`${service.name}: prometheus.io/port is not METRICS_PORT ${metricsPort}`);
      if (!container.ports?.some((p: Manifest) => p.containerPort === metricsPort)) problems.push(`${service.name}: no containerPort ${metricsPort}`);
      const exposed = (find('Service', service.name)?.spec?.ports ?? []).some((p: Manifest) => portOf(container, p.targetPort ?? p.port) === metricsPort || p.port === metricsPort);
      if (exposed) problems.push(`${service.name}: its Service exposes METRICS_PORT ${metricsPort}`);
    }
    expect(problems).toEqual([]);
  });

  it('compose and k8s trust each calling service with exactly the scopes its calls need (platform/src/auth/trust.ts)', () => {
    const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.data?.TRUSTED_SERVICES);
    const granted = (json: string) => Object.fromEntries(Object.entries(JSON.parse(json) as Record<string, { scopes: string[] }>).map(([name, s]) => [name, [...s.scopes].sort()]));
    const expected = Object.fromEntries(Object.entries(DEFAULT_TRUSTED_SERVICES).map(([name, s]) => [name, [...s.scopes].sort()]));
    const composed = Object.keys(compose.services).map((name) => composeEnv(name).TRUSTED_SERVICES).filter(Boolean);
    expect(composed.length).toBeGreaterThan(0);
    for (const json of composed) expect(granted(json!)).toEqual(expected);
    expect(granted(configMap.data.TRUSTED_SERVICES)).toEqual(expected);
  });

  it('k8s: the supergraph ConfigMap is mounted at the folder of the SUPERGRAPH_PATH the gateway watches', () => {
    const pod = find('Deployment', 'gateway').spec.template.spec;
    const container = pod.containers.find((c: Manifest) => c.name === 'gateway');
    const file = container.env.find((e: Manifest) => e.name === 'SUPERGRAPH_PATH')?.value as string;
    const mount = container.volumeMounts?.find((m: Manifest) => m.mountPath.replace(/\/$/, '') === path.posix.dirname(file));
    // A subPath mount is a copy that the kubelet never updates: the gateway would never see a publish.
    expect(mount, `a volume mounted at ${path.posix.dirname(file)}`).toBeDefined();
    expect(mount.subPath).toBeUndefined();
    const volume = pod.volumes.find((v: Manifest) => v.name === mount.name);
    const generator = (kustomization.configMapGenerator ?? []).find((g: Manifest) => g.name === volume?.configMap?.name);
    expect(generator, `configMapGenerator ${volume?.configMap?.name}`).toBeDefined();
    // A hashed name would change the Deployment, so each publish would restart every gateway instead of hot-swapping.
    expect(generator.options?.disableNameSuffixHash).toBe(true);
    const entry = (generator.files as string[]).map((f) => f.split('=')).find(([key]) => key === path.posix.basename(file));
    expect(entry, `a ${path.posix.basename(file)} key`).toBeDefined();
    expect(path.resolve(root, k8sDir, entry![1]!)).toBe(path.join(root, 'schema', 'supergraph.graphql'));
  });

  it('postgres: a login role per subgraph owns that subgraph’s schema, with no rights on any other; compose connects as it', () => {
    const problems: string[] = [];
    const owners = new Map<string, string>();
    const postgres = compose.services.postgres;
    if (!(postgres.volumes ?? []).some((v: string) => /^\.\/deploy\/postgres:\/docker-entrypoint-initdb\.d\b/.test(v))) problems.push('compose postgres: deploy/postgres is not mounted at /docker-entrypoint-initdb.d');
    if (!/-f \/docker-entrypoint-initdb\.d\/subgraph-roles\.psql/.test(rolesHook)) problems.push('10-subgraph-roles.sh does not run subgraph-roles.psql');
    for (const s of subgraphs) {
      const schema = schemaOf(s.name);
      const role = schema ? ownerOf(schema) : undefined;
      if (!schema || !role) {
        problems.push(`${s.name}: no role owns schema "${schema}" in subgraph-roles.psql`);
        continue;
      }
      owners.set(schema, role);
      if (!new RegExp(`'create role ${role}'`).test(rolesScript) || !new RegExp(`alter role ${role} with login\\b`).test(rolesScript)) problems.push(`${s.name}: role ${role} is not created as a login role`);
      const variable = new RegExp(`-v ${s.name}_password="\\$\\{([A-Z0-9_]+)`).exec(rolesHook)?.[1];
      if (!variable || !new RegExp(`password :'${s.name}_password'`).test(rolesScript)) problems.push(`${s.name}: the password of ${role} is not passed from the environment`);
      else if (!(variable in (postgres.environment ?? {}))) problems.push(`compose postgres: ${variable} is not set`);
      const raw = compose.services[s.name]?.environment?.DATABASE_URL ?? '';
      const url = new URL(interpolate(raw, {}));
      if (url.username !== role) problems.push(`compose ${s.name}: DATABASE_URL connects as ${url.username}, not ${role}`);
      if (variable && !raw.includes(`\${${variable}`)) problems.push(`compose ${s.name}: DATABASE_URL does not use ${variable}, the password postgres was given`);
    }
    // The gateway's field usage store: its own schema and login role, like a subgraph's.
    const usageRole = ownerOf('gateway_usage');
    if (!usageRole) problems.push('gateway: no role owns schema "gateway_usage" in subgraph-roles.psql');
    else {
      owners.set('gateway_usage', usageRole);
      if (!new RegExp(`alter role ${usageRole} with login\\b`).test(rolesScript)) problems.push(`gateway: role ${usageRole} is not created as a login role`);
      const variable = /-v gateway_password="\$\{([A-Z0-9_]+)/.exec(rolesHook)?.[1];
      if (!variable || !/password :'gateway_password'/.test(rolesScript)) problems.push(`gateway: the password of ${usageRole} is not passed from the environment`);
      else if (!(variable in (postgres.environment ?? {}))) problems.push(`compose postgres: ${variable} is not set`);
      const raw = compose.services.gateway?.environment?.USAGE_DATABASE_URL ?? '';
      if (!raw) problems.push('compose gateway: USAGE_DATABASE_URL is not set (the usage store would fall back to PGlite inside the container)');
      else if (new URL(interpolate(raw, {})).username !== usageRole) problems.push(`compose gateway: USAGE_DATABASE_URL does not connect as ${usageRole}`);
      if (compose.services.gateway?.depends_on?.postgres?.condition !== 'service_healthy') problems.push('compose gateway: should wait for postgres to be healthy');
      if (!/name: USAGE_DATABASE_URL\s*\n\s*valueFrom: \{ secretKeyRef: \{ name: suoke-db-gateway/.test(read('deploy/k8s/gateway.yaml'))) problems.push('k8s gateway: USAGE_DATABASE_URL does not come from the suoke-db-gateway secret');
    }
    if (new Set(owners.values()).size !== owners.size) problems.push(`one role owns several schemas: ${[...owners].join(', ')}`);
    for (const [, privileges, schema, role] of rolesScript.matchAll(/grant (.+?) on (?:all \w+ in )?schema "?(\w+)"? to (\w+)/gi)) {
      if (schema !== 'public' && owners.get(schema!) !== role) problems.push(`${role} is granted ${privileges} on schema ${schema}, which is not its own`);
      if (schema === 'public' && /create|all/i.test(privileges!)) problems.push(`${role} may create in schema public`);
    }
    // Extensions a migration creates must exist before it runs (a subgraph role cannot create them in public).
    for (const s of subgraphs) {
      const dir = path.join(root, 'subgraphs', s.name, 'src/db/migrations');
      for (const file of existsSync(dir) ? readdirSync(dir) : []) {
        for (const [, extension] of readFileSync(path.join(dir, file), 'utf8').matchAll(/create extension if not exists (\w+)/gi)) {
          if (!new RegExp(`^create extension if not exists ${extension}\\b`, 'm').test(rolesScript)) problems.push(`${s.name}/${file} needs extension ${extension}; subgraph-roles.psql does not create it`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
