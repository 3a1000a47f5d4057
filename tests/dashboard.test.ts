// The provisioned Grafana dashboards, checked statically (no Grafana runs here):
// each file is valid JSON, every data source a panel, query, variable or
// annotation names is provisioned, and every PromQL expression names only
// metrics that exist. "Exist" = declared on /metrics by the gateway and the
// subgraphs of a real stack (tests/harness.ts), recorded by a rule in
// deploy/observability/rules/*.rules.yml, or written by Prometheus itself.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { repoRoot, startStack, type Stack } from './harness.js';

const observability = path.join(repoRoot, 'deploy/observability');
const dashboardsDir = path.join(observability, 'grafana/dashboards');
const datasourcesDir = path.join(observability, 'grafana/provisioning/datasources');
const rulesDir = path.join(observability, 'rules');

const yamlFiles = (dir: string, suffix = '') =>
  existsSync(dir) ? readdirSync(dir).filter((f) => new RegExp(`${suffix.replace('.', '\\.')}\\.ya?ml$`).test(f)).map((f) => path.join(dir, f)) : [];

// ---- data sources ----

interface Datasource {
  name: string;
  uid?: string;
  type: string;
  isDefault?: boolean;
}

const provisioned: Datasource[] = yamlFiles(datasourcesDir).flatMap((file) => (YAML.parse(readFileSync(file, 'utf8'))?.datasources ?? []) as Datasource[]);

/** Grafana's own pseudo data sources, which are never provisioned. */
const BUILT_IN_UIDS = new Set(['grafana', '-- Grafana --', '-- Mixed --', '-- Dashboard --']);
const BUILT_IN_TYPES = new Set(['datasource', 'grafana']);

// ---- PromQL ----

/** Functions, aggregations and keywords: a name here is never a metric, called or not. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan', 'start', 'end']);
/** Keywords whose parenthesised list holds label names. */
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

type Token = { kind: 'ident' | 'string' | 'number' | 'punct' | 'variable'; text: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  const pattern =
    /\s+|#[^\n]*|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)|(\$\{[^}]*\}|\$\w+|\[\[\w+\]\])|(\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:ms|[smhdwy])?(?:\d+(?:ms|[smhdwy]))*|0x[0-9a-f]+|\.\d+)|([a-zA-Z_:][\w:]*)|(=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}[\],@:])/giy;
  let position = 0;
  while (position < expr.length) {
    pattern.lastIndex = position;
    const match = pattern.exec(expr);
    if (!match) throw new Error(`cannot read PromQL at "${expr.slice(position, position + 20)}" in: ${expr}`);
    position = pattern.lastIndex;
    if (match[1] !== undefined) tokens.push({ kind: 'string', text: match[1].slice(1, -1) });
    else if (match[2] !== undefined) tokens.push({ kind: 'variable', text: match[2] });
    else if (match[3] !== undefined) tokens.push({ kind: 'number', text: match[3] });
    else if (match[4] !== undefined) tokens.push({ kind: 'ident', text: match[4] });
    else if (match[5] !== undefined) tokens.push({ kind: 'punct', text: match[5] });
  }
  return tokens;
}

/**
 * The metric names a PromQL expression selects: identifiers that are not called
 * (functions, aggregations), not keywords, not label names (in `{…}` or in a
 * by/without/on/ignoring/group_* list) and not inside a range or subquery `[…]`;
 * plus `{__name__="…"}` selectors.
 */
function metricNames(expr: string): string[] {
  const tokens = tokenize(expr);
  const names: string[] = [];
  let braces = 0;
  let brackets = 0;
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i]!;
    const next = tokens[i + 1];
    if (token.kind === 'punct') {
      if (token.text === '{') braces += 1;
      else if (token.text === '}') braces -= 1;
      else if (token.text === '[') brackets += 1;
      else if (token.text === ']') brackets -= 1;
      continue;
    }
    if (token.kind !== 'ident' || brackets > 0) continue;
    if (braces > 0) {
      // A label matcher; only __name__ names a metric.
      const value = tokens[i + 2];
      if (token.text === '__name__' && next?.text === '=' && value?.kind === 'string') names.push(value.text);
      continue;
    }
    const word = token.text.toLowerCase();
    if (LABEL_LISTS.has(word) && next?.text === '(') {
      while (i < tokens.length && tokens[i]!.text !== ')') i += 1;
      continue;
    }
    // Called (a function, or an aggregation) or an aggregation with its grouping first: `sum by (x) (…)`.
    if (KEYWORDS.has(word) || next?.text === '(' || (next?.kind === 'ident' && /^(by|without)$/i.test(next.text))) continue;
    names.push(token.text);
  }
  return names;
}

