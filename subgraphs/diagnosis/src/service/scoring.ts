import { badInput } from '@suoke/platform';
import { BIASED_CONSTITUTIONS, CONSTITUTION_CODES, constitutionRank, type ConstitutionCode } from './constitutions.js';

/**
 * 问 Inquiry: scoring of the constitution questionnaire, after the standard
 * method of TCM constitution classification. Pure functions, no I/O; every
 * number that decides a result is a named constant here.
 *
 * 1. Each question belongs to one constitution and is answered 1–5
 *    (1 never, 2 rarely, 3 sometimes, 4 often, 5 always). A reverse-scored
 *    question counts 6 − value (it describes health, so "always" lowers the score).
 * 2. Raw score of a constitution = sum of its n item scores (n..5n).
 * 3. Converted score = (raw − n) / (4n) × 100, from 0 to 100.
 * 4. Determination:
 *    - BALANCED is YES when its score ≥ 60 and every other score < 30;
 *      BASICALLY_YES when its score ≥ 60 and every other score < 40; otherwise NO.
 *    - Any other constitution is YES at ≥ 40, TENDENCY at ≥ 30 (30–39.99…), NO below 30.
 * 5. Primary and secondary constitutions: see `primaryAndSecondary`.
 */

export const ANSWER_MIN = 1;
export const ANSWER_MAX = 5;

export const THRESHOLDS = {
  /** BALANCED needs at least this score to be YES or BASICALLY_YES. */
  balanced: 60,
  /** …and every other constitution below this for YES… */
  balancedYesOthersBelow: 30,
  /** …or below this for BASICALLY_YES. */
  balancedBasicallyOthersBelow: 40,
  /** A biased constitution is YES from this score… */
  yes: 40,
  /** …and TENDENCY from this one. */
  tendency: 30,
} as const;

export type Determination = 'YES' | 'BASICALLY_YES' | 'TENDENCY' | 'NO';

export interface QuestionSpec {
  id: string;
  constitution: ConstitutionCode;
  reverseScored: boolean;
}

export interface AnswerInput {
  questionId: string;
  value: number;
}

export interface ConstitutionScore {
  constitution: ConstitutionCode;
  /** Sum of item scores (reverse-scored items already inverted). */
  rawScore: number;
  questionCount: number;
  /** Converted score 0–100, unrounded. */
  score: number;
  determination: Determination;
}

export interface InquiryOutcome {
  /** One per constitution, in canonical order. */
  scores: ConstitutionScore[];
  primary: ConstitutionCode;
  secondary: ConstitutionCode[];
}

/** The points one answer contributes. */
export function itemScore(value: number, reverseScored: boolean): number {
  return reverseScored ? ANSWER_MAX + ANSWER_MIN - value : value;
}

/** (raw − n) / (4n) × 100. */
export function convertedScore(raw: number, questionCount: number): number {
  if (questionCount < 1) throw new Error(`convertedScore: a constitution needs at least one question; received ${questionCount}`);
  return ((raw - questionCount) / (4 * questionCount)) * 100;
}

/** Determination of a biased (non-BALANCED) constitution from its own score. */
export function determineBiased(score: number): Determination {
  if (score >= THRESHOLDS.yes) return 'YES';
  if (score >= THRESHOLDS.tendency) return 'TENDENCY';
  return 'NO';
}

/** Determination of BALANCED from its score and the scores of the eight others. */
export function determineBalanced(balancedScore: number, otherScores: readonly number[]): Determination {
  if (balancedScore < THRESHOLDS.balanced) return 'NO';
  const highest = Math.max(-Infinity, ...otherScores);
  if (highest < THRESHOLDS.balancedYesOthersBelow) return 'YES';
  if (highest < THRESHOLDS.balancedBasicallyOthersBelow) return 'BASICALLY_YES';
  return 'NO';
}

/** Determinations for a full set of nine scores. */
export function determineAll(scores: Readonly<Record<ConstitutionCode, number>>): Record<ConstitutionCode, Determination> {
  const others = BIASED_CONSTITUTIONS.map((c) => scores[c]);
  const result = { BALANCED: determineBalanced(scores.BALANCED, others) } as Record<ConstitutionCode, Determination>;
  for (const code of BIASED_CONSTITUTIONS) result[code] = determineBiased(scores[code]);
  return result;
}

/**
 * Chooses the constitution a person is described by:
 * - BALANCED when it is YES or BASICALLY_YES; biased TENDENCY types are secondary
 *   (e.g. "balanced with a qi-deficient tendency");
 * - otherwise the highest-scoring biased YES type, the other YES and TENDENCY
 *   types secondary (highest score first);
 * - with no YES, the highest-scoring TENDENCY type, the other TENDENCY types secondary;
 * - with no biased type reaching TENDENCY, BALANCED (nothing points away from it),
 *   with no secondary.
 * Ties go to the canonical order of constitutions.
 */
