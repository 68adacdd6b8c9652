import type { Context } from 'koa';
import { AppError, fromDbError, isTransientDbError } from '../../../shared/errors';

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE', 422: 'UNPROCESSABLE', 429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/** Redis refusing work (down, or full under noeviction) is a 503, never a lost job. */
function fromRedisError(err: any): AppError | undefined {
  const msg = String(err?.message ?? '');
  if (/^OOM /.test(msg)) return new AppError(503, 'QUEUE_FULL', 'The queue store is full; try again shortly', undefined, { 'Retry-After': '5' });
  if (/enableOfflineQueue|Connection is closed|ECONNREFUSED|Reached the max retries per request|MaxRetriesPerRequest|Stream isn't writeable|All keys in the pipeline|CLUSTERDOWN|TRYAGAIN/.test(msg)) {
    return new AppError(503, 'SERVICE_UNAVAILABLE', 'A backing service is unavailable; try again shortly', undefined, { 'Retry-After': '2' });
  }
  return undefined;
}

/** Turns any thrown error into the one error shape. */
export function toAppError(err: any): AppError | undefined {
  if (err instanceof AppError) return err;
  const db = fromDbError(err);
  if (db) return db;
  const redis = fromRedisError(err);
  if (redis) return redis;
  const status = Number(err?.status ?? err?.statusCode);
  if (status === 501) return new AppError(405, 'METHOD_NOT_ALLOWED', 'Method not allowed');
  if (status >= 400 && status < 500) {
    if (status === 401) return new AppError(401, 'UNAUTHORIZED', 'Missing or invalid token');
    if (err?.type === 'entity.parse.failed' || (status === 400 && /JSON|Unexpected|token/i.test(err?.message ?? ''))) {
      return new AppError(400, 'MALFORMED_JSON', 'The body is not valid JSON');
    }
    if (status === 413) return new AppError(413, 'PAYLOAD_TOO_LARGE', 'The body is too large');
    return new AppError(status, STATUS_CODES[status] ?? 'BAD_REQUEST', err?.expose ? String(err.message) : 'Bad request');
  }
  if (isTransientDbError(err?.nativeError ?? err) || /knex: Timeout acquiring|connect ECONNREFUSED|Connection terminated/i.test(String(err?.message))) {
    return new AppError(503, 'SERVICE_UNAVAILABLE', 'A backing service is unavailable; try again shortly', undefined, { 'Retry-After': '2' });
  }
  return undefined;
}

/** The methods the router knows for the request's path (RFC 9110: a 405 names them in Allow). */
function allowedMethods(ctx: Context): string {
  const layers = ((ctx as unknown as { matched?: { methods: string[] }[] }).matched ?? []);
  return [...new Set(layers.flatMap((l) => l.methods))].join(', ');
}

/** Puts `err` on the response in the one error shape. Unknown errors become a logged 500. */
export function renderError(ctx: Context, err: unknown): void {
  const app = toAppError(err);
  if (app) {
    ctx.status = app.status;
    if (app.headers) ctx.set(app.headers);
    if (app.status === 405) ctx.set('Allow', allowedMethods(ctx));
    ctx.body = { error: { code: app.code, message: app.message, ...(app.details !== undefined ? { details: app.details } : {}) } };
  } else {
    ctx.state.log?.error({ err }, 'unhandled error');
    ctx.status = 500;
    ctx.body = { error: { code: 'INTERNAL', message: 'Internal server error' } };
  }
}
