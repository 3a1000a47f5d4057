// Field usage (issue 22): recording in the gateway, the store, and what `npm run usage` and
// `npm run schema:check -- --usage` read. Only this file is imported from outside the folder.
import { Supergraph } from '@apollo/federation-internals';
import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isSpecifiedScalarType,
  type GraphQLSchema,
} from 'graphql';
import { loadUsageConfig, storeUrl, type UsageConfig } from './config.js';
import { readerFile, runningReader } from './serve.js';
import { UsageStore, type SubgraphEntry, type UsageEntry, type UsageReader, type Window } from './store.js';

export { usageEnv, usageProblems, loadUsageConfig, type UsageConfig } from './config.js';
export { createUsageRecording, type UsageRecording } from './recording.js';
export { operationUsage, variableCoordinates, type OperationUsage } from './extract.js';
export { UsageRecorder, mergeBatches, capClientValue, OVERFLOW, UNKNOWN, type Batch, type UsageRow, type SubgraphRow } from './recorder.js';
export { UsageStore, type UsageEntry, type SubgraphEntry, type UsageReader, type Window } from './store.js';
export { planCoordinates, planSubgraphs } from './plan.js';

/** The shared contract's export (`npm run usage -- --export`), read by `schema:check --usage`. */
export interface UsageExport {
  format: 'suoke-usage';
  version: 1;
  exportedAt: string;
  from: string;
  to: string;
  coordinates: Record<string, { client: string; version: string; operation: string; signature: string; count: number; firstSeen: string; lastSeen: string }[]>;
}

const DAY_MS = 86_400_000;

export function windowOf(days: number, now = new Date()): Window {
  if (!(days > 0)) throw new Error(`days must be a positive number (received ${days})`);
  return { from: new Date(now.getTime() - days * DAY_MS), to: now };
}

/**
 * The usage store as the gateway configured by `env` sees it: PostgreSQL by USAGE_DATABASE_URL or
 * DATABASE_URL, else the embedded folder, read through the running gateway when one holds it.
 */
export async function openUsageReader(config: UsageConfig): Promise<UsageReader> {
  if (!storeUrl(config)) {
    const running = runningReader(readerFile(config));
    if (running) return running;
  }
  return UsageStore.open(config);
}

/** Whether a running gateway holds the embedded store (nothing else may open its folder then). */
export function embeddedStoreInUse(config: UsageConfig): boolean {
  return !storeUrl(config) && runningReader(readerFile(config)) !== undefined;
}

/** Builds the export from a reader's rows for the window. */
export async function usageExport(reader: UsageReader, window: Window, now = new Date()): Promise<UsageExport> {
  const coordinates: UsageExport['coordinates'] = {};
  for (const { coordinate, ...entry } of await reader.entries(window)) (coordinates[coordinate] ??= []).push(entry);
  return { format: 'suoke-usage', version: 1, exportedAt: now.toISOString(), from: window.from.toISOString(), to: window.to.toISOString(), coordinates };
}

/** Opens the store by the gateway's settings, reads the window of `days` up to `now`, closes, and returns the export. */
export async function exportUsage(options: { days: number; env?: NodeJS.ProcessEnv; now?: Date }): Promise<UsageExport> {
  const now = options.now ?? new Date();
  const reader = await openUsageReader(loadUsageConfig(options.env ?? process.env));
  try {
    return await usageExport(reader, windowOf(options.days, now), now);
  } finally {
    await reader.close();
  }
}

/** Who used one coordinate in the window, and which subgraphs served it. */
export async function fieldUsage(reader: UsageReader, coordinate: string, window: Window): Promise<{ entries: Omit<UsageEntry, 'coordinate'>[]; subgraphs: Omit<SubgraphEntry, 'coordinate'>[] }> {
  const [entries, subgraphs] = await Promise.all([reader.entries(window, coordinate), reader.subgraphs(window, coordinate)]);
  return { entries: entries.map(({ coordinate: _, ...e }) => e), subgraphs: subgraphs.map(({ coordinate: _, ...s }) => s) };
}

/** The API schema's coordinates (what clients can use): types, fields, arguments, enum values, input fields. */
export function apiCoordinates(supergraphSdl: string): string[] {
  // `supportedFeatures: null`: which directives a gateway enforces does not change what the API is (as scripts/schema-check.mjs reads it).
  return schemaCoordinates(Supergraph.build(supergraphSdl, { supportedFeatures: null }).apiSchema().toGraphQLJSSchema());
}

export function schemaCoordinates(schema: GraphQLSchema): string[] {
  const out: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || isSpecifiedScalarType(type)) continue;
    out.push(type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        out.push(`${type.name}.${field.name}`);
        for (const arg of field.args) out.push(`${type.name}.${field.name}(${arg.name}:)`);
      }
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) out.push(`${type.name}.${value.name}`);
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) out.push(`${type.name}.${field.name}`);
    }
  }
  return out.sort();
}

/** The API's coordinates nobody used in the window. */
export async function unusedCoordinates(reader: UsageReader, supergraphSdl: string, window: Window): Promise<string[]> {
  const used = new Set((await reader.entries(window)).map((e) => e.coordinate));
  return apiCoordinates(supergraphSdl).filter((c) => !used.has(c));
}
