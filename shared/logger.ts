import pino from 'pino';
import { config } from './config';

/** Paths that must never reach a log line. */
export const REDACT_PATHS = [
  'password', '*.password', 'refresh', '*.refresh', 'access', '*.access', 'token', '*.token',
  'req.headers.authorization', 'headers.authorization', 'authorization', '*.authorization',
  'req.headers.cookie',
];

/** Builds a JSON logger; the destination is stdout unless a stream is given (tests). */
export function createLogger(name: string, stream?: pino.DestinationStream): pino.Logger {
  return pino(
    { name, level: config().LOG_LEVEL, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } },
    stream,
  );
}

export type Logger = pino.Logger;
