import { agent } from './agent.mjs';
import { rateLimit } from './rate-limit.mjs';
import { tracing } from './tracing.mjs';

/** Scenario name → runner({ quick, command }). */
export const scenarios = {
  agent,
  'rate-limit': rateLimit,
  tracing,
};
