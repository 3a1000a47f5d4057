import { asc, eq, gt, sql } from 'drizzle-orm';
import type { Database, JobEngine, Logger } from '@suoke/platform';
import { seasonFollowers } from '../db/schema.js';
import type { PostNotification } from './notify.js';
import { seasonalAdvice } from './seasons-advice.js';
import { nextSolarTerm, termInfo, type SolarTerm } from './seasons.js';

/** One job per solar term (not per user): at the term's instant it messages every follower. */
export const SEASON_QUEUE = 'season-term';

/** The user's constitution code (e.g. `YANG_DEFICIENT`) from their consented report, or null; wired by the integrator. */
export type ConstitutionOf = (userId: string) => Promise<string | null>;

interface TermJob {
  longitude: number;
  at: string;
}

export interface SeasonServiceDeps {
  database: Database;
  engine: JobEngine;
  notify: PostNotification;
  constitutionOf: ConstitutionOf;
  log: Logger;
  now?: () => Date;
  /** Followers read per statement while a term's messages go out. */
  batchSize?: number;
}

/**
 * Seasonal advice at each of the 24 solar terms, for the users who follow
 * the seasons (`followSeasons`). The term's job is sent for the next term's
 * instant, with the term as its singleton key (a `short` queue keeps one
 * waiting job per key, so every replica may ensure it at start); it posts one
 * notification per follower keyed by term and user, so a retried job sends
 * nothing twice, and then sends the job of the term after.
 */
export class SeasonService {
  private readonly now: () => Date;

  constructor(private readonly deps: SeasonServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    deps.engine.define<TermJob>({ name: SEASON_QUEUE, policy: 'short', retryLimit: 10, retryDelaySeconds: 30, expireInSeconds: 900, handler: (job) => this.runTerm(job.data) });
  }

  /** Sends the next term's job unless it is already waiting; call after the engine started. */
  async ensureScheduled(): Promise<void> {
    await this.schedule(nextSolarTerm(this.now()));
  }

  async follow(userId: string, following: boolean): Promise<{ following: boolean; since: Date | null }> {
    const { db } = this.deps.database;
    const owner = userId.toLowerCase();
    if (!following) {
      await db.delete(seasonFollowers).where(eq(seasonFollowers.userId, owner));
      return { following: false, since: null };
    }
    await db.insert(seasonFollowers).values({ userId: owner }).onConflictDoNothing();
    return this.status(owner);
  }

  async status(userId: string): Promise<{ following: boolean; since: Date | null }> {
    const [row] = await this.deps.database.db.select().from(seasonFollowers).where(eq(seasonFollowers.userId, userId.toLowerCase()));
    return { following: Boolean(row), since: row?.followedAt ?? null };
  }

  /** The message a user would get at `term` (the `seasonalAdvice` query reads it for the current term). */
  async adviceFor(userId: string, term: SolarTerm) {
    return seasonalAdvice(term, await this.deps.constitutionOf(userId));
  }

  /** Messages every follower for the term, in keyset batches, then schedules the next term. */
  async runTerm(job: TermJob): Promise<void> {
    const { database, notify, constitutionOf, log } = this.deps;
    const term = { ...termInfo(job.longitude), at: new Date(job.at), dateInChina: new Date(Date.parse(job.at) + 8 * 3_600_000).toISOString().slice(0, 10) };
    const batchSize = this.deps.batchSize ?? 500;
    let after = '00000000-0000-0000-0000-000000000000';
    let sent = 0;
    for (;;) {
      const batch = await database.db
        .select({ userId: seasonFollowers.userId })
        .from(seasonFollowers)
        .where(gt(seasonFollowers.userId, sql`${after}::uuid`))
        .orderBy(asc(seasonFollowers.userId))
        .limit(batchSize);
      for (const { userId } of batch) {
        const advice = seasonalAdvice(term, await constitutionOf(userId));
        await notify({ key: `season:${job.at}:${userId}`, userId, kind: 'SEASONAL_ADVICE', title: advice.title, body: advice.body });
        sent += 1;
      }
      if (batch.length < batchSize) break;
      after = batch.at(-1)!.userId;
    }
    log.info({ term: term.name, followers: sent }, 'solar term messages sent');
    await this.schedule(nextSolarTerm(new Date(term.at.getTime() + 1_000)));
  }

  private async schedule(term: SolarTerm): Promise<void> {
    const at = term.at.toISOString();
    await this.deps.engine.send(SEASON_QUEUE, { longitude: term.longitude, at } satisfies TermJob, { startAfter: term.at, singletonKey: at });
  }
}

/** What `SeasonalAdvice` resolves from. */
export interface SeasonalAdviceResult {
  term: SolarTerm;
  title: string;
  body: string;
  constitution: string | null;
}

/** What `SeasonFollowing` resolves from. */
export interface SeasonFollowingResult {
  following: boolean;
  since: Date | null;
  nextTerm: SolarTerm;
}
