import type { Context } from 'koa';
import { renderError } from './error.middleware';

/** What a handler answers now, or later (an awaited outcome). */
export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface LaterReply {
  later: Promise<Reply>;
  /** Stop waiting: the client went away. */
  abandon: () => void;
}

/** Puts a reply on the context; Koa sends it when the middleware chain returns. */
export function setReply(ctx: Context, reply: Reply): void {
  ctx.status = reply.status;
  if (reply.headers) ctx.set(reply.headers);
  ctx.body = reply.body;
}

/**
 * Answers a reply that is not ready yet without keeping the middleware chain suspended: the chain
 * returns at once (Koa leaves the response alone, `ctx.respond = false`) and the answer is written
 * when it comes, with the headers set so far (request id, security headers, CORS). A caller
 * awaiting an outcome then costs its socket, its context and one promise, so a gateway holds
 * tens of thousands of them. `ctx.state.answered` settles once the answer is written (or the
 * client is gone); the request log and metrics finish on it. If the client goes away first, the
 * wait is abandoned (the job stays queued and its outcome is stored as always).
 */
export function respondLater(ctx: Context, reply: LaterReply): void {
  ctx.respond = false;
  const res = ctx.res;
  const gone = () => reply.abandon();
  res.once('close', gone);
  ctx.state.answered = reply.later.then(
    (r) => setReply(ctx, r),
    (err: unknown) => renderError(ctx, err),
  ).then(() => {
    res.off('close', gone);
    if (res.destroyed || res.writableEnded) return;
    const json = JSON.stringify(ctx.body);
    ctx.length = Buffer.byteLength(json);
    res.end(json);
  }).catch((err: unknown) => {
    ctx.state.log?.error({ err }, 'could not send a later reply');
    res.destroy();
  });
}

/** Sends a handler's reply, now or later. */
export function send(ctx: Context, reply: Reply | LaterReply): void {
  if ('later' in reply) respondLater(ctx, reply);
  else setReply(ctx, reply);
}

/** Runs `fn` once the request is answered: now, or when a later reply is written. */
export function whenAnswered(ctx: Context, fn: () => void): void {
  const answered = ctx.state.answered as Promise<void> | undefined;
  if (answered) void answered.then(fn);
  else fn();
}
