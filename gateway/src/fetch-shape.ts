import { fragmentDefinitions, selectedFields } from '@suoke/platform';
import { Kind, parse, type FieldNode, type FragmentDefinitionNode, type GraphQLFormattedError, type OperationTypeNode, type SelectionSetNode } from 'graphql';

/** What the gateway needs to know of one subgraph operation from the query plan. */
export interface FetchShape {
  /** `query` fetches may be sent twice; anything else (or an unreadable document) never is. */
  operation: OperationTypeNode | 'unknown';
  /** An `_entities(representations: …)` fetch, whose errors are addressed by representation. */
  entities: boolean;
  /** Response keys the fetch fills: root fields, or each entity's fields. */
  fields: string[];
}

const shapes = new Map<string, FetchShape>();
/** The plan cache bounds the distinct subgraph operations; this only guards against a surprise. */
const MAX_SHAPES = 2_000;

/**
 * The shape of a subgraph operation, read from its document (parsed once per
 * distinct document: the query planner's output repeats).
 */
export function fetchShape(query: string): FetchShape {
  let shape = shapes.get(query);
  if (!shape) {
    shape = readShape(query);
    if (shapes.size >= MAX_SHAPES) shapes.clear();
    shapes.set(query, shape);
  }
  return shape;
}

function readShape(query: string): FetchShape {
  let document;
  try {
    document = parse(query, { noLocation: true });
  } catch {
    return { operation: 'unknown', entities: false, fields: [] };
  }
  const fragments = fragmentDefinitions(document);
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operations.length === 1 ? operations[0]! : undefined;
  if (!operation) return { operation: 'unknown', entities: false, fields: [] };
  const root = responseKeys(operation.selectionSet, fragments);
  const entitiesField = root.length === 1 ? findField(operation.selectionSet, '_entities', fragments) : undefined;
  if (entitiesField?.selectionSet) {
    return { operation: operation.operation, entities: true, fields: responseKeys(entitiesField.selectionSet, fragments) };
  }
  return { operation: operation.operation, entities: false, fields: root };
}

/** Response keys of a selection set, through inline fragments and spreads, without `__typename`. */
function responseKeys(selectionSet: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): string[] {
  const keys = new Set<string>();
  for (const { field } of selectedFields(selectionSet, fragments)) {
    const key = field.alias?.value ?? field.name.value;
    if (key !== '__typename') keys.add(key);
  }
  return [...keys];
}

function findField(selectionSet: SelectionSetNode, name: string, fragments: ReadonlyMap<string, FragmentDefinitionNode>): FieldNode | undefined {
  for (const { field } of selectedFields(selectionSet, fragments)) if (field.name.value === name) return field;
  return undefined;
}

/** At most this many errors stand for one failed fetch (a list of 100 entities × 3 fields would be 300). */
export const MAX_ERRORS_PER_FETCH = 50;

/**
 * The errors a subgraph would have sent had it failed every field of the
 * fetch: one per missing field, with the path Apollo Gateway maps into the
 * client's response (`["me"]`, or `["_entities", i, "healthSummary"]` which
 * becomes `["me", "healthSummary"]`). Apollo Gateway gives a thrown fetch
 * error no path at all, so the data source answers with these instead.
 */
export function missingFieldErrors(
  shape: FetchShape,
  representations: number,
  error: { message: string; extensions: Record<string, unknown> },
): GraphQLFormattedError[] {
  const errors: GraphQLFormattedError[] = [];
  const fields = shape.fields.length > 0 ? shape.fields : [undefined];
  if (shape.entities) {
    for (let i = 0; i < representations && errors.length < MAX_ERRORS_PER_FETCH; i += 1) {
      for (const field of fields) {
        if (errors.length >= MAX_ERRORS_PER_FETCH) break;
        errors.push({ ...error, path: field === undefined ? ['_entities', i] : ['_entities', i, field] });
      }
    }
  } else {
    for (const field of fields.slice(0, MAX_ERRORS_PER_FETCH)) errors.push(field === undefined ? { ...error } : { ...error, path: [field] });
  }
  if (errors.length === 0) errors.push({ ...error });
  return errors;
}
