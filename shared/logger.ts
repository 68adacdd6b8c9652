import pino from 'pino';
import { config } from './config';

/** Paths that must never reach a log line. */
export const REDACT_PATHS = [
  'password', '*.password', 'refresh', '*.refresh', 'access', '*.access', 'token', '*.token',
  'req.headers.authorization', 'headers.authorization', 'authorization', '*.authorization',
  'req.headers.cookie',
];

/**
 * Builds a JSON logger; the destination is stdout unless a stream is given (tests). Stdout is
 * written asynchronously (lines queue while a write is under way and go out together; pino
 * flushes them at exit), so a busy gateway or worker does not wait on a write per line.
 */
export function createLogger(name: string, stream?: pino.DestinationStream): pino.Logger {
  return pino(
    { name, level: config().LOG_LEVEL, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } },
    stream ?? pino.destination({ dest: 1, sync: false }),
  );
}

export type Logger = pino.Logger;
