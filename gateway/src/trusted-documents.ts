import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { Kind, parse } from 'graphql';
import type { Logger } from '@suoke/platform';
import { cleanClientField } from './client-identity.js';
import { readStable } from './supergraph.js';

/**
 * The app's trusted documents: a manifest of sha256 → document built from its
 * operations (clients/app, `npm run codegen`). Accepted forms: GraphQL Codegen's
 * persisted-documents.json (`{ "sha256:<hex>": "<document>" }`, bare hex ids too)
 * and Apollo's persisted query manifest (`{ format: "apollo-persisted-query-manifest",
 * operations: [{ id, body }] }`).
 *
 * Which client owns each document (client awareness, issue 22): Apollo's form may
 * say it, with a top-level `clientName` (the default) and a per-operation
 * `clientName` (which wins). `npm run codegen` writes the app's manifest in that
 * form as well (scripts/app-manifest.mjs: persisted-query-manifest.json, owner
 * `suoke-app`); GraphQL Codegen's own form has no place for an owner, so its
 * documents have none.
 */
export interface TrustedManifest {
  /** Document by the hex sha256 of its text. */
  readonly byHash: ReadonlyMap<string, string>;
  /** Hex sha256 by document text: text requests are matched exactly, never normalised. */
  readonly byText: ReadonlyMap<string, string>;
  readonly operationNames: ReadonlySet<string>;
  /** The client owning each document that has one, by hex sha256. */
  readonly owners: ReadonlyMap<string, string>;
  /** Every owner the manifest names (metric labels strangers cannot choose). */
  readonly clientNames: ReadonlySet<string>;
  /** Content hash of the manifest file, for logs. */
  readonly version: string;
}

const ID = /^(?:sha256:)?([0-9a-f]{64})$/;

/** Every problem of a manifest at once; throws when there is any. */
export function parseManifest(text: string): TrustedManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`trusted documents manifest is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const entries = manifestEntries(json);
  const problems: string[] = [];
  const byHash = new Map<string, string>();
  const byText = new Map<string, string>();
  const operationNames = new Set<string>();
  const owners = new Map<string, string>();
  for (const { id, body, owner } of entries) {
    const shown = JSON.stringify(String(id).slice(0, 80));
    const hex = typeof id === 'string' ? ID.exec(id)?.[1] : undefined;
    if (!hex) {
      problems.push(`id ${shown} is not a sha256 hex digest (optionally prefixed "sha256:")`);
      continue;
    }
    if (typeof body !== 'string' || body.length === 0) {
      problems.push(`id ${shown}: the document must be a non-empty string`);
      continue;
    }
    // Read back exactly as a request header naming it would be: a name the gateway would clean differently could never match one.
    if (owner !== undefined && (typeof owner !== 'string' || cleanClientField(owner) !== owner)) {
      problems.push(`id ${shown}: clientName must be a non-empty string of at most 128 characters, without control characters or surrounding blanks`);
      continue;
    }
    if (sha256(body) !== hex) {
      problems.push(`id ${shown} is not the sha256 of its document (the document was changed after hashing)`);
      continue;
    }
    try {
      for (const definition of parse(body, { noLocation: true }).definitions) {
        if (definition.kind === Kind.OPERATION_DEFINITION && definition.name) operationNames.add(definition.name.value);
      }
    } catch (error) {
      problems.push(`id ${shown}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    byHash.set(hex, body);
    byText.set(body, hex);
    if (owner !== undefined) owners.set(hex, owner);
  }
  if (entries.length === 0) problems.push('the manifest holds no documents (in require mode it would refuse every operation)');
  if (problems.length > 0) {
    const listed = problems.slice(0, 10).map((p) => `  - ${p}`).join('\n');
    throw new Error(`invalid trusted documents manifest (${problems.length} problem(s)):\n${listed}`);
  }
  return { byHash, byText, operationNames, owners, clientNames: new Set(owners.values()), version: sha256(text) };
}

interface Entry {
  id: unknown;
  body: unknown;
  /** The owning client, when the manifest names one (undefined: none). */
  owner: unknown;
}

function manifestEntries(json: unknown): Entry[] {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error('trusted documents manifest must be a JSON object of id → document, or an Apollo persisted query manifest');
  }
  const record = json as Record<string, unknown>;
  if (record.format === 'apollo-persisted-query-manifest') {
    if (!Array.isArray(record.operations)) throw new Error('apollo-persisted-query-manifest: `operations` must be an array');
    const fallback = record.clientName;
    return record.operations.map((op: unknown) => {
      const { id, body, clientName } = (op ?? {}) as { id?: unknown; body?: unknown; clientName?: unknown };
      return { id, body, owner: clientName ?? fallback ?? undefined };
    });
  }
  return Object.entries(record).map(([id, body]) => ({ id, body, owner: undefined }));
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface TrustedDocumentsOptions {
  /** A file path (watched and polled) or an http(s) URL (polled). */
  source: string;
  log: Logger;
  pollMs: number;
  /** Called after every accepted or rejected new manifest (tests wait on it). */
  onUpdate?: (outcome: { accepted: boolean; version: string; error?: string }) => void;
}

