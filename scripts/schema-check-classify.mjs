// The classification half of `npm run schema:check -- --usage` (schema-check-usage.mjs loads the usage):
// which usage a breaking change touches, whether that makes it used, and the report's lines about it.
import { isInputObjectType } from 'graphql';

const DAY_MS = 24 * 60 * 60 * 1000;

const typeOnly = (coordinate) => coordinate.split('.')[0];

/**
 * What must be used for a breaking change to break someone, as
 * `{ exact: string[], types: string[] }`: coordinates looked up as they are,
 * and types looked up as the type or any of its members (`T`, `T.f`, `T.f(a:)`).
 * null when usage cannot tell (a directive, an unrecognised change): those
 * count as used, so that no break passes on missing evidence.
 */
export function affectedBy(change, oldSchema) {
  const { kind, coordinate } = change;
  if (coordinate === '?' || coordinate.startsWith('@')) return null;
  const argMatch = /^([^.]+)\.([^(]+)\(([^:]+):\)$/.exec(coordinate);
  const owner = typeOnly(coordinate);
  const isInput = isInputObjectType(oldSchema.getType(owner));
  switch (kind) {
    case 'TYPE_REMOVED':
    case 'TYPE_CHANGED_KIND':
      return { exact: [], types: [coordinate] };
    case 'TYPE_REMOVED_FROM_UNION':
      return { exact: [coordinate], types: change.member ? [change.member] : [] };
    case 'IMPLEMENTED_INTERFACE_REMOVED':
      return { exact: change.interface ? [change.interface] : [], types: [coordinate] };
    case 'VALUE_REMOVED_FROM_ENUM':
      return { exact: [coordinate], types: [] };
    case 'REQUIRED_INPUT_FIELD_ADDED':
    case 'INPUT_FIELD_MADE_REQUIRED':
      return { exact: [owner], types: [] };
    case 'FIELD_REMOVED':
    case 'FIELD_CHANGED_KIND':
      // An input's fields often arrive in a variable, where the document does not show them: the input type counts.
      return isInput ? { exact: [coordinate, owner], types: [] } : { exact: [coordinate], types: [] };
    case 'REQUIRED_ARG_ADDED':
    case 'ARG_MADE_REQUIRED':
      return argMatch ? { exact: [`${argMatch[1]}.${argMatch[2]}`], types: [] } : null;
    case 'ARG_CHANGED_KIND':
      // Made required (nullable → non-null): the operations that omit it break, i.e. any that select the field.
      if (argMatch && /made required/.test(change.description)) return { exact: [coordinate, `${argMatch[1]}.${argMatch[2]}`], types: [] };
      return { exact: [coordinate], types: [] };
    case 'ARG_REMOVED':
      return { exact: [coordinate], types: [] };
    default:
      return { exact: [coordinate], types: [] };
  }
}

function matches(affected, coordinate) {
  if (affected.exact.includes(coordinate)) return true;
  return affected.types.some((t) => coordinate === t || coordinate.startsWith(`${t}.`));
}

/**
 * Adds `usage` to each breaking change: `used`, the usage rows in the window
 * (`client`, `version`, `operation`, `count`, `firstSeen`, `lastSeen`, and the
 * coordinate they were recorded on) and the trusted documents that use it.
 * A change is used when its rows in the window add up to ≥ minCount, or a
 * trusted document uses it.
 */
export function classifyBreaking(breaking, { oldSchema, usage, trusted, days, minCount, now = new Date() }) {
  const windowStart = now.getTime() - days * DAY_MS;
  const entries = Object.entries(usage.coordinates);
  return breaking.map((change) => {
    const affected = affectedBy(change, oldSchema);
    if (!affected) return { ...change, usage: { used: true, reason: 'usage cannot clear this kind of change', looked: [], count: 0, rows: [], trustedDocuments: [] } };
    const rows = [];
    for (const [coordinate, list] of entries) {
      if (!matches(affected, coordinate)) continue;
      for (const row of list) {
        if (Date.parse(row.lastSeen) >= windowStart) rows.push({ coordinate, ...row });
      }
    }
    rows.sort((a, b) => b.count - a.count || Date.parse(b.lastSeen) - Date.parse(a.lastSeen));
    const count = rows.reduce((sum, row) => sum + row.count, 0);
    const trustedDocuments = (trusted ?? [])
      .filter((doc) => [...doc.coordinates].some((c) => matches(affected, c)))
      .map(({ id, operation, client }) => ({ id, operation, client }));
    const looked = [...affected.exact, ...affected.types.map((t) => `${t}.*`)];
    return { ...change, usage: { used: count >= minCount || trustedDocuments.length > 0, looked, count, rows, trustedDocuments } };
  });
}

/** Who ran the check, for the --allow-breaking log: the CI's actor when there is one. */
export function actor(env = process.env) {
  return env.GITHUB_ACTOR ?? env.GITLAB_USER_LOGIN ?? env.BUILDKITE_BUILD_CREATOR ?? env.CI_COMMIT_AUTHOR ?? env.USER ?? env.USERNAME ?? '(unknown)';
}

/** The report lines under a breaking change: who would break, or why nobody would. */
export function usageLines(change) {
  const u = change.usage;
  if (!u) return [];
  if (u.reason) return [`      used: ${u.reason}`];
  if (!u.used) {
    return [`      unused: ${u.count === 0 ? 'no usage' : `${u.count} use(s), under --min-count`} of ${u.looked.join(', ')} in the window`];
  }
  const documents = u.trustedDocuments.length > 0 ? `, and ${u.trustedDocuments.length} trusted document(s)` : '';
  const lines = [`      used: ${u.count} use(s) of ${u.looked.join(', ')} in the window${documents}:`];
  for (const row of u.rows.slice(0, 20)) {
    lines.push(`        ${row.client} ${row.version}  operation ${row.operation}  ${row.count}×  last seen ${row.lastSeen}${row.coordinate === change.coordinate ? '' : `  (${row.coordinate})`}`);
  }
  if (u.rows.length > 20) lines.push(`        ... and ${u.rows.length - 20} more (--json lists them all)`);
  for (const doc of u.trustedDocuments) lines.push(`        trusted document ${doc.operation}${doc.client ? ` (${doc.client})` : ''}`);
  return lines;
}
