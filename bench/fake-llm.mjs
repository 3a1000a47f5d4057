// A stand-in for a slow, sometimes failing OpenAI-compatible model provider, for
// the agent scenario. Same idea as subgraphs/agent/test/fakes.ts (which bench
// does not import: it is TypeScript for vitest), plus a latency distribution,
// connection resets and the bookkeeping the scenario reports from.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { estimateTokens, fraction, latencySampler, seededRandom } from './lib/draws.mjs';

// The agent scenario draws its own latencies and questions with the same generators.
export { latencySampler, seededRandom } from './lib/draws.mjs';

/**
 * What the fake model does with the tools it is offered, on a question's first turn (decided by the question's text,
 * so a repeated question decides alike): `personalShare` of questions read the user's health summary (when offered),
 * `searchShare` search the knowledge base, the rest answer at once; `malformedShare` of calls have arguments that are
 * not JSON. After tool results it answers. Past the agent's last round (tool_choice "none") it answers.
 */
function toolTurn(body, { personalShare, searchShare, malformedShare }) {
  const offered = new Set((body.tools ?? []).map((t) => t.function?.name));
  const last = body.messages?.at(-1);
  if (offered.size === 0 || body.tool_choice === 'none' || last?.role !== 'user') return undefined;
  const question = String(last.content ?? '');
  const f = fraction(question);
  let call;
  if (f < personalShare && offered.has('get_health_summary')) call = { name: 'get_health_summary', arguments: '{}' };
  else if (f < personalShare + searchShare && offered.has('search_knowledge')) call = { name: 'search_knowledge', arguments: JSON.stringify({ query: [...question].slice(0, 4).join('') }) };
  if (!call) return undefined;
  if (fraction(`${question}:malformed`) < malformedShare) call.arguments = call.arguments.slice(0, -1);
  return [{ id: `call_${Math.floor(f * 1e9)}`, type: 'function', function: call }];
}

/**
 * POST /v1/chat/completions. With `"stream": true` in the body the reply comes
 * as server-sent events, OpenAI's way: `data: {chunk}` whose
 * `choices[0].delta.content` continues the text, then `data: [DONE]`. The drawn
 * latency is then the time to the whole reply (so a stream's full reply takes
 * `meanMs` on average): the first piece comes after `firstTokenShare` of it and
 * the `streamPieces` pieces are spread evenly over the rest.
 * Each call, decided on arrival:
 * - with probability `failureRate` it fails: half of failures answer HTTP 500,
 *   502 or 503, half reset the connection, either after a uniform fraction of
 *   the latency drawn (a provider fails part-way, not only at once); streamed,
 *   a status failure comes before the first piece and a reset may cut the
 *   stream part-way;
 * - otherwise it answers after the drawn latency, with a reply that ends in
 *   `[call:n]`, so that the client can tell which provider call a reply came
 *   from (and so whether it was shared or cached).
 * Counts what happened, for the report.
 */
