import type { Context } from 'koa';
import { renderError } from './error-shape';

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

/** Work on a request's way out, given the request: set its headers, log it, count it. */
export type AnswerHook = (ctx: Context) => void;

/**
 * A request whose answer is written after its middleware chain has returned. The edge's hooks
 * (headers before the write; log line and metrics after it) wait here instead of running at once.
 */
class Pending {
  before?: AnswerHook;
  after?: AnswerHook;

  /** Headers and body go out (unless the client is gone), then the after-write hook runs. */
  finish(ctx: Context) {
    const res = ctx.res;
    if (!res.destroyed && !res.writableEnded) {
      this.before?.(ctx);
      const json = JSON.stringify(ctx.body);
      ctx.length = Buffer.byteLength(json);
      res.end(json);
    }
    this.after?.(ctx);
  }
}

/**
 * Answers a reply that is not ready yet without keeping the middleware chain suspended: the chain
 * returns at once (Koa leaves the response alone, `ctx.respond = false`) and the answer is written
 * when it comes, on a new context for the same request and response. A caller awaiting an outcome
 * then costs its socket, the request's small state and a promise, so one gateway holds tens of
 * thousands of them. If the client goes away first, the wait is abandoned (the job stays queued
 * and its outcome is stored as always).
 */
export function respondLater(ctx: Context, reply: LaterReply): void {
  ctx.respond = false;
  travelLight(ctx);
  releaseKoaWatch(ctx);
  const pending = new Pending();
  ctx.state.pending = pending;
  const { app, req, res, state } = ctx;
  const gone = () => reply.abandon();
  res.on('close', gone);
  const answer = (put: (out: Context) => void) => {
    // Whatever Koa or a middleware set on the response itself (status, headers) is still there.
    const out = app.createContext(req, res) as Context;
    out.state = state;
    try {
      res.off('close', gone);
      put(out);
      pending.finish(out);
    } catch (err) {
      state.log?.error({ err }, 'could not send a later reply');
      res.destroy();
    }
  };
  reply.later.then((r) => answer((out) => setReply(out, r)), (err: unknown) => answer((out) => renderError(out, err)));
}

/**
 * Ends Koa's watch on a response it will not write. Koa watches every response with on-finished
 * (listeners on the response and its socket, and a closure holding the context) only to pass a
 * socket error to `ctx.onerror`, which does nothing for a response whose socket is gone (and
 * nothing visible in this app, which is `silent`). Held by 10,000 awaiting callers, the watch
 * and the contexts it keeps cost about 10-20 MB of RSS. on-finished ends a watch when the
 * response emits `end` (or `finish`): its listeners are removed and Koa's callback runs with no
 * error, a no-op. A ServerResponse never emits `end` itself, and nothing else here listens for it.
 */
function releaseKoaWatch(ctx: Context) {
  ctx.res.emit('end');
}

/**
 * Lets go of what a waiting request no longer needs of what it still holds: the answer, its log
 * line and its metrics only need the request id and start time, the route, the path parameters,
 * the caller and the request's logger of its state, and none of its headers. (The Koa context it
 * came in with is not held while it waits, nor anything only that context points to: the body,
 * the router's match.)
 */
function travelLight(ctx: Context) {
  const { requestId, startedAt, route, params, user, log } = ctx.state;
  ctx.state = { requestId, startedAt, route, params, user, log };
  ctx.req.headers = {};
  ctx.req.rawHeaders = [];
}

/** Sends a handler's reply, now or later. */
export function send(ctx: Context, reply: Reply | LaterReply): void {
  if ('later' in reply) respondLater(ctx, reply);
  else setReply(ctx, reply);
}

/** Runs `before` just before the answer is written and `after` once it is: now, or when a later reply is written. */
export function onAnswer(ctx: Context, before: AnswerHook, after: AnswerHook): void {
  const pending = ctx.state.pending as Pending | undefined;
  if (pending) {
    pending.before = before;
    pending.after = after;
  } else {
    before(ctx);
    after(ctx);
  }
}
