import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import { context as otelContext, isSpanContextValid, trace } from '@opentelemetry/api';
import { sql } from 'drizzle-orm';
import {
  getArgumentValues,
  getNamedType,
  type GraphQLError,
  isObjectType,
  Kind,
  type FragmentDefinitionNode,
  type FieldNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { AuthUser } from './auth/index.js';
import { ident, type Database } from './db.js';
import { badInput, ErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import { decodeCursor, isUuid, pageSize, toConnection, type Connection, type PageArgs } from './pagination.js';
import { arrayParam, isoUtc } from './sql.js';

export type AuditAction = 'READ' | 'WRITE';
export type AuditOutcome = 'ALLOWED' | 'DENIED';

/** One access to be audited: what kind, which resource (a type name such as `Observation`), which record ids. */
export interface AuditRecord {
  action: AuditAction;
  resource: string;
  ids: readonly string[];
}

/** A refused access: the resource, the ids asked for when known, and why (an error code such as `FORBIDDEN`). */
export interface AuditDenial {
  resource: string;
  reason: string;
  ids?: readonly string[];
  action?: AuditAction;
}

/** One row to write: the accesses of one request, grouped by (action, resource, outcome, reason). */
export interface PendingAuditEvent {
  action: AuditAction;
  resource: string;
  outcome: AuditOutcome;
  reason: string | null;
  ids: string[];
}

export const ANONYMOUS_ACTOR = 'anonymous';

/**
 * Collects what one request read, wrote and was refused, in memory; the audit
 * plugin writes it once, after execution, as one statement. Resolvers call
 * `record` with the ids they return (never values), so batching stays intact:
 * a hundred entity references give one event with a hundred ids.
 */
export class AuditCollector {
  readonly #events = new Map<string, PendingAuditEvent & { seen: Set<string> }>();
  /** Who acted: the token's subject (a user id, or `service:<name>`), a delegated token's actor, or `anonymous`. */
  readonly actor: string;
  /** Whose data a delegated token read (its subject, the user); null for every other caller, who acts for itself. */
  readonly subject: string | null;

  constructor(
    user: AuthUser | undefined,
    readonly requestId: string,
    readonly traceId: string | undefined,
  ) {
    this.actor = user?.actor ?? user?.id ?? ANONYMOUS_ACTOR;
    this.subject = user?.actor !== undefined ? user.id : null;
  }

  /**
   * An allowed access to the records `ids`. An empty list (a lookup that
   * matched nothing, an empty page) discloses no record and is not written.
   */
  record(entry: AuditRecord): void {
    if (entry.ids.length === 0) return;
    this.#add(entry.action, entry.resource, 'ALLOWED', null, entry.ids);
  }

  deny(denial: AuditDenial): void {
    this.#add(denial.action ?? 'READ', denial.resource, 'DENIED', denial.reason, denial.ids ?? []);
  }

  /** The grouped events, in the order first recorded. */
  events(): PendingAuditEvent[] {
    return [...this.#events.values()].map(({ seen: _seen, ...event }) => event);
  }

  get size(): number {
    return this.#events.size;
  }

  #add(action: AuditAction, resource: string, outcome: AuditOutcome, reason: string | null, ids: readonly string[]): void {
    const key = `${action}\u0000${resource}\u0000${outcome}\u0000${reason ?? ''}`;
    let event = this.#events.get(key);
    if (!event) {
      event = { action, resource, outcome, reason, ids: [], seen: new Set() };
      this.#events.set(key, event);
    }
    for (const id of ids) {
      if (event.seen.has(id)) continue;
      event.seen.add(id);
      event.ids.push(id);
    }
  }
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/**
 * The trace id of the current request: the active span's (the HTTP server span
 * is active while the context is built, sampled or not), else the one the
 * gateway sent in `traceparent` when this process does not trace.
 */
export function currentTraceId(traceparent: string | string[] | undefined): string | undefined {
  const spanContext = trace.getSpan(otelContext.active())?.spanContext();
  if (spanContext && isSpanContextValid(spanContext)) return spanContext.traceId;
  const header = typeof traceparent === 'string' ? traceparent.trim().toLowerCase() : undefined;
  const traceId = header ? TRACEPARENT.exec(header)?.[1] : undefined;
  return traceId && !/^0+$/.test(traceId) ? traceId : undefined;
}

/**
 * Writes the collector's events into `<schema>.audit_events`: one INSERT for
 * the whole request, with each event's ids as one text[] parameter, so the
 * statement count does not grow with list lengths. Nothing to write → no SQL.
 */
export async function writeAuditEvents(database: Database, schema: string, audit: AuditCollector): Promise<number> {
  const events = audit.events();
  if (events.length === 0) return 0;
  const rows = events.map(
    (e) =>
      sql`(${audit.actor}, ${audit.subject}, ${e.action}, ${e.resource}, ${arrayParam(e.ids, 'text')}, ${e.outcome}, ${e.reason}, ${audit.traceId ?? null}, ${audit.requestId})`,
  );
  await database.rows(sql`
    insert into ${ident(schema)}.audit_events (actor, subject, action, resource, record_ids, outcome, reason, trace_id, request_id)
    values ${sql.join(rows, sql`, `)}`);
  return events.length;
}

export interface AuditPluginOptions {
  /** The subgraph's Postgres schema, which holds `audit_events`. */
  schema: string;
  /**
   * The resource a refused field concerns, by `Type.field` (or `Type`), e.g.
   * `{ 'Mutation.recordObservations': 'Observation' }`. Unlisted fields count
   * as the object type they return (a connection's node type:
   * `User.observations` → `Observation`), else as their parent type
   * (`Observation.value` → `Observation`), else, for root fields, as their
   * coordinate (`Mutation.retract`). Default: none listed.
   */
  resources?: Record<string, string>;
  log: Logger;
}

interface AuditContext {
  audit: AuditCollector;
  database: Database;
}

const DENIAL_CODES = new Set<string>([ErrorCode.FORBIDDEN, ErrorCode.UNAUTHENTICATED]);

/**
 * `useAudit`: the Apollo plugin of a subgraph holding PHI. Every FORBIDDEN or
 * UNAUTHENTICATED error with a path (an auth directive, an owner check, a
 * refused entity reference) becomes a DENIED event for the field it refused,
 * and the request's collector is written once in `willSendResponse`. A failed
 * write is logged and never fails the response.
 */
export function auditPlugin<TContext extends AuditContext>(options: AuditPluginOptions): ApolloServerPlugin<TContext> {
  const resources = options.resources ?? {};
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors(rc) {
          const audit = rc.contextValue.audit;
          for (const error of rc.errors) {
            const code = error.extensions?.code;
            if (typeof code !== 'string' || !DENIAL_CODES.has(code) || !error.path) continue;
            audit.deny(denialOf(rc, error, code, resources));
          }
        },
        async willSendResponse(rc) {
          const { audit, database } = rc.contextValue;
          try {
            await writeAuditEvents(database, options.schema, audit);
          } catch (error) {
            options.log.error({ err: error, request_id: audit.requestId, events: audit.size }, 'audit events could not be written');
          }
        },
      };
    },
  };
}

