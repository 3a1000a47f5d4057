// The live scenario's first-token and @defer parts: a streaming fake model, and a proxy that holds answers.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { median, round } from '../../lib.mjs';
import { repoRoot } from '../../../scripts/supergraph-config.mjs';
import { now, sleep } from './processes.mjs';

/** An OpenAI-compatible fake whose replies take a lognormal time (mean `meanMs`), streamed in `chunks` even parts. */
export async function startStreamingLlm({ meanMs = 3_000, sdMs = 600, chunks = 30 } = {}) {
  const sigma2 = Math.log(1 + (sdMs / meanMs) ** 2);
  const mu = Math.log(meanMs) - sigma2 / 2;
  const sample = () => Math.exp(mu + Math.sqrt(sigma2) * Math.sqrt(-2 * Math.log(Math.max(Math.random(), 1e-12))) * Math.cos(2 * Math.PI * Math.random()));
  const words = '气虚质的人常感疲乏，宜规律作息、适度运动，饮食可选山药、黄芪等平补之品。'.split('');
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (chunk) => parts.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}');
      const total = sample();
      const text = Array.from({ length: chunks }, (_, i) => words[i % words.length]);
      if (!body.stream) {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: randomUUID(), object: 'chat.completion', model: body.model, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text.join('') } }] }));
        }, total);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const tick = () => {
        if (res.destroyed) return;
        if (i < chunks) {
          res.write(`data: ${JSON.stringify({ id: 'bench', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: { content: text[i] }, finish_reason: null }] })}\n\n`);
          i += 1;
          setTimeout(tick, total / chunks);
          return;
        }
        res.write(`data: ${JSON.stringify({ id: 'bench', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
        res.end('data: [DONE]\n\n');
      };
      setTimeout(tick, total / chunks);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${server.address().port}/v1`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

export const hasMessageStream = () => /^\s+messageStream\(/m.test(readFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), 'utf8'));

/** sendMessage(stream: true), then messageStream: ms from the mutation's start to the first token and to the final event. */
export async function firstTokenRun({ gateway, token, n }) {
  const firsts = [];
  const fulls = [];
  const client = createClient({ url: gateway.ws, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
  try {
    for (let i = 0; i < n; i += 1) {
      const started = now();
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { reply { id status } } }',
          variables: { input: { agentId: 'xiaoai', text: `第${i}个问题：${randomUUID()} 我总是觉得累怎么办`, stream: true } },
        }),
      });
      const json = await response.json();
      const reply = json.data?.sendMessage?.reply;
      if (!reply?.id) throw new Error(`sendMessage(stream: true) answered ${JSON.stringify(json).slice(0, 300)}`);
      let first;
      await new Promise((resolve, reject) => {
        client.subscribe(
          { query: 'subscription ($id: ID!) { messageStream(messageId: $id) { delta done message { status } } }', variables: { id: reply.id } },
          {
            next: (result) => {
              const event = result.data?.messageStream;
              if (!event) return reject(new Error(`messageStream: ${JSON.stringify(result).slice(0, 300)}`));
              if (first === undefined && event.delta) first = now() - started;
              if (event.done) {
                fulls.push(now() - started);
                firsts.push(first ?? now() - started);
              }
            },
            error: reject,
            complete: resolve,
          },
        );
      });
    }
  } finally {
    await client.dispose();
  }
  return { firstTokenP50: round(median(firsts), 1), fullReplyP50: round(median(fulls), 1), ratio: round(median(firsts) / median(fulls), 3), messages: n };
}

// ---------------------------------------------------------------------------------------------------------------
// @defer: the diagnosis subgraph behind a proxy that holds every answer 500 ms.

export async function delayingProxy(target, delayMs) {
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (chunk) => parts.push(chunk));
    req.on('end', async () => {
      await sleep(delayMs);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name)));
      try {
        const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : Buffer.concat(parts) });
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await answer.arrayBuffer()));
      } catch {
        res.writeHead(502).end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))) };
}

export const DEFERRED = `query Home { me { id displayName ... @defer { latestReport { id status primaryConstitution { name } } } } }`;

/** One @defer request: ms to the first multipart part and to the end; undefined when the answer is not multipart. */
export async function deferOnce(url, token) {
  const started = now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'multipart/mixed;deferSpec=20220824, application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: DEFERRED }),
  });
  if (!/^multipart\/mixed/i.test(response.headers.get('content-type') ?? '')) {
    await response.text();
    return undefined;
  }
  let initial;
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    text += decoder.decode(chunk, { stream: true });
    if (initial === undefined && /"data"\s*:/.test(text)) initial = now() - started;
  }
  return { initial, whole: now() - started, complete: /"hasNext"\s*:\s*false/.test(text) };
}
