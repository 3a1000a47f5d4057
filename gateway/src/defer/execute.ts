import { buildOperationContext, executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import type { PlanNode } from '@apollo/query-planner';
import { fragmentDefinitions, selectedFields } from '@suoke/platform';
import {
  GraphQLError,
  Kind,
  parse,
  type DocumentNode,
  type FieldNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import type { DeferPlan, DeferredPart, DeferSchema } from './plan.js';

type RequestContext = Parameters<typeof executeQueryPlan>[2];
type ProcessResult = Awaited<ReturnType<GraphQLDataSource['process']>>;
type Path = (string | number)[];

/** One deferred fragment's payload in the `deferSpec=20220824` format. */
export interface IncrementalItem {
  data: Record<string, unknown> | null;
  path: Path;
  label?: string;
  errors?: GraphQLFormattedError[];
}
export interface SubsequentPayload {
  incremental?: IncrementalItem[];
  hasNext: boolean;
}

/**
 * The fetches a request has made, by subgraph, document and variables, to be
 * answered again without the network: a deferred part's plan runs after the
 * fetches its data hangs from (the primary's, its parent's), replayed from here,
 * so that executeQueryPlan places its entities exactly where the first run did.
 * Replays carry data only: their errors were reported with the part that made them.
 */
class Tape {
  private readonly answers = new Map<string, string>();

  serviceMap(sources: ServiceMap): ServiceMap {
    const map: ServiceMap = {};
    for (const [name, source] of Object.entries(sources)) {
      map[name] = {
        process: async (options) => {
          const key = `${name}\n${options.request.query ?? ''}\n${JSON.stringify(options.request.variables ?? {})}`;
          const answer = this.answers.get(key);
          if (answer !== undefined) return { data: JSON.parse(answer) as ProcessResult['data'] };
          const response = await source.process(options);
          // Serialised at once: executeQueryPlan merges later fetches into these objects.
          this.answers.set(key, JSON.stringify(response.data ?? null));
          return response;
        },
      };
    }
    return map;
  }
}

/** Where each response name of a path was found in the client's document: the field and the type condition around it. */
function pathFields(document: DocumentNode, operation: OperationDefinitionNode, queryPath: string[]) {
  const fragments = fragmentDefinitions(document);
  let sets: readonly SelectionSetNode[] = [operation.selectionSet];
  return queryPath.map((element) => {
    if (element.startsWith('...')) return { typeCondition: element.replace(/^\.\.\.\s*(on\s+)?/, '').trim(), field: undefined };
    const found: { field: FieldNode; typeCondition: string | undefined }[] = [];
    for (const set of sets) {
      for (const selected of selectedFields(set, fragments)) if ((selected.field.alias ?? selected.field.name).value === element) found.push(selected);
    }
    if (found.length === 0) throw new Error(`deferred path element "${element}" not found in the operation`);
    sets = found.flatMap(({ field }) => (field.selectionSet ? [field.selectionSet] : []));
    return found[0]!;
  });
}

/**
 * The operation a part's result is shaped by: the client's path down to the
 * part (each field as the client wrote it: alias, arguments, directives) and
 * the part's own selection there, with the operation's variables. Only this
 * part's fields: a sibling not yet fetched is neither null nor an error here.
 */
export function partDocument(document: DocumentNode, operation: OperationDefinitionNode, queryPath: string[], subselection: string): DocumentNode {
  const own = parse(subselection, { noLocation: true }).definitions[0] as OperationDefinitionNode;
  let selectionSet: SelectionSetNode = own.selectionSet;
  const steps = pathFields(document, operation, queryPath);
  for (let i = steps.length - 1; i >= 0; i -= 1) {
    const { field, typeCondition } = steps[i]!;
    let selection: SelectionNode = field ? { ...field, selectionSet } : { kind: Kind.INLINE_FRAGMENT, selectionSet };
    if (typeCondition) {
      selection = { kind: Kind.INLINE_FRAGMENT, typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: typeCondition } }, selectionSet: field ? { kind: Kind.SELECTION_SET, selections: [selection] } : selectionSet };
    }
    selectionSet = { kind: Kind.SELECTION_SET, selections: [selection] };
  }
  const { name, variableDefinitions } = operation;
  return {
    kind: Kind.DOCUMENT,
    definitions: [{ kind: Kind.OPERATION_DEFINITION, operation: operation.operation, ...(name ? { name } : {}), ...(variableDefinitions ? { variableDefinitions } : {}), selectionSet }],
  };
}

