import { createParser } from 'eventsource-parser';
import { systemPrompt } from '../service/personas.js';
import { ProviderError, type ChatProvider, type ChatRequest, type ModelTurn } from './types.js';

export interface OpenAiCompatibleOptions {
  /** The API base, e.g. `https://api.openai.com/v1`; requests go to `<base>/chat/completions`. */
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  /** Default 0.3: replies about health should not wander. */
  temperature?: number;
}

/** Replies longer than this are cut: the column allows 8000 characters. */
const MAX_REPLY_CHARS = 8000;

/**
 * Chat completions over HTTP with global fetch: OpenAI, DeepSeek, Qwen
 * (DashScope compatible mode), vLLM and Ollama all serve this shape. The agent's
 * system prompt carries the knowledge found for the question; the earlier turns
 * follow as user/assistant messages. With `request.tools` it speaks OpenAI's tool-calling protocol (`tools`,
 * `tool_choice`, the assistant's `tool_calls`, `role: "tool"` results); the tool loop itself is the caller's
 * (service/tools/loop.ts). Each call makes exactly one request and
 * classifies its failure; retrying and hedging are the caller's business
 * (ResilientCall), which aborts a request it no longer needs through `signal`.
 */
export function openAiCompatibleProvider(options: OpenAiCompatibleOptions): ChatProvider {
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const bodyOf = (request: ChatRequest, stream: boolean) =>
    JSON.stringify({
      model: options.model,
      temperature: options.temperature ?? 0.3,
      messages: chatMessages(request),
      // Offered only when there are some: a provider without tool support then sees today's request unchanged.
      ...(request.tools && request.tools.length > 0
        ? {
            tools: request.tools.map((tool) => ({ type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } })),
            tool_choice: request.toolChoice ?? 'auto',
          }
        : {}),
      ...(stream ? { stream: true } : {}),
    });
  const turn = async (request: ChatRequest, signal: AbortSignal): Promise<ModelTurn> => {
    try {
      const response = await fetch(endpoint, { method: 'POST', headers, body: bodyOf(request, false), signal });
      if (!response.ok) throw await statusError(response);
      let json: unknown;
      try {
        json = await response.json();
      } catch (error) {
        // A body cut off by the timeout is a timeout; a body that is not JSON will not become JSON by asking again.
        if (signal.aborted) throw error;
        throw new ProviderError('the model provider answered with a body that is not JSON', { transient: false, cause: error });
      }
      return turnOf(json);
    } catch (error) {
      throw asProviderError(error);
    }
  };
  /**
   * The same request with `stream: true`: the answer comes as server-sent events, each `data:` a chunk whose
   * `choices[0].delta` continues the reply (`content`) or the tool calls (`tool_calls`, pieces keyed by `index`), until
   * `data: [DONE]`. A stream that ends without [DONE], or is cut, is a transient failure; one that carries an `error`
   * object, or data that is not JSON, is not retried.
   */
  const streamTurn = async (request: ChatRequest, signal: AbortSignal, onText: (piece: string) => void): Promise<ModelTurn> => {
    let response: Response;
    try {
      response = await fetch(endpoint, { method: 'POST', headers: { ...headers, accept: 'text/event-stream' }, body: bodyOf(request, true), signal });
    } catch (error) {
      throw asProviderError(error);
    }
    if (!response.ok) throw await statusError(response);
    if (!response.body) throw new ProviderError('the model provider answered without a body', { transient: true });
    if (!/text\/event-stream/i.test(response.headers.get('content-type') ?? '')) {
      // A server that ignores `stream` answers with the whole completion: one piece.
      let json: unknown;
      try {
        json = await response.json();
      } catch (error) {
        if (signal.aborted) throw asProviderError(error);
        throw new ProviderError('the model provider answered with a body that is neither a stream nor JSON', { transient: false, cause: error });
      }
      const whole = turnOf(json);
      if (whole.text !== '') onText(whole.text);
      return whole;
    }
    return readStream(response.body, onText);
  };
  return {
    kind: 'OPENAI_COMPATIBLE',
    usesHistory: true,
    cacheIdentity: `openai-compatible:${endpoint}:${options.model}`,
    turn,
    streamTurn,
    async reply(request: ChatRequest, signal: AbortSignal) {
      const answer = await turn({ ...request, tools: undefined }, signal);
      if (answer.text === '') throw new ProviderError('the model provider answered without a message', { transient: false });
      return answer.text;
    },
    stream(request: ChatRequest, signal: AbortSignal) {
      return piecesOf((onText) => streamTurn({ ...request, tools: undefined }, signal, onText));
    },
  };
}

/** A tool call as it arrives in pieces: `index` keys the pieces of one call. */
interface CallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

