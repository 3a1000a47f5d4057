// Traces of a subscription: the client's W3C trace context reaches the owning
// subgraph on the upstream stream request, and each event's hydration is a
// span of the same trace whose fetches carry it on, as a query's fetches do.
//
// Telemetry starts before the stack loads (as every index.ts does), hence the
// dynamic import of the harness after it.
import { randomUUID } from 'node:crypto';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { testToken } from '@suoke/platform/testing';
import { describe, expect, it } from 'vitest';
import { enableInstrumentation, flushTracing, startTracing } from '../platform/src/telemetry/boot.js';

const exporter = new InMemorySpanExporter();
enableInstrumentation();
await startTracing({
  serviceName: 'suoke-live-test',
  config: { OTEL_SDK_DISABLED: false, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const { postSubscription, SSE_ACCEPT, MULTIPART_ACCEPT, TICK, useLiveStack, user, waitFor } = await import('./live-harness.js');
const live = useLiveStack();

describe('tracing of subscriptions', () => {
  for (const [name, accept] of [['SSE', SSE_ACCEPT], ['multipart', MULTIPART_ACCEPT]] as const) {
    it(`${name}: traceparent reaches the subgraph's stream request; each event's hydration is a span whose entity fetch carries the trace`, async () => {
      const traceId = randomUUID().replace(/-/g, '');
      const channel = randomUUID();
      const stream = await postSubscription(live.httpUrl, { query: TICK, variables: { channel } }, { accept, token: await testToken(user()), headers: { traceparent: `00-${traceId}-1111111111111111-01` } });
      try {
        await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
        const upstream = live.events.requests.filter((r) => r.path === '/graphql/stream').at(-1)!;
        expect(upstream.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
        const fetchesBefore = live.extras.requests.length;
        live.events.publish(channel, { id: 'traced', name: 'traced' });
        await waitFor(() => stream.parts.some((p) => p.event === 'next' || p.payload), 'the event');
        const entityFetch = live.extras.requests.slice(fetchesBefore).find((r) => r.path === '/graphql')!;
        expect(entityFetch.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
        await flushTracing();
        const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
        const event = spans.find((s) => s.name === 'gateway.subscription.event');
        expect(event, spans.map((s) => s.name).join(', ')).toBeDefined();
        // Apollo's executor spans for the event's plan sit under it, as under a query's request.
        expect(spans.some((s) => s.name === 'gateway.fetch' && s.parentSpanContext?.spanId !== undefined)).toBe(true);
      } finally {
        stream.abort();
      }
      await waitFor(() => live.events.subscribers(channel) === 0, 'closed upstream', 1_000);
      await flushTracing();
      const subscription = exporter.getFinishedSpans().find((s) => s.spanContext().traceId === traceId && s.name === 'gateway.subscription');
      expect(subscription?.attributes['suoke.transport']).toBe(name === 'SSE' ? 'sse' : 'multipart');
      expect(subscription?.attributes['suoke.subscription.ended']).toBe('client');
    });
  }
});
