import { rateLimit } from './rate-limit.mjs';
import { tracing } from './tracing.mjs';

/** Scenario name → runner({ quick, command }). */
export const scenarios = {
  'rate-limit': rateLimit,
  tracing,
};
