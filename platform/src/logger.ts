import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, stdSerializers, type Logger } from 'pino';
import { currentRequestScope } from './request-context.js';

export type { Logger };

export interface LoggerOptions {
  service: string;
  level?: string;
  format?: 'json' | 'pretty' | undefined;
  nodeEnv?: string;
  /** Append JSON lines to this file instead of stdout (LOG_FILE). */
  file?: string | undefined;
}

/**
 * One pino logger per process. JSON in production; pretty in development unless
 * LOG_FORMAT says otherwise. Every line logged inside a request carries
 * `trace_id` and `span_id` (the active span, when tracing is on) and the
 * `request_id`, so one client operation's lines can be found across services.
 * Tokens, passwords and cookies are redacted wherever they appear in a logged
 * object, and logged errors lose the SQL parameter values and row details that
 * database errors quote (health values would otherwise reach the logs).
 */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = !options.file && (options.format ?? (options.nodeEnv === 'production' ? 'json' : 'pretty')) === 'pretty';
  const settings = {
    name: options.service,
    level: options.level ?? 'info',
    base: { service: options.service },
    mixin: correlationFields,
    serializers: { err: safeErrorSerializer, error: safeErrorSerializer },
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'accessToken',
        'refreshToken',
        '*.accessToken',
        '*.refreshToken',
        'headers.authorization',
        'req.headers.authorization',
        'headers.cookie',
        'variables',
        '*.variables',
      ],
      censor: '[redacted]',
    },
  };
  if (options.file) return pino(settings, pino.destination({ dest: options.file, append: true, mkdir: true, sync: true }));
  return pino({
    ...settings,
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' } } }
      : {}),
  });
}

/** pino mixin: the active span's ids and the request id, when there are any. */
function correlationFields(): Record<string, string> {
  const fields: Record<string, string> = {};
  const span = trace.getActiveSpan();
  if (span) {
    const ids = span.spanContext();
    if (isSpanContextValid(ids)) {
      fields.trace_id = ids.traceId;
      fields.span_id = ids.spanId;
    }
  }
  const scope = currentRequestScope();
  if (scope) fields.request_id = scope.requestId;
  return fields;
}

/** Properties of driver errors that quote values: statement parameters, the failing row, the offending key. */
const VALUE_BEARING_KEYS = ['params', 'parameters', 'detail', 'where', 'hint'];

/**
 * pino's error serializer, minus values. drizzle's DrizzleQueryError puts the
 * statement's parameters in its message ("params: 72,2026-…") and in `params`;
 * PostgreSQL errors put the failing row in `detail`. The statement text itself
 * (placeholders only) and the error codes stay: they are what one debugs with.
 */
export function safeErrorSerializer(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const serialized: Record<string, unknown> = stdSerializers.err(error);
  const quoted = paramsQuotedIn(error);
  for (const key of ['message', 'stack'] as const) {
    const text = serialized[key];
    if (typeof text === 'string') serialized[key] = redactParams(text, quoted);
  }
  for (const key of VALUE_BEARING_KEYS) {
    if (key in serialized) serialized[key] = '[redacted]';
  }
  return serialized;
}

/** The `params: …` texts of an error and its causes, as their messages print them. */
function paramsQuotedIn(error: unknown, depth = 0): string[] {
  if (!(error instanceof Error) || depth > 5) return [];
  const own = (error as { params?: unknown }).params;
  const texts = Array.isArray(own) && own.length > 0 ? [`params: ${String(own)}`] : [];
  return [...texts, ...paramsQuotedIn((error as { cause?: unknown }).cause, depth + 1)];
}

function redactParams(text: string, quoted: string[]): string {
  let out = text;
  for (const q of quoted) out = out.split(q).join('params: [redacted]');
  // Whatever was not matched exactly (a params list printed differently): cut the line.
  return out.replace(/(^|\n)params: (?!\[redacted\])[^\n]*/g, '$1params: [redacted]');
}
