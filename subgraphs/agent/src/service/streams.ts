import type { Database, EventBus, Logger } from '@suoke/platform';
import type { Turn } from '../db/conversations.js';
import { failAbandonedStreams, finishStreamedReply, storeStreamedText } from '../db/conversations.js';
import type { AgentRow, MessageRow } from '../db/schema.js';
import type { ReplyService } from './replies.js';
import { handOff } from './tools/handoff.js';
import type { ReplyCaller } from './tools/pipeline.js';

export { messageEvents, type MessageStreamEventValue } from './message-events.js';

/** The bus topic of one streamed reply (`messageStream`). */
export const messageTopic = (messageId: string) => `agent:message:${messageId.toLowerCase()}`;

/**
 * What travels on the bus for a streamed reply, always after the write it describes has committed:
 * `{ at, delta }`, the text from offset `at` (UTF-16 code units) that the reply row now holds; then `{ done: true }`
 * once the row is COMPLETE or FAILED. The offset is the sequence number: a subscriber that read the row's text
 * (length L) drops what ends at or before L and the part of a delta before L, so it neither misses nor repeats text.
 */
export type ReplyBusEvent = { at: number; delta: string; done?: undefined } | { done: true };

/** The longest reply stored, in characters (the column's check). */
const MAX_CHARS = 8000;

/** What the user reads when a reply could not be finished. */
export const REASON_INTERRUPTED = '服务重启，这条回答没有写完。请重新发送这条消息。';
export const REASON_FAILED = '这条回答生成失败了，请稍后重新发送这条消息。';

export interface StreamingRepliesOptions {
  database: Database;
  events: EventBus;
  replies: ReplyService;
  log: Logger;
  /** How often the text so far is written to the reply row (and published): the granularity of the stream. */
  persistMs: number;
  /** A STREAMING row older than this was left by a process that died: FAILED by the sweep. */
  abandonedAfterMs: number;
}

export interface StreamTask {
  replyId: string;
  agent: AgentRow;
  question: string;
  history: readonly Turn[];
  /** The verified caller: tools act for them, and their granted context is read. */
  caller?: ReplyCaller | undefined;
}

/**
 * Streamed replies of this process, written in the background, detached from any request or subscriber: each
 * reply's text is written to its row every `persistMs` (then published), and the row is stored COMPLETE with its
 * provider and citations at the end (then the final event published), or FAILED with a reason when nothing could
 * finish it. `stop` lets running replies finish for a grace period, then ends the rest FAILED.
 */
export class StreamingReplies {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private sweeper: ReturnType<typeof setInterval> | undefined;
  readonly stats = { started: 0, completed: 0, failed: 0 };

  constructor(private readonly options: StreamingRepliesOptions) {}

  get inFlight(): number {
    return this.running.size;
  }

  start(task: StreamTask): void {
    const controller = new AbortController();
    this.stats.started += 1;
    const done = this.write(task, controller.signal).finally(() => this.running.delete(task.replyId));
    this.running.set(task.replyId, { controller, done });
  }

