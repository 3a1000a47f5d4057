import { ProviderError, type ChatProvider, type ChatRequest, type ModelTurn } from '../providers/types.js';

/**
 * One attempt of one round of a model's streamed reply (service/replies.ts): the attempt's timeout holds until the
 * first piece, then `idleMs` between pieces and `maxMs` in all. `began`: text of this reply went out already (in an
 * earlier round): a failure then is not retried either. `outer` aborts everything (the service is stopping).
 */
export async function modelStreamAttempt(
  primary: ChatProvider,
  chat: ChatRequest,
  limits: { attempt: AbortSignal; outer: AbortSignal; idleMs: number; maxMs: number },
  emit: (piece: string) => void,
  began = false,
): Promise<ModelTurn> {
  const { attempt, outer, idleMs, maxMs } = limits;
  // Stopping: no attempt starts (a listener added to an aborted signal would never fire).
  outer.throwIfAborted();
  const controller = new AbortController();
  let idle: ReturnType<typeof setTimeout> | undefined;
  const stopAll = () => controller.abort(outer.reason);
  const stopAttempt = () => {
    if (!began) controller.abort(attempt.reason);
  };
  const total = setTimeout(() => controller.abort(new DOMException('the streamed reply took too long', 'TimeoutError')), maxMs);
  outer.addEventListener('abort', stopAll, { once: true });
  attempt.addEventListener('abort', stopAttempt, { once: true });
  if (attempt.aborted) stopAttempt();
  const onText = (piece: string) => {
    began = true;
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(new DOMException('the model provider stopped streaming', 'TimeoutError')), idleMs);
    emit(piece);
  };
  try {
    if (primary.streamTurn) return await primary.streamTurn(chat, controller.signal, onText);
    const stream = primary.stream?.(chat, controller.signal) ?? once(primary.reply(chat, controller.signal));
    let text = '';
    for await (const piece of stream) {
      text += piece;
      onText(piece);
    }
    return { text, toolCalls: [] };
  } catch (error) {
    // Stopping: not the provider's failure to retry.
    if (outer.aborted) throw outer.reason;
    // Not retried once text went out; still the provider's failure for the breaker (not `healthy`).
    if (began) throw new ProviderError('the model provider failed after its reply began', { transient: false, cause: error });
    throw error;
  } finally {
    clearTimeout(idle);
    clearTimeout(total);
    outer.removeEventListener('abort', stopAll);
    attempt.removeEventListener('abort', stopAttempt);
  }
}

/** A provider's reply in pieces (one piece when it cannot stream), until `signal` aborts. */
export async function providerPieces(provider: ChatProvider, chat: ChatRequest, signal: AbortSignal, emit: (piece: string) => void): Promise<void> {
  const stream = provider.stream?.(chat, signal) ?? once(provider.reply(chat, signal));
  for await (const piece of stream) emit(piece);
}

async function* once(text: Promise<string>): AsyncGenerator<string> {
  yield await text;
}

/** One round of a model: with tools when it can take them, else its plain reply. */
export async function turnOf(provider: ChatProvider, request: ChatRequest, signal: AbortSignal): Promise<ModelTurn> {
  if (provider.turn) return provider.turn(request, signal);
  return { text: await provider.reply(request, signal), toolCalls: [] };
}
