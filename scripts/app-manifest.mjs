// The app's trusted documents in Apollo's persisted query manifest form, naming their owner:
// GraphQL Codegen's client preset writes persisted-documents.json (sha256 → document), which
// has no place to say which client ships a document. This step of `npm run codegen` rewrites
// it as `clients/app/generated/persisted-query-manifest.json` with `clientName`, so that the
// gateway attributes a document sent without client-awareness headers to the app (issue 22).
// Both files describe the same documents; the gateway reads either.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kind, parse } from 'graphql';

/** The name the app sends as `apollographql-client-name` (Apollo Client's `clientAwareness.name`). */
export const APP_CLIENT_NAME = 'suoke-app';

/** Apollo's manifest of a GraphQL Codegen persisted-documents.json object, every document owned by `clientName`. */
export function apolloManifest(documents, clientName = APP_CLIENT_NAME) {
  const operations = Object.entries(documents)
    .map(([id, body]) => {
      const operation = parse(body, { noLocation: true }).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
      return { id: id.replace(/^sha256:/, ''), name: operation?.name?.value ?? '', type: operation?.operation ?? 'query', body };
    })
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return { format: 'apollo-persisted-query-manifest', version: 1, clientName, operations };
}

const generated = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'clients', 'app', 'generated');

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const documents = JSON.parse(readFileSync(path.join(generated, 'persisted-documents.json'), 'utf8'));
  const target = path.join(generated, 'persisted-query-manifest.json');
  // Renamed over the old one, as the gateway's watcher expects of a publisher.
  writeFileSync(`${target}.tmp`, `${JSON.stringify(apolloManifest(documents), null, 2)}\n`);
  renameSync(`${target}.tmp`, target);
}
