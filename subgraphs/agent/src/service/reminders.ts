import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import { badInput, conflict, decodeTimeIdCursor, isUuid, notFound, pageSize, toConnection, type Connection, type Database, type JobEngine, type Logger } from '@suoke/platform';
import { reminders, type ReminderRecurrence, type ReminderRow } from '../db/schema.js';
import type { PostNotification } from './notify.js';
import { checkLocalDateTime, checkTimeZone, firstOccurrence, occurrenceAt, RECURRENCES } from './reminder-time.js';

/** The queue of reminder occurrences (pg-boss, schema agent_jobs): one job per occurrence, due at its instant. */
export const REMINDER_QUEUE = 'reminder-fire';

export interface CreateReminderInput {
  text: string;
  /** Local date-time in `timeZone`, `YYYY-MM-DDTHH:mm`. */
  startsAt: string;
  /** IANA time zone name, e.g. `Asia/Shanghai`. */
  timeZone: string;
  recurrence?: ReminderRecurrence;
  /** The client's idempotency key: the same key returns the reminder created first. */
  clientKey?: string;
}

/** What `create` returns (the `create_reminder` tool reads these fields). */
export interface CreatedReminder {
  id: string;
  text: string;
  /** The first occurrence, RFC 3339 in UTC. */
  nextFireAt: string;
  recurrence: string;
  timeZone: string;
}

interface FireJob {
  reminderId: string;
  occurrence: number;
}

export interface ReminderServiceDeps {
  database: Database;
  engine: JobEngine;
  notify: PostNotification;
  log: Logger;
  now?: () => Date;
}

/**
 * 索儿's reminders. Creating one stores it and sends the job of its first
 * occurrence in one transaction; each occurrence's job posts a notification
 * keyed by reminder and occurrence (so a retried or duplicated job notifies
 * once) and then, in one transaction, advances the reminder and sends the
 * next occurrence's job: a recurring reminder schedules each occurrence
 * exactly once. A job whose occurrence no longer matches the reminder (it was
 * cancelled, or that occurrence already fired) does nothing.
 */
export class ReminderService {
  private readonly now: () => Date;

  constructor(private readonly deps: ReminderServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    deps.engine.define<FireJob>({ name: REMINDER_QUEUE, retryLimit: 8, retryDelaySeconds: 5, expireInSeconds: 120, handler: (job) => this.fire(job.data).then(() => undefined) });
  }

  async create(userId: string, input: CreateReminderInput): Promise<CreatedReminder> {
    const row = await this.createRow(userId, input);
    if (row.status !== 'ACTIVE' || !row.nextFireAt) throw conflict(`The reminder under clientKey ${JSON.stringify(input.clientKey)} is ${row.status.toLowerCase()}`);
    return { id: row.id, text: row.text, nextFireAt: row.nextFireAt.toISOString(), recurrence: row.recurrence, timeZone: row.timeZone };
  }

