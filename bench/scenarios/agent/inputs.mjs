// The agent scenario's inputs: the questions (a repeated pool and unique ones), the users' consent, the figures
// recorded before tools, and the model call's mean time by simulation of the agent's retry policy.
import { existsSync, readFileSync } from 'node:fs';
import { latencySampler, seededRandom } from '../../fake-llm.mjs';
import { log, median } from '../../lib.mjs';

export const MUTATION = `mutation Ask($input: SendMessageInput!) {
  sendMessage(input: $input) {
    conversation { id }
    reply { text degraded provider }
    citations {
      __typename
      ... on Constitution { code name }
      ... on Herb { id name }
      ... on Article { id title }
      ... on Acupoint { code name }
      ... on Syndrome { code name }
    }
  }
}`;

/** The repeated half: questions many users ask, five per agent. */
export const POOL = [
  ['xiaoai', '我总是觉得累，是不是气虚'],
  ['xiaoai', '手脚冰凉、怕冷是什么体质'],
  ['xiaoai', '口干、手心热是阴虚吗'],
  ['xiaoai', '怎么测一测我是什么体质'],
  ['xiaoai', '舌象能看出什么'],
  ['xiaoke', '气虚质适合什么调理方案'],
  ['xiaoke', '湿热体质有什么代茶饮推荐'],
  ['xiaoke', '怎么预约中医问诊'],
  ['xiaoke', '痰湿体质可以吃什么食疗'],
  ['xiaoke', '阳虚质冬天怎么养'],
  ['laoke', '黄芪有什么功效'],
  ['laoke', '什么是九种体质'],
  ['laoke', '血瘀质是什么意思'],
  ['laoke', '足三里穴位在哪里'],
  ['laoke', '气郁质为什么容易叹气'],
  ['soer', '晚上总是睡不着怎么办'],
  ['soer', '压力大、焦虑怎么调节情绪'],
  ['soer', '八段锦适合什么人练'],
  ['soer', '熬夜后早餐吃什么好'],
  ['soer', '经常早醒多梦怎么调理'],
];
/** How people end the same question: all of these are one question to the reply cache's normaliser. */
export const ENDINGS = ['', '？', '?', ' ？', '。', '？？'];

export const AGENTS = ['xiaoai', 'xiaoke', 'laoke', 'soer'];
export const SYMPTOMS = ['总是觉得累', '手脚冰凉', '口干舌燥', '晚上睡不着', '容易出汗', '胃口不好', '脸上长痘', '经常叹气', '容易感冒', '腰膝发冷', '身体沉重', '早上起不来'];
export const ASKS = ['应该怎么调理', '饮食上要注意什么', '适合做什么运动', '是什么体质', '需要去看医生吗', '有什么代茶饮', '作息怎么安排', '可以按什么穴位', '吃什么比较好', '和气虚有关吗'];

/** The n-th unique question of this bench invocation: no two alike (mixed radix over age, days, symptom, ask). */
export function uniqueQuestion(n) {
  const ask = ASKS[n % ASKS.length];
  const symptom = SYMPTOMS[Math.floor(n / ASKS.length) % SYMPTOMS.length];
  const days = 2 + (Math.floor(n / (ASKS.length * SYMPTOMS.length)) % 59);
  const age = 18 + Math.floor(n / (ASKS.length * SYMPTOMS.length * 59));
  return [AGENTS[n % AGENTS.length], `我今年${age}岁，最近${days}天${symptom}，${ask}？`];
}

/**
 * The requests of one run, shuffled: `count` of them, half drawn from POOL
 * (with an ending drawn from ENDINGS) and half unique. Every message opens a
 * new conversation: a follow-up turn carries its history into the model's
 * context and so, rightly, into the cache key.
 */
