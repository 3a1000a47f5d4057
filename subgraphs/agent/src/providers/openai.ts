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
        if (error instanceof ProviderError) throw error;
        // fetch rejects with a TypeError for network failures and with the signal's reason on a timeout.
        const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        throw new ProviderError(timedOut ? 'the model provider did not answer in time' : 'the model provider could not be reached', {
          transient: true,
          cause: error,
        });
      }
    },
  };
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
