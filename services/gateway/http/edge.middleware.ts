import type { Context, Middleware, Next } from 'koa';
import { AppError } from '../../../shared/errors';
import { renderError } from './error-shape';
import { AnswerHook, onAnswer } from './respond-later';

/**
 * Something done for every request at the gateway's edge: when it arrives, just before its
 * answer is written (headers), and once it has been answered (log line, metrics). An answer
 * written later (an awaited outcome) runs the last two when it is written.
 */
export interface EdgeStep {
  arrive?: AnswerHook;
  beforeAnswer?: AnswerHook;
  answered?: AnswerHook;
}

const all = (hooks: (AnswerHook | undefined)[]): AnswerHook => {
  const list = hooks.filter((h): h is AnswerHook => h !== undefined);
  return (ctx) => {
    for (let i = 0; i < list.length; i++) list[i](ctx);
  };
};

/** An unanswered request that no route took is a 404 in the error shape. */
function answerUnrouted(ctx: Context) {
  if (ctx.status === 404 && ctx.body === undefined && ctx.respond !== false) {
    renderError(ctx, new AppError(404, 'NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`));
  }
}

/**
 * Registered first: the one place that decides what the client sees when anything throws (the
 * error shape), and that runs every step's hooks. One middleware with one continuation, rather
 * than one per step: on the booking hot path each layer costs a promise and a closure per
 * request, and an awaiting caller would hold them until its answer.
 */
export function edge(steps: EdgeStep[]): Middleware {
  const arrive = all(steps.map((s) => s.arrive));
  const before = all(steps.map((s) => s.beforeAnswer));
  const answered = all(steps.map((s) => s.answered));
  const finish = (ctx: Context) => onAnswer(ctx, before, answered);
  return (ctx: Context, next: Next) => {
    ctx.state.startedAt = performance.now();
    arrive(ctx);
    return next().then(() => {
      answerUnrouted(ctx);
      finish(ctx);
    }, (err: unknown) => {
      renderError(ctx, err);
      finish(ctx);
    });
  };
}

/** Milliseconds since the request reached the edge. */
export const elapsedMs = (ctx: Context) => performance.now() - (ctx.state.startedAt as number);
