import {
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  visit,
  type DirectiveNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/**
 * The one walk over an operation's fields through fragments (inline fragments
 * and spreads), for code that has a document but no schema at hand (a
 * subgraph fetch's text, a client's document before planning) or that must not
 * merge fields the way graphql-js's `collectFields` does (every occurrence of a
 * field is one call to a rate limit). With a schema and merged fields wanted,
 * use graphql-js or @graphql-tools/utils's `collectFields` instead.
 */

/** A document's fragment definitions by name. */
export function fragmentDefinitions(document: { readonly definitions: readonly { readonly kind: string }[] } | undefined): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document?.definitions ?? []) {
    if (isFragmentDefinition(definition)) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

function isFragmentDefinition(definition: { readonly kind: string }): definition is FragmentDefinitionNode {
  return definition.kind === Kind.FRAGMENT_DEFINITION;
}

/** One field met by `selectedFields`, with the type condition of the innermost fragment around it (undefined: none). */
export interface SelectedField {
  field: FieldNode;
  typeCondition: string | undefined;
}

export interface SelectedFieldsOptions {
  /** Given: fields and fragments under `@skip(if: true)` or `@include(if: false)` are left out (undecidable: kept). */
  variables?: Record<string, unknown> | undefined;
  /** Given: a fragment whose type condition this refuses is not entered (fragments without one always are). */
  typeCondition?: ((name: string) => boolean) | undefined;
}

/**
 * The fields of a selection set, in document order, through inline fragments
 * and named spreads (not into the fields' own selection sets). A fragment
 * spread more than once in the walk, or into itself, is entered once; unknown
 * spreads are skipped (validation reports them).
 */
export function* selectedFields(
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  options: SelectedFieldsOptions = {},
  typeCondition: string | undefined = undefined,
  seen: Set<string> = new Set(),
): Generator<SelectedField> {
  for (const selection of selectionSet.selections) {
    if (options.variables && !included(selection.directives, options.variables)) continue;
    if (selection.kind === Kind.FIELD) {
      yield { field: selection, typeCondition };
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition?.name.value;
      if (condition !== undefined && options.typeCondition && !options.typeCondition(condition)) continue;
      yield* selectedFields(selection.selectionSet, fragments, options, condition ?? typeCondition, seen);
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || seen.has(name)) continue;
      const condition = fragment.typeCondition.name.value;
      if (options.typeCondition && !options.typeCondition(condition)) continue;
      seen.add(name);
      yield* selectedFields(fragment.selectionSet, fragments, options, condition, seen);
    }
  }
}

function included(directives: readonly DirectiveNode[] | undefined, variables: Record<string, unknown>): boolean {
  if (!directives?.length) return true;
  const node = { directives };
  try {
    if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
    return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
  } catch {
    return true;
  }
}

/** The fragment definitions an operation reaches, transitively (another operation's fragments are not its own). */
export function reachableFragments(fragments: ReadonlyMap<string, FragmentDefinitionNode>, operation: OperationDefinitionNode | undefined): FragmentDefinitionNode[] {
  const reached = new Map<string, FragmentDefinitionNode>();
  const pending: (OperationDefinitionNode | FragmentDefinitionNode)[] = operation ? [operation] : [];
  for (let node = pending.pop(); node; node = pending.pop()) {
    visit(node, {
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (fragment && !reached.has(spread.name.value)) {
          reached.set(spread.name.value, fragment);
          pending.push(fragment);
        }
      },
    });
  }
  return [...reached.values()];
}
