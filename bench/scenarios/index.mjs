import { rateLimit } from './rate-limit.mjs';

/** Scenario name → runner({ quick, command }). */
export const scenarios = {
  'rate-limit': rateLimit,
};
