import type { OperationUsage } from './extract.js';
import { variableCoordinates } from './extract.js';

export const UNKNOWN = '(unknown)';
export const OVERFLOW = '(overflow)';
const HOUR_MS = 3_600_000;

/** A `field_usage` row as flushed: counts already scaled by 1/rate. */
export interface UsageRow {
  hour: string;
  coordinate: string;
  client: string;
  version: string;
  operation: string;
  signature: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
}

/** A `field_subgraphs` row as flushed. */
export interface SubgraphRow {
  hour: string;
  coordinate: string;
  subgraph: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
}

export interface Batch {
  usage: UsageRow[];
  subgraphs: SubgraphRow[];
}

interface Tally {
  count: number;
  first: number;
  last: number;
}

interface OperationTally extends Tally {
  hour: number;
  client: string;
  version: string;
  usage: OperationUsage;
  /** Coordinates the variable values added (enum values, input fields), beyond the document's. */
  extra: readonly string[];
}

interface PlanTally extends Tally {
  hour: number;
  pairs: readonly (readonly [coordinate: string, subgraph: string])[];
}

/**
 * The request path's half of usage recording: one map increment per sampled operation, keyed by
 * hour, client and the cached per-document usage; coordinates are expanded only when a flush
 * drains the tallies. Nothing here awaits or does I/O.
 */
export class UsageRecorder {
  private operations = new Map<string, OperationTally>();
  private plans = new Map<string, PlanTally>();
  /** Distinct (name, version) pairs seen per hour bucket, for the cap. */
  private clients = new Map<number, Set<string>>();
  private ids = new WeakMap<object, number>();
  private nextId = 0;

  constructor(private readonly options: { sampleRate: number; maxClientsPerHour: number }) {}

  /** Whether this operation is one of the sampled ones. */
  sample(): boolean {
    const rate = this.options.sampleRate;
    return rate >= 1 || (rate > 0 && Math.random() < rate);
  }

  record(usage: OperationUsage, client: { name: string; version: string }, variables: Record<string, unknown> | undefined, now = Date.now()): void {
    const hour = Math.floor(now / HOUR_MS);
    const { name, version } = this.capClient(hour, client.name, client.version);
    let extra: readonly string[] = [];
    if (usage.variables.length > 0 && variables) {
      const found = new Set<string>();
      variableCoordinates(usage, variables, found);
      if (found.size > 0) extra = [...found].sort();
    }
    const key = `${hour}\u0001${name}\u0001${version}\u0001${this.idOf(usage)}${extra.length ? `\u0001${extra.join(',')}` : ''}`;
    const tally = this.operations.get(key);
    if (tally) {
      tally.count += 1;
      tally.last = now;
    } else {
      this.operations.set(key, { hour, client: name, version, usage, extra, count: 1, first: now, last: now });
    }
  }

  /** Counts one sampled operation's query plan: each (coordinate, subgraph) pair it fetches. */
  recordPlan(plan: object, pairs: PlanTally['pairs'], now = Date.now()): void {
    if (pairs.length === 0) return;
    const hour = Math.floor(now / HOUR_MS);
    const key = `${hour}\u0001${this.idOf(plan)}`;
    const tally = this.plans.get(key);
    if (tally) {
      tally.count += 1;
      tally.last = now;
    } else {
      this.plans.set(key, { hour, pairs, count: 1, first: now, last: now });
    }
  }

  get pending(): number {
    return this.operations.size + this.plans.size;
  }

