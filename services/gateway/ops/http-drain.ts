import type http from 'node:http';

/** How long in-flight requests get to finish before their connections are cut. */
export const DRAIN_DEADLINE_MS = 15_000;

/**
 * Tracks in-flight responses so a stop can drain the server: no new connections, responses in
 * flight and requests arriving on open keep-alive connections get `Connection: close`, idle
 * connections close at once, and whatever is still open at the deadline is cut.
 */
export function drainable(server: http.Server): { drain(deadlineMs?: number): Promise<void> } {
  const inFlight = new Set<http.ServerResponse>();
  let draining = false;
  // One listener function for every response ('close' comes once): no closure per request.
  const untrack = function (this: http.ServerResponse) {
    inFlight.delete(this);
  };
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (draining) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.on('close', untrack);
  });
  return {
    drain(deadlineMs = DRAIN_DEADLINE_MS) {
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      return new Promise<void>((resolve) => {
        const sweep = setInterval(() => server.closeIdleConnections(), 250);
        const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs);
        server.close(() => {
          clearInterval(sweep);
          clearTimeout(deadline);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
