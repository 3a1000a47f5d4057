import type { DocumentNode } from 'graphql';

/**
 * A cross-cutting concern a subgraph opts into (audit, rate limits, …). Each
 * feature lives in `platform/src/<feature>/` and exports one of these from its
 * index.ts; `defineSubgraph({ features })` assembles them.
 *
 * What a feature contributes, written once in its folder:
 * - `sdl`: an SDL fragment (types, directive definitions) appended to the
 *   subgraph's own SDL when the subgraph links `specUrl` with `@link`. The
 *   compose script, codegen and the runtime all append the same text, so the
 *   composed schema carries it unchanged.
 * - `migrations`: SQL files applied in the subgraph's own Postgres schema,
 *   after the subgraph's migrations, recorded under `<feature>/<file>`.
 */
export interface SubgraphFeature {
  /** The folder name under platform/src/, e.g. `audit`. */
  name: string;
  /** The `@link(url:)` that opts a subgraph's SDL into this feature's fragment. */
  specUrl?: string;
  /** The fragment appended to a linking subgraph's SDL. */
  sdl?: DocumentNode;
  /** SQL migrations for the subgraph's schema; `{{schema}}` in a file is replaced with the schema name. */
  migrations?: { dir: string };
}
