import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import { AppError } from '../../shared/errors';
import { loadSpec } from '../../shared/openapi';
import { authGuards } from './auth/auth.guards';
import { authHandlers } from './auth/auth.routes';
import { bookingHandlers, bookingPrechecks } from './bookings/booking.routes';
import { catalogHandlers } from './catalog/catalog.routes';
import type { GatewayDeps } from './deps';
import { edge } from './http/edge.middleware';
import { buildRoutes } from './http/openapi-router';
import { requestLog } from './http/request-log.middleware';
import { jobHandlers } from './jobs/job.routes';
import { httpMetrics } from './ops/http-metrics.middleware';
import { opsHandlers } from './ops/ops.routes';
import { queueDashboard } from './ops/queue-dashboard';
import { declaredBodyLimit, limitBytes } from './security/body-limit';
import { corsPolicy } from './security/cors';
import { securityHeaders } from './security/headers';

/**
 * The gateway's Koa app: the edge (request id, errors, security headers, log line, metrics), CORS,
 * the queue dashboard, body, then the routes built from openapi/openapi.yaml. X-Forwarded-For is
 * only believed for TRUST_PROXY_HOPS proxies in front.
 */
export function createApp(deps: GatewayDeps): Koa {
  const hops = deps.cfg.TRUST_PROXY_HOPS;
  const app = new Koa({ proxy: hops > 0, maxIpsCount: hops });
  app.silent = true;
  const routes = buildRoutes(loadSpec(), {
    ...authHandlers(deps), ...catalogHandlers(deps), ...bookingHandlers(deps), ...jobHandlers(deps), ...opsHandlers(deps),
  }, authGuards(deps), bookingPrechecks(deps));
  app.use(edge([requestLog(deps.log), httpMetrics(), securityHeaders()]));
  const cors = corsPolicy(deps.cfg);
  if (cors) app.use(cors);
  app.use(queueDashboard(deps));
  app.use(declaredBodyLimit(deps.cfg.BODY_LIMIT));
  app.use(bodyParser({
    enableTypes: ['json'],
    // In bytes: given as text, raw-body would parse the limit again on every request.
    jsonLimit: limitBytes(deps.cfg.BODY_LIMIT),
    jsonStrict: true,
    onError: (err: Error & { status?: number }) => {
      if (err.status === 413) throw new AppError(413, 'PAYLOAD_TOO_LARGE', `The body is larger than ${deps.cfg.BODY_LIMIT}`);
      if (err.status === 415) throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported body encoding or charset');
      throw new AppError(400, 'MALFORMED_JSON', 'The body is not valid JSON');
    },
  }));
  app.use(routes);
  return app;
}