  /** Waits for the replies in flight (all of them: tests and the bench read the stored result). */
  async settled(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private async write(task: StreamTask, signal: AbortSignal): Promise<void> {
    const { database, events, replies, log } = this.options;
    const writer = new ReplyWriter(database, events, task.replyId, this.options.persistMs, log);
    try {
      const outcome = await replies.stream(
        { agent: task.agent, question: task.question, history: task.history, caller: task.caller },
        (piece) => writer.piece(piece),
        signal,
      );
      // A hand-off is linked while the reply is STREAMING, so that its final event carries `handedOffTo`.
      if (outcome.handOff && task.caller) {
        const context = [...task.history, { role: 'USER' as const, text: task.question }];
        await handOff({ database, replies, log }, { caller: task.caller, fromMessageId: task.replyId, ...outcome.handOff, context });
      }
      // A cached reply has no pieces: its whole text is stored at once.
      const text = outcome.cached ? outcome.text : writer.text;
      // Cached once stored COMPLETE, before the final event: a client that asks again on seeing it finds it cached.
      await writer.finish(
        { status: 'COMPLETE', text: cut(text), degraded: outcome.degraded, provider: outcome.provider, citations: outcome.citations, toolCalls: outcome.toolCalls },
        () => outcome.remember(),
      );
      this.stats.completed += 1;
    } catch (error) {
      this.stats.failed += 1;
      log.error({ err: error, messageId: task.replyId }, 'streamed reply failed: stored FAILED');
      await writer
        .finish({ status: 'FAILED', text: cut(writer.text), reason: signal.aborted ? REASON_INTERRUPTED : REASON_FAILED, provider: null, citations: [] })
        .catch((failure: unknown) => log.error({ err: failure, messageId: task.replyId }, 'streamed reply could not be stored FAILED'));
    }
  }

  /** Marks replies abandoned by a dead process FAILED (and tells their subscribers), now and every minute. */
  startSweeping(intervalMs = 60_000): void {
    const sweep = async () => {
      try {
        const ids = await failAbandonedStreams(this.options.database, this.options.abandonedAfterMs, REASON_INTERRUPTED);
        for (const id of ids) if (!this.running.has(id)) await this.options.events.publish(messageTopic(id), { done: true } satisfies ReplyBusEvent);
      } catch (error) {
        this.options.log.warn({ err: error }, 'sweep of abandoned streamed replies failed');
      }
    };
    void sweep();
    this.sweeper = setInterval(sweep, intervalMs);
    this.sweeper.unref();
  }

  /** Lets replies in flight finish for up to `graceMs`, then aborts the rest (stored FAILED, REASON_INTERRUPTED). */
  async stop(graceMs: number): Promise<void> {
    clearInterval(this.sweeper);
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    if ((await Promise.race([all, timedOut])) === 'late') {
      for (const { controller } of this.running.values()) controller.abort(new Error('the agent subgraph is stopping'));
      await all;
    }
    clearTimeout(timer);
  }
}

/** At most MAX_CHARS code points. */
function cut(text: string): string {
  const chars = [...text];
  return chars.length > MAX_CHARS ? chars.slice(0, MAX_CHARS).join('') : text;
}

/**
 * One reply's text as it grows: written to the row at most every `persistMs` (the first piece at once, for the time
 * to first token), each write followed by the publication of what it added. Writes are serialized.
 */
class ReplyWriter {
  text = '';
  private persisted = 0;
  private lastWrite = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> | undefined;
  private finished = false;

  constructor(
    private readonly database: Database,
    private readonly events: EventBus,
    private readonly messageId: string,
    private readonly persistMs: number,
    private readonly log: Logger,
  ) {}

  piece(piece: string): void {
    if (this.finished) return;
    this.text += piece;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.writing || this.finished) return;
    const wait = this.lastWrite + this.persistMs - Date.now();
    if (wait <= 0) void this.flush();
    else this.timer = setTimeout(() => void this.flush(), wait);
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    if (this.finished || this.writing) return;
    const text = cut(this.text);
    if (text.length <= this.persisted) return;
    const at = this.persisted;
    this.lastWrite = Date.now();
    this.writing = (async () => {
      try {
        await storeStreamedText(this.database, this.messageId, text);
        this.persisted = text.length;
        await this.events.publish(messageTopic(this.messageId), { at, delta: text.slice(at) } satisfies ReplyBusEvent);
      } catch (error) {
        // The next write carries this text too; subscribers that joined meanwhile read what the row has.
        this.log.warn({ err: error, messageId: this.messageId }, 'streamed reply text not written; retried with the next piece');
      }
    })();
    await this.writing;
    this.writing = undefined;
    if (this.text.length > this.persisted) this.schedule();
  }

  /**
   * Stores the end, runs `stored` (when it was stored), then publishes the text not yet published and the final
   * event. Undefined when the reply had already ended.
   */
  async finish(end: Parameters<typeof finishStreamedReply>[2], stored?: () => Promise<void>): Promise<MessageRow | undefined> {
    this.finished = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    const row = await finishStreamedReply(this.database, this.messageId, end);
    if (row && stored) {
      await stored().catch((error: unknown) => this.log.warn({ err: error, messageId: this.messageId }, 'streamed reply stored but not cached'));
    }
    const topic = messageTopic(this.messageId);
    // The stored text is the reply as streamed (cut at MAX_CHARS): whatever of it was not published yet.
    if (row && row.text.length > this.persisted && row.text.startsWith(this.text.slice(0, this.persisted))) {
      await this.events.publish(topic, { at: this.persisted, delta: row.text.slice(this.persisted) } satisfies ReplyBusEvent);
    }
    await this.events.publish(topic, { done: true } satisfies ReplyBusEvent);
    return row;
  }
}