  /** Takes every tally, expanded to rows and merged by primary key (different documents may share a signature). */
  drain(now = Date.now()): Batch {
    const operations = this.operations;
    const plans = this.plans;
    this.operations = new Map();
    this.plans = new Map();
    // Client caps of past hours are no longer needed once their tallies are taken.
    const hour = Math.floor(now / HOUR_MS);
    for (const bucket of this.clients.keys()) if (bucket < hour) this.clients.delete(bucket);
    const scale = this.options.sampleRate > 0 ? 1 / this.options.sampleRate : 1;
    const usage = new Map<string, UsageRow & { observed: number; first: number; last: number }>();
    for (const t of operations.values()) {
      for (const list of [t.usage.coordinates, t.extra]) {
        for (const coordinate of list) {
          const key = `${t.hour}\u0001${coordinate}\u0001${t.client}\u0001${t.version}\u0001${t.usage.operation}\u0001${t.usage.signature}`;
          const row = usage.get(key);
          if (row) merge(row, t);
          else
            usage.set(key, {
              hour: hourIso(t.hour), coordinate, client: t.client, version: t.version, operation: t.usage.operation, signature: t.usage.signature,
              count: 0, firstSeen: '', lastSeen: '', observed: t.count, first: t.first, last: t.last,
            });
        }
      }
    }
    const subgraphs = new Map<string, SubgraphRow & { observed: number; first: number; last: number }>();
    for (const t of plans.values()) {
      for (const [coordinate, subgraph] of t.pairs) {
        const key = `${t.hour}\u0001${coordinate}\u0001${subgraph}`;
        const row = subgraphs.get(key);
        if (row) merge(row, t);
        else subgraphs.set(key, { hour: hourIso(t.hour), coordinate, subgraph, count: 0, firstSeen: '', lastSeen: '', observed: t.count, first: t.first, last: t.last });
      }
    }
    const finish = <R extends { count: number; firstSeen: string; lastSeen: string }>({ observed, first, last, ...row }: R & { observed: number; first: number; last: number }) =>
      ({ ...row, count: Math.max(1, Math.round(observed * scale)), firstSeen: new Date(first).toISOString(), lastSeen: new Date(last).toISOString() }) as unknown as R;
    return { usage: [...usage.values()].map(finish<UsageRow>), subgraphs: [...subgraphs.values()].map(finish<SubgraphRow>) };
  }

  private capClient(hour: number, name: string, version: string): { name: string; version: string } {
    let seen = this.clients.get(hour);
    if (!seen) this.clients.set(hour, (seen = new Set()));
    const key = `${name}\u0001${version}`;
    if (seen.has(key)) return { name, version };
    if (seen.size >= this.options.maxClientsPerHour) return { name: OVERFLOW, version: OVERFLOW };
    seen.add(key);
    return { name, version };
  }

  private idOf(value: object): number {
    let id = this.ids.get(value);
    if (id === undefined) this.ids.set(value, (id = this.nextId++));
    return id;
  }
}

function merge(row: { observed: number; first: number; last: number }, t: Tally): void {
  row.observed += t.count;
  row.first = Math.min(row.first, t.first);
  row.last = Math.max(row.last, t.last);
}

function hourIso(hour: number): string {
  return new Date(hour * HOUR_MS).toISOString();
}

const MAX_CLIENT_CHARS = 128;

/** Caps a client name or version taken from the context (already cleaned by its builder) at the store's length. */
export function capClientValue(value: string | undefined): string {
  return value ? value.slice(0, MAX_CLIENT_CHARS) : UNKNOWN;
}

/**
 * Two batches as one, rows with the same key merged (counts summed, first/last widened): a batch
 * kept after a failed flush joins the next. At most `max` rows are kept; the rest are dropped and counted.
 */
export function mergeBatches(a: Batch, b: Batch, max: number): Batch & { dropped: number } {
  let room = max;
  let dropped = 0;
  const merge = <R extends { hour: string; coordinate: string; count: number; firstSeen: string; lastSeen: string }>(rows: R[], key: (r: R) => string): R[] => {
    const byKey = new Map<string, R>();
    for (const row of rows) {
      const k = key(row);
      const seen = byKey.get(k);
      if (seen) {
        seen.count += row.count;
        if (row.firstSeen < seen.firstSeen) seen.firstSeen = row.firstSeen;
        if (row.lastSeen > seen.lastSeen) seen.lastSeen = row.lastSeen;
      } else if (room > 0) {
        room -= 1;
        byKey.set(k, { ...row });
      } else {
        dropped += 1;
      }
    }
    return [...byKey.values()];
  };
  if (a.usage.length === 0 && a.subgraphs.length === 0 && b.usage.length + b.subgraphs.length <= max) return { ...b, dropped: 0 };
  const usage = merge([...a.usage, ...b.usage], (r) => `${r.hour}\u0001${r.coordinate}\u0001${r.client}\u0001${r.version}\u0001${r.operation}\u0001${r.signature}`);
  const subgraphs = merge([...a.subgraphs, ...b.subgraphs], (r) => `${r.hour}\u0001${r.coordinate}\u0001${r.subgraph}`);
  return { usage, subgraphs, dropped };
}
