import { DateTimeResolver } from 'graphql-scalars';

/**
 * `DateTime`: RFC 3339 timestamps with offset, parsed to Date. Every subgraph
 * declares `scalar DateTime` and uses this one implementation.
 */
export const DateTime = DateTimeResolver;
