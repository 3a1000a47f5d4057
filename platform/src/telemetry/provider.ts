import { context, trace, TraceFlags, type Context, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { NodeTracerProvider, type NodeTracerConfig } from '@opentelemetry/sdk-trace-node';

/**
 * The SDK's tracer provider, whose tracers skip the SDK for children of
 * unsampled spans when the sampler is parent-based.
 *
 * Under a parent-based sampler every span whose parent is not sampled is not
 * sampled either: the SDK still generates a span id, runs the sampler,
 * copies links and attributes and counts the span, to return a non-recording
 * span. Apollo Gateway starts seven or eight spans per operation whether or not
 * the operation is sampled, so on the 90 % of requests a 10 % ratio leaves
 * unsampled that work is tracing's main cost in the gateway. Here such a child
 * is the parent's own span context, non-recording: the same trace id and flags
 * travel on (`traceparent …-00`) and reach the logs; the only difference is
 * that no fresh span id is drawn for a span nobody will see.
 *
 * Only non-recording parents qualify (a recording but unsampled parent, from a
 * RECORD_ONLY sampler, goes to the SDK), and only with `parentBased` true
 * (samplerFrom's parentbased_* samplers, whose unsampled parents always give
 * unsampled children).
 */
export class ParentBasedTracerProvider extends NodeTracerProvider {
  private readonly wrapped = new Map<string, Tracer>();

  constructor(
    config: NodeTracerConfig,
    private readonly parentBased: boolean,
  ) {
    super(config);
  }

  override getTracer(name: string, version?: string, options?: { schemaUrl?: string }): Tracer {
    const tracer = super.getTracer(name, version, options);
    if (!this.parentBased) return tracer;
    const key = `${name}@${version ?? ''}:${options?.schemaUrl ?? ''}`;
    let wrapped = this.wrapped.get(key);
    if (!wrapped) {
      wrapped = new UnsampledChildrenTracer(tracer);
      this.wrapped.set(key, wrapped);
    }
    return wrapped;
  }
}

class UnsampledChildrenTracer implements Tracer {
  constructor(private readonly sdk: Tracer) {}

  startSpan(name: string, options?: SpanOptions, ctx: Context = context.active()): Span {
    return (options?.root ? undefined : unsampledChild(ctx)) ?? this.sdk.startSpan(name, options, ctx);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...args: [F] | [SpanOptions, F] | [SpanOptions, Context, F]): ReturnType<F> {
    const fn = args[args.length - 1] as F;
    const options = args.length > 1 ? (args[0] as SpanOptions) : undefined;
    const parent = args.length > 2 ? (args[1] as Context) : context.active();
    const span = this.startSpan(name, options, parent);
    return context.with(trace.setSpan(parent, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }
}

/** A non-recording span carrying the parent's context, when the parent is an unsampled, non-recording span. */
function unsampledChild(ctx: Context): Span | undefined {
  const parent = trace.getSpan(ctx);
  if (parent === undefined || parent.isRecording()) return undefined;
  const spanContext = parent.spanContext();
  // Without a valid context (no trace at all, or a suppressed one) the SDK decides.
  if (spanContext.traceFlags & TraceFlags.SAMPLED || spanContext.traceId.length !== 32 || spanContext.traceId === '00000000000000000000000000000000') return undefined;
  return trace.wrapSpanContext(spanContext);
}
