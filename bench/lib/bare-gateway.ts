/**
 * Ceiling (a): the least a gateway can do per booking request. A bare Koa app that verifies the
 * bearer JWT (jsonwebtoken, HS256, with a KeyObject made once), reads the JSON body and calls
 * BullMQ's queue.add on the show's queue. No logging, validation, show checks or waiting.
 * Started as a child process: `node bin/run.js bench/lib/bare-gateway` (PORT, JWT_SECRET, REDIS_URL, QUEUE_PREFIX).
 */
import { createSecretKey, randomUUID } from 'node:crypto';
import http from 'node:http';
import { Queue } from 'bullmq';
import jwt from 'jsonwebtoken';
import Koa from 'koa';
import { config } from '../../shared/config';
import { showQueueName } from '../../shared/queue/names';
import { createRedis } from '../../shared/redis';

const cfg = config();
const key = createSecretKey(Buffer.from(cfg.JWT_SECRET, 'utf8'));
const verifyOptions = { algorithms: ['HS256' as const], issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE };
const redis = createRedis({ blocking: false, name: 'bare-gateway' });
const queues = new Map<number, Queue>();
const queueOf = (showId: number) => {
  let q = queues.get(showId);
  if (!q) {
    q = new Queue(showQueueName(showId), { connection: redis as never, prefix: cfg.QUEUE_PREFIX, skipWaitingForReady: true });
    queues.set(showId, q);
  }
  return q;
};

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { data += c; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

const app = new Koa();
app.use(async (ctx) => {
  if (ctx.path === '/healthz') {
    ctx.body = { status: 'ok' };
    return;
  }
  const m = /^\/shows\/(\d+)\/book$/.exec(ctx.path);
  if (!m || ctx.method !== 'POST') {
    ctx.status = 404;
    return;
  }
  let claims: jwt.JwtPayload;
  try {
    claims = jwt.verify(ctx.get('Authorization').slice(7), key, verifyOptions) as jwt.JwtPayload;
  } catch {
    ctx.status = 401;
    ctx.body = { error: { code: 'UNAUTHORIZED', message: 'Missing or invalid token' } };
    return;
  }
  const showId = Number(m[1]);
  const body = JSON.parse(await readBody(ctx.req));
  const id = `${showId}-${randomUUID().replace(/-/g, '')}`;
  await queueOf(showId).add('book', { type: 'book', request_id: id, user_id: Number(claims.sub), show_id: showId, ...body }, { jobId: id });
  ctx.status = 202;
  ctx.body = { id, status: 'queued' };
});

const server = http.createServer(app.callback());
server.keepAliveTimeout = 65_000;
server.listen(cfg.PORT);
const stop = () => server.close(() => {
  void Promise.all([...queues.values()].map((q) => q.close())).then(() => redis.quit()).finally(() => process.exit(0));
});
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
