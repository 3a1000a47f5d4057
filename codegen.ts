import type { CodegenConfig } from '@graphql-codegen/cli';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { printSchema } from 'graphql';
import { apiSchemaOf } from './scripts/schema-check.mjs';
import { linkedFragmentFiles } from './scripts/supergraph-config.mjs';

/**
 * Resolver types are generated from each subgraph's SDL (never written by hand)
 * into src/generated/, which is not committed; `npm run build` runs this first.
 */
const subgraphs = readdirSync('subgraphs', { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

const schemaFile = (name: string) => `subgraphs/${name}/src/schema.graphql`;

/** A subgraph maps GraphQL types to its row types in `codegen.mappers.json` (paths relative to src/generated/). */
function mappersOf(name: string): Record<string, string> {
  const file = `subgraphs/${name}/codegen.mappers.json`;
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
}

/**
 * The app's operations (clients/app/operations) are checked against the API schema clients see,
 * typed, and extracted into persisted-documents.json (sha256 → document): the manifest of trusted
 * documents that the gateway serves with TRUSTED_DOCUMENTS (README, "Trusted documents").
 */
const appClient: CodegenConfig['generates'] = {
  'clients/app/generated/': {
    schema: printSchema(apiSchemaOf(readFileSync('schema/supergraph.graphql', 'utf8'))),
    documents: ['clients/app/operations/**/*.graphql'],
    preset: 'client',
    presetConfig: { persistedDocuments: { mode: 'embedHashInDocument', hashAlgorithm: 'sha256' }, fragmentMasking: false },
    config: { scalars: { DateTime: 'string' }, enumsAsTypes: true, useTypeImports: true },
  },
};

const config: CodegenConfig = {
  overwrite: true,
  silent: true,
  generates: {
    ...appClient,
    ...Object.fromEntries(
    subgraphs.map((name) => [
      `subgraphs/${name}/src/generated/resolvers.ts`,
      {
        schema: [schemaFile(name), 'platform/federation-directives.graphql', ...linkedFragmentFiles(readFileSync(schemaFile(name), 'utf8'))],
        plugins: ['typescript', 'typescript-resolvers'],
        config: {
          federation: true,
          useIndexSignature: true,
          contextType: '../context.js#Context',
          scalars: { DateTime: 'Date | string' },
          mappers: mappersOf(name),
          enumsAsTypes: true,
          useTypeImports: true,
          emitLegacyCommonJSImports: false,
        },
      },
    ]),
    ),
  },
};

export default config;
