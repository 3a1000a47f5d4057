import { badInput } from '@suoke/platform';

// A pragmatic address check: one @, no spaces, a dotted domain. Deliverability is not our job.
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/;
/** The longest an email address can be (RFC 5321 path limit). */
export const EMAIL_MAX = 254;
const LOCALE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

/** Emails are compared trimmed and lower-cased; that is the only form stored. */
export function normaliseEmail(email: string, field = 'input.email'): string {
  const normalised = email.trim().toLowerCase();
  if (normalised.length > EMAIL_MAX || !EMAIL.test(normalised)) {
    throw badInput('email must be an address like name@example.com', field);
  }
  return normalised;
}

export function checkDisplayName(name: string, field = 'input.displayName'): string {
  const trimmed = name.trim();
  const length = [...trimmed].length;
  if (length < 1 || length > 64) throw badInput(`displayName must be 1–64 characters; received ${length}`, field);
  // Control characters break rendering and logs.
  if (/\p{Cc}/u.test(trimmed)) throw badInput('displayName must not contain control characters', field);
  return trimmed;
}

export function checkLocale(locale: string, field = 'input.locale'): string {
  if (locale.length > 35 || !LOCALE.test(locale)) {
    throw badInput(`locale must be a BCP 47 tag such as zh-CN or en; received ${JSON.stringify(locale.slice(0, 40))}`, field);
  }
  return locale;
}
