// Reads supergraph.yaml (rover's format) and composes it with @apollo/composition.
// Shared by `npm run compose`, the dev runner and the drift test.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { Kind, parse, Source } from 'graphql';
import YAML from 'yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Feature fragments (platform/fragments.json: spec URL → SDL file under
// platform/), each appended to the SDL of a subgraph that links its spec with
// `@link(url:)`, as codegen and the subgraph runtime (platform/src/fragments.ts) do.
const FRAGMENTS = JSON.parse(readFileSync(path.join(repoRoot, 'platform', 'fragments.json'), 'utf8'));

/** The `@link(url:)` values of an SDL's schema definitions and extensions. */
export function linkedSpecUrls(text) {
  let doc;
  try {
    doc = parse(text);
  } catch {
    return []; // compose() parses again with the file's name and reports the error
  }
  const urls = [];
  for (const def of doc.definitions) {
    if (def.kind !== Kind.SCHEMA_DEFINITION && def.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const directive of def.directives ?? []) {
      const url = directive.name.value === 'link' ? directive.arguments?.find((arg) => arg.name.value === 'url')?.value : undefined;
      if (url?.kind === Kind.STRING) urls.push(url.value);
    }
  }
  return urls;
}

/** The fragment files an SDL links, in registry order (absolute paths). */
export function linkedFragmentFiles(text) {
  const linked = new Set(linkedSpecUrls(text));
  return Object.entries(FRAGMENTS)
    .filter(([url]) => linked.has(url))
    .map(([, file]) => path.join(repoRoot, 'platform', file));
}

/** The SDL text with the fragment of every registered spec it links appended. */
export function withLinkedDefinitions(text) {
  let out = text;
  for (const file of linkedFragmentFiles(text)) out += `\n${readFileSync(file, 'utf8')}`;
  return out;
}

/** @returns {{ federationVersion: string, subgraphs: { name: string, routingUrl: string, schemaFile: string, port: number }[] }} */
export function readSupergraphConfig(file = path.join(repoRoot, 'supergraph.yaml')) {
  const doc = YAML.parse(readFileSync(file, 'utf8'));
  const problems = [];
  if (typeof doc?.federation_version !== 'string') problems.push('federation_version: a string such as "=2.14.4" is required');
  const entries = Object.entries(doc?.subgraphs ?? {});
  if (entries.length === 0) problems.push('subgraphs: at least one subgraph is required');
  const subgraphs = entries.map(([name, value]) => {
    const routingUrl = value?.routing_url;
    const schemaFile = value?.schema?.file;
    if (typeof routingUrl !== 'string') problems.push(`subgraphs.${name}.routing_url: a URL is required`);
    if (typeof schemaFile !== 'string') problems.push(`subgraphs.${name}.schema.file: a path is required`);
    return {
      name,
      routingUrl,
      schemaFile: path.resolve(path.dirname(file), schemaFile ?? ''),
      port: Number(new URL(routingUrl ?? 'http://x').port),
    };
  });
  if (problems.length > 0) throw new Error(`${file}:\n  - ${problems.join('\n  - ')}`);
  return { federationVersion: doc.federation_version, subgraphs };
}

/**
 * Composes the subgraphs. Returns the supergraph SDL, or errors with the
 * subgraph and file location of each problem.
 * @param {{ name: string, routingUrl: string, schemaFile: string }[]} subgraphs
 * @param {Record<string, string>} [sdlOverrides] name → SDL text, for schema checks
 */
export function compose(subgraphs, sdlOverrides = {}) {
  const services = [];
  const parseErrors = [];
  for (const subgraph of subgraphs) {
    const text = sdlOverrides[subgraph.name] ?? readFileSync(subgraph.schemaFile, 'utf8');
    const label = path.relative(repoRoot, subgraph.schemaFile);
    try {
      services.push({ name: subgraph.name, url: subgraph.routingUrl, typeDefs: parse(new Source(withLinkedDefinitions(text), label)) });
    } catch (error) {
      parseErrors.push(`[${subgraph.name}] ${formatError(error)}`);
    }
  }
  if (parseErrors.length > 0) return { errors: parseErrors };
  const result = composeServices(services);
  if (result.errors) return { errors: result.errors.map((error) => formatError(error)) };
  return { supergraphSdl: result.supergraphSdl, hints: result.hints.map((hint) => hint.toString()) };
}

function formatError(error) {
  const code = error.extensions?.code ?? error.code;
  const where = (error.nodes ?? [])
    .map((node) => (node.loc ? `${node.loc.source.name}:${node.loc.source.locationOffset.line + lineOf(node.loc)}` : undefined))
    .filter(Boolean);
  const locations = (error.locations ?? []).map((l) => `${error.source?.name ?? ''}:${l.line}:${l.column}`);
  const at = [...new Set([...where, ...locations])];
  return `${code ? `${code}: ` : ''}${error.message}${at.length ? `\n    at ${at.join(', ')}` : ''}`;
}

function lineOf(loc) {
  return loc.source.body.slice(0, loc.start).split('\n').length - 1;
}
