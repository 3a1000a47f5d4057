import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CONSTITUTION_CODES, type ConstitutionCode } from '../src/service/constitutions.js';
import {
  convertedScore,
  determineAll,
  determineBalanced,
  determineBiased,
  itemScore,
  primaryAndSecondary,
  scoreInquiry,
  validateAnswers,
  type QuestionSpec,
} from '../src/service/scoring.js';

/** A questionnaire like the real one: BALANCED 8 (items 2–5 and 7 reverse-scored), DAMP_HEAT 6, the others 7. */
const questions: QuestionSpec[] = CONSTITUTION_CODES.flatMap((constitution) => {
  const n = constitution === 'BALANCED' ? 8 : constitution === 'DAMP_HEAT' ? 6 : 7;
  return Array.from({ length: n }, (_, i) => ({
    id: `${constitution}_${i + 1}`,
    constitution,
    reverseScored: constitution === 'BALANCED' && [2, 3, 4, 5, 7].includes(i + 1),
  }));
});

/** Every question answered `fallback`, except the given per-question values. */
function answers(values: Record<string, number> = {}, fallback = 1) {
  return questions.map((q) => ({ questionId: q.id, value: values[q.id] ?? fallback }));
}

function all(code: ConstitutionCode, value: number): Record<string, number> {
  return Object.fromEntries(questions.filter((q) => q.constitution === code).map((q) => [q.id, value]));
}

function thrown(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (error) {
    return error as GraphQLError;
  }
  throw new Error('expected an error');
}

const scores = (overrides: Partial<Record<ConstitutionCode, number>>) =>
  ({ ...Object.fromEntries(CONSTITUTION_CODES.map((c) => [c, 0])), ...overrides }) as Record<ConstitutionCode, number>;

describe('item and converted scores', () => {
  it('counts a reverse-scored answer as 6 − value', () => {
    expect([1, 2, 3, 4, 5].map((v) => itemScore(v, false))).toEqual([1, 2, 3, 4, 5]);
    expect([1, 2, 3, 4, 5].map((v) => itemScore(v, true))).toEqual([5, 4, 3, 2, 1]);
  });

  it('converts (raw − n) / (4n) × 100: 0 for all "never", 100 for all "always"', () => {
    expect(convertedScore(8, 8)).toBe(0);
    expect(convertedScore(40, 8)).toBe(100);
    expect(convertedScore(24, 8)).toBe(50);
    expect(convertedScore(16, 6)).toBeCloseTo(41.6667, 4);
    expect(convertedScore(18, 7)).toBeCloseTo(39.2857, 4);
    expect(() => convertedScore(0, 0)).toThrow(/at least one question/);
  });
});

describe('determination', () => {
  it('biased types: YES from 40, TENDENCY from 30 to under 40, NO below 30', () => {
    expect(determineBiased(100)).toBe('YES');
    expect(determineBiased(40)).toBe('YES');
    expect(determineBiased(39.99)).toBe('TENDENCY');
    expect(determineBiased(30)).toBe('TENDENCY');
    expect(determineBiased(29.99)).toBe('NO');
    expect(determineBiased(0)).toBe('NO');
  });

  it('balanced: YES at ≥ 60 with every other < 30', () => {
    expect(determineBalanced(60, [29.99, 0, 10])).toBe('YES');
    expect(determineBalanced(100, [])).toBe('YES');
  });

  it('balanced: BASICALLY_YES at ≥ 60 with every other < 40 but one at 30 or more', () => {
    expect(determineBalanced(60, [30, 0])).toBe('BASICALLY_YES');
    expect(determineBalanced(75, [39.99, 12])).toBe('BASICALLY_YES');
  });

  it('balanced: NO below 60, or when another reaches 40', () => {
    expect(determineBalanced(59.99, [0, 0])).toBe('NO');
    expect(determineBalanced(60, [40])).toBe('NO');
    expect(determineBalanced(100, [0, 55])).toBe('NO');
  });

  it('determines all nine together', () => {
    expect(determineAll(scores({ BALANCED: 62.5, QI_DEFICIENT: 35, DAMP_HEAT: 29.99 }))).toEqual({
      BALANCED: 'BASICALLY_YES',
      QI_DEFICIENT: 'TENDENCY',
      YANG_DEFICIENT: 'NO',
      YIN_DEFICIENT: 'NO',
      PHLEGM_DAMP: 'NO',
      DAMP_HEAT: 'NO',
      BLOOD_STASIS: 'NO',
      QI_STAGNATION: 'NO',
      INHERITED_SPECIAL: 'NO',
    });
  });
});

describe('primary and secondary constitutions', () => {
  const withDeterminations = (values: Partial<Record<ConstitutionCode, number>>) => {
    const s = scores(values);
    const d = determineAll(s);
    return CONSTITUTION_CODES.map((constitution) => ({ constitution, score: s[constitution], determination: d[constitution] }));
  };

  it('is BALANCED with its tendencies when balanced is YES or BASICALLY_YES', () => {
    expect(primaryAndSecondary(withDeterminations({ BALANCED: 70 }))).toEqual({ primary: 'BALANCED', secondary: [] });
    expect(primaryAndSecondary(withDeterminations({ BALANCED: 70, YIN_DEFICIENT: 32, QI_DEFICIENT: 36 }))).toEqual({
      primary: 'BALANCED',
      secondary: ['QI_DEFICIENT', 'YIN_DEFICIENT'],
    });
  });

  it('is the highest YES type otherwise, the other YES and TENDENCY types secondary by score', () => {
    expect(primaryAndSecondary(withDeterminations({ BALANCED: 70, DAMP_HEAT: 45, PHLEGM_DAMP: 60, QI_STAGNATION: 31 }))).toEqual({
      primary: 'PHLEGM_DAMP',
      secondary: ['DAMP_HEAT', 'QI_STAGNATION'],
    });
  });

  it('is the highest TENDENCY type when none is YES, and BALANCED when nothing reaches TENDENCY', () => {
    expect(primaryAndSecondary(withDeterminations({ BALANCED: 40, BLOOD_STASIS: 33, YANG_DEFICIENT: 38 }))).toEqual({
      primary: 'YANG_DEFICIENT',
      secondary: ['BLOOD_STASIS'],
    });
    expect(primaryAndSecondary(withDeterminations({ BALANCED: 40, BLOOD_STASIS: 20 }))).toEqual({ primary: 'BALANCED', secondary: [] });
  });

  it('breaks ties by the canonical order', () => {
    expect(primaryAndSecondary(withDeterminations({ INHERITED_SPECIAL: 50, QI_DEFICIENT: 50 })).primary).toBe('QI_DEFICIENT');
  });
});

