import { parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { fragmentDefinitions, reachableFragments, selectedFields } from '../../src/graphql/index.js';

const doc = parse(`
  query Q($skip: Boolean!, $on: Boolean = true) {
    a
    b: alias
    ... on Query { c ...F }
    ...F
    d @skip(if: $skip)
    ... @include(if: $on) { e }
    ... on Other { other }
  }
  fragment F on Query { f nested { g } ...Loop }
  fragment Loop on Query { loop ...F }
  fragment Unused on Query { unused }
`);
const operation = doc.definitions[0] as OperationDefinitionNode;
const fragments = fragmentDefinitions(doc);

const keys = (options: Parameters<typeof selectedFields>[2] = {}) =>
  [...selectedFields(operation.selectionSet, fragments, options)].map(({ field, typeCondition }) => `${(field.alias ?? field.name).value}@${typeCondition ?? '-'}`);

describe('selectedFields: the one walk over an operation’s fields through fragments', () => {
  it('goes through inline fragments and spreads in document order, each fragment once (cycles included), not into fields', () => {
    expect(keys()).toEqual(['a@-', 'b@-', 'c@Query', 'f@Query', 'nested@Query', 'loop@Query', 'd@-', 'e@-', 'other@Other']);
  });

  it('honours @skip and @include only when given variables; an undecidable directive keeps the field', () => {
    expect(keys({ variables: { skip: true, on: false } })).not.toContain('d@-');
    expect(keys({ variables: { skip: true, on: false } })).not.toContain('e@-');
    expect(keys({ variables: { skip: false } })).toContain('d@-');
    expect(keys({ variables: {} })).toContain('d@-');
  });

  it('enters only the fragments whose type condition the caller accepts', () => {
    expect(keys({ typeCondition: (name) => name === 'Query' })).not.toContain('other@Other');
    expect(keys({ typeCondition: () => false })).toEqual(['a@-', 'b@-', 'd@-', 'e@-']);
  });
});

describe('reachableFragments', () => {
  it('lists the fragments an operation reaches transitively, not the others', () => {
    expect(reachableFragments(fragments, operation).map((f) => f.name.value).sort()).toEqual(['F', 'Loop']);
    expect(reachableFragments(fragments, undefined)).toEqual([]);
  });
});
