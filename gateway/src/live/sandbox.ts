import type { ApolloServerPlugin, BaseContext } from '@apollo/server';

/** Where Sandbox's embeddable build is served from (the version Apollo Server's own landing page loads). */
const SANDBOX_SCRIPT = 'https://embeddable-sandbox.cdn.apollographql.com/_latest/embeddable-sandbox.umd.production.min.js';

/**
 * Apollo Sandbox on /graphql in development, set up to run subscriptions out
 * of the box: Sandbox runs them over GraphQL over WebSocket (graphql-ws, its
 * default implementation), and its subscription endpoint is this page's own
 * URL with the ws(s) scheme, which the gateway serves on the same /graphql
 * (live/ws.ts). Its headers reach the gateway as connection params
 * (`Authorization`), which the gateway reads as it reads `authorization`.
 * Apollo Server's default page cannot set the subscription endpoint, hence
 * this one; like it, it loads Sandbox from Apollo's CDN.
 */
export function sandboxLandingPage<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async serverWillStart() {
      return {
        async renderLandingPage() {
          return { html: SANDBOX_HTML };
        },
      };
    },
  };
}

export const SANDBOX_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<title>Suoke Life supergraph: Apollo Sandbox</title>
<style>html, body, #sandbox { margin: 0; height: 100vh; width: 100vw; } iframe { border: none; }</style>
</head>
<body>
<div id="sandbox"></div>
<script src="${SANDBOX_SCRIPT}"></script>
<script>
  var endpoint = window.location.href.split('#')[0].split('?')[0];
  new window.EmbeddedSandbox({
    target: '#sandbox',
    initialEndpoint: endpoint,
    // Subscriptions: graphql-ws (graphql-transport-ws) on the same /graphql.
    initialSubscriptionEndpoint: endpoint.replace(/^http/, 'ws'),
    endpointIsEditable: false,
    runTelemetry: false,
    initialState: { pollForSchemaUpdates: true },
  });
</script>
</body>
</html>
`;
