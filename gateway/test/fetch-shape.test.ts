import { describe, expect, it } from 'vitest';
import { fetchShape, MAX_ERRORS_PER_FETCH, missingFieldErrors } from '../src/fetch-shape.js';

const error = { message: 'unavailable', extensions: { code: 'SERVICE_UNAVAILABLE' } };

describe('fetchShape', () => {
  it('tells queries (retry-safe) from mutations, whatever the planner prints', () => {
    expect(fetchShape('{me{id}}').operation).toBe('query');
    expect(fetchShape('query Home__user__0{me{__typename id displayName}}').operation).toBe('query');
    expect(fetchShape('mutation Register__user__0($input:RegisterInput!){register(input:$input){accessToken}}').operation).toBe('mutation');
    // A fragment printed first does not hide the operation.
    expect(fetchShape('fragment F on User{id} mutation M{logout{...F}}').operation).toBe('mutation');
    // Unreadable documents are never retried.
    expect(fetchShape('mutation {').operation).toBe('unknown');
  });

  it('lists the root fields a fetch fills, aliases and fragments included, __typename left out', () => {
    const shape = fetchShape('query Q__knowledge__0{__typename all:constitutions{code} ...on Query{herb(id:"x"){id}}}');
    expect(shape).toEqual({ operation: 'query', entities: false, fields: ['all', 'herb'] });
  });

  it('lists the fields an entity fetch fills for each representation', () => {
    const shape = fetchShape(
      'query Home__health__1($representations:[_Any!]!$days:Int!){_entities(representations:$representations){...on User{__typename healthSummary(days:$days){type} observations{edges{node{id}}}}}}',
    );
    expect(shape).toEqual({ operation: 'query', entities: true, fields: ['healthSummary', 'observations'] });
  });
});

describe('missingFieldErrors', () => {
  it('gives each missing root field an error with its path', () => {
    expect(missingFieldErrors(fetchShape('{me{id} users{totalCount}}'), 0, error)).toEqual([
      { ...error, path: ['me'] },
      { ...error, path: ['users'] },
    ]);
  });

  it('addresses entity fields by representation, as a subgraph would, and stops at MAX_ERRORS_PER_FETCH', () => {
    const shape = fetchShape('query($representations:[_Any!]!){_entities(representations:$representations){...on User{healthSummary(days:7){type}}}}');
    expect(missingFieldErrors(shape, 2, error)).toEqual([
      { ...error, path: ['_entities', 0, 'healthSummary'] },
      { ...error, path: ['_entities', 1, 'healthSummary'] },
    ]);
    expect(missingFieldErrors(shape, 500, error)).toHaveLength(MAX_ERRORS_PER_FETCH);
  });
});
