import type { Context } from 'koa';
import { metrics } from '../../../shared/metrics';
import { EdgeStep, elapsedMs } from '../http/edge.middleware';
import { DASHBOARD_PATH } from './queue-dashboard';

/** The route label: the OpenAPI path template, the dashboard mount, or `unmatched` (bounded label set). */
function routeLabel(ctx: Context): string {
  if (ctx.state.route) return ctx.state.route;
  if (ctx.path === DASHBOARD_PATH || ctx.path.startsWith(`${DASHBOARD_PATH}/`)) return DASHBOARD_PATH;
  return 'unmatched';
}

/** Observes every request's duration by method, route and final status, once it is answered. */
export function httpMetrics(): EdgeStep {
  const histogram = metrics().http;
  return {
    answered(ctx) {
      histogram.observe({ method: ctx.method, route: routeLabel(ctx), status: String(ctx.status) }, elapsedMs(ctx) / 1000);
    },
  };
}
