// Usage for `npm run schema:check -- <subgraph> --usage`: which breaking
// changes some client actually uses. Usage comes from the gateway's usage store
// (issue 22; `npm run usage -- --export` writes the same object as JSON) and
// from the trusted documents manifest, whose documents count as used with no
// traffic yet: a shipped app's document is a promise.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Kind, parse, TypeInfo, visit, visitWithTypeInfo, getNamedType, isInputObjectType } from 'graphql';

// Which breaking changes the usage touches, and how the report says so: schema-check-classify.mjs.
export { actor, affectedBy, classifyBreaking, usageLines } from './schema-check-classify.mjs';

export const USAGE_FORMAT = 'suoke-usage';
export const USAGE_VERSION = 1;

/** A bad usage source (exit 2), as opposed to a failed check. */
export class UsageSourceError extends Error {}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The usage export for the check's window: from `usageFile` (the JSON a CI job
 * takes as an artifact), or else from the store over its connection, through
 * the gateway's built reader (`storeModule`, default gateway/dist/usage/index.js).
 * @param {{ days: number, usageFile?: string, env?: NodeJS.ProcessEnv, now?: Date, storeModule?: string }} options
 * @returns {Promise<{ source: string, export: object }>}
 */
export async function loadUsage({ days, usageFile, env = process.env, now = new Date(), storeModule }) {
  if (!Number.isFinite(days) || days <= 0) throw new UsageSourceError(`--days must be a positive number, got ${days}`);
  if (usageFile) {
    let text;
    try {
      text = readFileSync(usageFile, 'utf8');
    } catch (error) {
      throw new UsageSourceError(`usage file ${usageFile}: ${error.code ?? error.message}`);
    }
    let json;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new UsageSourceError(`usage file ${usageFile} is not JSON (${error.message}); write it with \`npm run usage -- --export --out <file>\``);
    }
    const usage = validateExport(json, `usage file ${usageFile}`);
    // A shorter export than the window would pass removals on missing evidence. The store keeps hour
    // buckets, so an export's `from` may sit up to an hour after the instant asked for.
    const windowStart = new Date(now.getTime() - days * DAY_MS);
    if (Date.parse(usage.from) > windowStart.getTime() + 60 * 60_000) {
      throw new UsageSourceError(
        `usage file ${usageFile} covers ${usage.from} to ${usage.to}, but --days ${days} asks for usage since ${windowStart.toISOString()}: export with --days ${days} or more`,
      );
    }
    return { source: usageFile, export: usage };
  }
  const moduleFile = storeModule ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'gateway', 'dist', 'usage', 'index.js');
  if (!existsSync(moduleFile)) {
    const source = path.join(path.dirname(moduleFile), '..', '..', 'src', 'usage', 'index.ts');
    const why = existsSync(source) ? 'run `npm run build` first (`npm run schema:check` does)' : `this checkout has no usage store (${source} is absent)`;
    throw new UsageSourceError(`the usage store's reader ${moduleFile} is missing: ${why}; or pass --usage-file <export.json>`);
  }
  const { exportUsage } = await import(pathToFileURL(moduleFile).href);
  if (typeof exportUsage !== 'function') throw new UsageSourceError(`${moduleFile} does not export exportUsage()`);
  const usage = validateExport(await exportUsage({ days, env, now }), 'the usage store');
  return { source: 'the usage store', export: usage };
}

/** Every problem of an export at once; returns it when there is none. */
export function validateExport(json, what) {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UsageSourceError(`${what}: expected a JSON object with format "${USAGE_FORMAT}"`);
  const problems = [];
  if (json.format !== USAGE_FORMAT) problems.push(`format is ${JSON.stringify(json.format)}, expected "${USAGE_FORMAT}"`);
  if (json.version !== USAGE_VERSION) problems.push(`version is ${JSON.stringify(json.version)}, this check reads version ${USAGE_VERSION}`);
  for (const key of ['exportedAt', 'from', 'to']) {
    if (typeof json[key] !== 'string' || Number.isNaN(Date.parse(json[key]))) problems.push(`${key} must be an ISO date, got ${JSON.stringify(json[key])}`);
  }
  if (!json.coordinates || typeof json.coordinates !== 'object' || Array.isArray(json.coordinates)) {
    problems.push('coordinates must be an object of coordinate → rows');
  } else {
    for (const [coordinate, rows] of Object.entries(json.coordinates)) {
      if (!Array.isArray(rows)) {
        problems.push(`coordinates["${coordinate}"] must be an array of rows`);
        continue;
      }
      rows.forEach((row, i) => {
        const at = `coordinates["${coordinate}"][${i}]`;
        for (const key of ['client', 'version', 'operation']) if (typeof row?.[key] !== 'string') problems.push(`${at}.${key} must be a string`);
        if (!Number.isInteger(row?.count) || row.count < 0) problems.push(`${at}.count must be a non-negative integer`);
        for (const key of ['firstSeen', 'lastSeen']) if (Number.isNaN(Date.parse(row?.[key]))) problems.push(`${at}.${key} must be an ISO date`);
      });
    }
  }
  if (problems.length > 0) {
    const listed = problems.slice(0, 10).map((p) => `  - ${p}`).join('\n');
    throw new UsageSourceError(`${what} is not a usable usage export (${problems.length} problem(s)):\n${listed}${problems.length > 10 ? '\n  - ...' : ''}`);
  }
  return json;
}