/** The loaded manifest, replaced when its source changes; an invalid new one is logged and the old one kept. */
export class TrustedDocuments {
  private constructor(
    private manifest: TrustedManifest,
    private readonly stopWatching: () => Promise<void>,
  ) {}

  /** Reads the manifest (an invalid one fails the start), then follows its source. */
  static async load(options: TrustedDocumentsOptions): Promise<TrustedDocuments> {
    const remote = /^https?:\/\//i.test(options.source);
    const read = remote ? () => fetchManifest(options.source) : () => readStable(path.resolve(options.source));
    const first = await read();
    let lastSeen = sha256(first);
    let checking: Promise<void> = Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    let watcher: FSWatcher | undefined;

    const check = () => {
      checking = checking.then(async () => {
        let text: string;
        try {
          text = await read();
        } catch (error) {
          options.log.warn({ source: options.source, err: error }, 'trusted documents manifest unreadable; keeping the current one');
          return;
        }
        const seen = sha256(text);
        if (seen === lastSeen) return;
        // Remembered even when rejected, so that one bad publish is logged once, not at every poll.
        lastSeen = seen;
        try {
          const next = parseManifest(text);
          documents.manifest = next;
          options.log.info({ version: next.version.slice(0, 12), documents: next.byHash.size }, 'trusted documents manifest updated');
          options.onUpdate?.({ accepted: true, version: next.version });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          options.log.error({ version: seen.slice(0, 12), reason: message }, 'trusted documents manifest rejected; the previous one stays in force');
          options.onUpdate?.({ accepted: false, version: seen, error: message });
        }
      });
    };
    const debounced = () => {
      clearTimeout(timer);
      timer = setTimeout(check, 50);
    };
    const documents = new TrustedDocuments(parseManifest(first), async () => {
      watcher?.close();
      clearInterval(poll);
      clearTimeout(timer);
      await checking;
    });
    if (!remote) {
      const file = path.resolve(options.source);
      try {
        // The directory, as for the supergraph: a publisher renames a new file over the old one.
        watcher = watch(path.dirname(file), (_event, name) => {
          if (!name || name === path.basename(file) || name.startsWith('..')) debounced();
        });
      } catch (error) {
        options.log.warn({ err: error }, 'file watching unavailable; polling the trusted documents manifest only');
      }
    }
    const poll = setInterval(check, options.pollMs);
    poll.unref();
    latest = documents;
    options.log.info({ source: options.source, documents: documents.manifest.byHash.size }, 'trusted documents manifest loaded');
    return documents;
  }

  /** The document of an id: `sha256:<hex>` (GraphQL Codegen, Hive) or the bare hex (Apollo Client). */
  byId(id: string): string | undefined {
    const hex = ID.exec(id)?.[1];
    return hex === undefined ? undefined : this.manifest.byHash.get(hex);
  }

  /** Whether this exact text is a trusted document. */
  hasText(text: string): boolean {
    return this.manifest.byText.has(text);
  }

  operationNames(): ReadonlySet<string> {
    return this.manifest.operationNames;
  }

  /** The client owning a document, by its id (`sha256:<hex>` or bare hex); undefined for none or an unknown id. */
  ownerOf(id: string): string | undefined {
    const hex = ID.exec(id)?.[1];
    return hex === undefined ? undefined : this.manifest.owners.get(hex);
  }

  /** The client owning the trusted document with exactly this text (a request by id runs the manifest's text). */
  ownerOfText(text: string): string | undefined {
    const hex = this.manifest.byText.get(text);
    return hex === undefined ? undefined : this.manifest.owners.get(hex);
  }

  /** Every client owning a document of the current manifest. */
  clientNames(): ReadonlySet<string> {
    return this.manifest.clientNames;
  }

  /** Ids of the current manifest (`sha256:<hex>`). */
  documentIds(): string[] {
    return [...this.manifest.byHash.keys()].map((hex) => `sha256:${hex}`);
  }

  /** Id → document of the current manifest. */
  documents(): ReadonlyMap<string, string> {
    return this.manifest.byHash;
  }

  async close(): Promise<void> {
    await this.stopWatching();
    if (latest === this) latest = undefined;
  }
}

async function fetchManifest(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return response.text();
}

/** The manifest of the gateway most recently started in this process (one per process outside tests). */
let latest: TrustedDocuments | undefined;
const NONE: ReadonlySet<string> = new Set();

/**
 * Operation names of the current trusted documents manifest, empty without one:
 * a bounded set that only the app's release can grow (metric labels use it).
 */
export function trustedOperationNames(): ReadonlySet<string> {
  return latest?.operationNames() ?? NONE;
}

/**
 * The client owning a trusted document of the current manifest, by the document's sha256
 * (`sha256:<hex>` or bare hex); undefined without a manifest, for an unknown hash, or for a
 * document whose manifest names no owner.
 */
export function trustedDocumentOwner(hash: string): string | undefined {
  return latest?.ownerOf(hash);
}

/** Document ids (`sha256:<hex>`) of the current manifest, empty without one. */
export function trustedDocumentIds(): string[] {
  return latest?.documentIds() ?? [];
}
