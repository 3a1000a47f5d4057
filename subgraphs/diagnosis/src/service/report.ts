import { badInput } from '@suoke/platform';
import type { MethodResults } from '../db/schema.js';
import type { Method } from './findings.js';
import { synthesize, type ReportContent } from './synthesis.js';

/**
 * The report of a consultation from its stored method results: the one path
 * from results to `synthesize`, shared by `completeConsultation` and the seed.
 * The inquiry is required (BAD_USER_INPUT naming the consultation otherwise).
 */
export function reportFromResults(results: MethodResults, consultationId: string): ReportContent {
  const inquiry = results.INQUIRY;
  if (!inquiry) {
    throw badInput(`Consultation ${consultationId} cannot be completed before its inquiry: submit the questionnaire with submitInquiry first`, 'id');
  }
  const methods = (Object.keys(results) as Method[]).filter((m) => results[m] !== undefined);
  return synthesize({
    inquiry: inquiry.scores,
    findings: [...(results.INSPECTION?.findings ?? []), ...(results.LISTENING?.findings ?? []), ...(results.PALPATION?.findings ?? [])],
    methods,
    pulse: results.PALPATION ? { rhythm: results.PALPATION.rhythm, rateCategory: results.PALPATION.rateCategory } : undefined,
  });
}
