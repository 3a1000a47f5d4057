import { createParser } from 'eventsource-parser';
import { systemPrompt } from '../service/personas.js';
import { ProviderError, type ChatProvider, type ChatRequest } from './types.js';

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
 * follow as user/assistant messages. Each call makes exactly one request and
 * classifies its failure; retrying and hedging are the caller's business
 * (ResilientCall), which aborts a request it no longer needs through `signal`.
 */
export function openAiCompatibleProvider(options: OpenAiCompatibleOptions): ChatProvider {
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  return {
    kind: 'OPENAI_COMPATIBLE',
    usesHistory: true,
    cacheIdentity: `openai-compatible:${endpoint}:${options.model}`,
    async reply(request: ChatRequest, signal: AbortSignal) {
      const body = JSON.stringify({
        model: options.model,
        temperature: options.temperature ?? 0.3,
        messages: chatMessages(request),
      });
      try {
        const response = await fetch(endpoint, { method: 'POST', headers, body, signal });
        if (!response.ok) throw await statusError(response);
        let json: unknown;
        try {
          json = await response.json();
        } catch (error) {
          // A body cut off by the timeout is a timeout; a body that is not JSON will not become JSON by asking again.
          if (signal.aborted) throw error;
          throw new ProviderError('the model provider answered with a body that is not JSON', { transient: false, cause: error });
        }
        return contentOf(json);
      } catch (error) {
        throw asProviderError(error);
      }
    },
    /**
     * The same request with `stream: true`: the answer comes as server-sent events, each `data:` a chunk whose
     * `choices[0].delta.content` continues the reply, until `data: [DONE]`. A stream that ends without [DONE], or is
     * cut, is a transient failure; one that carries an `error` object, or data that is not JSON, is not retried.
     */
    async *stream(request: ChatRequest, signal: AbortSignal) {
      const body = JSON.stringify({ model: options.model, temperature: options.temperature ?? 0.3, messages: chatMessages(request), stream: true });
      let response: Response;
      try {
        response = await fetch(endpoint, { method: 'POST', headers: { ...headers, accept: 'text/event-stream' }, body, signal });
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
        yield contentOf(json);
        return;
      }
      const pieces: string[] = [];
      let finished = false;
      let failure: ProviderError | undefined;
      const parser = createParser({
        onEvent(event) {
          if (finished || failure) return;
          if (event.data.trim() === '[DONE]') {
            finished = true;
            return;
          }
          let chunk: { choices?: Array<{ delta?: { content?: unknown } }>; error?: { message?: unknown } };
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
          const piece = chunk.choices?.[0]?.delta?.content;
          if (typeof piece === 'string' && piece !== '') pieces.push(piece);
        },
      });
      const decoder = new TextDecoder();
      let length = 0;
      let started = false;
      try {
        for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
          parser.feed(decoder.decode(bytes, { stream: true }));
          if (failure) throw failure;
          for (let piece of pieces.splice(0)) {
            // Leading white space is dropped, as the blocking reply trims it; the reply is cut at the column's size.
            if (!started) piece = piece.trimStart();
            const left = MAX_REPLY_CHARS - length;
            const chars = [...piece];
            if (chars.length > left) piece = chars.slice(0, left).join('');
            if (piece === '') continue;
            started = true;
            length += Math.min(chars.length, left);
            yield piece;
            if (length >= MAX_REPLY_CHARS) return;
          }
          if (finished) break;
        }
      } catch (error) {
        throw asProviderError(error);
      }
      if (!finished) throw new ProviderError('the model provider stream ended before [DONE]', { transient: true });
      if (!started) throw new ProviderError('the model provider answered without a message', { transient: false });
    },
  };
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

export function chatMessages(request: ChatRequest): Array<{ role: 'system' | 'user' | 'assistant'; content: string }> {
  return [
    { role: 'system', content: systemPrompt(request.agent, request.knowledge) },
    ...request.history.map((turn) => ({ role: turn.role === 'USER' ? ('user' as const) : ('assistant' as const), content: turn.text })),
    { role: 'user', content: request.question },
  ];
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

function contentOf(json: unknown): string {
  const content = (json as { choices?: Array<{ message?: { content?: unknown } }> } | undefined)?.choices?.[0]?.message?.content;
  if (typeof content !== 'string' || content.trim() === '') {
    throw new ProviderError('the model provider answered without a message', { transient: false });
  }
  return [...content.trim()].slice(0, MAX_REPLY_CHARS).join('');
}
