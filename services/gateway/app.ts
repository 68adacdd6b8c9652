import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import { AppError } from '../../shared/errors';
import { loadSpec } from '../../shared/openapi';
import { authGuards } from './auth/auth.guards';
import { authHandlers } from './auth/auth.routes';
import { bookingHandlers } from './bookings/booking.routes';
import { catalogHandlers } from './catalog/catalog.routes';
import type { GatewayDeps } from './deps';
import { errorMiddleware } from './http/error.middleware';
import { buildRouter } from './http/openapi-router';
import { requestLog } from './http/request-log.middleware';
import { jobHandlers } from './jobs/job.routes';
import { opsHandlers } from './ops/ops.routes';

/** The gateway's Koa app: log, errors, body, then the router built from openapi/openapi.yaml. */
export function createApp(deps: GatewayDeps): Koa {
  const app = new Koa({ proxy: true });
  app.silent = true;
  const router = buildRouter(loadSpec(), {
    ...authHandlers(deps), ...catalogHandlers(deps), ...bookingHandlers(deps), ...jobHandlers(deps), ...opsHandlers(deps),
  }, authGuards(deps));
  app.use(requestLog(deps.log));
  app.use(errorMiddleware);
  app.use(bodyParser({
    enableTypes: ['json'],
    jsonLimit: deps.cfg.BODY_LIMIT,
    jsonStrict: true,
    onError: (err: Error & { status?: number }) => {
      if (err.status === 413) throw new AppError(413, 'PAYLOAD_TOO_LARGE', `The body is larger than ${deps.cfg.BODY_LIMIT}`);
      throw new AppError(400, 'MALFORMED_JSON', 'The body is not valid JSON');
    },
  }));
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
}
