import http, { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** A request's line and headers must arrive within this, and its whole body within REQUEST_TIMEOUT_MS (slow-client attacks). */
export const HEADERS_TIMEOUT_MS = 15_000;
export const REQUEST_TIMEOUT_MS = 30_000;

const RESPONSES: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'HEADERS_TOO_LARGE', `The request line and headers together exceed ${http.maxHeaderSize} bytes`],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'The request was not received in time'],
};

/** Answers a request Node's parser refused, in the one error shape, and closes the connection. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const responding = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (err.code === 'ECONNRESET' || !socket.writable || responding) {
    socket.destroy();
    return;
  }
  const [status, code, message] = RESPONSES[err.code ?? ''] ?? [400, 'BAD_REQUEST', 'Malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message } });
  socket.end([
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'X-Content-Type-Options: nosniff',
    'Cache-Control: no-store',
    'Connection: close',
    '',
    body,
  ].join('\r\n'));
}

/**
 * Limits on what a client can hold the server to, and clean answers for requests Node's HTTP
 * parser refuses before the app sees them (headers over the size limit: 431; malformed request
 * lines or headers, unknown methods: 400; too slow: 408), instead of Node's bare status line.
 */
export function hardenHttpServer(server: http.Server): void {
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.on('clientError', answerClientError);
}
