import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { badInput, conflict, signAccessToken, unauthenticated, type Database, type Db, type RequestSessions, signingKeyRing } from '@suoke/platform';
import { DEV_REFRESH_TOKEN_SECRET, type UserConfig } from '../config.js';
import { refreshTokens, users, type UserRow } from '../db/schema.js';
import { burnPasswordCheck, checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
import type { SignInThrottle } from './sign-in-throttle.js';
import { checkDisplayName, checkLocale, EMAIL_MAX, normaliseEmail } from './validation.js';

export interface AuthResult {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: UserRow;
}

const INVALID_CREDENTIALS = 'The email or password is incorrect';
const INVALID_REFRESH = 'The refresh token is invalid or has expired';
/** Issued tokens are 43 characters; anything much longer is not one of them. */
const MAX_REFRESH_TOKEN_LENGTH = 256;
/** The clock skew verifiers allow on `exp`, with margin: an ended session stays refused until its last access token has expired. */
const ACCESS_TOKEN_SKEW_SECONDS = 30;

/**
 * Accounts and sessions. Refresh tokens are stored only as SHA-256 hashes,
 * single-use, and grouped in families (one per sign-in, whose id is the
 * access tokens' `sid`): presenting a used token means it leaked, so the
 * whole family is revoked, except for a retry within the grace window.
 */
export class Accounts {
  constructor(
    private readonly database: Database,
    private readonly config: UserConfig,
    private readonly sessions?: RequestSessions,
  ) {}

  async register(input: { email: string; password: string; displayName: string; locale?: string | null }): Promise<AuthResult> {
    const email = normaliseEmail(input.email);
    checkPasswordPolicy(input.password, email);
    const displayName = checkDisplayName(input.displayName);
    const locale = checkLocale(input.locale ?? 'zh-CN');
    const passwordHash = await hashPassword(input.password);
    const [user] = await this.database.db
      .insert(users)
      .values({ email, passwordHash, displayName, locale, roles: ['USER'] })
      .onConflictDoNothing({ target: users.email })
      .returning();
    if (!user) throw conflict('An account with this email already exists');
    return this.issue(user, randomUUID());
  }

  /** With a throttle, failed attempts count against the email (see SignInThrottle), from `address`. */
  async login(input: { email: string; password: string }, throttle?: { limiter: SignInThrottle; address: string }): Promise<AuthResult> {
    const email = input.email.trim().toLowerCase();
    // No address is longer; refused before anything is counted or looked up.
    if (email.length > EMAIL_MAX) throw badInput(`email must be at most ${EMAIL_MAX} characters; received ${email.length}`, 'input.email');
    const attempt = await throttle?.limiter.admit(email, throttle.address);
    const user = await this.checkCredentials(email, input.password);
    if (!user) {
      await attempt?.failed();
      throw unauthenticated(INVALID_CREDENTIALS);
    }
    await attempt?.succeeded();
    return this.issue(user, randomUUID());
  }

  private async checkCredentials(email: string, password: string): Promise<UserRow | undefined> {
    if (password.length > 1024) return undefined;
    const [user] = await this.database.db.select().from(users).where(eq(users.email, email)).limit(1);
    if (!user) {
      await burnPasswordCheck(password);
      return undefined;
    }
    return (await verifyPassword(password, user.passwordHash)) ? user : undefined;
  }

  /**
   * Rotates a refresh token. Claiming it and storing its successor are one
   * transaction, so a crash between them cannot lose the sign-in. The
   * successor is derived from the token (an HMAC under a server key), so that
   * a retry within REFRESH_REUSE_GRACE_SECONDS gets the same successor while
   * only hashes are stored; concurrent identical refreshes wait for the first
   * one's transaction and then take the retry path. Any other reuse means the
   * token leaked: the whole sign-in is revoked, its access tokens included.
   */
  async refresh(token: string): Promise<AuthResult> {
    if (token.length > MAX_REFRESH_TOKEN_LENGTH) throw unauthenticated(INVALID_REFRESH);
    const tokenHash = hashToken(token);
    const successor = this.successorOf(token);
    const successorHash = hashToken(successor);
    const grace = this.config.REFRESH_REUSE_GRACE_SECONDS;
    const outcome = await this.database.db.transaction(async (tx): Promise<{ kind: 'issue'; familyId: string; userId: string } | { kind: 'invalid' } | { kind: 'revoked'; familyId: string }> => {
      // Of concurrent claims one wins; the others wait for its commit, then find the token used.
      const [claimed] = await tx
        .update(refreshTokens)
        .set({ usedAt: sql`now()` })
        .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.usedAt), isNull(refreshTokens.revokedAt), sql`${refreshTokens.expiresAt} > now()`))
        .returning({ familyId: refreshTokens.familyId, userId: refreshTokens.userId });
      if (claimed) {
        await tx.insert(refreshTokens).values({ familyId: claimed.familyId, userId: claimed.userId, tokenHash: successorHash, expiresAt: this.refreshExpiry() });
        return { kind: 'issue', ...claimed };
      }
      const rows = await tx
        .select({
          tokenHash: refreshTokens.tokenHash,
          familyId: refreshTokens.familyId,
          userId: refreshTokens.userId,
          used: sql<boolean>`${refreshTokens.usedAt} is not null`,
          revoked: sql<boolean>`${refreshTokens.revokedAt} is not null`,
          live: sql<boolean>`${refreshTokens.expiresAt} > now()`,
          usedInGrace: sql<boolean>`coalesce(${refreshTokens.usedAt} > now() - ${grace} * interval '1 second', false)`,
        })
        .from(refreshTokens)
        .where(inArray(refreshTokens.tokenHash, [tokenHash, successorHash]));
      const known = rows.find((row) => row.tokenHash === tokenHash);
      const next = rows.find((row) => row.tokenHash === successorHash);
      // Unknown, expired unused, or already revoked (logged out, or revoked earlier): nothing more to end.
      if (!known || !known.used || known.revoked) return { kind: 'invalid' };
      // A retry of a refresh whose answer may have been lost: the same successor, while nobody has used it.
      if (grace > 0 && known.usedInGrace && next && !next.used && !next.revoked && next.live) return { kind: 'issue', familyId: known.familyId, userId: known.userId };
      // Reuse after the window, or of a token whose successor was used since: it leaked.
      await this.revokeFamily(tx, known.familyId);
      return { kind: 'revoked', familyId: known.familyId };
    });
    if (outcome.kind === 'revoked') await this.endSession(outcome.familyId);
    if (outcome.kind !== 'issue') throw unauthenticated(INVALID_REFRESH);
    const [user] = await this.database.db.select().from(users).where(eq(users.id, outcome.userId)).limit(1);
    if (!user) throw unauthenticated(INVALID_REFRESH);
    return this.tokens(user, outcome.familyId, successor);
  }

  /**
   * Ends the sign-in (family) the token belongs to, any token of it, used or
   * not: the refresh tokens in one statement, then its access tokens at the
   * gateway and every subgraph. Unknown or already ended: false, revealing nothing else.
   */
  async logout(token: string): Promise<boolean> {
    if (token.length > MAX_REFRESH_TOKEN_LENGTH) return false;
    const family = this.database.db.select({ familyId: refreshTokens.familyId }).from(refreshTokens).where(eq(refreshTokens.tokenHash, hashToken(token)));
    const revoked = await this.database.db
      .update(refreshTokens)
      .set({ revokedAt: sql`now()` })
      .where(and(inArray(refreshTokens.familyId, family), isNull(refreshTokens.revokedAt)))
      .returning({ familyId: refreshTokens.familyId });
    if (!revoked[0]) return false;
    await this.endSession(revoked[0].familyId);
    return true;
  }

  async updateProfile(userId: string, input: { displayName?: string | null; locale?: string | null }): Promise<UserRow> {
    const changes: Partial<Pick<UserRow, 'displayName' | 'locale'>> = {};
    if (input.displayName !== undefined && input.displayName !== null) changes.displayName = checkDisplayName(input.displayName);
    if (input.locale !== undefined && input.locale !== null) changes.locale = checkLocale(input.locale);
    if (Object.keys(changes).length === 0) throw badInput('updateProfile needs at least one of displayName, locale', 'input');
    const [user] = await this.database.db
      .update(users)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(eq(users.id, userId))
      .returning();
    if (!user) throw unauthenticated('The account of this token no longer exists');
    return user;
  }

  private async revokeFamily(tx: Pick<Db, 'update'>, familyId: string): Promise<void> {
    await tx
      .update(refreshTokens)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
  }

  /** Refuses the sign-in's access tokens from now on, for as long as one of them can be valid. */
  private async endSession(familyId: string): Promise<void> {
    await this.sessions?.end(familyId, this.config.ACCESS_TOKEN_TTL_SECONDS + ACCESS_TOKEN_SKEW_SECONDS);
  }

  /** A new sign-in: a random first refresh token; its successors are derived from it. */
  private async issue(user: UserRow, familyId: string): Promise<AuthResult> {
    const refreshToken = randomBytes(32).toString('base64url');
    await this.database.db.insert(refreshTokens).values({ familyId, userId: user.id, tokenHash: hashToken(refreshToken), expiresAt: this.refreshExpiry() });
    return this.tokens(user, familyId, refreshToken);
  }

  private async tokens(user: UserRow, familyId: string, refreshToken: string): Promise<AuthResult> {
    const accessToken = await signAccessToken(
      { id: user.id, roles: user.roles, sessionId: familyId },
      {
        key: signingKeyRing('user', this.config),
        issuer: this.config.JWT_ISSUER,
        audience: this.config.JWT_AUDIENCE,
        ttlSeconds: this.config.ACCESS_TOKEN_TTL_SECONDS,
      },
    );
    return { accessToken, refreshToken, expiresIn: this.config.ACCESS_TOKEN_TTL_SECONDS, user };
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.config.REFRESH_TOKEN_TTL_DAYS * 86_400_000);
  }

  /** The one successor a refresh token can have; without the server key nobody can compute it. */
  private successorOf(token: string): string {
    return createHmac('sha256', this.config.REFRESH_TOKEN_SECRET ?? DEV_REFRESH_TOKEN_SECRET)
      .update(`suoke refresh successor\0${token}`)
      .digest('base64url');
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
