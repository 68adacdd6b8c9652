import type { Context, Next } from 'koa';
import { metrics } from '../../../shared/metrics';
import { whenAnswered } from '../http/respond-later';
import { DASHBOARD_PATH } from './queue-dashboard';

/** The route label: the OpenAPI path template, the dashboard mount, or `unmatched` (bounded label set). */
function routeLabel(ctx: Context): string {
  if (ctx.state.route) return ctx.state.route;
  if (ctx.path === DASHBOARD_PATH || ctx.path.startsWith(`${DASHBOARD_PATH}/`)) return DASHBOARD_PATH;
  return 'unmatched';
}

/** Observes every request's duration by method, route and final status (register before the error middleware). */
export function httpMetrics() {
  const histogram = metrics().http;
  return (ctx: Context, next: Next) => {
    const stop = histogram.startTimer();
    return next().finally(() => whenAnswered(ctx, () => stop({ method: ctx.method, route: routeLabel(ctx), status: String(ctx.status) })));
  };
}
