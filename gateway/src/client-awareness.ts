import type { ApolloServerPlugin } from '@apollo/server';
import { trace, type Attributes } from '@opentelemetry/api';
import type { Logger } from '@suoke/platform';
import { withDocumentOwner, type ClientIdentity } from './client-identity.js';
import type { GatewayContext } from './context.js';
import type { TrustedDocuments } from './trusted-documents.js';

/** The span attributes Apollo Router sets on its request spans (and GraphOS reads). */
export const CLIENT_NAME_ATTRIBUTE = 'apollo.client.name';
export const CLIENT_VERSION_ATTRIBUTE = 'apollo.client.version';

export function clientAttributes(client: ClientIdentity): Attributes {
  return { [CLIENT_NAME_ATTRIBUTE]: client.name, [CLIENT_VERSION_ATTRIBUTE]: client.version };
}

/** The fields a log line about one request carries to say which app sent it. */
export function clientLogFields(client: ClientIdentity): { client_name: string; client_version: string } {
  return { client_name: client.name, client_version: client.version };
}

export interface ClientAwarenessOptions {
  /** The trusted documents manifest in force, if any (its owners stand in for a missing name). */
  documents: () => TrustedDocuments | undefined;
  log: Logger;
}

/**
 * Apollo Server plugin completing the client of each operation, which the
 * context function took from the headers:
 *
 * - once the document's text is known (after APQ and trusted-document ids are
 *   resolved), a trusted document's manifest owner stands in for a name the
 *   request did not send, so metrics and usage read the owner at the end;
 * - the gateway's request span (the HTTP server span of /graphql, the root of
 *   the request's trace) gets `apollo.client.name` and `apollo.client.version`,
 *   as Apollo Router's does; Apollo Gateway's `gateway.request`, which starts
 *   inside its executor after the source is resolved, copies them from it
 *   (platform/src/telemetry/inherit.ts);
 * - at debug level, one line per operation with its client, operation name,
 *   duration and error count (the line a reader of one request looks for).
 *   Debug, because a line per request at info would cost every request in
 *   production; errors, rate-limit refusals and refused documents are logged
 *   at their own levels with the same fields.
 */
export function clientAwareness(options: ClientAwarenessOptions): ApolloServerPlugin<GatewayContext> {
  const { log } = options;
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      // The active span here is the request's HTTP server span (tracing on): set now, so a request refused before its text is resolved still has it.
      const span = trace.getActiveSpan();
      const recording = span?.isRecording() ? span : undefined;
      recording?.setAttributes(clientAttributes(contextValue.client));
      let errors = 0;
      return {
        async didResolveSource({ source, contextValue: context }) {
          const owner = options.documents()?.ownerOfText(source);
          if (owner === undefined) return;
          const client = withDocumentOwner(context.client, owner);
          if (client === context.client) return;
          context.client = client;
          recording?.setAttribute(CLIENT_NAME_ATTRIBUTE, client.name);
        },
        async didEncounterErrors({ errors: encountered }) {
          errors += encountered.length;
        },
        async willSendResponse({ contextValue: context, operationName, request }) {
          if (!log.isLevelEnabled('debug')) return;
          log.debug(
            {
              request_id: context.requestId,
              ...clientLogFields(context.client),
              // The resolved name is a GraphQL name; a request that failed before resolving has only the one it sent.
              operation: (operationName ?? request.operationName ?? '(anonymous)').slice(0, 100),
              duration_ms: Math.round((performance.now() - started) * 10) / 10,
              errors,
            },
            'graphql operation',
          );
        },
      };
    },
  };
}
