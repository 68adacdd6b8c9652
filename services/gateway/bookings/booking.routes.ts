import type { Context } from 'koa';
import type { Caller, GatewayDeps } from '../deps';
import type { Handlers, Precheck } from '../http/openapi-router';
import { listMyBookings, refuseEarly, requestBooking, requestBookingAction, RequestHeaders } from './booking.service';
import { toAppError } from '../http/error-shape';
import { LaterReply, Reply, send } from '../http/respond-later';

/** The headers a queue-bound request reads, read once per request (a booking's precheck and its handler both need them). */
const headersOf = (ctx: Context): RequestHeaders =>
  (ctx.state.headers ??= { prefer: ctx.get('Prefer') || undefined, idempotencyKey: ctx.get('Idempotency-Key') || undefined });

export function bookingHandlers(deps: GatewayDeps): Handlers {
  const caller = (ctx: Context) => ctx.state.user as Caller;
  /**
   * Runs a queue-bound request (it spends one of the caller's per-user budget) and sends its
   * reply. If a backing service could not take it (503), the budget is given back: the client was
   * told to retry, and the retry should not be refused for a request that never went anywhere.
   */
  const queueBound = async (ctx: Context, run: (who: Caller) => Promise<Reply | LaterReply>) => {
    const who = caller(ctx);
    try {
      send(ctx, await run(who));
    } catch (err) {
      if (toAppError(err)?.status === 503) await deps.admission.refundUser(who.id).catch(() => undefined);
      throw err;
    }
  };
  return {
    bookSeats: (ctx) => queueBound(ctx, (who) => requestBooking(deps, who, ctx.state.params.id, ctx.request.body as any, headersOf(ctx))),
    cancelBooking: (ctx) => queueBound(ctx, (who) => requestBookingAction(deps, who, 'cancel', ctx.state.params.id, headersOf(ctx))),
    confirmBooking: (ctx) => queueBound(ctx, (who) => requestBookingAction(deps, who, 'confirm', ctx.state.params.id, headersOf(ctx))),
    async listMyBookings(ctx) {
      ctx.body = await listMyBookings(caller(ctx), ctx.state.query);
    },
  };
}

/** Bookings a gateway can refuse from its show cache alone, before the user directory is asked. */
export function bookingPrechecks(deps: GatewayDeps): Record<string, Precheck> {
  return {
    bookSeats(ctx, next) {
      refuseEarly(deps, ctx.state.params.id, ctx.request.body as any, headersOf(ctx));
      return next();
    },
  };
}