/** `label_values(metric, label)`, `label_values(label)`, `query_result(expr)`, `metrics(regex)`: the PromQL a variable query holds. */
function variableQueryExpr(query: string): string | undefined {
  const call = /^\s*(label_values|query_result|label_names|metrics)\s*\(([\s\S]*)\)\s*$/.exec(query);
  if (!call) return query;
  if (call[1] === 'query_result') return call[2];
  if (call[1] === 'label_values') {
    const args = call[2]!.split(',');
    return args.length > 1 ? args.slice(0, -1).join(',') : undefined;
  }
  return undefined;
}

// ---- the dashboards ----

interface Query {
  where: string;
  expr: string;
}

interface Inspection {
  problems: string[];
  queries: Query[];
  datasourceRefs: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** Walks one dashboard: resolves every data source reference and collects every Prometheus expression. */
function inspect(file: string, dashboard: Json): Inspection {
  const out: Inspection = { problems: [], queries: [], datasourceRefs: 0 };
  const variables: Json[] = dashboard.templating?.list ?? [];
  const fallback = provisioned.find((d) => d.isDefault) ?? (provisioned.length === 1 ? provisioned[0] : undefined);

  /** The type of the data source a reference names, or undefined (with a problem) when it names none. */
  const resolve = (ref: Json, where: string): string | undefined => {
    if (ref === undefined || ref === null) return fallback?.type;
    out.datasourceRefs += 1;
    const uid = typeof ref === 'string' ? ref : ref.uid;
    const type = typeof ref === 'string' ? undefined : ref.type;
    if (typeof uid === 'string' && /^\$/.test(uid)) {
      const name = /^\$\{?(\w+)/.exec(uid)?.[1];
      const variable = variables.find((v) => v.type === 'datasource' && v.name === name);
      if (!variable) out.problems.push(`${where}: data source ${uid} is not a datasource variable of the dashboard`);
      else if (!provisioned.some((d) => d.type === variable.query)) out.problems.push(`${where}: variable ${uid} selects ${variable.query} data sources; none is provisioned`);
      return variable?.query;
    }
    if (BUILT_IN_UIDS.has(uid) || (uid === undefined && BUILT_IN_TYPES.has(type))) return 'grafana';
    // A string is a name (older dashboards) or a uid; an object names its uid.
    const found = provisioned.find((d) => (typeof ref === 'string' ? d.name === ref || d.uid === ref : d.uid === uid));
    if (!found) {
      out.problems.push(`${where}: data source ${JSON.stringify(ref)} is not provisioned (${provisioned.map((d) => `${d.name}/${d.uid}`).join(', ')})`);
      return undefined;
    }
    if (type && type !== found.type) out.problems.push(`${where}: data source ${uid} is of type ${found.type}, the dashboard says ${type}`);
    return found.type;
  };

  const walkPanels = (panels: Json[], trail: string) => {
    for (const panel of panels ?? []) {
      const where = `${file} ${trail}panel "${panel.title ?? panel.id}"`;
      const panelType = resolve(panel.datasource, where);
      for (const [index, target] of (panel.targets ?? []).entries()) {
        const type = target.datasource !== undefined ? resolve(target.datasource, `${where} target ${index}`) : panelType;
        if (type === 'prometheus' && typeof target.expr === 'string' && target.expr.trim()) out.queries.push({ where: `${where} target ${target.refId ?? index}`, expr: target.expr });
      }
      walkPanels(panel.panels, `${trail}row "${panel.title}" › `);
    }
  };
  walkPanels(dashboard.panels, '');

  for (const variable of variables) {
    if (variable.type !== 'query') continue;
    const where = `${file} variable ${variable.name}`;
    const type = resolve(variable.datasource, where);
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    const expr = typeof query === 'string' ? variableQueryExpr(query) : undefined;
    if (type === 'prometheus' && expr?.trim()) out.queries.push({ where, expr });
  }
  for (const annotation of dashboard.annotations?.list ?? []) {
    const where = `${file} annotation "${annotation.name}"`;
    const type = resolve(annotation.datasource, where);
    if (type === 'prometheus' && typeof annotation.expr === 'string' && annotation.expr.trim()) out.queries.push({ where, expr: annotation.expr });
  }
  return out;
}

const dashboardFiles = readdirSync(dashboardsDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => path.join(dashboardsDir, f));

// ---- what exists ----

/** Series Prometheus writes itself: per scrape target, and for alerting rules. */
const PROMETHEUS_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added', 'ALERTS', 'ALERTS_FOR_STATE'];

/** `record:` names of the recording rules (the folder may not exist yet). */
function recordedNames(): string[] {
  return yamlFiles(rulesDir, '.rules').flatMap((file) => {
    const groups = (YAML.parse(readFileSync(file, 'utf8'))?.groups ?? []) as { rules?: { record?: string }[] }[];
    return groups.flatMap((g) => g.rules ?? []).flatMap((r) => (r.record ? [r.record] : []));
  });
}

interface Exported {
  names: Set<string>;
  /** Histograms and summaries, whose _bucket/_sum/_count series are theirs. */
  composite: Set<string>;
}

/** Whether `name` exists: exported as is, or a _bucket/_sum/_count series of an exported histogram (summary: _sum/_count). */
function exists(name: string, exported: Exported): boolean {
  if (exported.names.has(name)) return true;
  const suffix = /^(.+)_(bucket|sum|count)$/.exec(name);
  return !!suffix && exported.composite.has(`${suffix[1]}:${suffix[2] === 'bucket' ? 'histogram' : 'any'}`);
}

function unknownMetrics(queries: Query[], exported: Exported): string[] {
  return queries.flatMap((q) => metricNames(q.expr).filter((name) => !exists(name, exported)).map((name) => `${q.where}: ${name} (in ${q.expr})`));
}

let stack: Stack;
const exported: Exported = { names: new Set(), composite: new Set() };

beforeAll(async () => {
  stack = await startStack();
  for (const url of [stack.gatewayUrl, ...Object.values(stack.subgraphUrls)]) {
    const response = await fetch(new URL('/metrics', url));
    expect(response.status, url).toBe(200);
    // Declared families (# TYPE): a labelled counter nobody has incremented yet has no sample, and still exists.
    for (const [, name, type] of (await response.text()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exported.names.add(name!);
      if (type === 'histogram') exported.composite.add(`${name}:histogram`);
      if (type === 'histogram' || type === 'summary') exported.composite.add(`${name}:any`);
    }
  }
  for (const name of [...PROMETHEUS_SERIES, ...recordedNames()]) exported.names.add(name);
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

describe('Grafana dashboards (static check)', () => {
  it('finds the dashboards and data sources it checks', () => {
    expect(dashboardFiles.length).toBeGreaterThan(0);
    expect(provisioned.map((d) => d.type)).toContain('prometheus');
    for (const d of provisioned) expect(d.uid, `${d.name} needs a uid, which dashboards refer to`).toMatch(/^[\w-]{1,40}$/);
    // Grafana loads the dashboards from where compose mounts this folder.
    const providers = yamlFiles(path.join(observability, 'grafana/provisioning/dashboards')).flatMap((f) => YAML.parse(readFileSync(f, 'utf8'))?.providers ?? []);
    const compose = YAML.parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true });
    const mount = (compose.services.grafana?.volumes ?? []).map((v: string) => v.split(':')).find(([source]: string[]) => source === './deploy/observability/grafana/dashboards');
    expect(mount, 'compose mounts the dashboards folder into Grafana').toBeDefined();
    expect(providers.map((p: Json) => p.options?.path)).toContain(mount[1]);
  });

  it('each dashboard is valid JSON with a uid and panels', () => {
    const problems: string[] = [];
    for (const file of dashboardFiles) {
      let dashboard: Json;
      try {
        dashboard = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        problems.push(`${path.basename(file)}: ${(error as Error).message}`);
        continue;
      }
      if (typeof dashboard.uid !== 'string' || !dashboard.uid) problems.push(`${path.basename(file)}: no uid`);
      if (!Array.isArray(dashboard.panels) || dashboard.panels.length === 0) problems.push(`${path.basename(file)}: no panels`);
    }
    expect(problems).toEqual([]);
  });

  it('every data source a dashboard names is provisioned, and every query names only metrics that exist', () => {
    const problems: string[] = [];
    const queries: Query[] = [];
    let refs = 0;
    for (const file of dashboardFiles) {
      const result = inspect(path.basename(file), JSON.parse(readFileSync(file, 'utf8')));
      problems.push(...result.problems);
      queries.push(...result.queries);
      refs += result.datasourceRefs;
    }
    // Not vacuous: the dashboards have queries and refer to their data sources.
    expect(refs).toBeGreaterThan(0);
    expect(queries.length).toBeGreaterThan(10);
    expect(new Set(queries.flatMap((q) => metricNames(q.expr))).size).toBeGreaterThan(10);
    problems.push(...unknownMetrics(queries, exported));
    expect(problems).toEqual([]);
  });

  it('refuses a misspelt metric, a histogram suffix on a counter and an unprovisioned data source (the checks can fail)', () => {
    const query = (expr: string): Query[] => [{ where: 'probe', expr }];
    expect(unknownMetrics(query('sum by (service) (rate(suoke_graphql_requests_total[5m]))'), exported)).toEqual([]);
    expect(unknownMetrics(query('sum by (service) (rate(suoke_graphql_request_total[5m]))'), exported)).toEqual([
      'probe: suoke_graphql_request_total (in sum by (service) (rate(suoke_graphql_request_total[5m])))',
    ]);
    expect(unknownMetrics(query('histogram_quantile(0.99, sum by (le) (rate(suoke_graphql_request_duration_seconds_bucket[5m])))'), exported)).toEqual([]);
    expect(unknownMetrics(query('rate(suoke_graphql_requests_total_bucket[5m])'), exported)).toHaveLength(1);
    const dashboard = { panels: [{ title: 'p', datasource: { type: 'prometheus', uid: 'no-such-uid' }, targets: [{ expr: 'up' }] }] };
    expect(inspect('probe.json', dashboard).problems).toEqual([expect.stringMatching(/no-such-uid.*not provisioned/)]);
  });

  it('reads metric names out of PromQL', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, operation) (rate(suoke_x_bucket{service="gateway"}[$__rate_interval])))')).toEqual(['suoke_x_bucket']);
    expect(metricNames('sum by (service) (a_total) / ignoring(code) group_left(team) sum(b_total{code=~"RATE_.*"}) without (instance)')).toEqual(['a_total', 'b_total']);
    expect(metricNames('max_over_time(job:slo_errors:ratio_rate5m[1h:5m] offset 1d) > bool 0.5 and on(service) up{job="suoke"} == 1')).toEqual(['job:slo_errors:ratio_rate5m', 'up']);
    expect(metricNames('{__name__="suoke_y", service="x"} * 2 + count(nodejs_heap_bytes) or vector(0)')).toEqual(['suoke_y', 'nodejs_heap_bytes']);
    expect(metricNames('sum(rate(c_total[$__range])) @ end()')).toEqual(['c_total']);
    expect(variableQueryExpr('label_values(suoke_graphql_requests_total, service)')).toBe('suoke_graphql_requests_total');
    expect(variableQueryExpr('label_values(service)')).toBeUndefined();
    expect(variableQueryExpr('query_result(topk(5, sum by (operation) (rate(q_total[1h]))))')).toBe('topk(5, sum by (operation) (rate(q_total[1h])))');
  });
});
