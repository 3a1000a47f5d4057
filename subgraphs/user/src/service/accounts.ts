import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { badInput, conflict, signAccessToken, unauthenticated, type Database, DEV_JWT_SECRET } from '@suoke/platform';
import type { UserConfig } from '../config.js';
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

/**
 * Accounts and sessions. Refresh tokens are random, stored only as SHA-256
 * hashes, single-use, and grouped in families (one per sign-in): presenting a
 * used token means it leaked, so the whole family is revoked.
 */
export class Accounts {
  constructor(
    private readonly database: Database,
    private readonly config: UserConfig,
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

  async refresh(token: string): Promise<AuthResult> {
    const tokenHash = hashToken(token);
    // Mark used atomically: of two concurrent refreshes with one token, one wins.
    const [claimed] = await this.database.db
      .update(refreshTokens)
      .set({ usedAt: sql`now()` })
      .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.usedAt), isNull(refreshTokens.revokedAt), sql`${refreshTokens.expiresAt} > now()`))
      .returning();
    if (!claimed) {
      const [known] = await this.database.db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).limit(1);
      if (known?.usedAt) await this.revokeFamily(known.familyId);
      throw unauthenticated(INVALID_REFRESH);
    }
    const [user] = await this.database.db.select().from(users).where(eq(users.id, claimed.userId)).limit(1);
    if (!user) throw unauthenticated(INVALID_REFRESH);
    return this.issue(user, claimed.familyId);
  }

  /** Revokes the sign-in (family) the token belongs to. Unknown tokens return false, revealing nothing else. */
  async logout(token: string): Promise<boolean> {
    const [known] = await this.database.db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hashToken(token))).limit(1);
    if (!known || known.revokedAt) return false;
    await this.revokeFamily(known.familyId);
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

  private async revokeFamily(familyId: string): Promise<void> {
    await this.database.db
      .update(refreshTokens)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
  }

  private async issue(user: UserRow, familyId: string): Promise<AuthResult> {
    const refreshToken = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.config.REFRESH_TOKEN_TTL_DAYS * 86_400_000);
    await this.database.db.insert(refreshTokens).values({ familyId, userId: user.id, tokenHash: hashToken(refreshToken), expiresAt });
    const accessToken = await signAccessToken(user, {
      secret: this.config.JWT_SECRET ?? DEV_JWT_SECRET,
      issuer: this.config.JWT_ISSUER,
      audience: this.config.JWT_AUDIENCE,
      ttlSeconds: this.config.ACCESS_TOKEN_TTL_SECONDS,
    });
    return { accessToken, refreshToken, expiresIn: this.config.ACCESS_TOKEN_TTL_SECONDS, user };
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
