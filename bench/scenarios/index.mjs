import { ab } from './ab.mjs';
import { agent } from './agent.mjs';
import { gateways } from './gateways.mjs';
import { live } from './live.mjs';
import { media } from './media.mjs';
import { auth } from './auth.mjs';
import { batching } from './batching.mjs';
import { overhead } from './overhead.mjs';
import { rateLimit } from './rate-limit.mjs';
import { retrieval } from './retrieval.mjs';
import { swap } from './swap.mjs';
import { tracing } from './tracing.mjs';
import { usage } from './usage.mjs';

/** Scenario name → runner({ quick, command }). */
export const scenarios = {
  auth, // S1
  batching, // S3
  overhead, // S4
  agent,
  gateways,
  'rate-limit': rateLimit,
  tracing,
  live, // issue 19: subscriptions (idle, fan-out, Hive side by side), first token, @defer
  ab, // two environments side by side on one query (a tuning's before and after)
  retrieval, // issue 20: recall@1/@3 of the evaluation set per language, offline responder through the gateway
  media, // issue 21: tongue photo and voice recording, upload + analysis p50/p99, throughput, peak memory
  usage, // issue 22: field usage recording on vs off, req per gateway CPU-second
  swap, // issue 23: p50/p99 in the 10 s after a supergraph swap against the 10 s before, pre-planning on vs off
};
