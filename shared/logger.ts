import pino from 'pino';
import { config } from './config';

/** Paths that must never reach a log line. */
export const REDACT_PATHS = [
  'password', '*.password', 'refresh', '*.refresh', 'access', '*.access', 'token', '*.token',
  'req.headers.authorization', 'headers.authorization', 'authorization', '*.authorization',
  'req.headers.cookie',
];

/**
 * Builds a JSON logger; the destination is stdout unless a stream is given (tests). Each line is
 * written to stdout as it is logged (pino's default, synchronous destination): one write(2) of a
 * few hundred bytes, and nothing is lost if the process dies. sonic-boom's asynchronous mode
 * queues lines by appending to one string and measures its byte length on every line, which
 * copies the whole queue each time; on the gateway's booking path that cost more CPU and garbage
 * than the writes themselves.
 */
export function createLogger(name: string, stream?: pino.DestinationStream): pino.Logger {
  return pino(
    { name, level: config().LOG_LEVEL, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } },
    stream ?? pino.destination({ dest: 1, sync: true }),
  );
}

export type Logger = pino.Logger;