function denialOf<TContext extends AuditContext>(
  rc: GraphQLRequestContext<TContext>,
  error: GraphQLError,
  code: string,
  resources: Record<string, string>,
): AuditDenial {
  const action: AuditAction = rc.operation?.operation === 'mutation' ? 'WRITE' : 'READ';
  const found = rc.operation && rc.schema ? fieldAtPath(rc.schema, rc.operation, rc.document, rc.request.variables ?? {}, error.path ?? []) : undefined;
  if (!found) return { action, resource: 'Unknown', reason: code };
  const { typeName, fieldName, args, entity } = found;
  const resource =
    (fieldName ? resources[`${typeName}.${fieldName}`] : undefined) ?? resources[typeName] ?? resourceOf(rc.schema!, typeName, fieldName);
  const id = entity?.id ?? args?.id;
  return { action, resource, reason: code, ids: typeof id === 'string' || typeof id === 'number' ? [String(id)] : [] };
}

/**
 * What a refused field exposes, read from the schema: the object type it
 * returns (a connection's node type), else its parent type, else (a root
 * field returning a scalar) its coordinate.
 */
function resourceOf(schema: GraphQLSchema, typeName: string, fieldName: string | undefined): string {
  const parent = schema.getType(typeName);
  if (!fieldName || !isObjectType(parent)) return typeName;
  const field = parent.getFields()[fieldName];
  let returned = field ? getNamedType(field.type) : undefined;
  const node = isObjectType(returned) ? returned.getFields().edges : undefined;
  const nodeType = node ? getNamedType(node.type) : undefined;
  if (isObjectType(nodeType) && nodeType.getFields().node) returned = getNamedType(nodeType.getFields().node!.type);
  if (isObjectType(returned)) return returned.name;
  const root = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].some((t) => t?.name === typeName);
  return root ? `${typeName}.${fieldName}` : typeName;
}

interface FieldAtPath {
  typeName: string;
  /** Undefined when the path ends at an entity representation (`_entities.3`). */
  fieldName?: string;
  args?: Record<string, unknown>;
  /** The representation the path goes through, for `_entities` paths. */
  entity?: Record<string, unknown>;
}

/**
 * The object type and field an error path points at, found by walking the
 * operation (aliases and fragments included); through `_entities` the concrete
 * type comes from the representation at that index. Undefined when the path
 * cannot be followed (an abstract type other than `_Entity`).
 */
