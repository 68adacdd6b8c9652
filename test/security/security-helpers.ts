import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import net from 'node:net';
import { config, Config } from '../../shared/config';
import { deleteKeys } from '../../shared/redis';
import { startTestGateway, stopTestGateway, TestGateway } from '../support/gateway';
import { spawnWorker, WorkerProcess } from '../support/workers';

/**
 * A real gateway in this process with some settings changed (limits, trusted proxies, CORS).
 * It trusts one proxy hop, so each test can speak from its own X-Forwarded-For address and the
 * Redis-backed login counters of one test never block another.
 */
export function startSecurityGateway(overrides: Partial<Config> = {}): Promise<TestGateway> {
  return startTestGateway({ TRUST_PROXY_HOPS: 1, ...overrides });
}

/**
 * A worker process for the suite that calls this (at its top level): started before the suite's
 * own before hooks, stopped in its after hooks, so it never outlives the suite and takes the
 * jobs of a suite that runs later with workers of its own.
 */
export function suiteWorker(): void {
  let worker: WorkerProcess | undefined;
  before(async () => {
    worker = await spawnWorker();
  });
  after(async () => {
    await worker?.kill();
  });
}

/** A made-up client address in 10/8 (sent as X-Forwarded-For). */
export const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

/** Removes this run's rate-limit counters (login failures per user and per address). */
export async function forgetRateLimits(t: TestGateway): Promise<void> {
  await deleteKeys(t.gw.deps.redis, `${config().QUEUE_PREFIX}:rl:*`);
}

/** Removes this run's rate-limit counters (so a suite leaves no blocked address behind), then stops the gateway. */
export async function stopAndForgetRateLimits(t: TestGateway): Promise<void> {
  await forgetRateLimits(t);
  await stopTestGateway(t);
}

/** What a stack trace or a source path looks like in a response body. */
const LEAKS = [/\n\s+at\s/, /\bat [\w.<>]+ \(/, /\/work\//, /node_modules/, /\.[jt]s:\d+/, /\bError: /, /SQLSTATE|syntax error at or near|relation "/i];

export function expectNoLeak(text: string, what = 'body'): void {
  for (const leak of LEAKS) expect(text, `${what} leaks ${leak}`).not.to.match(leak);
}

/** A 4xx in the one error shape, without a stack trace or a path in it. */
export function expectCleanError(res: { status: number; text: string; body: any }, statuses: number[]): void {
  expect(statuses, `status ${res.status}: ${res.text.slice(0, 300)}`).to.include(res.status);
  expect(res.body, res.text.slice(0, 300)).to.be.an('object');
  expect(res.body.error, res.text.slice(0, 300)).to.be.an('object');
  expect(res.body.error.code).to.be.a('string');
  expect(res.body.error.message).to.be.a('string');
  expect(Object.keys(res.body).sort()).to.deep.equal(['error']);
  expectNoLeak(res.text);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: any;
}

/**
 * Writes bytes to the gateway over a plain socket (for what fetch refuses to send: bad methods,
 * control characters in headers, lying Content-Length) and reads the answer until the server
 * closes or `timeoutMs` passes, which counts as a hang and rejects.
 */
export function rawHttp(port: number, request: string | Buffer, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no complete answer within ${timeoutMs} ms (a hang)`)); }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      const split = raw.indexOf('\r\n\r\n');
      const head = split >= 0 ? raw.slice(0, split) : raw;
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const text = split >= 0 ? Buffer.from(raw.slice(split + 4), 'latin1').toString('utf8') : '';
      let body: any = text;
      try { body = JSON.parse(text); } catch { /* not JSON */ }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, text, body });
    };
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      const raw = Buffer.concat(chunks).toString('latin1');
      const split = raw.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(raw.slice(0, split))?.[1];
      if (split >= 0 && length !== undefined && Buffer.byteLength(raw.slice(split + 4), 'latin1') >= Number(length)) sock.destroy();
    });
    sock.on('close', finish);
    sock.on('error', () => undefined);
    sock.write(request);
  });
}