  /** `create`, returning the stored row (what the GraphQL field resolves from). */
  async createRow(userId: string, input: CreateReminderInput): Promise<ReminderRow> {
    const text = input.text.trim();
    const length = [...text].length;
    if (length < 1 || length > 500) throw badInput(`text must have 1–500 characters after trimming; received ${length}`, 'input.text');
    const timeZone = checkTimeZone(input.timeZone);
    const localStart = checkLocalDateTime(input.startsAt);
    const recurrence = input.recurrence ?? 'NONE';
    if (!RECURRENCES.includes(recurrence)) throw badInput(`recurrence must be one of ${RECURRENCES.join(', ')}; received ${JSON.stringify(recurrence)}`, 'input.recurrence');
    const clientKey = input.clientKey?.trim() || null;
    if (clientKey && clientKey.length > 200) throw badInput(`clientKey must have at most 200 characters; received ${clientKey.length}`, 'input.clientKey');
    const owner = userId.toLowerCase();
    if (clientKey) {
      const existing = await this.byClientKey(owner, clientKey);
      if (existing) return existing;
    }
    const first = firstOccurrence(localStart, timeZone, recurrence, this.now());
    const created = await this.deps.database.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(reminders)
        .values({ userId: owner, text, timeZone, localStart, recurrence, status: 'ACTIVE', nextOccurrence: first.occurrence, nextFireAt: first.at, firedCount: 0, clientKey })
        .onConflictDoNothing()
        .returning();
      // A concurrent create with the same client key won: nothing of ours is written.
      if (!row) return undefined;
      await this.deps.engine.send(REMINDER_QUEUE, { reminderId: row.id, occurrence: first.occurrence } satisfies FireJob, { startAfter: first.at, tx });
      return row;
    });
    return created ?? (await this.byClientKey(owner, clientKey!))!;
  }

  /** The caller's reminders, newest first. */
  async list(userId: string, args: { first?: number | null; after?: string | null }): Promise<Connection<ReminderRow>> {
    const first = pageSize(args.first);
    const after = decodeTimeIdCursor(args.after);
    const owner = eq(reminders.userId, userId.toLowerCase());
    const rows = await this.deps.database.db
      .select()
      .from(reminders)
      .where(after ? and(owner, or(lt(reminders.createdAt, after.at), and(eq(reminders.createdAt, after.at), lt(reminders.id, after.id)))) : owner)
      .orderBy(desc(reminders.createdAt), desc(reminders.id))
      .limit(first + 1);
    return toConnection(rows, first, (row) => [row.createdAt.toISOString(), row.id]);
  }

  /** Cancels the caller's reminder (idempotent); another user's is NOT_FOUND, as is none. */
  async cancel(userId: string, id: string): Promise<ReminderRow> {
    const missing = () => notFound(`No reminder with id ${JSON.stringify(id)} was found`);
    if (!isUuid(id)) throw missing();
    const owner = and(eq(reminders.id, id), eq(reminders.userId, userId.toLowerCase()));
    const [cancelled] = await this.deps.database.db
      .update(reminders)
      .set({ status: 'CANCELLED', nextFireAt: null, cancelledAt: sql`now()` })
      .where(and(owner, eq(reminders.status, 'ACTIVE')))
      .returning();
    if (cancelled) return cancelled;
    const [row] = await this.deps.database.db.select().from(reminders).where(owner);
    if (!row) throw missing();
    return row;
  }

  /** Runs one occurrence's job. */
  async fire(job: FireJob): Promise<'FIRED' | 'STALE'> {
    const { database, notify, engine, log } = this.deps;
    const [row] = await database.db.select().from(reminders).where(eq(reminders.id, job.reminderId));
    if (!row || row.status !== 'ACTIVE' || row.nextOccurrence !== job.occurrence) return 'STALE';
    const outcome = await notify({
      key: `reminder:${row.id}:${job.occurrence}`,
      userId: row.userId,
      kind: 'REMINDER',
      title: '索儿提醒你',
      body: row.text,
    });
    if (outcome === 'REFUSED') log.warn({ reminderId: row.id, occurrence: job.occurrence }, 'the user subgraph refused a reminder notification; the occurrence is skipped');
    const following = row.recurrence === 'NONE' ? undefined : job.occurrence + 1;
    const nextAt = following === undefined ? undefined : occurrenceAt(row.localStart, row.timeZone, row.recurrence, following);
    await database.db.transaction(async (tx) => {
      // Compare-and-set on the occurrence: of two deliveries of this job, one advances, the other finds it done.
      const [advanced] = await tx
        .update(reminders)
        .set({
          nextOccurrence: following ?? job.occurrence + 1,
          nextFireAt: nextAt ?? null,
          status: nextAt ? 'ACTIVE' : 'DONE',
          firedCount: sql`${reminders.firedCount} + 1`,
          lastFiredAt: sql`now()`,
        })
        .where(and(eq(reminders.id, row.id), eq(reminders.status, 'ACTIVE'), eq(reminders.nextOccurrence, job.occurrence)))
        .returning({ id: reminders.id });
      if (advanced && following !== undefined && nextAt) {
        await engine.send(REMINDER_QUEUE, { reminderId: row.id, occurrence: following } satisfies FireJob, { startAfter: nextAt, tx });
      }
    });
    return 'FIRED';
  }

  private async byClientKey(userId: string, clientKey: string): Promise<ReminderRow | undefined> {
    const [row] = await this.deps.database.db
      .select()
      .from(reminders)
      .where(and(eq(reminders.userId, userId), eq(reminders.clientKey, clientKey)));
    return row;
  }
}