export function plan(count, random, nextUnique) {
  const requests = [];
  for (let i = 0; i < count; i += 1) {
    if (i % 2 === 0) {
      const [agentId, text] = POOL[Math.floor(random() * POOL.length)];
      requests.push({ repeated: true, agentId, text: `${text}${ENDINGS[Math.floor(random() * ENDINGS.length)]}` });
    } else {
      const [agentId, text] = uniqueQuestion(nextUnique());
      requests.push({ repeated: false, agentId, text });
    }
  }
  for (let i = requests.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [requests[i], requests[j]] = [requests[j], requests[i]];
  }
  return requests;
}

export const GRANT = `mutation Grant { grantAgentAccess(input: { scopes: [HEALTH_SUMMARY, HEALTH_PROFILE, REPORTS] }) { __typename } }`;

/**
 * Every `consent.share`-th… user (by token order) grants the agents access to all scopes, through the gateway as the
 * app would. On a build without consent (no `grantAgentAccess`), says so and goes on: the figures are then without it.
 */
export async function grantConsent(url, consent) {
  consent.done = true;
  const every = Math.max(1, Math.round(1 / consent.share));
  const chosen = consent.tokens.filter((_, i) => i % every === 0);
  for (const token of chosen) {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query: GRANT }) });
    const body = await response.json().catch(() => undefined);
    if (body?.errors?.length) {
      consent.granted = 0;
      consent.note = `not granted: ${body.errors[0].extensions?.code ?? 'error'} (${String(body.errors[0].message).slice(0, 120)})`;
      log(`consent: ${consent.note}`);
      return;
    }
    consent.granted += 1;
  }
  consent.note = `${consent.granted} of ${consent.tokens.length} users granted HEALTH_SUMMARY, HEALTH_PROFILE, REPORTS`;
  log(`consent: ${consent.note}`);
}

/**
 * The figures from before tools (results/agent.json as issue 4 left it), for the comparison; undefined when there are
 * none. A file recorded by this scenario since then carries them on as `previous`, so re-running does not turn the
 * last run into the baseline.
 */
export function previousFigures() {
  const file = new URL('../../results/agent.json', import.meta.url);
  if (!existsSync(file)) return undefined;
  try {
    const previous = JSON.parse(readFileSync(file, 'utf8'));
    if (previous.previous) return previous.previous;
    const production = previous.summaries?.production;
    const runs = previous.runs?.production ?? [];
    if (!production) return undefined;
    return {
      commit: previous.commit,
      date: String(previous.date ?? '').slice(0, 10),
      successRate: production.successRate,
      avgMs: production.avgMs,
      p99Ms: production.p99Ms ?? median(runs.map((r) => r.p99Ms)),
      tokensPerReply: production.tokensPerReply,
      toolRoundsPerReply: production.toolRoundsPerReply ?? 0,
    };
  } catch {
    return undefined;
  }
}

/**
 * The mean time of one reply from the fake provider as the agent asks it (sequential attempts, up to 3, full
 * jitter backoff of 250 ms × 2^(n−1) between them), by simulation: what a message that needs its own model call
 * waits at least. `hedged`: each attempt races two requests started together (LLM_HEDGE_DELAY_MS=0); it ends at
 * the first success, or fails when both have failed.
 */
export function modelCallMeanMs(provider, { hedged = false } = {}, samples = 200_000) {
  const random = seededRandom(99);
  const sample = latencySampler(provider, random);
  /** One request: when it answers (ok) or fails. */
  const request = () => {
    const latency = sample();
    return random() >= provider.failureRate ? { ok: true, ms: latency } : { ok: false, ms: random() * latency };
  };
  let total = 0;
  for (let i = 0; i < samples; i += 1) {
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const requests = hedged ? [request(), request()] : [request()];
      const answers = requests.filter((r) => r.ok).map((r) => r.ms);
      if (answers.length > 0) {
        total += Math.min(...answers);
        break;
      }
      total += Math.max(...requests.map((r) => r.ms)) + (attempt < 3 ? random() * 250 * 2 ** (attempt - 1) : 0);
    }
  }
  return total / samples;
}
