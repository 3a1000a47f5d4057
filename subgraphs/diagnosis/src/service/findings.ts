import type { ConstitutionCode } from './constitutions.js';
import type { SyndromeCode } from './syndromes.js';

/** The four diagnostic methods (四诊). */
export const METHODS = ['INQUIRY', 'INSPECTION', 'LISTENING', 'PALPATION'] as const;
export type Method = (typeof METHODS)[number];

/**
 * One observation and what it points to. Stored as JSON with the method's
 * result and copied into the report; `code` is stable (e.g. `TONGUE_PALE`),
 * the descriptions are for people.
 */
export interface Finding {
  method: Method;
  code: string;
  description: string;
  descriptionEn: string;
  constitutions: ConstitutionCode[];
  syndromes: SyndromeCode[];
}

/** A rule's conclusion before the method is attached. */
export type Sign = Omit<Finding, 'method'>;

export function withMethod(method: Method, signs: readonly Sign[]): Finding[] {
  return signs.map((sign) => ({ method, ...sign }));
}

/** True when the finding describes a normal state (it points to BALANCED only). */
export function isNormalFinding(finding: Pick<Finding, 'constitutions'>): boolean {
  return finding.constitutions.length === 1 && finding.constitutions[0] === 'BALANCED';
}
