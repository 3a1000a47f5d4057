import { readFileSync } from 'node:fs';
import { Kind, parse, type DefinitionNode, type DocumentNode } from 'graphql';

/**
 * Feature SDL fragments, registered once in `platform/fragments.json` (spec
 * URL → file under platform/). A subgraph opts into a fragment by linking its
 * spec in its `extend schema` (`@link(url: "https://specs.suoke.life/audit/v1.0")`);
 * the fragment's text is then appended to the subgraph's SDL. The compose
 * script (scripts/supergraph-config.mjs) and codegen read the same registry, so
 * the served `_service` SDL, the composed schema and the generated resolver
 * types carry the same definitions. Read relative to this module, so the path
 * holds from both src/ (tests) and dist/ (the build).
 */
const PLATFORM_ROOT = new URL('../', import.meta.url);
const REGISTRY = JSON.parse(readFileSync(new URL('fragments.json', PLATFORM_ROOT), 'utf8')) as Record<string, string>;
const texts = new Map<string, string>();

/** The registered spec URLs, in registry order. */
export function fragmentSpecUrls(): string[] {
  return Object.keys(REGISTRY);
}

/** The SDL text of the fragment registered for `specUrl` (read once). */
export function fragmentSDL(specUrl: string): string {
  const file = REGISTRY[specUrl];
  if (file === undefined) throw new Error(`no SDL fragment is registered for ${specUrl} in platform/fragments.json`);
  let text = texts.get(specUrl);
  if (text === undefined) {
    text = readFileSync(new URL(file, PLATFORM_ROOT), 'utf8');
    texts.set(specUrl, text);
  }
  return text;
}

/** The `@link(url:)` values of a document's schema definitions and extensions. */
export function linkedSpecUrls(doc: DocumentNode): string[] {
  const urls: string[] = [];
  for (const def of doc.definitions) {
    if (def.kind !== Kind.SCHEMA_DEFINITION && def.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const directive of def.directives ?? []) {
      const url = directive.name.value === 'link' ? directive.arguments?.find((arg) => arg.name.value === 'url')?.value : undefined;
      if (url?.kind === Kind.STRING) urls.push(url.value);
    }
  }
  return urls;
}

/**
 * The subgraph's SDL with the fragment of every registered spec it links
 * appended, in registry order. A fragment whose first definition the SDL
 * already holds (the SDL was passed through here before, or defines it
 * itself) is not appended twice.
 */
export function withFeatureFragments(typeDefs: string | DocumentNode): DocumentNode {
  const doc = typeof typeDefs === 'string' ? parse(typeDefs) : typeDefs;
  const linked = new Set(linkedSpecUrls(doc));
  const defined = new Set(doc.definitions.map(nameOf).filter((name) => name !== undefined));
  const extra: DefinitionNode[] = [];
  for (const url of fragmentSpecUrls()) {
    if (!linked.has(url)) continue;
    const definitions = parse(fragmentSDL(url)).definitions;
    const first = definitions[0] ? nameOf(definitions[0]) : undefined;
    if (first !== undefined && defined.has(first)) continue;
    extra.push(...definitions);
  }
  return extra.length === 0 ? doc : { ...doc, definitions: [...doc.definitions, ...extra] };
}

function nameOf(def: DefinitionNode): string | undefined {
  if (def.kind === Kind.DIRECTIVE_DEFINITION) return `@${def.name.value}`;
  return 'name' in def && def.name ? def.name.value : undefined;
}
