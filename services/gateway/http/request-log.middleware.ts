import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../../../shared/logger';

/** Gives each request an id (X-Request-Id in and out) and logs one JSON line when it ends. */
export function requestLog(log: Logger) {
  return async (ctx: Context, next: Next) => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('X-Request-Id');
    const id = /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = id;
    ctx.state.log = log.child({ request_id: id });
    ctx.set('X-Request-Id', id);
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const body = ctx.body as { id?: string; show_id?: number; error?: { code?: string; details?: { job_id?: string } } } | undefined;
      ctx.state.log.info({
        method: ctx.method, route: ctx.state.route ?? ctx.path, status: ctx.status, duration_ms: Math.round(ms * 10) / 10,
        user_id: ctx.state.user?.id, job_id: body?.error?.details?.job_id ?? (typeof body?.id === 'string' ? body.id : undefined),
        show_id: body?.show_id ?? (ctx.state.route?.startsWith('/shows/') ? ctx.state.params?.id : undefined),
        error_code: body?.error?.code,
      }, 'request');
    }
  };
}