export function fieldAtPath(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  document: { definitions: readonly { kind: string }[] } | undefined,
  variables: Record<string, unknown>,
  path: readonly (string | number)[],
): FieldAtPath | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document?.definitions ?? []) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set((def as FragmentDefinitionNode).name.value, def as FragmentDefinitionNode);
  let type: GraphQLObjectType | undefined | null =
    operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  let selections: SelectionSetNode | undefined = operation.selectionSet;
  let entity: Record<string, unknown> | undefined;
  let previous: string | undefined;
  for (const [i, segment] of path.entries()) {
    if (typeof segment === 'number') {
      if (previous === '_entities') {
        const representations = variables.representations;
        const rep = Array.isArray(representations) ? (representations[segment] as Record<string, unknown> | undefined) : undefined;
        const named = typeof rep?.__typename === 'string' ? schema.getType(rep.__typename) : undefined;
        if (!rep || !isObjectType(named)) return undefined;
        type = named;
        entity = rep;
        if (i === path.length - 1) return { typeName: named.name, entity };
      }
      continue;
    }
    if (!type || !selections) return undefined;
    const node = findField(selections, segment, type.name, fragments);
    const def = node ? type.getFields()[node.name.value] : undefined;
    if (!node || !def) return undefined;
    if (i === path.length - 1) {
      let args: Record<string, unknown> | undefined;
      try {
        args = getArgumentValues(def, node, variables);
      } catch {
        args = undefined;
      }
      return { typeName: type.name, fieldName: node.name.value, ...(args ? { args } : {}), ...(entity ? { entity } : {}) };
    }
    previous = node.name.value;
    const named = getNamedType(def.type);
    type = isObjectType(named) ? named : undefined;
    selections = node.selectionSet;
  }
  return undefined;
}

function findField(
  selections: SelectionSetNode,
  responseKey: string,
  typeName: string,
  fragments: Map<string, FragmentDefinitionNode>,
): FieldNode | undefined {
  for (const selection of selections.selections) {
    if (selection.kind === Kind.FIELD) {
      if ((selection.alias ?? selection.name).value === responseKey) return selection;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (selection.typeCondition && selection.typeCondition.name.value !== typeName) continue;
      const found = findField(selection.selectionSet, responseKey, typeName, fragments);
      if (found) return found;
    } else {
      const fragment = fragments.get(selection.name.value);
      if (!fragment || fragment.typeCondition.name.value !== typeName) continue;
      const found = findField(fragment.selectionSet, responseKey, typeName, fragments);
      if (found) return found;
    }
  }
  return undefined;
}

/** An audit event as the admin query returns it. */
export interface AuditEventRow {
  id: string;
  at: string;
  actor: string;
  /** For a delegated read: the user whose data it was (the actor acted for them). */
  subject: string | null;
  action: AuditAction;
  resource: string;
  recordIds: string[];
  outcome: AuditOutcome;
  reason: string | null;
  traceId: string | null;
  requestId: string | null;
}

export interface AuditPageArgs extends PageArgs {
  actorId?: string | null;
}

/**
 * A page of `<schema>.audit_events`, newest first, keyset-paginated on
 * (at, id) with the exact (microsecond) time in the cursor; one statement.
 */
export async function selectAuditEvents(database: Database, schema: string, args: AuditPageArgs): Promise<Connection<AuditEventRow>> {
  const first = pageSize(args.first);
  const after = decodeAuditCursor(args.after);
  const actor = args.actorId ?? null;
  const rows = await database.rows<Omit<AuditEventRow, 'recordIds'> & { recordIds: string }>(sql`
    select id::text as id, ${isoUtc(sql`at`)} as at, actor, subject, action, resource, to_json(record_ids)::text as "recordIds",
           outcome, reason, trace_id as "traceId", request_id as "requestId"
    from ${ident(schema)}.audit_events
    where (${actor}::text is null or actor = ${actor}::text)
      and (${after?.at ?? null}::timestamptz is null or (at, id) < (${after?.at ?? null}::timestamptz, ${after?.id ?? null}::uuid))
    order by at desc, id desc
    limit ${first + 1}`);
  const events = rows.map((row) => ({ ...row, recordIds: JSON.parse(row.recordIds) as string[] }));
  return toConnection(events, first, (row) => [row.at, row.id]);
}

function decodeAuditCursor(after: string | null | undefined): { at: string; id: string } | undefined {
  const parts = decodeCursor(after, 2);
  if (!parts) return undefined;
  const [at, id] = parts;
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at)) || !isUuid(id)) {
    throw badInput('after is not a cursor returned by this connection', 'after');
  }
  return { at, id };
}

/**
 * The admin audit query of a PHI subgraph (`<name>AuditEvents`): one page, and
 * the read itself audited (resource `AuditEvent`, the ids of the events shown).
 */
export async function auditEventsPage(ctx: AuditContext, schema: string, args: AuditPageArgs): Promise<Connection<AuditEventRow>> {
  const page = await selectAuditEvents(ctx.database, schema, args);
  ctx.audit.record({ action: 'READ', resource: 'AuditEvent', ids: page.edges.map((edge) => edge.node.id) });
  return page;
}
