import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testToken } from '@suoke/platform/testing';
import { startStack, type Stack } from './harness.js';

// Grounded answers (issue 20): the hand-written evaluation set asked through the gateway, each question a
// sendMessage to the agent it names on the default (offline) provider, whose knowledge search goes back through
// the gateway to the real knowledge subgraph. The reply's citations are what the answer cites; recall@k counts
// the entries a good answer must cite among its first k citations (bench/scenarios/retrieval.mjs prints the same
// per language, recorded in bench/RESULTS.md).

interface EvalQuestion {
  language: 'zh' | 'pinyin' | 'en';
  agentId: string;
  text: string;
  cite: string[];
}

const { questions } = JSON.parse(readFileSync(new URL('../subgraphs/agent/test/eval/questions.json', import.meta.url), 'utf8')) as { questions: EvalQuestion[] };

const SEND = `mutation($input: SendMessageInput!) {
  sendMessage(input: $input) {
    reply { text provider degraded }
    citations { __typename ... on Constitution { code } ... on Herb { id } ... on Acupoint { code } ... on Syndrome { code } ... on Article { id } }
  }
}`;

/** A citation as KIND:key, the form of the evaluation set. */
const keyOf = (c: { __typename: string; code?: string; id?: string }) => `${c.__typename.toUpperCase()}:${c.code ?? c.id}`;

/** Share of the expected entries among the first k cited, out of as many as k allows (so recall@1 is 1 when the first citation is expected). */
function recallAt(k: number, cited: readonly string[], expected: readonly string[]): number {
  const top = new Set(cited.slice(0, k));
  return expected.filter((key) => top.has(key)).length / Math.min(k, expected.length);
}

let stack: Stack;
const answers: Array<{ question: EvalQuestion; cited: string[]; text: string; degraded: boolean }> = [];
beforeAll(async () => {
  stack = await startStack();
  // sendMessage allows 20 a minute per user: a user per 15 questions.
  const tokens = await Promise.all([0, 1, 2, 3].map(() => testToken({ id: randomUUID() })));
  for (const [i, question] of questions.entries()) {
    const response = await stack.query(SEND, { input: { agentId: question.agentId, text: question.text } }, tokens[i % tokens.length]);
    if (response.errors) throw new Error(`${question.text}: ${JSON.stringify(response.errors)}`);
    const payload = response.data!.sendMessage;
    answers.push({ question, cited: payload.citations.map(keyOf), text: payload.reply.text, degraded: payload.reply.degraded });
  }
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

describe('the evaluation set', () => {
  it('holds at least 20 hand-written questions per language, each naming what a good answer cites', () => {
    for (const language of ['zh', 'pinyin', 'en']) expect(questions.filter((q) => q.language === language).length).toBeGreaterThanOrEqual(20);
    expect(questions.every((q) => q.cite.length > 0)).toBe(true);
    const kinds = new Set(questions.flatMap((q) => q.cite.map((c) => c.split(':')[0])));
    expect(kinds).toEqual(new Set(['CONSTITUTION', 'HERB', 'ACUPOINT', 'SYNDROME', 'ARTICLE']));
  });

  it('recall@3 of the entries to cite is at least 0.9 on the offline responder, in every language', () => {
    expect(answers).toHaveLength(questions.length);
    const recall = (list: typeof answers, k: number) => list.reduce((sum, a) => sum + recallAt(k, a.cited, a.question.cite), 0) / list.length;
    const missed = answers.filter((a) => recallAt(3, a.cited, a.question.cite) < 1).map((a) => `${a.question.text} → ${a.cited.join(', ') || 'nothing'}`);
    expect(recall(answers, 3), missed.join('\n')).toBeGreaterThanOrEqual(0.9);
    // Not an average carried by one language: each clears a lower bar on its own.
    for (const language of ['zh', 'pinyin', 'en']) {
      expect(recall(answers.filter((a) => a.question.language === language), 3), language).toBeGreaterThanOrEqual(0.8);
    }
  });

  it('answers from what it cites: each cited entry is quoted in the reply, and never "nothing found" beside citations', () => {
    for (const answer of answers) {
      expect(answer.degraded, answer.question.text).toBe(false);
      if (answer.cited.length === 0) continue;
      expect(answer.text, answer.question.text).not.toContain('没有找到');
      expect(answer.text, answer.question.text).toContain('知识库中的相关内容');
      const numbered = answer.text.split('\n').filter((line) => /^\d+\. 【/.test(line));
      expect(numbered, answer.question.text).toHaveLength(answer.cited.length);
    }
  });

  it('answers an English question in Chinese, naming the cited entries in English first', () => {
    const first = answers.find((a) => a.question.text.startsWith('What is the yang-deficient constitution'))!;
    expect(first.cited.slice(0, 2)).toEqual(['CONSTITUTION:YANG_DEFICIENT', 'ARTICLE:yang-deficiency-winter']);
    expect(first.text.split('\n')[0]).toMatch(/^\(Answered in Chinese from the knowledge base: \[1\] Yang-deficient constitution; \[2\] Cold hands and feet/);
    expect(first.text).toContain('阳虚质（Yang-deficient constitution）');
    // Asked about winter: the constitution's seasonal advice is quoted, not only its summary.
    expect(first.text).toContain('四季调养：');
  });
});
