import { Kind, parse, type ConstDirectiveNode, type DocumentNode } from 'graphql';
import { fragmentSDL } from '../fragments.js';
import type { RateLimitRule } from './keys.js';

/** The `@link(url:)` by which a subgraph's SDL opts into `@rateLimit`. */
export const RATE_LIMIT_SPEC_URL = 'https://specs.suoke.life/rateLimit/v1.0';

/** The directive definition: the fragment registered for the spec (platform/fragments.json), as compose and codegen read it. */
export const rateLimitDirectiveSDL = fragmentSDL(RATE_LIMIT_SPEC_URL);

/** Applies to root fields that declare no limit of their own. */
export const DEFAULT_ROOT_RULE: RateLimitRule = { limit: 300, duration: 60 };

/** Whether an SDL links the rate-limit spec (and so needs the definition appended). */
export function linksRateLimit(sdl: string): boolean {
  return sdl.includes(RATE_LIMIT_SPEC_URL);
}

export function checkBy(by: string | undefined): RateLimitRule['by'] {
  if (by === undefined || by === 'caller' || by === 'address') return by;
  throw new Error(`@rateLimit(by:) must be "caller" or "address"; received ${JSON.stringify(by)}`);
}

/** Reads `@rateLimit` rules per field coordinate from an SDL (a subgraph's or the supergraph). */
export function rateLimitRules(doc: DocumentNode): { fields: Map<string, RateLimitRule>; types: Map<string, RateLimitRule> } {
  const fields = new Map<string, RateLimitRule>();
  const types = new Map<string, RateLimitRule>();
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const typeRule = ruleOf(def.directives);
    if (typeRule) types.set(def.name.value, typeRule);
    for (const field of def.fields ?? []) {
      const rule = ruleOf(field.directives);
      if (rule) fields.set(`${def.name.value}.${field.name.value}`, rule);
    }
  }
  return { fields, types };
}

function ruleOf(directives: readonly ConstDirectiveNode[] | undefined): RateLimitRule | undefined {
  const node = directives?.find((d) => d.name.value === 'rateLimit');
  if (!node) return undefined;
  const rule: RateLimitRule = { limit: 60, duration: 60 };
  for (const arg of node.arguments ?? []) {
    const v = arg.value;
    const name = arg.name.value;
    if ((name === 'limit' || name === 'duration' || name === 'alsoPerLimit') && v.kind === Kind.INT) rule[name] = Number(v.value);
    if ((name === 'alsoPer' || name === 'message') && v.kind === Kind.STRING) rule[name] = v.value;
    if (name === 'by' && v.kind === Kind.STRING) rule.by = checkBy(v.value);
  }
  return rule;
}

const ROOT_TYPES = new Set(['Query', 'Mutation']);

/**
 * The SDL a subgraph is built from at run time: the directive definition added
 * when missing, and the default rule written onto every root field that declares
 * none (so the served `_service` SDL shows what is enforced).
 */
export function withRateLimitDefaults(doc: DocumentNode, rule: RateLimitRule = DEFAULT_ROOT_RULE): DocumentNode {
  const defined = doc.definitions.some((d) => d.kind === Kind.DIRECTIVE_DEFINITION && d.name.value === 'rateLimit');
  const definitions = doc.definitions.map((def) => {
    if ((def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) || !ROOT_TYPES.has(def.name.value)) return def;
    if (ruleOf(def.directives)) return def;
    return {
      ...def,
      fields: def.fields?.map((field) => (ruleOf(field.directives) ? field : { ...field, directives: [...(field.directives ?? []), directiveNode(rule)] })),
    };
  });
  const extra = defined ? [] : parse(rateLimitDirectiveSDL).definitions;
  return { ...doc, definitions: [...definitions, ...extra] };
}

function directiveNode(rule: RateLimitRule): ConstDirectiveNode {
  const int = (value: number) => ({ kind: Kind.INT, value: String(value) }) as const;
  return {
    kind: Kind.DIRECTIVE,
    name: { kind: Kind.NAME, value: 'rateLimit' },
    arguments: [
      { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'limit' }, value: int(rule.limit) },
      { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'duration' }, value: int(rule.duration) },
    ],
  };
}