// ---- trusted documents ----

/**
 * The trusted documents manifest: `file` (--trusted-documents), else
 * TRUSTED_DOCUMENTS_PATH, else the app's generated manifest when it exists.
 * `none` turns it off. Both manifest forms the gateway reads are accepted;
 * Apollo's may name each operation's owner (`clientName`, or a top-level default).
 * @returns {Promise<{ source: string, documents: { id: string, body: string, client: string | null }[] } | null>}
 */
export async function loadTrustedDocuments({ file, env = process.env, defaultFile }) {
  const source = file ?? (env.TRUSTED_DOCUMENTS_PATH || undefined) ?? (defaultFile && existsSync(defaultFile) ? defaultFile : undefined);
  if (!source || source === 'none') return null;
  let text;
  try {
    text = /^https?:\/\//i.test(source) ? await (await fetchOk(source)).text() : readFileSync(source, 'utf8');
  } catch (error) {
    throw new UsageSourceError(`trusted documents manifest ${source}: ${error.code ?? error.message}`);
  }
  let json;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageSourceError(`trusted documents manifest ${source} is not JSON (${error.message})`);
  }
  const documents = [];
  if (json?.format === 'apollo-persisted-query-manifest') {
    for (const op of Array.isArray(json.operations) ? json.operations : []) {
      documents.push({ id: String(op?.id), body: String(op?.body ?? ''), client: op?.clientName ?? json.clientName ?? null });
    }
  } else if (json && typeof json === 'object' && !Array.isArray(json)) {
    for (const [id, body] of Object.entries(json)) documents.push({ id, body: String(body), client: null });
  } else {
    throw new UsageSourceError(`trusted documents manifest ${source}: expected an object of id → document, or an Apollo persisted query manifest`);
  }
  return { source, documents };
}

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response;
}

/**
 * The schema coordinates a document uses, by graphql-js TypeInfo: types,
 * fields (on the type selected through: an interface, or the concrete type of
 * an inline fragment), arguments, enum values written in it, input fields and
 * the types of its variables.
 */
export function coordinatesOfDocument(schema, document) {
  const used = new Set();
  const typeInfo = new TypeInfo(schema);
  const addType = (type) => {
    const named = type && getNamedType(type);
    if (named && !named.name.startsWith('__')) used.add(named.name);
  };
  visit(document, visitWithTypeInfo(typeInfo, {
    Field() {
      const parent = typeInfo.getParentType();
      const field = typeInfo.getFieldDef();
      if (!parent || !field || field.name.startsWith('__')) return;
      used.add(parent.name);
      used.add(`${parent.name}.${field.name}`);
      addType(field.type);
    },
    Argument() {
      const argument = typeInfo.getArgument();
      const parent = typeInfo.getParentType();
      const field = typeInfo.getFieldDef();
      // Directive arguments (@include(if:)) are not schema coordinates of a type.
      if (!argument || !parent || !field || typeInfo.getDirective()) return;
      used.add(`${parent.name}.${field.name}(${argument.name}:)`);
      addType(argument.type);
    },
    ObjectField(node) {
      const parent = getNamedType(typeInfo.getParentInputType());
      if (parent && isInputObjectType(parent) && parent.getFields()[node.name.value]) {
        used.add(parent.name);
        used.add(`${parent.name}.${node.name.value}`);
      }
    },
    EnumValue() {
      const value = typeInfo.getEnumValue();
      const type = getNamedType(typeInfo.getInputType());
      if (value && type) used.add(`${type.name}.${value.name}`);
    },
    VariableDefinition() {
      addType(typeInfo.getInputType());
    },
    InlineFragment(node) {
      if (node.typeCondition) used.add(node.typeCondition.name.value);
    },
    FragmentDefinition(node) {
      used.add(node.typeCondition.name.value);
    },
  }));
  return used;
}

/** Each trusted document with its operation name(s) and the coordinates it uses in `schema`. */
export function trustedDocumentUsage(schema, manifest) {
  return manifest.documents.map((doc) => {
    let document;
    try {
      document = parse(doc.body, { noLocation: true });
    } catch (error) {
      throw new UsageSourceError(`trusted documents manifest ${manifest.source}: document ${doc.id.slice(0, 80)} does not parse: ${error.message}`);
    }
    const names = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).map((d) => d.name?.value ?? '(anonymous)');
    return {
      id: doc.id,
      operation: names.join(', ') || '(no operation)',
      client: doc.client,
      signature: createHash('sha256').update(doc.body).digest('hex'),
      coordinates: coordinatesOfDocument(schema, document),
    };
  });
}
