import { trace, type AttributeValue, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-node';

/** A span, by name, that starts with some attributes of its parent span. */
export interface InheritRule {
  child: string;
  keys: readonly string[];
}

/**
 * Copies attributes from a parent span to a child as the child starts: for
 * spans a library creates and we cannot reach, such as Apollo Gateway's
 * `gateway.request`, which starts inside its executor. The parent is read
 * through the SDK's span (its `attributes`), so only a recording parent gives
 * anything; an unsampled request has nothing to copy and costs one name lookup.
 */
export class InheritAttributesProcessor implements SpanProcessor {
  private readonly byName: Map<string, readonly string[]>;

  constructor(rules: readonly InheritRule[]) {
    this.byName = new Map(rules.map((rule) => [rule.child, rule.keys]));
  }

  onStart(span: Span, parentContext: Context): void {
    const keys = this.byName.get(span.name);
    if (!keys) return;
    const attributes = (trace.getSpan(parentContext) as Partial<ReadableSpan> | undefined)?.attributes;
    if (!attributes) return;
    for (const key of keys) {
      const value: AttributeValue | undefined = attributes[key];
      if (value !== undefined) span.setAttribute(key, value);
    }
  }

  onEnd(): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The gateway's client awareness (gateway/src/client-awareness.ts) sets these on the request's
 * HTTP server span before planning; Apollo Gateway's `gateway.request`, its child, gets them too,
 * as Apollo Router's request spans carry them.
 */
export const CLIENT_ATTRIBUTES_INHERITED: InheritRule = { child: 'gateway.request', keys: ['apollo.client.name', 'apollo.client.version'] };