export function primaryAndSecondary(
  scores: ReadonlyArray<Pick<ConstitutionScore, 'constitution' | 'score' | 'determination'>>,
): { primary: ConstitutionCode; secondary: ConstitutionCode[] } {
  const byScore = [...scores]
    .filter((s) => s.constitution !== 'BALANCED')
    .sort((a, b) => b.score - a.score || constitutionRank(a.constitution) - constitutionRank(b.constitution));
  const yes = byScore.filter((s) => s.determination === 'YES').map((s) => s.constitution);
  const tendency = byScore.filter((s) => s.determination === 'TENDENCY').map((s) => s.constitution);
  const balanced = scores.find((s) => s.constitution === 'BALANCED');
  if (balanced && (balanced.determination === 'YES' || balanced.determination === 'BASICALLY_YES')) {
    return { primary: 'BALANCED', secondary: tendency };
  }
  const [firstYes, ...otherYes] = yes;
  if (firstYes) return { primary: firstYes, secondary: byScore.map((s) => s.constitution).filter((c) => otherYes.includes(c) || tendency.includes(c)) };
  const [firstTendency, ...otherTendency] = tendency;
  if (firstTendency) return { primary: firstTendency, secondary: otherTendency };
  return { primary: 'BALANCED', secondary: [] };
}

/** How many problems one error message lists before summarising the rest. */
const LISTED_PROBLEMS = 5;

/**
 * Checks that every question is answered exactly once with an integer 1–5 and
 * that no answer names an unknown question. All problems are collected; the
 * error's `field` is the first bad input path (e.g. `input.answers[3].value`)
 * and its message names the question ids.
 */
export function validateAnswers(questions: readonly QuestionSpec[], answers: readonly AnswerInput[]): Map<string, number> {
  const known = new Set(questions.map((q) => q.id));
  const values = new Map<string, number>();
  const problems: Array<{ field: string; message: string }> = [];
  answers.forEach((answer, index) => {
    const path = `input.answers[${index}]`;
    if (!known.has(answer.questionId)) {
      problems.push({ field: `${path}.questionId`, message: `${path}: no question has id ${JSON.stringify(answer.questionId)}` });
    } else if (values.has(answer.questionId)) {
      problems.push({ field: `${path}.questionId`, message: `${path}: question ${answer.questionId} is answered more than once` });
    } else if (!Number.isInteger(answer.value) || answer.value < ANSWER_MIN || answer.value > ANSWER_MAX) {
      problems.push({
        field: `${path}.value`,
        message: `${path}: the answer to question ${answer.questionId} must be an integer from ${ANSWER_MIN} to ${ANSWER_MAX}; received ${answer.value}`,
      });
    } else {
      values.set(answer.questionId, answer.value);
    }
  });
  const missing = questions.filter((q) => !values.has(q.id) && !answers.some((a) => a.questionId === q.id)).map((q) => q.id);
  if (missing.length > 0) {
    const shown = missing.slice(0, 10).join(', ') + (missing.length > 10 ? ` and ${missing.length - 10} more` : '');
    problems.push({ field: 'input.answers', message: `every question must be answered; missing ${missing.length}: ${shown}` });
  }
  const [first] = problems;
  if (first) {
    const listed = problems.slice(0, LISTED_PROBLEMS).map((p) => p.message);
    const more = problems.length > LISTED_PROBLEMS ? `; and ${problems.length - LISTED_PROBLEMS} more` : '';
    throw badInput(`${listed.join('; ')}${more}`, first.field);
  }
  return values;
}

/** Validates the answers, then scores every constitution and picks primary and secondary. */
export function scoreInquiry(questions: readonly QuestionSpec[], answers: readonly AnswerInput[]): InquiryOutcome {
  const values = validateAnswers(questions, answers);
  const raw = new Map<ConstitutionCode, { sum: number; n: number }>();
  for (const question of questions) {
    const entry = raw.get(question.constitution) ?? { sum: 0, n: 0 };
    entry.sum += itemScore(values.get(question.id)!, question.reverseScored);
    entry.n += 1;
    raw.set(question.constitution, entry);
  }
  const missing = CONSTITUTION_CODES.filter((c) => !raw.has(c));
  if (missing.length > 0) throw new Error(`the questionnaire has no questions for ${missing.join(', ')}`);
  const converted = Object.fromEntries(
    CONSTITUTION_CODES.map((c) => [c, convertedScore(raw.get(c)!.sum, raw.get(c)!.n)]),
  ) as Record<ConstitutionCode, number>;
  const determinations = determineAll(converted);
  const scores = CONSTITUTION_CODES.map((constitution) => ({
    constitution,
    rawScore: raw.get(constitution)!.sum,
    questionCount: raw.get(constitution)!.n,
    score: converted[constitution],
    determination: determinations[constitution],
  }));
  return { scores, ...primaryAndSecondary(scores) };
}
