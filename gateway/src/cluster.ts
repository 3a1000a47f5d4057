import cluster, { type Worker } from 'node:cluster';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, ServiceMetrics, SessionDenyList } from '@suoke/platform';
import { AggregatorRegistry } from 'prom-client';

// GATEWAY_WORKERS > 1: the gateway as a node:cluster. The primary serves nothing
// itself; it forks the workers, which share the listening port (the primary
// hands each new connection to the next worker), replaces a worker that dies,
// forwards SIGTERM and waits for every worker to drain, and sums the workers'
// metrics so that one scrape of /metrics, whichever worker answers it, counts
// the whole gateway.

const METRICS_REQUEST = 'suoke:metrics:request';
const METRICS_RESPONSE = 'suoke:metrics:response';
const SESSIONS_ENDED = 'suoke:sessions:ended';

interface SessionsEnded {
  type: typeof SESSIONS_ENDED;
  /** As the user subgraph's SESSION_ENDED_HEADER put it. */
  value: string;
}

interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
}
interface MetricsResponse {
  type: typeof METRICS_RESPONSE;
  id: number;
  body?: string;
  error?: string;
}

/** True in the primary of a gateway configured with several workers: it must run `runPrimary` and nothing else. */
export function isClusterPrimary(workers: number): boolean {
  return workers > 1 && cluster.isPrimary;
}

/**
 * The primary: forks `workers` copies of this entry point and keeps that many
 * running until SIGTERM/SIGINT, which it passes on; exits once every worker
 * has (0 when all drained cleanly). A worker that dies unasked is replaced
 * after a pause that grows with repeated deaths, so a crash loop does not spin.
 */
export function runPrimary(options: { workers: number; log: Logger; stopTimeoutMs: number }): void {
  const { workers, log } = options;
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let failedExits = 0;
  let quickDeaths = 0;

  const fork = () => {
    const worker = cluster.fork();
    const startedAt = Date.now();
    worker.on('message', (message: unknown) => {
      // A worker learnt of a logout from the user subgraph: the others may hold the same tokens (no Redis needed).
      if (isSessionsEnded(message)) {
        for (const other of Object.values(cluster.workers ?? {})) if (other && other !== worker && !other.isDead()) other.send(message);
        return;
      }
      if (!isMetricsRequest(message)) return;
      aggregator.clusterMetrics().then(
        (body) => worker.send({ type: METRICS_RESPONSE, id: message.id, body } satisfies MetricsResponse),
        (error: unknown) => worker.send({ type: METRICS_RESPONSE, id: message.id, error: error instanceof Error ? error.message : String(error) } satisfies MetricsResponse),
      );
    });
    worker.once('exit', (code, signal) => {
      if (stopping) {
        // Ended by our SIGTERM before it had its own handler (still starting): nothing was in flight.
        if (code !== 0 && signal !== 'SIGTERM') failedExits += 1;
        return;
      }
      quickDeaths = Date.now() - startedAt < 10_000 ? quickDeaths + 1 : 0;
      const delayMs = Math.min(30_000, 100 * 2 ** Math.min(quickDeaths, 9));
      log.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: delayMs }, 'gateway worker died; starting another');
      setTimeout(() => {
        if (!stopping) fork();
      }, delayMs).unref();
    });
  };
  for (let i = 0; i < workers; i += 1) fork();
  log.info({ workers }, 'gateway primary started its workers');

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const running = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
    log.info({ signal, workers: running.length }, 'gateway primary: draining its workers');
    for (const worker of running) worker.process.kill('SIGTERM');
    const force = setTimeout(() => {
      for (const worker of running) if (!worker.isDead()) worker.process.kill('SIGKILL');
    }, options.stopTimeoutMs);
    force.unref();
    void Promise.all(running.map((worker) => (worker.isDead() ? undefined : new Promise((resolve) => worker.once('exit', resolve))))).then(() => {
      clearTimeout(force);
      process.exit(failedExits === 0 ? 0 : 1);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * In a worker: GET /metrics answered with the sum over every worker, asked of
 * the primary (prom-client's AggregatorRegistry collects each worker's
 * registry over the cluster's IPC channel). Outside a cluster: the registry's
 * own handler.
 */
export function metricsHandler(metrics: ServiceMetrics, timeoutMs = 6_000): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  if (!cluster.isWorker || typeof process.send !== 'function') return metrics.handler;
  // Answers the primary's requests for this worker's figures (a listener prom-client adds once).
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
  const pending = new Map<number, (response: MetricsResponse) => void>();
  let next = 0;
  process.on('message', (message: unknown) => {
    if (isMetricsResponse(message)) pending.get(message.id)?.(message);
  });
  return async (_req, res) => {
    const id = next++;
    const response = await new Promise<MetricsResponse>((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve({ type: METRICS_RESPONSE, id, error: `no answer from the primary within ${timeoutMs} ms` });
      }, timeoutMs);
      pending.set(id, (answer) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(answer);
      });
      process.send!({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
    });
    if (response.body === undefined) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('metrics unavailable\n');
      return;
    }
    res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
    res.end(response.body);
  };
}

/**
 * What the data source calls with the user subgraph's word on ended sessions:
 * added here, and in a cluster worker also sent to the other workers through
 * the primary (which only relays between its own workers).
 */
export function shareEndedSessions(sessions: SessionDenyList): (header: string) => void {
  if (!cluster.isWorker || typeof process.send !== 'function') return (header) => sessions.addFromHeader(header);
  process.on('message', (message: unknown) => {
    if (isSessionsEnded(message)) sessions.addFromHeader(message.value);
  });
  return (header) => {
    sessions.addFromHeader(header);
    process.send!({ type: SESSIONS_ENDED, value: header } satisfies SessionsEnded);
  };
}

function isSessionsEnded(message: unknown): message is SessionsEnded {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === SESSIONS_ENDED && typeof (message as { value?: unknown }).value === 'string';
}

function isMetricsRequest(message: unknown): message is MetricsRequest {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === METRICS_REQUEST;
}

function isMetricsResponse(message: unknown): message is MetricsResponse {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === METRICS_RESPONSE;
}
