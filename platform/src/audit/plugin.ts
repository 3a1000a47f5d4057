import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import { getNamedType, type GraphQLError, isObjectType, type GraphQLSchema } from 'graphql';
import { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AuditAction, AuditContext, AuditDenial } from './collector.js';
import { fieldAtPath } from './field-at-path.js';
import { writeAuditEvents } from './store.js';

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
