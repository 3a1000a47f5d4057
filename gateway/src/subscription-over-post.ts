import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';

/** The code of a subscription sent as a plain request/response POST (stable: clients branch on it). */
export const SUBSCRIPTION_TRANSPORT_REQUIRED = 'SUBSCRIPTION_TRANSPORT_REQUIRED';

/**
 * The supergraph has a Subscription type (served by the subgraphs over
 * graphql-sse), but Apollo Gateway's executor throws "Execution of
 * subscriptions not supported by gateway" on a subscription's plan, which the
 * client would see as a masked INTERNAL_SERVER_ERROR. Until the gateway serves
 * the streaming transports, a subscription over POST is refused here, before
 * planning, with HTTP 400 and a code. (Placeholder: the gateway's live path replaces this file.)
 */
export function refuseSubscriptionsOverPost<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== 'subscription') return;
          throw new GraphQLError('Subscriptions need a streaming transport: connect over WebSocket with graphql-ws (the graphql-transport-ws protocol)', {
            extensions: { code: SUBSCRIPTION_TRANSPORT_REQUIRED, http: { status: 400 } },
          });
        },
      };
    },
  };
}
