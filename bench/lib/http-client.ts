import http from 'node:http';

export interface Answer {
  status: number;
  /** Parsed JSON body (undefined when empty or not JSON). */
  body: any;
  /** Milliseconds from sending to the end of the body. */
  ms: number;
  /** Set when the request failed below HTTP (connection refused, reset, timeout). */
  transportError?: string;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** A keep-alive HTTP/1.1 client for 127.0.0.1 with a bounded socket pool (node:http Agent). */
export class HttpClient {
  readonly agent: http.Agent;

  constructor(private readonly port: number, maxSockets: number) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'fifo' });
  }

  call(method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
    const started = performance.now();
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    return new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString();
          let body: any;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - started });
        });
        res.on('error', (err) => resolve({ status: 0, body: undefined, ms: performance.now() - started, transportError: err.message }));
      });
      req.on('error', (err) => resolve({ status: 0, body: undefined, ms: performance.now() - started, transportError: err.message }));
      if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error('client timeout')));
      req.end(payload);
    });
  }

  close() {
    this.agent.destroy();
  }
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` running at once. */
export async function runPool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
}
