/** The bounds on label values: clients choose operation and client names, so only known ones become labels. */

/** Names fed by `setKnownOperationNames` beyond this are ignored: a manifest that large is a mistake, not a label set. */
export const MAX_KNOWN_OPERATION_NAMES = 5_000;
/** Client names fed by `setKnownClientNames` (config plus the manifest's owners) beyond this are ignored. */
export const MAX_KNOWN_CLIENT_NAMES = 200;
/**
 * Versions of one known client kept as labels, the first seen by this process: a client's name is
 * public, so anyone can send it with made-up versions, and each one would multiply the series. A few
 * releases live at once (current, previous, the stragglers that never update); 20 covers them, and
 * later versions are `(other)` until the process restarts. The usage store keeps every version.
 */
export const MAX_VERSIONS_PER_CLIENT = 20;
/** What a version must look like to be a label at all (semver, build numbers, `2026.12.1-rc.1+42`). */
export const VERSION_LABEL = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,39}$/;
/** The client of an operation as the gateway resolved it (client-identity.ts): values as sent, capped. */
export interface OperationClient {
  name: string;
  version: string;
}
/** The `client` label of a request that named no client (and of its version). */
export const CLIENT_UNKNOWN_LABEL = '(unknown)';
/** The `client` label of a name that is not a known client (and the version label of any unknown version). */
export const CLIENT_OTHER_LABEL = '(other)';
/** The Apollo query planner names a subgraph fetch `<operation>__<subgraph>__<n>`. */
export const PLANNER_FETCH_NAME = /^(.+)__[A-Za-z0-9_]+?__\d+$/;

/** The first `max` names that are non-empty strings of at most `maxLength` characters. */
export function boundedNames(names: Iterable<string>, max: number, maxLength: number): Set<string> {
  const known = new Set<string>();
  for (const name of names) {
    if (known.size >= max) break;
    if (typeof name === 'string' && name !== '' && name.length <= maxLength) known.add(name);
  }
  return known;
}