describe('scoreInquiry', () => {
  it('scores every constitution from the answers, inverting reverse-scored items', () => {
    // Balanced: forward items "always" (5), reverse items "never" (1 → 5): raw 40, score 100.
    const balanced = { ...all('BALANCED', 1), BALANCED_1: 5, BALANCED_6: 5, BALANCED_8: 5 };
    const outcome = scoreInquiry(questions, answers(balanced));
    expect(outcome.scores[0]).toEqual({ constitution: 'BALANCED', rawScore: 40, questionCount: 8, score: 100, determination: 'YES' });
    expect(outcome.scores.slice(1).every((s) => s.score === 0 && s.determination === 'NO')).toBe(true);
    expect(outcome).toMatchObject({ primary: 'BALANCED', secondary: [] });
  });

  it('puts the boundaries where the rules say, through real answers', () => {
    // DAMP_HEAT (n = 6): raw 16 → 41.67 YES. QI_DEFICIENT (n = 7): raw 18 → 39.29 TENDENCY; raw 15 → 28.57 NO.
    const values = { ...all('DAMP_HEAT', 3), DAMP_HEAT_1: 2, DAMP_HEAT_2: 2, ...all('QI_DEFICIENT', 3), QI_DEFICIENT_1: 1, QI_DEFICIENT_2: 2, ...all('YIN_DEFICIENT', 2), YIN_DEFICIENT_1: 3 };
    const outcome = scoreInquiry(questions, answers(values));
    const byCode = Object.fromEntries(outcome.scores.map((s) => [s.constitution, s]));
    expect(byCode.DAMP_HEAT).toMatchObject({ rawScore: 16, determination: 'YES' });
    expect(byCode.DAMP_HEAT!.score).toBeCloseTo(41.67, 2);
    expect(byCode.QI_DEFICIENT).toMatchObject({ rawScore: 18, determination: 'TENDENCY' });
    expect(byCode.QI_DEFICIENT!.score).toBeCloseTo(39.29, 2);
    expect(byCode.YIN_DEFICIENT).toMatchObject({ rawScore: 15, determination: 'NO' });
    // Balanced answered "never" throughout: forward 3 × 1 + reverse 5 × 5 = 28 → 62.5, but DAMP_HEAT ≥ 40 makes it NO.
    expect(byCode.BALANCED).toMatchObject({ rawScore: 28, score: 62.5, determination: 'NO' });
    expect(outcome).toMatchObject({ primary: 'DAMP_HEAT', secondary: ['QI_DEFICIENT'] });
  });

  it('refuses an out-of-range answer naming the question and its input path', () => {
    const given = answers();
    given[3] = { questionId: 'BALANCED_4', value: 6 };
    const error = thrown(() => scoreInquiry(questions, given));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.answers[3].value' });
    expect(error.message).toContain('question BALANCED_4 must be an integer from 1 to 5; received 6');
    given[3] = { questionId: 'BALANCED_4', value: 0 };
    expect(thrown(() => validateAnswers(questions, given)).extensions).toMatchObject({ field: 'input.answers[3].value' });
    given[3] = { questionId: 'BALANCED_4', value: 2.5 };
    expect(thrown(() => validateAnswers(questions, given)).message).toContain('received 2.5');
  });

  it('refuses missing answers, naming the questions', () => {
    const given = answers().filter((a) => a.questionId !== 'QI_STAGNATION_7' && a.questionId !== 'BALANCED_2');
    const error = thrown(() => scoreInquiry(questions, given));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.answers' });
    expect(error.message).toContain('missing 2: BALANCED_2, QI_STAGNATION_7');
  });

  it('refuses unknown and repeated questions', () => {
    const unknown = [...answers(), { questionId: 'NOPE_1', value: 3 }];
    expect(thrown(() => validateAnswers(questions, unknown))).toMatchObject({
      extensions: { field: `input.answers[${questions.length}].questionId` },
      message: expect.stringContaining('no question has id "NOPE_1"'),
    });
    const repeated = [...answers(), { questionId: 'BALANCED_1', value: 3 }];
    expect(thrown(() => validateAnswers(questions, repeated)).message).toContain('question BALANCED_1 is answered more than once');
  });

  it('lists several problems in one error, the first one as the field', () => {
    const given = answers();
    given[1] = { questionId: given[1]!.questionId, value: 9 };
    given[5] = { questionId: given[5]!.questionId, value: -1 };
    const error = thrown(() => validateAnswers(questions, given));
    expect(error.extensions?.field).toBe('input.answers[1].value');
    expect(error.message).toMatch(/answers\[1\].*received 9; .*answers\[5\].*received -1/);
  });
});
