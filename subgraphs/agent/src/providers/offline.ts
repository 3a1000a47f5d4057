import { analyse } from '../service/intents.js';
import { offlineBody } from '../service/personas.js';
import { toolLines } from '../service/tools/render.js';
import type { ChatProvider, ChatRequest } from './types.js';

const KIND_LABEL = { CONSTITUTION: '体质', HERB: '中药', ACUPOINT: '穴位', SYNDROME: '证候', ARTICLE: '文章' } as const;

/**
 * The default provider: no model and no network to one. It answers from the
 * agent's role by intent matching on the question, quotes what the knowledge
 * search found (the reply's citations), and says plainly what it is: a
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
  const { agent, knowledge } = request;
  const { intents } = analyse(request.question);
  // Asked about something the search found to be a herb: answer as about a herb, with its cautions.
  if (knowledge.hits.some((hit) => hit.kind === 'HERB')) intents.add('HERB');
  const lines: string[] = [];
  if (request.standIn) lines.push('（模型服务暂时不可用，以下是离线模式的回答。）');
  lines.push(`${agent.name}：${offlineBody(agent.id, intents)}`);
  // What the tools did for this message (reminders, bookings, personal data, a hand-off): service/tools/render.ts.
  lines.push(...toolLines(request));
  if (!knowledge.reachable) {
    lines.push('（知识库暂时无法访问，这次回答没有引用任何资料。）');
  } else if (knowledge.hits.length > 0) {
    lines.push('知识库中的相关内容：');
    knowledge.hits.forEach((hit, i) => lines.push(`${i + 1}. 【${KIND_LABEL[hit.kind]}】${hit.title}：${hit.summary}`));
  } else if (!intents.has('GREETING') && !intents.has('THANKS')) {
    lines.push('知识库里没有找到与这个问题直接相关的条目。');
  }
  lines.push(`——这是${agent.name}在离线模式下按预设规则和知识库检索生成的回答，不是大模型生成的，也不能代替医生的诊断。`);
  return lines.join('\n');
}
