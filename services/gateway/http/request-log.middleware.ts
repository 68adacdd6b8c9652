import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import type { Logger } from '../../../shared/logger';
import { EdgeStep, elapsedMs } from './edge.middleware';

/** `ctx.state.log`: the request's child logger (with its id), made only when something logs through it. */
export class RequestLogger {
  private child?: Logger;

  constructor(private readonly parent: Logger, private readonly requestId: string) {}

  private get logger(): Logger {
    return (this.child ??= this.parent.child({ request_id: this.requestId }));
  }

  error(obj: object, msg: string) {
    this.logger.error(obj, msg);
  }
}

/**
 * Gives each request an id (X-Request-Id in and out) and logs one JSON line when it is answered.
 * `ctx.state.log` (the request's child logger, with redaction) is made only when something logs
 * through it. The summary line itself holds only plain values picked here (never headers, bodies
 * or errors), so it goes through a child without redaction, which would cost more than the rest
 * of the line on the booking hot path.
 */
export function requestLog(log: Logger): EdgeStep {
  const summary = log.child({}, { redact: { paths: [] } });
  return {
    arrive(ctx) {
      const incoming = ctx.get('X-Request-Id');
      const id = /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : newRequestUuid();
      ctx.state.requestId = id;
      ctx.state.log = new RequestLogger(log, id);
    },
    beforeAnswer(ctx) {
      ctx.set('X-Request-Id', ctx.state.requestId);
    },
    answered(ctx) {
      logLine(ctx, summary);
    },
  };
}

/**
 * A fresh request id. Node assembles a UUID from twenty string pieces, and V8 keeps them as a tree
 * of about 490 bytes until something reads the string's characters; reading one makes it one
 * string of about 70 bytes. The id is held for as long as the request is, by every caller
 * awaiting a result and by every request in flight when the young generation is collected.
 */
function newRequestUuid(): string {
  const id = randomUUID();
  id.charCodeAt(0);
  return id;
}

/** The request's one summary line. */
function logLine(ctx: Context, summary: Logger) {
  const body = ctx.body as { id?: string; show_id?: number; error?: { code?: string; details?: { job_id?: string } } } | undefined;
  const jobId = body?.error?.details?.job_id ?? (typeof body?.id === 'string' ? body.id : undefined);
  const showId = body?.show_id ?? (ctx.state.route?.startsWith('/shows/') ? ctx.state.params?.id : undefined);
  summary.info({
    request_id: ctx.state.requestId, method: ctx.method, route: ctx.state.route ?? ctx.path, status: ctx.status, duration_ms: Math.round(elapsedMs(ctx) * 10) / 10,
    user_id: plain(ctx.state.user?.id), job_id: plain(jobId), show_id: plain(showId), error_code: plain(body?.error?.code),
  }, 'request');
}

/** Only strings and numbers reach the unredacted summary line. */
const plain = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? v : undefined);
