import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';

/** The code of a subscription sent as a plain request/response POST (stable: clients branch on it). */
export const SUBSCRIPTION_TRANSPORT_REQUIRED = 'SUBSCRIPTION_TRANSPORT_REQUIRED';

/** What the refusal names: the three ways to run a subscription on /graphql. */
export const SUBSCRIPTION_TRANSPORTS_MESSAGE =
  'Subscriptions need a streaming transport on /graphql: GraphQL over WebSocket (graphql-ws, the graphql-transport-ws protocol), ' +
  'an HTTP POST with accept: multipart/mixed;subscriptionSpec=1.0 (Apollo multipart subscriptions), ' +
  'or an HTTP POST with accept: text/event-stream (graphql-sse, distinct connections mode)';

/**
 * The live path (live/http.ts) takes a subscription POSTed with a multipart
 * or SSE accept header before Apollo Server sees it. What reaches Apollo is a
 * subscription asking for neither, or sent with GET: Apollo Gateway's
 * executor would throw "Execution of subscriptions not supported by gateway"
 * (a masked INTERNAL_SERVER_ERROR), so it is refused here, before planning,
 * with HTTP 400, a code, and the transports that do serve it.
 */
export function refuseSubscriptionsOverPost<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== 'subscription') return;
          throw new GraphQLError(SUBSCRIPTION_TRANSPORTS_MESSAGE, {
            extensions: { code: SUBSCRIPTION_TRANSPORT_REQUIRED, http: { status: 400 } },
          });
        },
      };
    },
  };
}
