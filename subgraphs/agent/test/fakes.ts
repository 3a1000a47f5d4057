import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local stand-ins for the services the agent subgraph calls: an
 * OpenAI-compatible chat completions server and the gateway's `search`. Both
 * listen on port 0 and count what they receive, so tests assert how many calls
 * a behaviour cost, not only what came back.
 */

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function readJson(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export interface ChatCompletionRequest {
  model: string;
  stream?: boolean;
  messages: Array<{ role: string; content: string | null; tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>; tool_call_id?: string }>;
  /** The tools offered (OpenAI's `{ type: 'function', function: { name, description, parameters } }`), if any. */
  tools?: Array<{ type: string; function: { name: string; description: string; parameters: Record<string, unknown> } }>;
  tool_choice?: string;
  authorization: string | undefined;
}

/** A scripted answer of the fake model: text, tool calls (arguments as raw text, so malformed JSON can be sent), or both. */
export interface FakeTurn {
  content?: string;
  toolCalls?: Array<{ name: string; arguments: string | Record<string, unknown>; id?: string }>;
}

/** Decides an answer from the request (undefined: the default echo). */
export type FakeResponder = (request: ChatCompletionRequest, call: number) => FakeTurn | undefined;

/** A responder that gives `turns` in order, one per call, then the default echo. */
export function script(...turns: FakeTurn[]): FakeResponder {
  return () => turns.shift();
}

/** The tool results the model was sent in the last round, parsed, in order. */
export function toolResults(request: ChatCompletionRequest): Array<Record<string, any>> {
  const results: Array<Record<string, any>> = [];
  for (let i = request.messages.length - 1; i >= 0 && request.messages[i]!.role === 'tool'; i -= 1) results.unshift(JSON.parse(request.messages[i]!.content ?? '{}'));
  return results;
}

/** Pass to `failNext` for an HTTP 200 whose body is not a chat completion (not even JSON). */
export const GARBAGE = -1;

export interface FakeOpenAiOptions {
  /** Delay before each answer (mean, when `jitterMs` is set). */
  latencyMs?: number;
  /** Uniform ± spread around latencyMs. */
  jitterMs?: number;
  /** Share of calls answered with HTTP 500, at random (0–1). */
  failureRate?: number;
  /** Streamed calls (`stream: true`): pause between pieces (the first comes after `latencyMs`). */
  streamPaceMs?: number;
  /** Streamed calls: characters per piece. */
  streamPieceChars?: number;
  /** Speaks the tool-call protocol: what to answer to a request (undefined: the default echo). */
  respond?: FakeResponder;
}

/**
 * An OpenAI-compatible `/v1/chat/completions`. Failures are either scripted
 * (`failNext(n, status)`: the next n calls fail with that status) or random at
 * `failureRate`; latencies may be scripted too (`delayNext(ms…)`: one per call,
 * in order of arrival). The reply names the call number and echoes the
 * question. A call whose client goes away before it is answered is recorded in
 * `aborted` (its number) and answered no further.
 */
export async function startFakeOpenAi(options: FakeOpenAiOptions = {}) {
  const settings = { latencyMs: 0, jitterMs: 0, failureRate: 0, streamPaceMs: 20, streamPieceChars: 4, ...options };
  const scripted: number[] = [];
  /** Streamed calls to cut (connection reset) after this many pieces, in order of arrival. */
  const cuts: number[] = [];
  /** Pieces sent by streamed calls, per call number. */
  const piecesSent = new Map<number, number>();
  const delays: number[] = [];
  const requests: ChatCompletionRequest[] = [];
  const aborted: number[] = [];
  const state = { calls: 0, inFlight: 0, maxInFlight: 0 };
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return send(res, 404, { error: { message: 'not found' } });
    state.calls += 1;
    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    const call = state.calls;
    let gone = false;
    let wake: (() => void) | undefined;
    res.on('close', () => {
      if (res.writableEnded) return;
      gone = true;
      aborted.push(call);
      wake?.();
    });
    try {
      // Decided on arrival: a call still sleeping when its caller gave up must not take a later call's scripted failure.
      const status = scripted.length > 0 ? scripted.shift()! : Math.random() < settings.failureRate ? 500 : 200;
      const delay = delays.length > 0 ? delays.shift()! : settings.latencyMs + (settings.jitterMs ? (Math.random() * 2 - 1) * settings.jitterMs : 0);
      const body = await readJson(req);
      const request: ChatCompletionRequest = {
        model: body.model,
        stream: body.stream,
        messages: body.messages,
        tools: body.tools,
        tool_choice: body.tool_choice,
        authorization: req.headers.authorization,
      };
      requests.push(request);
      if (delay > 0 && !gone) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      if (gone) return;
      if (status === GARBAGE) {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html>a proxy’s error page</html>');
      }
      if (status !== 200) return send(res, status, { error: { message: `scripted failure ${status}`, type: 'fake' } });
      const question = body.messages.findLast((m: { role: string }) => m.role === 'user')?.content ?? '';
      const turn = settings.respond?.(request, call);
      if (turn) return answerTurn(res, call, body, turn, settings);
      if (body.stream === true) {
        const cut = cuts.length > 0 ? cuts.shift()! : undefined;
        const chars = [...`模型回答#${call}：${question}`];
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        let sent = 0;
        for (let i = 0; i < chars.length; i += settings.streamPieceChars) {
          if (gone) return;
          if (cut !== undefined && sent >= cut) {
            res.socket?.destroy();
            return;
          }
          if (i > 0) await new Promise((resolve) => setTimeout(resolve, settings.streamPaceMs));
          const piece = chars.slice(i, i + settings.streamPieceChars).join('');
          res.write(`data: ${JSON.stringify({ id: `chatcmpl-${call}`, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: piece } }] })}\n\n`);
          sent += 1;
          piecesSent.set(call, sent);
        }
        res.write('data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n');
        res.end('data: [DONE]\n\n');
        return;
      }
      send(res, 200, {
        id: `chatcmpl-${call}`,
        object: 'chat.completion',
        model: body.model,
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: `模型回答#${call}：${question}` } }],
      });
    } finally {
      state.inFlight -= 1;
    }
  });
  const url = await listen(server);
  return {
    /** The LLM_BASE_URL to configure. */
    baseUrl: `${url}/v1`,
    requests,
    get calls() {
      return state.calls;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    /** Numbers of the calls whose client closed the connection before they were answered. */
    aborted,
    piecesSent,
    /** The next streamed calls, in order of arrival, are cut after these many pieces (0: before any). */
    cutNext(...afterPieces: number[]) {
      cuts.push(...afterPieces);
    },
    failNext(count: number, status = 503) {
      for (let i = 0; i < count; i += 1) scripted.push(status);
    },
    /** The next calls, in order of arrival, answer after these delays (ms) instead of latencyMs. */
    delayNext(...ms: number[]) {
      delays.push(...ms);
    },
    set(next: FakeOpenAiOptions) {
      Object.assign(settings, { respond: undefined }, next);
      scripted.length = 0;
      delays.length = 0;
      cuts.length = 0;
    },
    close: () => close(server),
  };
}

