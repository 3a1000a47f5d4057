import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  service: string;
  level?: string;
  format?: 'json' | 'pretty' | undefined;
  nodeEnv?: string;
}

/**
 * One pino logger per process. JSON in production; pretty in development unless
 * LOG_FORMAT says otherwise. Tokens, passwords and cookies are redacted wherever
 * they appear in a logged object.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = (options.format ?? (options.nodeEnv === 'production' ? 'json' : 'pretty')) === 'pretty';
  return pino({
    name: options.service,
    level: options.level ?? 'info',
    base: { service: options.service },
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
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' } } }
      : {}),
  });
}
