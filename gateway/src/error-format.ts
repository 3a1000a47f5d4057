import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { QUERY_LIMIT_FAILED } from './security.js';

/**
 * Apollo Server answers a few malformed requests (persisted-query version or
 * hash mismatch) with an HTTP 4xx error but no code; the platform formatter
 * would mask them as INTERNAL_SERVER_ERROR although the client is at fault and
 * the message is Apollo's own (found by tests/fuzz.test.ts).
 */
function isCodelessClientError(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined || error.originalError) return false;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

const SUGGESTION = / ?Did you mean [^?]*\?/g;
const INTROSPECTION_DISABLED = /^GraphQL introspection is not allowed/;
// graphql-js 16 spells it "more that"; either spelling is accepted.
const TOKEN_LIMIT = /^Syntax Error: Document contains more tha[nt] (\d+) tokens\. Parsing aborted\.$/;

/**
 * Wraps the platform formatter for the gateway: the parser's token limit is
 * reported like the other limits (GRAPHQL_VALIDATION_FAILED, not a syntax
 * error), Apollo's code-less request errors as BAD_REQUEST, and in production
 * the schema is not described to strangers: no "Did you mean …?" suggestions
 * (fields, arguments, types, enum values) and no advice on how introspection
 * would be turned on.
 */
export function gatewayErrorFormatter(
  format: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError,
  options: { production: boolean },
) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    let input = formatted;
    const tokens = TOKEN_LIMIT.exec(formatted.message);
    if (tokens && formatted.extensions?.code === 'GRAPHQL_PARSE_FAILED') {
      input = { ...formatted, message: `Token limit of ${tokens[1]} exceeded`, extensions: { ...formatted.extensions, code: QUERY_LIMIT_FAILED } };
    } else if (isCodelessClientError(error)) {
      input = { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_REQUEST' } };
    }
    const output = format(input, error);
    if (!options.production) return output;
    if (INTROSPECTION_DISABLED.test(output.message)) return { ...output, message: 'Introspection is disabled' };
    return output.message.includes('Did you mean') ? { ...output, message: output.message.replace(SUGGESTION, '') } : output;
  };
}