export type FakeOpenAi = Awaited<ReturnType<typeof startFakeOpenAi>>;

/**
 * A scripted turn, blocking or streamed. Streamed, the text comes in pieces and each tool call in pieces too, as
 * OpenAI sends them: the first piece of a call carries its index, id and name, the rest only pieces of `arguments`.
 */
async function answerTurn(res: ServerResponse, call: number, body: any, turn: FakeTurn, settings: { streamPaceMs: number; streamPieceChars: number }) {
  const calls = (turn.toolCalls ?? []).map((c, i) => ({
    id: c.id ?? `call_${call}_${i}`,
    type: 'function',
    function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
  }));
  if (body.stream !== true) {
    return send(res, 200, {
      id: `chatcmpl-${call}`,
      object: 'chat.completion',
      model: body.model,
      choices: [{ index: 0, finish_reason: calls.length ? 'tool_calls' : 'stop', message: { role: 'assistant', content: turn.content ?? null, ...(calls.length ? { tool_calls: calls } : {}) } }],
    });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const chunk = (delta: unknown, finish: string | null = null) =>
    res.write(`data: ${JSON.stringify({ id: `chatcmpl-${call}`, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
  const chars = [...(turn.content ?? '')];
  for (let i = 0; i < chars.length; i += settings.streamPieceChars) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, settings.streamPaceMs));
    chunk({ content: chars.slice(i, i + settings.streamPieceChars).join('') });
  }
  for (const [index, c] of calls.entries()) {
    const args = c.function.arguments;
    const cut = Math.ceil(args.length / 2);
    chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: args.slice(0, cut) } }] });
    chunk({ tool_calls: [{ index, function: { arguments: args.slice(cut) } }] });
  }
  chunk({}, calls.length ? 'tool_calls' : 'stop');
  res.end('data: [DONE]\n\n');
}

/** A `search` hit as the gateway returns it for the agent's query. */
export interface FakeHit {
  score: number;
  kind: 'CONSTITUTION' | 'HERB' | 'ACUPOINT' | 'SYNDROME' | 'ARTICLE';
  item: Record<string, unknown> & { __typename: string };
}

/** What the knowledge base holds for the terms tests ask about. */
export const KNOWLEDGE: Record<string, FakeHit[]> = {
  气虚: [
    { score: 1.0, kind: 'CONSTITUTION', item: { __typename: 'Constitution', code: 'QI_DEFICIENT', name: '气虚质', summary: '元气不足，以疲乏、气短、自汗为主要特征。' } },
    { score: 0.62, kind: 'ARTICLE', item: { __typename: 'Article', id: 'qi-deficiency-care', title: '总是觉得累？气虚质的日常调养', summary: '气虚质怎么吃、怎么动、怎么睡。' } },
  ],
  睡眠: [{ score: 0.55, kind: 'ARTICLE', item: { __typename: 'Article', id: 'yin-deficiency-dryness', title: '口干、失眠、手心热：阴虚质的滋润之道', summary: '阴虚质的滋阴与睡眠。' } }],
  黄芪: [{ score: 1.0, kind: 'HERB', item: { __typename: 'Herb', id: 'huangqi', name: '黄芪', actions: ['补气升阳', '固表止汗'] } }],
  // A question naming a herb in pinyin: the knowledge base's `mentions` tier (0.3–0.39), cited because the question named it.
  'huangqi you shenme gongxiao': [
    { score: 0.33, kind: 'HERB', item: { __typename: 'Herb', id: 'huangqi', name: '黄芪', nameEn: 'Astragalus root', actions: ['补气升阳'], cautions: ['表实邪盛者不宜'] } },
  ],
  // Below the relevance threshold: a near spelling, never cited.
  阳虚: [{ score: 0.2, kind: 'SYNDROME', item: { __typename: 'Syndrome', code: 'KIDNEY_YANG_DEFICIENCY', name: '肾阳虚证', treatmentPrinciple: '温补肾阳' } }],
};

/**
 * The gateway as the agent sees it: answers the aliased `search` query from
 * KNOWLEDGE and records each request's terms and Authorization header.
 * `down()` makes it answer 503 as a gateway with no healthy subgraph would.
 */
export async function startFakeGateway() {
  const requests: Array<{ terms: string[]; authorization: string | undefined; query: string }> = [];
  let available = true;
  const server = createServer(async (req, res) => {
    const body = await readJson(req);
    const variables = (body.variables ?? {}) as Record<string, string>;
    requests.push({ terms: Object.values(variables), authorization: req.headers.authorization, query: body.query });
    if (!available) return send(res, 503, { errors: [{ message: 'no healthy upstream' }] });
    // Terms $q0… answer as t0…; the whole question ($question) as `question`.
    const data = Object.fromEntries(Object.entries(variables).map(([name, term]) => [name === 'question' ? name : `t${name.slice(1)}`, KNOWLEDGE[term] ?? []]));
    send(res, 200, { data });
  });
  const url = await listen(server);
  return {
    url: `${url}/graphql`,
    requests,
    down() {
      available = false;
    },
    up() {
      available = true;
    },
    close: () => close(server),
  };
}

export type FakeGateway = Awaited<ReturnType<typeof startFakeGateway>>;

/** A port nothing listens on: connections are refused at once. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  const url = await listen(server);
  await close(server);
  return `${url}/graphql`;
}

/**
 * The agent's environment for a model provider at `fake`, its knowledge lookups
 * at `gateway`: 3 attempts with short backoff, and `overrides` on top.
 */
export function modelEnv(fake: FakeOpenAi, gateway: FakeGateway, overrides: Record<string, string> = {}) {
  return {
    LLM_BASE_URL: fake.baseUrl,
    LLM_MODEL: 'fake-model',
    LLM_MAX_ATTEMPTS: '3',
    LLM_RETRY_BASE_MS: '10',
    LLM_RETRY_MAX_MS: '40',
    GATEWAY_URL: gateway.url,
    ...overrides,
  };
}
