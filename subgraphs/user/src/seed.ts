import { inArray } from 'drizzle-orm';
import type { Database } from '@suoke/platform';
import { users } from './db/schema.js';
import { hashPassword } from './service/passwords.js';

export interface SeededUser {
  id: string;
  email: string;
  roles: string[];
}

/**
 * Development accounts: admin@suoke.life (ADMIN), demo@suoke.life (USER) and
 * `extraUsers` more (user1@suoke.life …). Idempotent: existing accounts are
 * kept as they are. All share one password hash: hashing a thousand accounts
 * one by one would take minutes, and these are development accounts only.
 */
export async function seedUsers(database: Database, options: { password: string; extraUsers?: number }): Promise<SeededUser[]> {
  const passwordHash = await hashPassword(options.password);
  const wanted = [
    { email: 'admin@suoke.life', displayName: '管理员 Admin', roles: ['USER', 'ADMIN'] as const },
    { email: 'demo@suoke.life', displayName: '索克演示 Demo', roles: ['USER'] as const },
    ...Array.from({ length: options.extraUsers ?? 0 }, (_, i) => ({
      email: `user${i + 1}@suoke.life`,
      displayName: `用户 ${i + 1}`,
      roles: ['USER'] as const,
    })),
  ];
  const seeded: SeededUser[] = [];
  for (let start = 0; start < wanted.length; start += 1000) {
    const chunk = wanted.slice(start, start + 1000);
    await database.db
      .insert(users)
      .values(chunk.map((u) => ({ email: u.email, displayName: u.displayName, passwordHash, locale: 'zh-CN', roles: [...u.roles] })))
      .onConflictDoNothing({ target: users.email });
    const rows = await database.db
      .select({ id: users.id, email: users.email, roles: users.roles })
      .from(users)
      .where(inArray(users.email, chunk.map((u) => u.email)));
    const byEmail = new Map(rows.map((row) => [row.email, row]));
    for (const u of chunk) {
      const row = byEmail.get(u.email);
      if (row) seeded.push({ id: row.id, email: row.email, roles: row.roles });
    }
  }
  return seeded;
}