/** Reads an event stream to its end: text to `onText` (leading space trimmed, cut at MAX_REPLY_CHARS), calls assembled. */
async function readStream(body: AsyncIterable<Uint8Array>, onText: (piece: string) => void): Promise<ModelTurn> {
  const pieces: string[] = [];
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  let finished = false;
  let failure: ProviderError | undefined;
  const parser = createParser({
    onEvent(event) {
      if (finished || failure) return;
      if (event.data.trim() === '[DONE]') {
        finished = true;
        return;
      }
      let chunk: { choices?: Array<{ delta?: { content?: unknown; tool_calls?: CallDelta[] } }>; error?: { message?: unknown } };
      try {
        chunk = JSON.parse(event.data);
      } catch (error) {
        failure = new ProviderError('the model provider streamed data that is not JSON', { transient: false, cause: error });
        return;
      }
      if (chunk.error) {
        failure = new ProviderError(`the model provider's stream failed: ${String(chunk.error.message ?? 'unknown error')}`, { transient: true });
        return;
      }
      const delta = chunk.choices?.[0]?.delta;
      const piece = delta?.content;
      if (typeof piece === 'string' && piece !== '') pieces.push(piece);
      for (const part of Array.isArray(delta?.tool_calls) ? delta.tool_calls : []) {
        const index = typeof part.index === 'number' ? part.index : calls.size;
        const call = calls.get(index) ?? { id: '', name: '', arguments: '' };
        if (typeof part.id === 'string') call.id = part.id;
        if (typeof part.function?.name === 'string') call.name += part.function.name;
        if (typeof part.function?.arguments === 'string') call.arguments += part.function.arguments;
        calls.set(index, call);
      }
    },
  });
  const decoder = new TextDecoder();
  let text = '';
  let length = 0;
  try {
    for await (const bytes of body) {
      parser.feed(decoder.decode(bytes, { stream: true }));
      if (failure) throw failure;
      for (let piece of pieces.splice(0)) {
        // Leading white space is dropped, as the blocking reply trims it; the reply is cut at the column's size.
        if (text === '') piece = piece.trimStart();
        const left = MAX_REPLY_CHARS - length;
        const chars = [...piece];
        if (chars.length > left) piece = chars.slice(0, left).join('');
        if (piece === '') continue;
        text += piece;
        length += Math.min(chars.length, left);
        onText(piece);
        if (length >= MAX_REPLY_CHARS) return { text, toolCalls: [] };
      }
      if (finished) break;
    }
  } catch (error) {
    throw asProviderError(error);
  }
  if (!finished) throw new ProviderError('the model provider stream ended before [DONE]', { transient: true });
  const toolCalls = [...calls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, call]) => ({ id: call.id || `call_${index}`, name: call.name, arguments: call.arguments }));
  if (text === '' && toolCalls.length === 0) throw new ProviderError('the model provider answered without a message', { transient: false });
  return { text, toolCalls };
}

/** The pieces `run` hands to its callback, as an async iterable (for `ChatProvider.stream`). */
async function* piecesOf(run: (onText: (piece: string) => void) => Promise<unknown>): AsyncGenerator<string> {
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let settled: { error?: unknown } | undefined;
  void run((piece) => {
    queue.push(piece);
    wake?.();
  }).then(
    () => ((settled = {}), wake?.()),
    (error: unknown) => ((settled = { error }), wake?.()),
  );
  for (;;) {
    const piece = queue.shift();
    if (piece !== undefined) {
      yield piece;
      continue;
    }
    if (settled) {
      if ('error' in settled) throw settled.error;
      return;
    }
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}

/** A failure of fetch or of reading its body as the breaker and the retry policy see it. */
function asProviderError(error: unknown): ProviderError {
  if (error instanceof ProviderError) return error;
  // fetch rejects with a TypeError for network failures and with the signal's reason on a timeout.
  const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
  return new ProviderError(timedOut ? 'the model provider did not answer in time' : 'the model provider could not be reached', {
    transient: true,
    cause: error,
  });
}

/** An OpenAI chat message: what the provider is sent. */
export type WireMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> }
  | { role: 'tool'; tool_call_id: string; content: string };

/**
 * The system prompt (the agent, the knowledge found, and the person's summary when there is one), the earlier turns,
 * the question, then each tool round of this reply: the model's calls and one `tool` message per call.
 */
export function chatMessages(request: ChatRequest): WireMessage[] {
  const system = systemPrompt(request.agent, request.knowledge);
  const messages: WireMessage[] = [
    { role: 'system', content: request.personal ? `${system}\n${request.personal}` : system },
    ...request.history.map((turn) => ({ role: turn.role === 'USER' ? ('user' as const) : ('assistant' as const), content: turn.text })),
    { role: 'user', content: request.question },
  ];
  for (const round of request.transcript ?? []) {
    messages.push({
      role: 'assistant',
      content: round.text === '' ? null : round.text,
      tool_calls: round.calls.map((call) => ({ id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments } })),
    });
    for (const outcome of round.outcomes) messages.push({ role: 'tool', tool_call_id: outcome.call.id, content: JSON.stringify(outcome.result) });
  }
  return messages;
}

async function statusError(response: Response): Promise<ProviderError> {
  await response.body?.cancel().catch(() => undefined);
  const status = response.status;
  const transient = status === 408 || status === 429 || status >= 500;
  const retryAfter = Number(response.headers.get('retry-after'));
  return new ProviderError(`the model provider answered HTTP ${status}`, {
    status,
    transient,
    // A request the provider refuses as malformed says nothing about the provider's health.
    healthy: status === 400 || status === 413 || status === 422,
    ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {}),
  });
}

function turnOf(json: unknown): ModelTurn {
  const message = (json as { choices?: Array<{ message?: { content?: unknown; tool_calls?: unknown } }> } | undefined)?.choices?.[0]?.message;
  const content = typeof message?.content === 'string' ? [...message.content.trim()].slice(0, MAX_REPLY_CHARS).join('') : '';
  const raw = Array.isArray(message?.tool_calls) ? (message.tool_calls as Array<{ id?: unknown; function?: { name?: unknown; arguments?: unknown } }>) : [];
  const toolCalls = raw.map((call, i) => ({
    id: typeof call.id === 'string' && call.id !== '' ? call.id : `call_${i}`,
    name: typeof call.function?.name === 'string' ? call.function.name : '',
    // Kept as text: the runner parses it, and a malformed one becomes an error result the model reads.
    arguments: typeof call.function?.arguments === 'string' ? call.function.arguments : JSON.stringify(call.function?.arguments ?? {}),
  }));
  if (content === '' && toolCalls.length === 0) throw new ProviderError('the model provider answered without a message', { transient: false });
  return { text: content, toolCalls };
}
