import { describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { AlwaysOnSampler, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-node';
import { baseEnv, ConfigError, loadConfig } from '../../src/config.js';
import { safeErrorSerializer } from '../../src/logger.js';
import {
  batchDefaults,
  explicitResolverCoordinates,
  exporterFrom,
  operationOf,
  otlpTracesEndpoint,
  ParentBasedTracerProvider,
  samplerFrom,
  startTracing,
  tracesExported,
  tracingActive,
} from '../../src/telemetry/index.js';

const telemetry = (env: Record<string, string>) => loadConfig('svc', baseEnv, env);

describe('tracing configuration (standard OTEL_* variables)', () => {
  it('defaults: parent-based always-on sampling, no exporter without an endpoint, and then no tracing at all', async () => {
    const config = telemetry({});
    expect(config.OTEL_SDK_DISABLED).toBe(false);
    expect(config.OTEL_TRACES_SAMPLER).toBe('parentbased_always_on');
    expect((await exporterFrom(config)).name).toBe('none');
    expect(tracesExported(config)).toBe(false);
    // Nothing registered: no provider, so no resolver wrappers or spans either.
    const tracing = await startTracing({ serviceName: 'svc', config });
    expect(tracing.enabled).toBe(false);
    expect(tracingActive()).toBe(false);
    expect(telemetry({ OTEL_SDK_DISABLED: 'TRUE' }).OTEL_SDK_DISABLED).toBe(true);
  });

  it('traces only when spans go somewhere: an OTLP endpoint, or an exporter named explicitly', () => {
    expect(tracesExported(telemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' }))).toBe(true);
    expect(tracesExported(telemetry({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/v1/traces' }))).toBe(true);
    expect(tracesExported(telemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }))).toBe(false);
    expect(tracesExported(telemetry({ OTEL_TRACES_EXPORTER: 'console' }))).toBe(true);
    expect(tracesExported(telemetry({ OTEL_TRACES_EXPORTER: 'otlp' }))).toBe(true);
    expect(tracesExported(telemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', OTEL_TRACES_EXPORTER: 'none' }))).toBe(false);
    expect(tracesExported(telemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', OTEL_SDK_DISABLED: 'true' }))).toBe(false);
  });

  it('exports OTLP http/protobuf to <endpoint>/v1/traces when OTEL_EXPORTER_OTLP_ENDPOINT is set, http/json on request', async () => {
    const proto = await exporterFrom(telemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/' }));
    expect(proto).toMatchObject({ name: 'otlp http/protobuf', endpoint: 'http://jaeger:4318/v1/traces' });
    const json = await exporterFrom(telemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }));
    expect(json).toMatchObject({ name: 'otlp http/json', endpoint: 'http://jaeger:4318/v1/traces' });
    await Promise.all([proto.instance?.shutdown(), json.instance?.shutdown()]);
    // The signal-specific variables win, the traces endpoint taken as is.
    expect(otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b/t' })).toBe('http://b/t');
    expect((await exporterFrom(telemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_TRACES_EXPORTER: 'none' }))).name).toBe('none');
  });

  it('refuses what it cannot honour, with every problem at once', () => {
    try {
      telemetry({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_TRACES_SAMPLER: 'sometimes', OTEL_TRACES_SAMPLER_ARG: '1.5' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.map((p) => p.split(':')[0]);
      expect(problems.sort()).toEqual(['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG']);
    }
  });

  it('exports in batches of 128 spans unless OTEL_BSP_MAX_EXPORT_BATCH_SIZE says otherwise', () => {
    expect(batchDefaults({})).toEqual({ maxExportBatchSize: 128 });
    expect(batchDefaults({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '512' })).toEqual({});
  });

  it('builds the sampler the variables name', () => {
    const sampler = samplerFrom('parentbased_traceidratio', 0.1);
    expect(sampler).toBeInstanceOf(ParentBasedSampler);
    expect(sampler.toString()).toContain('TraceIdRatioBased{0.1}');
    expect(samplerFrom('traceidratio', 0.25)).toBeInstanceOf(TraceIdRatioBasedSampler);
    expect(telemetry({ OTEL_TRACES_SAMPLER_ARG: '' }).OTEL_TRACES_SAMPLER_ARG).toBeUndefined();
  });
});

describe('children of unsampled spans', () => {
  const unsampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: TraceFlags.NONE, isRemote: true });
  const sampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: TraceFlags.SAMPLED, isRemote: true });
  const setup = (parentBased: boolean) => {
    const exporter = new InMemorySpanExporter();
    const sampler = parentBased ? new ParentBasedSampler({ root: new AlwaysOnSampler() }) : new AlwaysOnSampler();
    const provider = new ParentBasedTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] }, parentBased);
    return { exporter, tracer: provider.getTracer('test') };
  };

  it('with a parent-based sampler, carry the parent’s context without going through the SDK', () => {
    const { exporter, tracer } = setup(true);
    const child = tracer.startSpan('child', {}, unsampled);
    expect(child.isRecording()).toBe(false);
    expect(child.spanContext()).toMatchObject({ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: TraceFlags.NONE });
    expect(tracer.startActiveSpan('active', {}, unsampled, (span) => [span.isRecording(), span.spanContext().spanId])).toEqual([false, 'd'.repeat(16)]);
    // Sampled parents, new roots: the SDK as usual.
    tracer.startSpan('sampled child', {}, sampled).end();
    tracer.startSpan('root', { root: true }, unsampled).end();
    child.end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['sampled child', 'root']);
  });

  it('with any other sampler, leave the decision to the SDK', () => {
    const { exporter, tracer } = setup(false);
    tracer.startSpan('child', {}, unsampled).end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['child']);
  });
});

describe('which resolvers get spans', () => {
  it('fields with a resolver function, never scalars, enums or reference resolvers; always Query._entities', () => {
    const scalarLike = { serialize: () => 1, parseValue: () => 1 };
    const coordinates = explicitResolverCoordinates({
      Query: { me: () => null, node: { resolve: () => null } },
      User: { __resolveReference: () => null, displayName: 'not a function' },
      DateTime: scalarLike,
      Color: { RED: 'red' },
    });
    // Scalars' own functions appear here; traceResolvers ignores coordinates that are not object fields.
    expect([...coordinates].filter((c) => !c.startsWith('DateTime.')).sort()).toEqual(['Query._entities', 'Query.me', 'Query.node']);
  });
});

describe('SQL span names', () => {
  it('name a statement by what it does', () => {
    expect(operationOf('select 1')).toBe('SELECT');
    expect(operationOf('\n  with input as (select 1) insert into t select * from input')).toBe('INSERT');
    expect(operationOf('with x as (select 1) select * from x where deleted_at is null')).toBe('SELECT');
    expect(operationOf('update t set a = $1')).toBe('UPDATE');
  });
});

describe('logged errors', () => {
  it('lose the parameter values and row details that database errors quote', () => {
    const cause = Object.assign(new Error('new row violates check constraint "c"'), { detail: 'Failing row contains (72.5, 2026-11-26)' });
    const error = Object.assign(new Error('Failed query: insert into t values ($1, $2)\nparams: 72.5,2026-11-26'), { params: [72.5, '2026-11-26'], cause });
    const serialized = JSON.stringify(safeErrorSerializer(error));
    expect(serialized).toContain('Failed query: insert into t values ($1, $2)');
    expect(serialized).not.toContain('72.5');
    expect(serialized).not.toContain('2026-11-26');
    expect(JSON.stringify(safeErrorSerializer(Object.assign(new Error('x'), { detail: 'Key (email)=(a@b.c) exists' })))).not.toContain('a@b.c');
  });
});

describe('circuit breaker metrics', () => {
  it('report each watched breaker’s state and fast failures at scrape time', async () => {
    const { ServiceMetrics } = await import('../../src/metrics.js');
    const metrics = new ServiceMetrics('agent', { defaultMetrics: false });
    const breaker = { name: 'model', state: 'closed' as 'closed' | 'half-open' | 'open', stats: { rejectedOpen: 0 } };
    metrics.watchBreaker(breaker);
    expect(await metrics.registry.metrics()).toContain('suoke_circuit_breaker_state{breaker="model",service="agent"} 0');
    breaker.state = 'open';
    breaker.stats.rejectedOpen = 3;
    const text = await metrics.registry.metrics();
    expect(text).toContain('suoke_circuit_breaker_state{breaker="model",service="agent"} 2');
    expect(text).toContain('suoke_circuit_breaker_rejections_total{breaker="model",service="agent"} 3');
  });
});
