import {
  buildASTSchema,
  getNamedType,
  isLeafType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  Kind,
  parse,
  type ConstDirectiveNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

/**
 * What counts as personal health data (PHI), derived from the composed
 * supergraph rather than listed by hand, and the queries that reach each piece
 * of it: through the gateway (root fields and relationships) and straight at a
 * subgraph (its root fields and `_entities`).
 *
 * The rule:
 * - the PHI subgraphs are the ones that hold health, diagnosis and conversation
 *   data: health, diagnosis, agent;
 * - a *seed* is a field that a PHI subgraph adds to an entity some other subgraph
 *   owns (`User.observations`, `User.consultations`, …), plus every field of that
 *   entity that is private to the account holder (`@authenticated` /
 *   `@requiresScopes`, e.g. `User.notifications`);
 * - *public* types are those an unauthenticated root field reaches without going
 *   through a seed or a private field (knowledge's reference data, `Agent`, the
 *   questionnaire, `User` itself);
 * - *PHI types* are the object types reached from the seeds and from private root
 *   fields of the PHI subgraphs, stopping at public types;
 * - the PHI *coordinates* are the seeds, the root fields returning a PHI type, and
 *   every field of every PHI type.
 */
export const PHI_SUBGRAPHS = ['health', 'diagnosis', 'agent'] as const;

const ROOTS = new Set(['Query', 'Mutation', 'Subscription']);

export interface PhiModel {
  schema: GraphQLSchema;
  /** join__Graph enum value → subgraph name. */
  graphNames: Record<string, string>;
  seeds: string[];
  rootFields: string[];
  types: string[];
  publicTypes: string[];
  coordinates: string[];
  /** A view of the schema as one subgraph serves it (or the gateway, `undefined`). */
  fieldsIn(type: GraphQLObjectType, subgraph?: string): GraphQLField<unknown, unknown>[];
  /** Entity types a subgraph resolves by key, with their key field set. */
  entitiesIn(subgraph: string): { type: string; key: string }[];
}

function directives(node: { astNode?: { directives?: readonly ConstDirectiveNode[] | undefined } | null | undefined }, name: string): ConstDirectiveNode[] {
  return (node.astNode?.directives ?? []).filter((d) => d.name.value === name);
}

function arg(directive: ConstDirectiveNode, name: string): string | boolean | undefined {
  const value = directive.arguments?.find((a) => a.name.value === name)?.value;
  if (!value) return undefined;
  if (value.kind === Kind.ENUM || value.kind === Kind.STRING || value.kind === Kind.BOOLEAN) return value.value;
  return undefined;
}

const isPrivate = (field: GraphQLField<unknown, unknown>) =>
  directives(field, 'authenticated').length > 0 || directives(field, 'requiresScopes').length > 0;

function userTypes(schema: GraphQLSchema): GraphQLObjectType[] {
  return Object.values(schema.getTypeMap()).filter(
    (t): t is GraphQLObjectType => isObjectType(t) && !t.name.startsWith('__') && !t.name.startsWith('join__') && !t.name.startsWith('link__'),
  );
}

/** Object types a field leads to: its named type, or a union's members. */
function targets(type: GraphQLNamedType): GraphQLObjectType[] {
  if (isObjectType(type)) return [type];
  if (isUnionType(type)) return [...type.getTypes()];
  return [];
}

export function phiModel(supergraphSdl: string): PhiModel {
  const schema = buildASTSchema(parse(supergraphSdl), { assumeValidSDL: true });
  const graphEnum = schema.getType('join__Graph');
  if (!graphEnum || !('getValues' in graphEnum)) throw new Error('phiModel: expected a composed supergraph with a join__Graph enum');
  const graphNames: Record<string, string> = {};
  for (const value of graphEnum.getValues()) {
    const join = value.astNode?.directives?.find((d) => d.name.value === 'join__graph');
    graphNames[value.name] = String(join ? arg(join, 'name') : value.name.toLowerCase());
  }
  const phi = new Set<string>(PHI_SUBGRAPHS);
  const typeGraphs = (type: GraphQLObjectType) => directives(type, 'join__type').map((d) => graphNames[String(arg(d, 'graph'))]!);
  const fieldGraphs = (type: GraphQLObjectType, field: GraphQLField<unknown, unknown>) => {
    const joins = directives(field, 'join__field').filter((d) => arg(d, 'graph') !== undefined && arg(d, 'external') !== true);
    return joins.length > 0 ? joins.map((d) => graphNames[String(arg(d, 'graph'))]!) : typeGraphs(type);
  };
  const keyFields = (type: GraphQLObjectType) =>
    new Set(directives(type, 'join__type').flatMap((d) => String(arg(d, 'key') ?? '').split(/\s+/).filter(Boolean)));
  const fieldsIn = (type: GraphQLObjectType, subgraph?: string) =>
    Object.values(type.getFields()).filter((f) => {
      if (subgraph === undefined) return !f.name.startsWith('_');
      return typeGraphs(type).includes(subgraph) && fieldGraphs(type, f).includes(subgraph);
    });

  // Seeds: what PHI subgraphs add to an entity that a non-PHI subgraph owns, and that entity's private fields.
  const seeds = new Set<string>();
  const carriers = new Set<string>();
  for (const type of userTypes(schema)) {
    if (ROOTS.has(type.name)) continue;
    const keys = keyFields(type);
    const fields = Object.values(type.getFields());
    const ownedElsewhere = fields.some((f) => !keys.has(f.name) && fieldGraphs(type, f).some((g) => !phi.has(g)));
    const added = fields.filter((f) => !keys.has(f.name) && fieldGraphs(type, f).every((g) => phi.has(g)));
    if (!ownedElsewhere || added.length === 0) continue;
    carriers.add(type.name);
    for (const f of added) seeds.add(`${type.name}.${f.name}`);
    for (const f of fields) if (isPrivate(f)) seeds.add(`${type.name}.${f.name}`);
  }

  // Public: reached from an unauthenticated root field without a seed or a private field.
  const publicTypes = new Set<string>();
  const query = schema.getQueryType()!;
  const visitPublic = (type: GraphQLObjectType) => {
    if (publicTypes.has(type.name)) return;
    publicTypes.add(type.name);
    for (const f of Object.values(type.getFields())) {
      if (seeds.has(`${type.name}.${f.name}`) || isPrivate(f)) continue;
      for (const t of targets(getNamedType(f.type))) visitPublic(t);
    }
  };
  for (const f of Object.values(query.getFields())) {
    if (f.name.startsWith('_') || isPrivate(f)) continue;
    for (const t of targets(getNamedType(f.type))) visitPublic(t);
  }

  // PHI types: reached from the seeds and from the PHI subgraphs' private root fields, stopping at public types.
  const types = new Set<string>();
  const visitPhi = (type: GraphQLObjectType) => {
    if (publicTypes.has(type.name) || types.has(type.name) || ROOTS.has(type.name)) return;
    types.add(type.name);
    for (const f of Object.values(type.getFields())) for (const t of targets(getNamedType(f.type))) visitPhi(t);
  };
  for (const coordinate of seeds) {
    const [typeName, fieldName] = coordinate.split('.') as [string, string];
    for (const t of targets(getNamedType((schema.getType(typeName) as GraphQLObjectType).getFields()[fieldName]!.type))) visitPhi(t);
  }
  for (const f of Object.values(query.getFields())) {
    if (isPrivate(f) && fieldGraphs(query, f).every((g) => phi.has(g))) for (const t of targets(getNamedType(f.type))) visitPhi(t);
  }

  const rootFields = Object.values(query.getFields())
    .filter((f) => !f.name.startsWith('_') && targets(getNamedType(f.type)).some((t) => types.has(t.name)))
    .map((f) => `Query.${f.name}`);
  const coordinates = [
    ...[...seeds].sort(),
    ...rootFields,
    ...[...types].sort().flatMap((name) => Object.keys((schema.getType(name) as GraphQLObjectType).getFields()).map((f) => `${name}.${f}`)),
  ];

  return {
    schema,
    graphNames,
    seeds: [...seeds].sort(),
    rootFields,
    types: [...types].sort(),
    publicTypes: [...publicTypes].sort(),
    coordinates,
    fieldsIn,
    entitiesIn(subgraph) {
      return userTypes(schema).flatMap((type) =>
        directives(type, 'join__type')
          .filter((d) => graphNames[String(arg(d, 'graph'))] === subgraph && arg(d, 'key') !== undefined && arg(d, 'resolvable') !== false)
          .map((d) => ({ type: type.name, key: String(arg(d, 'key')) })),
      );
    },
  };
}

/** One query that reaches one PHI type along one path, selecting all its fields. */
export interface Probe {
  /** `gateway`, or the subgraph's name. */
  target: string;
  /** `root` (a root field), `entities` (`_entities` on a subgraph), or `gateway-entities` (which must be refused). */
  entry: 'root' | 'entities' | 'gateway-entities';
  /** e.g. `Query.me > User.consultations > ConsultationConnection.edges > ConsultationEdge.node`. */
  path: string;
  /** The PHI type at the end of the path, whose fields the query selects. */
  node: string;
  /** The PHI coordinates the query selects (the node's fields, and the field leading to it). */
  coordinates: string[];
  query: string;
}

export interface ProbeOptions {
  /** The victim's id of a type (for `id: ID!` arguments and entity representations); undefined when none. */
  idFor(typeName: string): string | undefined;
  /** Relationship hops from the entry (default 9: with the node and its leaves, depth 11 of the gateway's 12). */
  maxHops?: number;
}

/**
 * Every path from every entry point of `target` (the gateway, or one subgraph)
 * to every PHI type, as one query each. Throws when a required argument or an
 * entity key cannot be filled, so a new field is never skipped silently.
 */
export function probes(model: PhiModel, target: string, options: ProbeOptions): Probe[] {
  const subgraph = target === 'gateway' ? undefined : target;
  const { schema } = model;
  const phiTypes = new Set(model.types);
  const coordinateSet = new Set(model.coordinates);
  const maxHops = options.maxHops ?? 9;
  const out: Probe[] = [];

  const args = (field: GraphQLField<unknown, unknown>, owner: string) => {
    const parts: string[] = [];
    for (const a of field.args) {
      // Small pages keep the gateway's cost estimate (lists without `first` count 20 items) under its limit.
      if (a.name === 'first') parts.push(`first: ${owner === 'Query' ? 2 : 1}`);
      else if (isNonNullType(a.type) && a.defaultValue === undefined) {
        const named = getNamedType(a.type);
        if (isScalarType(named) && named.name === 'ID') {
          const returned = targets(getNamedType(field.type))[0]?.name ?? '';
          const id = options.idFor(returned);
          if (!id) throw new Error(`probes: no victim id for ${owner}.${field.name}(${a.name}: ID!), returning ${returned}`);
          parts.push(`${a.name}: ${JSON.stringify(id)}`);
        } else if (isScalarType(named) && named.name === 'Int') {
          parts.push(`${a.name}: 30`);
        } else {
          throw new Error(`probes: cannot fill the required argument ${owner}.${field.name}(${a.name}: ${String(a.type)})`);
        }
      }
    }
    return parts.length ? `(${parts.join(', ')})` : '';
  };

  // What reaches a PHI type from here, in this view (memoised per type; cycles cut).
  const reaches = new Map<string, boolean>();
  const reachesPhi = (type: GraphQLObjectType, seen = new Set<string>()): boolean => {
    if (phiTypes.has(type.name)) return true;
    if (reaches.has(type.name)) return reaches.get(type.name)!;
    if (seen.has(type.name)) return false;
    seen.add(type.name);
    const result = model.fieldsIn(type, subgraph).some((f) => targets(getNamedType(f.type)).some((t) => reachesPhi(t, seen)));
    reaches.set(type.name, result);
    return result;
  };

  /** A small selection for an object inside the node: every leaf of a PHI type, only ID leaves of anything else. */
  const inner = (named: GraphQLNamedType): string => {
    const parts = ['__typename'];
    for (const t of targets(named)) {
      const leaves = model
        .fieldsIn(t, subgraph)
        .filter((f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => !isNonNullType(a.type)))
        .filter((f) => phiTypes.has(t.name) || getNamedType(f.type).name === 'ID')
        .map((f) => f.name);
      if (leaves.length === 0) continue;
      parts.push(isUnionType(named) ? `... on ${t.name} { ${leaves.join(' ')} }` : leaves.join(' '));
    }
    return `{ ${parts.join(' ')} }`;
  };
  const nodeSelection = (type: GraphQLObjectType) => {
    const fields = model.fieldsIn(type, subgraph);
    const parts = ['__typename'];
    for (const f of fields) {
      const named = getNamedType(f.type);
      parts.push(`${f.name}${args(f, type.name)}${isLeafType(named) ? '' : ` ${inner(named)}`}`);
    }
    return { selection: `{ ${parts.join(' ')} }`, coordinates: fields.map((f) => `${type.name}.${f.name}`) };
  };

  const walk = (
    type: GraphQLObjectType,
    wrap: (selection: string) => string,
    path: string[],
    onPath: Set<string>,
    entry: Probe['entry'],
    via: string | undefined,
  ) => {
    if (phiTypes.has(type.name)) {
      const { selection, coordinates } = nodeSelection(type);
      out.push({
        target,
        entry,
        path: path.join(' > '),
        node: type.name,
        coordinates: [...(via && coordinateSet.has(via) ? [via] : []), ...coordinates],
        query: wrap(selection),
      });
    }
    if (path.length >= maxHops) return;
    for (const f of model.fieldsIn(type, subgraph)) {
      for (const t of targets(getNamedType(f.type))) {
        if (onPath.has(t.name) || !reachesPhi(t)) continue;
        const coordinate = `${type.name}.${f.name}`;
        // From a carrier of seeds (User) only the seeds lead to PHI.
        if (!phiTypes.has(type.name) && phiTypes.has(t.name) && !coordinateSet.has(coordinate)) continue;
        const fragment = isUnionType(getNamedType(f.type)) ? (s: string) => `{ __typename ... on ${t.name} ${s} }` : (s: string) => s;
        walk(t, (s) => wrap(`{ ${f.name}${args(f, type.name)} ${fragment(s)} }`), [...path, coordinate], new Set([...onPath, t.name]), entry, coordinate);
      }
    }
  };

  const query = schema.getQueryType()!;
  for (const f of model.fieldsIn(query, subgraph)) {
    if (f.name.startsWith('_')) continue;
    for (const t of targets(getNamedType(f.type))) {
      if (!reachesPhi(t)) continue;
      const coordinate = `Query.${f.name}`;
      walk(t, (s) => `query Probe { ${f.name}${args(f, 'Query')} ${s} }`, [coordinate], new Set([t.name]), 'root', coordinate);
    }
  }
  const entityTargets = subgraph ? [subgraph] : Object.values(model.graphNames);
  const seenGatewayEntities = new Set<string>();
  for (const graph of entityTargets) {
    for (const { type: typeName, key } of model.entitiesIn(graph)) {
      const type = schema.getType(typeName) as GraphQLObjectType;
      if (subgraph === undefined) {
        // Through the gateway `_entities` must not exist at all: one probe per entity type.
        if (seenGatewayEntities.has(typeName) || !phiTypes.has(typeName) && !model.seeds.some((s) => s.startsWith(`${typeName}.`))) continue;
        seenGatewayEntities.add(typeName);
      } else if (!reachesPhi(type)) continue;
      if (key !== 'id') throw new Error(`probes: ${graph} resolves ${typeName} by "${key}"; teach the probe to build that representation`);
      const id = options.idFor(typeName);
      if (!id) throw new Error(`probes: no victim id for the entity ${typeName} that ${graph} resolves`);
      const representation = `{ __typename: ${JSON.stringify(typeName)}, id: ${JSON.stringify(id)} }`;
      const wrap = (s: string) => `query Probe { _entities(representations: [${representation}]) { __typename ... on ${typeName} ${s} } }`;
      if (subgraph === undefined) {
        out.push({ target, entry: 'gateway-entities', path: `Query._entities(${typeName})`, node: typeName, coordinates: [], query: wrap('{ id }') });
        continue;
      }
      walk(type, wrap, [`Query._entities(${typeName})`], new Set([typeName]), 'entities', undefined);
    }
  }
  return out;
}

/** Objects of PHI record types in a response (connection wrappers, which exist even when empty, excepted). */
export function countRecords(data: unknown, recordTypes: Set<string>): number {
  if (Array.isArray(data)) return data.reduce((n: number, item) => n + countRecords(item, recordTypes), 0);
  if (data === null || typeof data !== 'object') return 0;
  const object = data as Record<string, unknown>;
  const own = typeof object.__typename === 'string' && recordTypes.has(object.__typename) ? 1 : 0;
  return own + Object.values(object).reduce((n: number, value) => n + countRecords(value, recordTypes), 0);
}

/**
 * Values that identify the victim's data, from responses the victim was given:
 * every string leaf of a PHI-typed object except enum-like ones, and every
 * non-integer number (integers such as counts are too common to search for).
 */
export function collectValues(data: unknown, phiTypes: Set<string>, into: Set<string>, inPhi = false): Set<string> {
  if (Array.isArray(data)) {
    for (const item of data) collectValues(item, phiTypes, into, inPhi);
    return into;
  }
  if (data === null || typeof data !== 'object') return into;
  const object = data as Record<string, unknown>;
  const phi = typeof object.__typename === 'string' ? phiTypes.has(object.__typename) : inPhi;
  for (const [key, value] of Object.entries(object)) {
    if (key === '__typename') continue;
    if (phi && typeof value === 'string' && value.length >= 6 && !/^[A-Z][A-Z0-9_]*$/.test(value)) into.add(value);
    else if (phi && typeof value === 'number' && !Number.isInteger(value)) into.add(String(value));
    else collectValues(value, phiTypes, into, phi);
  }
  return into;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function leaves(value: unknown, into: (string | number)[] = []): (string | number)[] {
  if (Array.isArray(value)) for (const item of value) leaves(item, into);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) if (key !== '__typename') leaves(item, into);
  }
  else if (typeof value === 'string' || typeof value === 'number') into.push(value);
  return into;
}

/**
 * Victim values found among the values of `body` (not its keys: a field named
 * `healthAuditEvents` is no leak): a string value contained in a string, a
 * number equal to a number or standing whole in a string.
 */
export function findValues(body: unknown, values: Iterable<string>): string[] {
  const found: string[] = [];
  const all = leaves(body);
  for (const value of values) {
    const numeric = /^-?\d+(\.\d+)?$/.test(value);
    const pattern = numeric ? new RegExp(`(?<![\\d.])${escape(value)}(?![\\d])`) : undefined;
    const hit = all.some((leaf) =>
      typeof leaf === 'number' ? numeric && String(leaf) === value : pattern ? pattern.test(leaf) : leaf.includes(value),
    );
    if (hit) found.push(value);
  }
  return found;
}
