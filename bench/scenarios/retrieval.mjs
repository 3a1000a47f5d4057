// Issue 20, grounded answers: the hand-written evaluation set (subgraphs/agent/test/eval/questions.json, 20
// questions per language) asked through the gateway of a production-mode stack, each a sendMessage to the agent it
// names on the default offline provider, whose knowledge search goes back through the gateway. Prints and records
// recall@1 and recall@3 of the entries a good answer must cite, per language, and the questions that missed.
// The offline path is deterministic, so one pass is the figure; no timings are claimed beyond a mean for context.
import { readFileSync } from 'node:fs';
import { log, prepareData, record, round, signTokens, startStack } from '../lib.mjs';

const QUESTIONS = JSON.parse(readFileSync(new URL('../../subgraphs/agent/test/eval/questions.json', import.meta.url), 'utf8')).questions;
const LANGUAGES = ['zh', 'pinyin', 'en'];

const SEND = `mutation Ask($input: SendMessageInput!) {
  sendMessage(input: $input) {
    reply { text degraded provider }
    citations { __typename ... on Constitution { code } ... on Herb { id } ... on Acupoint { code } ... on Syndrome { code } ... on Article { id } }
  }
}`;

/** Share of the expected entries among the first k cited, out of as many as k allows (recall@1: is the first citation one of them). */
export function recallAt(k, cited, expected) {
  const top = new Set(cited.slice(0, k));
  return expected.filter((key) => top.has(key)).length / Math.min(k, expected.length);
}

export async function retrieval({ quick, command }) {
  const questions = quick ? LANGUAGES.flatMap((language) => QUESTIONS.filter((q) => q.language === language).slice(0, 3)) : QUESTIONS;
  // sendMessage allows 20 a minute per user: one user per 10 questions.
  const users = Math.ceil(questions.length / 10);
  const data = await prepareData({ users });
  const tokens = await signTokens((await data.userIds()).slice(0, users));
  const stack = await startStack({ data, label: 'retrieval' });
  const answers = [];
  try {
    for (const [i, question] of questions.entries()) {
      const started = performance.now();
      const response = await fetch(stack.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i % tokens.length]}` },
        body: JSON.stringify({ query: SEND, variables: { input: { agentId: question.agentId, text: question.text } } }),
      });
      const body = await response.json();
      if (body.errors) throw new Error(`${question.text}: ${JSON.stringify(body.errors)}`);
      const payload = body.data.sendMessage;
      const cited = payload.citations.map((c) => `${c.__typename.toUpperCase()}:${c.code ?? c.id}`);
      answers.push({ question, cited, degraded: payload.reply.degraded, ms: performance.now() - started });
    }
  } finally {
    await stack.stop();
    await data.drop();
  }

  const mean = (list, f) => (list.length === 0 ? NaN : list.reduce((sum, a) => sum + f(a), 0) / list.length);
  const rows = [...LANGUAGES, 'all'].map((language) => {
    const list = language === 'all' ? answers : answers.filter((a) => a.question.language === language);
    return {
      language,
      questions: list.length,
      recallAt1: round(mean(list, (a) => recallAt(1, a.cited, a.question.cite)), 3),
      recallAt3: round(mean(list, (a) => recallAt(3, a.cited, a.question.cite)), 3),
      cited: round(mean(list, (a) => a.cited.length), 2),
      degraded: list.filter((a) => a.degraded).length,
    };
  });
  const missed = answers.filter((a) => recallAt(3, a.cited, a.question.cite) < 1);
  for (const row of rows) log(`retrieval ${row.language}: recall@1 ${row.recallAt1}, recall@3 ${row.recallAt3} over ${row.questions} questions`);
  for (const a of missed) log(`retrieval missed: ${a.question.text} → ${a.cited.join(', ') || 'nothing'} (wanted ${a.question.cite.join(', ')})`);

  const markdown = `
The evaluation set \`subgraphs/agent/test/eval/questions.json\` (${QUESTIONS.length} questions), each asked once through the gateway as \`sendMessage\`
on the offline provider, production-mode processes, ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}. recall@k as in \`tests/retrieval-eval.test.ts\`.

| language | questions | recall@1 | recall@3 | citations per reply | degraded |
|---|---|---|---|---|---|
${rows.map((r) => `| ${r.language} | ${r.questions} | ${r.recallAt1} | ${r.recallAt3} | ${r.cited} | ${r.degraded} |`).join('\n')}

${missed.length === 0 ? 'Every question had all its expected entries within its first three citations.' : `Missed at 3 (expected → cited):\n\n${missed.map((a) => `- ${a.question.text} — ${a.question.cite.join(', ')} → ${a.cited.join(', ') || 'nothing'}`).join('\n')}`}

Mean time per question through the gateway (sequential, for context only): ${round(mean(answers, (a) => a.ms), 0)} ms.
`;
  record('retrieval', command, { quick, questions: answers.length, rows, missed: missed.map((a) => ({ text: a.question.text, cite: a.question.cite, cited: a.cited })) }, markdown);
  return rows;
}
