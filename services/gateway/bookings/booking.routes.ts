import type { Context } from 'koa';
import type { Caller, GatewayDeps } from '../deps';
import type { Handlers, Precheck } from '../http/openapi-router';
import { listMyBookings, refuseEarly, requestBooking, requestBookingAction, RequestHeaders } from './booking.service';
import { send } from '../http/respond-later';

const headersOf = (ctx: Context): RequestHeaders => ({ prefer: ctx.get('Prefer') || undefined, idempotencyKey: ctx.get('Idempotency-Key') || undefined });

export function bookingHandlers(deps: GatewayDeps): Handlers {
  const caller = (ctx: Context) => ctx.state.user as Caller;
  return {
    async bookSeats(ctx) {
      send(ctx, await requestBooking(deps, caller(ctx), ctx.state.params.id, ctx.request.body as any, headersOf(ctx)));
    },
    async cancelBooking(ctx) {
      send(ctx, await requestBookingAction(deps, caller(ctx), 'cancel', ctx.state.params.id, headersOf(ctx)));
    },
    async confirmBooking(ctx) {
      send(ctx, await requestBookingAction(deps, caller(ctx), 'confirm', ctx.state.params.id, headersOf(ctx)));
    },
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