/**
 * For a part that selects nothing of its own (only deferred fragments): the
 * objects its deferred fragments go into, each path down to `__typename`,
 * which `stripTypename` removes again, so that the client gets the empty
 * objects the later parts are merged into.
 */
export function skeletonDocument(document: DocumentNode, operation: OperationDefinitionNode, children: DeferredPart[]): DocumentNode {
  const selections = children.flatMap((child) => (partDocument(document, operation, child.queryPath, '{ __typename }').definitions[0] as OperationDefinitionNode).selectionSet.selections);
  const shaped = partDocument(document, operation, [], '{ __typename }');
  const root = shaped.definitions[0] as OperationDefinitionNode;
  return selections.length === 0 ? shaped : { ...shaped, definitions: [{ ...root, selectionSet: { kind: Kind.SELECTION_SET, selections } }] };
}

function stripTypename(value: unknown): void {
  if (Array.isArray(value)) return value.forEach(stripTypename);
  if (typeof value !== 'object' || value === null) return;
  delete (value as Record<string, unknown>).__typename;
  for (const child of Object.values(value)) stripTypename(child);
}

/** Every object a part's data goes into: the path with list positions, and the value found there. */
function locate(data: unknown, queryPath: string[]): { found: { path: Path; value: Record<string, unknown> | null }[]; nullAt: Path[] } {
  let cursors: { path: Path; value: unknown }[] = [{ path: [], value: data }];
  const nullAt: Path[] = [];
  const spread = (path: Path, value: unknown, into: { path: Path; value: unknown }[]) => {
    if (Array.isArray(value)) value.forEach((item, index) => spread([...path, index], item, into));
    else into.push({ path, value });
  };
  const elements = queryPath.filter((element) => !element.startsWith('...'));
  elements.forEach((element, depth) => {
    const next: { path: Path; value: unknown }[] = [];
    for (const cursor of cursors) {
      if (cursor.value === null || typeof cursor.value !== 'object') {
        if (cursor.value === null) nullAt.push(cursor.path);
        continue;
      }
      const value = (cursor.value as Record<string, unknown>)[element];
      if (value === undefined) continue;
      if (value === null && depth < elements.length - 1) nullAt.push([...cursor.path, element]);
      else spread([...cursor.path, element], value, next);
    }
    cursors = next;
  });
  if (elements.length === 0 && (data === null || data === undefined)) return { found: [], nullAt: [[]] };
  return { found: cursors.map(({ path, value }) => ({ path, value: (value ?? null) as Record<string, unknown> | null })), nullAt };
}

function isPrefix(prefix: Path, path: readonly (string | number)[]): boolean {
  return prefix.length <= path.length && prefix.every((element, i) => element === path[i]);
}

