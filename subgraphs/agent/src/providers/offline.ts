import { analyse, type Analysis } from '../service/intents.js';
import { offlineBody } from '../service/personas.js';
import { toolLines } from '../service/tools/render.js';
import type { ChatProvider, ChatRequest, KnowledgeAspect, KnowledgeHit } from './types.js';

const KIND_LABEL = { CONSTITUTION: '体质', HERB: '中药', ACUPOINT: '穴位', SYNDROME: '证候', ARTICLE: '文章' } as const;

/**
 * The default provider: no model and no network to one. It answers from the
 * agent's role by intent matching on the question, renders what the knowledge
 * search found (the reply's citations, `renderOfflineReply`), and says plainly what it is: a
 * rule-based reply, not a model's, and not a diagnosis. Earlier turns do not
 * change its answer.
 */
export function offlineProvider(options: OfflineStreamOptions = {}): ChatProvider {
  return {
    kind: 'OFFLINE',
    usesHistory: false,
    cacheIdentity: 'offline',
    async reply(request: ChatRequest) {
      return offlineReply(request);
    },
    stream(request: ChatRequest, signal: AbortSignal) {
      return inChunks(offlineReply(request), options, signal);
    },
  };
}

export interface OfflineStreamOptions {
  /** Characters (code points) per piece; default 8. */
  chunkChars?: number;
  /** Pause between pieces, so that a streamed offline reply is a real stream; default 25 ms. */
  paceMs?: number;
}

/** `text` in pieces of `chunkChars` code points, `paceMs` apart (none before the first); stops when `signal` aborts. */
export async function* inChunks(text: string, options: OfflineStreamOptions, signal: AbortSignal): AsyncGenerator<string> {
  const chars = [...text];
  const size = Math.max(1, options.chunkChars ?? 8);
  const pace = Math.max(0, options.paceMs ?? 25);
  for (let i = 0; i < chars.length; i += size) {
    if (i > 0 && pace > 0) await sleep(pace, signal);
    signal.throwIfAborted();
    yield chars.slice(i, i + size).join('');
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function offlineReply(request: ChatRequest): string {
  return renderOfflineReply(request, analyse(request.question));
}

/** Which parts of an entry the question asks about, beyond its summary. */
const ASPECTS: Array<[KnowledgeAspect, RegExp]> = [
  ['seasons', /冬|夏|春季|春天|秋|季节|换季|节气|\b(winter|summer|spring|autumn|season\w*|dong ?tian|dong ?ji|xia ?tian|chun ?tian|qiu ?tian)\b/i],
  ['diet', /吃|饮食|食物|食疗|喝|忌口|\b(diet|eat\w*|foods?|drinks?|chi|yin ?shi)\b/i],
  ['exercise', /运动|锻炼|\b(exercise|sport|yun ?dong|duan ?lian)\b/i],
  ['sleep', /睡|\b(sleep\w*|shui ?mian|shui ?jiao)\b/i],
  ['emotions', /情绪|心情|\b(mood|emotions?|qing ?xu|xin ?qing)\b/i],
];
/** What each kind shows besides its summary when the question names no aspect of it. */
const DEFAULT_ASPECTS: Record<KnowledgeHit['kind'], KnowledgeAspect[]> = {
  CONSTITUTION: ['diet'],
  HERB: ['cautions'],
  ACUPOINT: ['location'],
  SYNDROME: ['signs'],
  ARTICLE: [],
};
/** Always shown when the entry has it, whatever else is asked. */
const ALWAYS: KnowledgeAspect[] = ['cautions', 'location'];
const ASPECT_LABEL: Record<KnowledgeAspect, string> = {
  diet: '饮食', exercise: '运动', sleep: '起居', emotions: '情志', seasons: '四季调养', cautions: '注意', location: '定位', signs: '主症',
};

/**
 * The offline reply, rendered from the retrieval result: the agent's line for the question's intents, then what each
 * entry the search returned says (numbered as the reply's citations, with the parts the question asks about: a
 * constitution's winter advice, a herb's cautions), then what the reply is. Chinese whatever the question's
 * language; an English question gets a first line in English naming the cited entries in English. "Nothing found"
 * only when the search found nothing.
 */
export function renderOfflineReply(request: ChatRequest, analysis: Analysis): string {
  const { agent, knowledge } = request;
  const intents = new Set(analysis.intents);
  // Asked about something the search found to be a herb: answer as about a herb, with its cautions.
  if (knowledge.hits.some((hit) => hit.kind === 'HERB')) intents.add('HERB');
  const asked = ASPECTS.filter(([, pattern]) => pattern.test(request.question)).map(([aspect]) => aspect);
  const lines: string[] = [];
  if (request.standIn) lines.push('（模型服务暂时不可用，以下是离线模式的回答。）');
  if (analysis.language === 'en' && knowledge.hits.length > 0) {
    lines.push(`(Answered in Chinese from the knowledge base: ${knowledge.hits.map((hit, i) => `[${i + 1}] ${hit.titleEn ?? hit.title}`).join('; ')}.)`);
  }
  lines.push(`${agent.name}：${offlineBody(agent.id, intents)}`);
  // What the tools did for this message (reminders, bookings, personal data, a hand-off): service/tools/render.ts.
  lines.push(...toolLines(request));
  if (!knowledge.reachable) {
    lines.push('（知识库暂时无法访问，这次回答没有引用任何资料。）');
  } else if (knowledge.hits.length > 0) {
    lines.push('知识库中的相关内容：');
    knowledge.hits.forEach((hit, i) => lines.push(...entryLines(hit, i + 1, asked, analysis.language !== 'zh')));
  } else if (!intents.has('GREETING') && !intents.has('THANKS')) {
    lines.push('知识库里没有找到与这个问题直接相关的条目。');
  }
  lines.push(`——这是${agent.name}在离线模式下按预设规则和知识库检索生成的回答，不是大模型生成的，也不能代替医生的诊断。`);
  return lines.join('\n');
}

function entryLines(hit: KnowledgeHit, n: number, asked: readonly KnowledgeAspect[], withEnglish: boolean): string[] {
  const english = withEnglish && hit.titleEn ? `（${hit.titleEn}）` : '';
  const lines = [`${n}. 【${KIND_LABEL[hit.kind]}】${hit.title}${english}：${hit.summary}`];
  const details = hit.details ?? {};
  const relevant = asked.filter((aspect) => details[aspect]);
  const shown = new Set([...(relevant.length > 0 ? relevant : DEFAULT_ASPECTS[hit.kind]), ...ALWAYS]);
  for (const aspect of shown) {
    const text = details[aspect];
    if (text) lines.push(`   ${ASPECT_LABEL[aspect]}：${text}`);
  }
  return lines;
}