export async function startFakeLlm({
  meanMs = 3000,
  sdMs = 1000,
  distribution = 'lognormal',
  failureRate = 0.05,
  seed = 42,
  streamPieces = 24,
  firstTokenShare = 0.05,
  personalShare = 0.25,
  searchShare = 0.15,
  malformedShare = 0.02,
} = {}) {
  const random = seededRandom(seed);
  const sample = latencySampler({ distribution, meanMs, sdMs }, random);
  const stats = newStats();
  /** call number → when its successful answer was sent (performance.now()). */
  const answeredAt = new Map();
  /** Bodies of calls that failed, until they are sent again. */
  const failedBodies = new Set();
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end('{"error":{"message":"not found"}}');
    }
    const call = ++stats.calls;
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    const latency = sample();
    const failure = random() < failureRate ? (random() < 0.5 ? 'status' : 'reset') : undefined;
    const failAfter = random() * latency;
    const status = [500, 502, 503][Math.floor(random() * 3)];
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      stats.inFlight -= 1;
    };
    let digest;
    res.on('close', () => {
      if (!res.writableEnded && !finished) {
        // The agent gave up waiting (its timeout): a retry may follow.
        stats.abandoned += 1;
        if (digest) failedBodies.add(digest);
      }
      done();
    });
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      digest = createHash('sha1').update(raw).digest('hex');
      // The body of a call that failed, again: the agent retrying it.
      if (failedBodies.delete(digest)) stats.retries += 1;
      let body;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        return res.end('{"error":{"message":"body is not JSON"}}');
      }
      const streamed = body.stream === true;
      // What the agent sent: its prompt's tokens, and whether this call follows a round of tool results.
      stats.promptTokens += estimateTokens(JSON.stringify(body.messages ?? []) + (body.tools ? JSON.stringify(body.tools) : ''));
      if (body.messages?.at(-1)?.role === 'tool') stats.toolRounds += 1;
      if (body.tools?.length) stats.withTools += 1;
      const toolCalls = failure ? undefined : toolTurn(body, { personalShare, searchShare, malformedShare });
      if (failure === 'reset') {
        setTimeout(() => {
          stats.resets += 1;
          failedBodies.add(digest);
          req.socket.destroy();
          done();
        }, failAfter);
        // Streamed, the reply runs until the reset cuts it (part-way once the first piece went out).
        if (!streamed) return;
      }
      if (failure === 'status') {
        setTimeout(() => {
          stats.statusFailures += 1;
          failedBodies.add(digest);
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: `fake provider failure ${status}`, type: 'server_error' } }));
          done();
        }, streamed ? failAfter * firstTokenShare : failAfter);
        return;
      }
      if (toolCalls) {
        stats.toolCallTurns += 1;
        // A turn of calls only: quick (a tenth of the drawn latency), the model's decision, not its answer.
        setTimeout(() => {
          if (res.destroyed) return;
          if (streamed) {
            res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
            const chunk = (delta, finish) => `data: ${JSON.stringify({ id: `chatcmpl-${call}`, object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
            for (const [index, c] of toolCalls.entries()) {
              const args = c.function.arguments;
              res.write(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: args.slice(0, 3) } }] }, null));
              res.write(chunk({ tool_calls: [{ index, function: { arguments: args.slice(3) } }] }, null));
            }
            res.write(chunk({}, 'tool_calls'));
            res.end('data: [DONE]\n\n');
          } else {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ id: `chatcmpl-${call}`, object: 'chat.completion', model: body.model, choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: toolCalls } }] }));
          }
          done();
        }, latency / 10);
        return;
      }
      const question = body.messages?.findLast((m) => m.role === 'user')?.content ?? '';
      const content = `（模拟模型回答）关于“${String(question).slice(0, 80)}”：建议规律作息、清淡饮食、适度运动；症状持续或加重请及时就医。[call:${call}]`;
      if (streamed) {
        // The whole reply in `streamPieces` pieces: the first after firstTokenShare of the latency, the last at the latency.
        const chars = [...content];
        const size = Math.ceil(chars.length / streamPieces);
        const pieces = [];
        for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
        const first = latency * firstTokenShare;
        const gap = pieces.length > 1 ? (latency - first) / (pieces.length - 1) : 0;
        const started = performance.now();
        const chunk = (delta, finish) =>
          `data: ${JSON.stringify({ id: `chatcmpl-${call}`, object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        const send = (i) => {
          if (res.destroyed) return;
          if (i === 0) {
            res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
            stats.firstPieces += 1;
            stats.firstPieceSumMs += performance.now() - started;
          }
          res.write(chunk({ ...(i === 0 ? { role: 'assistant' } : {}), content: pieces[i] }, null));
          if (i + 1 < pieces.length) return void setTimeout(() => send(i + 1), gap);
          stats.succeeded += 1;
          stats.streamed += 1;
          stats.latencySumMs += latency;
          answeredAt.set(call, performance.now());
          res.write(chunk({}, 'stop'));
          res.end('data: [DONE]\n\n');
          done();
        };
        setTimeout(() => send(0), first);
        return;
      }
      setTimeout(() => {
        if (res.destroyed) return;
        stats.succeeded += 1;
        stats.latencySumMs += latency;
        answeredAt.set(call, performance.now());
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: `chatcmpl-${call}`,
            object: 'chat.completion',
            model: body.model,
            choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
            usage: { prompt_tokens: 100, completion_tokens: 60, total_tokens: 160 },
          }),
        );
        done();
      }, latency);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    settings: { meanMs, sdMs: distribution === 'exponential' ? meanMs : sdMs, distribution, failureRate, streamPieces, firstTokenShare, personalShare, searchShare, malformedShare },
    /** What it received and how it answered. */
    stats,
    answeredAt,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

function newStats() {
  return {
    calls: 0,
    succeeded: 0,
    statusFailures: 0,
    resets: 0,
    abandoned: 0,
    retries: 0,
    inFlight: 0,
    maxInFlight: 0,
    latencySumMs: 0,
    streamed: 0,
    firstPieces: 0,
    firstPieceSumMs: 0,
    // Estimated prompt tokens of every call (messages and tool definitions), calls offered tools, calls that answered
    // with tool calls, and calls that followed a round of tool results (= tool rounds).
    promptTokens: 0,
    withTools: 0,
    toolCallTurns: 0,
    toolRounds: 0,
  };
}

/** The provider call a reply came from, from its `[call:n]` marker. */
export function callOf(text) {
  const match = /\[call:(\d+)\]\s*$/.exec(text ?? '');
  return match ? Number(match[1]) : undefined;
}