/** A push-fed async iterable: payloads in the order they are ready. */
class Payloads implements AsyncIterable<SubsequentPayload> {
  private readonly queue: SubsequentPayload[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  push(payload: SubsequentPayload): void {
    this.queue.push(payload);
    if (!payload.hasNext) this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SubsequentPayload> {
    for (;;) {
      const payload = this.queue.shift();
      if (payload) {
        yield payload;
        if (!payload.hasNext) return;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

export interface DeferRun {
  /** The request context Apollo Gateway's executor was given (variables, data source context, logger, metrics, cache policy). */
  requestContext: RequestContext & { document: DocumentNode; operation: OperationDefinitionNode };
  /** The API schema clients validate against (with @defer). */
  apiSchema: GraphQLSchema;
  schema: DeferSchema;
  plan: DeferPlan;
  serviceMap: ServiceMap;
  /** The gateway's error formatter (masking), applied to deferred parts' errors as Apollo Server applies it to the rest. */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  telemetry: Parameters<typeof executeQueryPlan>[6];
}

/**
 * Runs a @defer plan: the primary part at once (its result is the initial
 * payload), then each deferred part, as soon as the fetches it hangs from are
 * done, each as its own executeQueryPlan through the gateway's data sources
 * (pools, breaker, budget, dedup, tracing) behind a Tape. Each part's payload
 * carries its own data, path (list items one by one) and errors; nested parts
 * run after their parent's payload.
 */
export async function runDeferred(run: DeferRun): Promise<{ initial: Awaited<ReturnType<typeof executeQueryPlan>>; subsequent: AsyncIterable<SubsequentPayload> }> {
  const { requestContext, plan } = run;
  const tape = new Tape();
  const sources = tape.serviceMap(run.serviceMap);
  const execute = async (nodes: (PlanNode | undefined)[], queryPath: string[], subselection: string | undefined, children: DeferredPart[], context: RequestContext) => {
    const present = nodes.filter((node): node is PlanNode => node !== undefined);
    const node: PlanNode | undefined = present.length <= 1 ? present[0] : { kind: 'Sequence', nodes: present };
    const { document: source, operation } = requestContext;
    const document = subselection !== undefined ? partDocument(source, operation, queryPath, subselection) : skeletonDocument(source, operation, children);
    const operationContext = buildOperationContext({ schema: run.apiSchema, operationDocument: document });
    const result = await executeQueryPlan({ kind: 'QueryPlan', node }, sources, context, operationContext, run.schema.supergraphSchema, run.schema.plannerApiSchema, run.telemetry);
    if (subselection === undefined) stripTypename(result.data);
    return result;
  };

  const initial = await execute([plan.primary.node], [], plan.primary.subselection, plan.deferred, requestContext);

  const payloads = new Payloads();
  // A part's result is written after the response head: its trace and cache hints have nowhere to go.
  const partContext = { ...requestContext, metrics: {} } as RequestContext;
  let outstanding = 0;
  const start = (part: DeferredPart, ancestors: (PlanNode | undefined)[]) => {
    outstanding += 1;
    void runPart(part, ancestors).then((items) => {
      for (const child of part.children) start(child, [...ancestors, part.node]);
      outstanding -= 1;
      if (items.length > 0 || outstanding === 0) payloads.push({ ...(items.length > 0 ? { incremental: items } : {}), hasNext: outstanding > 0 });
    });
  };
  const runPart = async (part: DeferredPart, ancestors: (PlanNode | undefined)[]): Promise<IncrementalItem[]> => {
    const label = part.label !== undefined ? { label: part.label } : {};
    try {
      const result = await execute([...ancestors, part.node], part.queryPath, part.subselection, part.children, partContext);
      const { found, nullAt } = locate(result.data, part.queryPath);
      const errors = result.errors ?? [];
      // Without errors of its own, a null where the part goes means the client has no object there: nothing to deliver.
      const items: IncrementalItem[] = found
        .filter((entry) => entry.value !== null || errors.length > 0)
        .map((entry) => ({ data: entry.value, path: entry.path, ...label }));
      if (items.length === 0 && errors.length > 0) items.push({ data: null, path: nullAt[0] ?? [], ...label });
      for (const error of errors) {
        const path = error.path ?? [];
        const owner = items.reduce<IncrementalItem | undefined>((best, item) => (isPrefix(item.path, path) && (!best || item.path.length > best.path.length) ? item : best), undefined) ?? items[0]!;
        (owner.errors ??= []).push(formatted(error, run.formatError));
      }
      return items;
    } catch (error) {
      requestContext.logger?.error?.(`deferred part failed: ${error instanceof Error ? error.message : String(error)}`);
      const failure = new GraphQLError('Internal server error', { originalError: error instanceof Error ? error : undefined });
      return [{ data: null, path: part.queryPath.filter((element) => !element.startsWith('...')), ...label, errors: [formatted(failure, run.formatError)] }];
    }
  };
  for (const part of plan.deferred) start(part, [plan.primary.node]);
  if (plan.deferred.length === 0) payloads.push({ hasNext: false });
  return { initial, subsequent: payloads };
}

/** What Apollo Server does to an error before formatError: its JSON form, INTERNAL_SERVER_ERROR without a code. */
function formatted(error: GraphQLError | Error, formatError: DeferRun['formatError']): GraphQLFormattedError {
  const graphQLError = error instanceof GraphQLError ? error : new GraphQLError(error.message, { originalError: error });
  const json = graphQLError.toJSON();
  return formatError({ ...json, extensions: { ...json.extensions, code: graphQLError.extensions.code ?? 'INTERNAL_SERVER_ERROR' } }, graphQLError);
}
