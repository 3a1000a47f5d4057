import { context, trace, TraceFlags, type Context, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { keepRequestScopeInTraceContext } from '../request-context.js';
import { ParentBasedTracerProvider } from './provider.js';
import { CLIENT_ATTRIBUTES_INHERITED, InheritAttributesProcessor } from './inherit.js';

/** The OTEL_* settings (validated by platform's baseEnv) that tracing reads. */
export interface TracingConfig {
  OTEL_SDK_DISABLED: boolean;
  OTEL_SERVICE_NAME?: string | undefined;
  OTEL_TRACES_EXPORTER?: 'otlp' | 'console' | 'none' | undefined;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' | 'http/json';
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: 'http/protobuf' | 'http/json' | undefined;
  OTEL_TRACES_SAMPLER: string;
  OTEL_TRACES_SAMPLER_ARG?: number | undefined;
}

export interface TracingOptions {
  /** service.name of every span this process exports (OTEL_SERVICE_NAME overrides it). */
  serviceName: string;
  config: TracingConfig;
  /** Replaces the exporter chosen from the environment (tests: an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
}

export interface Tracing {
  /** False when nothing would receive spans (see tracesExported) or OTEL_SDK_DISABLED=true: nothing is traced and nothing costs. */
  readonly enabled: boolean;
  /** What was set up, for the start-up log line. */
  readonly description: { exporter: string; endpoint?: string | undefined; sampler: string; serviceName: string };
  /** Exports what is buffered and stops; called on SIGTERM after the drain. */
  shutdown(): Promise<void>;
}

interface State {
  provider?: ParentBasedTracerProvider;
  tracing?: Tracing;
}
const STATE = Symbol.for('suoke.telemetry.tracing');
function state(): State {
  let held = Reflect.get(globalThis, STATE) as State | undefined;
  if (!held) Reflect.set(globalThis, STATE, (held = {}));
  return held;
}

/**
 * Registers the process's tracer provider when something will receive its
 * spans: an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; `http/protobuf`, or `http/json` through
 * OTEL_EXPORTER_OTLP_PROTOCOL), OTEL_TRACES_EXPORTER=otlp|console, or span
 * processors passed in (tests' in-memory exporter). Otherwise — and with
 * OTEL_SDK_DISABLED=true — nothing is registered and tracing costs nothing
 * (`@suoke/platform/telemetry/start` applies the same rule, `tracesExported`,
 * to the instrumentations).
 *
 * The sampler comes from the standard variables (parent-based by default, so a
 * subgraph follows the gateway's decision carried in `traceparent`). Each
 * request's HTTP server span is sampled before anything else runs
 * (http-server.ts); unsampled requests then skip the library instrumentations
 * (unsampled.ts) and, with a parent-based sampler, the SDK (provider.ts).
 *
 * The instrumentations must already be enabled (`@suoke/platform/telemetry/start`
 * imported first); if they are not, they are enabled here, too late for
 * modules already loaded. One provider per process: later calls return the first.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const current = state();
  if (current.tracing) return current.tracing;
  const { config } = options;
  const serviceName = config.OTEL_SERVICE_NAME ?? options.serviceName;
  if (config.OTEL_SDK_DISABLED || (!options.spanProcessors && !tracesExported(config))) {
    current.tracing = { enabled: false, description: { exporter: 'none', sampler: 'off', serviceName }, shutdown: async () => {} };
    return current.tracing;
  }
  const { instrumentationEnabled, enableInstrumentation } = await import('./instrument.js');
  if (!instrumentationEnabled()) enableInstrumentation();

  const exporter = options.spanProcessors ? { name: 'custom' } : await exporterFrom(config);
  const exporting = options.spanProcessors ?? (exporter.instance ? [new BatchSpanProcessor(exporter.instance, batchDefaults(process.env))] : []);
  // First: what a span inherits is set before any other processor sees it start.
  const processors = [new InheritAttributesProcessor([CLIENT_ATTRIBUTES_INHERITED]), ...exporting];
  const provider = new ParentBasedTracerProvider(
    {
      resource: resourceFromAttributes({ 'service.name': serviceName }),
      sampler: samplerFrom(config.OTEL_TRACES_SAMPLER, config.OTEL_TRACES_SAMPLER_ARG),
      spanProcessors: processors,
    },
    config.OTEL_TRACES_SAMPLER.startsWith('parentbased_'),
  );
  provider.register();
  keepRequestScopeInTraceContext();
  current.provider = provider;
  current.tracing = {
    enabled: true,
    description: {
      exporter: exporter.name,
      endpoint: exporter.endpoint,
      sampler: config.OTEL_TRACES_SAMPLER_ARG === undefined ? config.OTEL_TRACES_SAMPLER : `${config.OTEL_TRACES_SAMPLER}(${config.OTEL_TRACES_SAMPLER_ARG})`,
      serviceName,
    },
    async shutdown() {
      await provider.shutdown().catch(() => {});
    },
  };
  return current.tracing;
}

/**
 * Whether this process's spans go anywhere: the rule startTracing and
 * `@suoke/platform/telemetry/start` share. OTEL_TRACES_EXPORTER decides when set
 * (`none`: no; `otlp`, `console`: yes); otherwise an OTLP endpoint must be set.
 * Tests pass their in-memory exporter to startTracing instead.
 */
export function tracesExported(
  config: Pick<TracingConfig, 'OTEL_SDK_DISABLED' | 'OTEL_TRACES_EXPORTER' | 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'>,
): boolean {
  if (config.OTEL_SDK_DISABLED) return false;
  if (config.OTEL_TRACES_EXPORTER) return config.OTEL_TRACES_EXPORTER !== 'none';
  return otlpTracesEndpoint(config) !== undefined;
}

/**
 * The batch processor's batch size when OTEL_BSP_MAX_EXPORT_BATCH_SIZE is not
 * set (set, the SDK reads it itself): 128 spans instead of 512. Under load a
 * batch then leaves the process within a fraction of a second, so the
 * young-generation collector frees its spans instead of copying them into the
 * old generation (the gateway's scavenges took several times longer at 100 %
 * sampling with 512); when idle, the SDK's 5-second schedule still applies, so
 * nothing changes at low rates. Not the schedule: exporting every 200 ms cost
 * more than it saved at low rates and 10 % sampling (a fixed cost per export
 * request). bench/RESULTS.md, tracing, has the runs; the differences are
 * within this machine's noise.
 */
export function batchDefaults(env: NodeJS.ProcessEnv): { maxExportBatchSize?: number } {
  return env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE?.trim() ? {} : { maxExportBatchSize: 128 };
}

/** Whether a tracer provider is registered in this process (spans can be sampled). */
export function tracingActive(): boolean {
  return state().provider !== undefined;
}

/** Flushes finished spans to the processors (tests read the in-memory exporter after it). */
export async function flushTracing(): Promise<void> {
  await state().provider?.forceFlush();
}

/** The tracer for spans platform creates itself (resolvers, DataLoader batches, SQL). */
export const platformTracer: Tracer = trace.getTracer('@suoke/platform');

/**
 * The active context when its span is sampled, else undefined. Every platform
 * span starts with this check, so unsampled requests cost one lookup.
 */
export function sampledContext(): Context | undefined {
  const active = context.active();
  const span = trace.getSpan(active);
  return span && span.spanContext().traceFlags & TraceFlags.SAMPLED ? active : undefined;
}

export function samplerFrom(name: string, arg: number | undefined): Sampler {
  const ratio = arg ?? 1;
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    default:
      throw new Error(`OTEL_TRACES_SAMPLER: unsupported sampler "${name}"`);
  }
}

/** The exporter the environment asks for; the OTLP exporters load only when used. */
export async function exporterFrom(config: TracingConfig): Promise<{ name: string; endpoint?: string; instance?: SpanExporter }> {
  const endpoint = otlpTracesEndpoint(config);
  const kind = config.OTEL_TRACES_EXPORTER ?? (endpoint ? 'otlp' : 'none');
  if (kind === 'none') return { name: 'none' };
  if (kind === 'console') return { name: 'console', instance: new ConsoleSpanExporter() };
  const url = endpoint ?? 'http://localhost:4318/v1/traces';
  const protocol = config.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? config.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return { name: 'otlp http/json', endpoint: url, instance: new OTLPTraceExporter({ url }) };
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return { name: 'otlp http/protobuf', endpoint: url, instance: new OTLPTraceExporter({ url }) };
}

/** OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces (as the specification says). */
export function otlpTracesEndpoint(config: Pick<TracingConfig, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'>): string | undefined {
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  return `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
}
