import { z } from 'zod';

/** An optional URL variable: unset or empty is undefined (a compose file's `VAR: ''`), anything else must parse. */
export const optionalUrl = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .pipe(z.string().url().optional())
  .optional();
