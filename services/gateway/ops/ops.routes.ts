import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context, Middleware, Next } from 'koa';
import { loadSpec } from '../../../shared/openapi';
import type { GatewayDeps } from '../deps';
import type { Handlers } from '../http/openapi-router';
import { metricsRegistry } from '../../../shared/metrics';

/** Checks each dependency with a short timeout; `ok` or the error text. */
export async function readiness(deps: Pick<GatewayDeps, 'db' | 'redis'>): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const within = <T>(p: Promise<T>) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), 1500); });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  };
  const [pg, redis] = await Promise.allSettled([within(deps.db.raw('SELECT 1')), within(deps.redis.ping())]);
  const describe = (r: PromiseSettledResult<unknown>) => (r.status === 'fulfilled' ? 'ok' : String((r.reason as Error)?.message ?? r.reason));
  const checks = { postgres: describe(pg), redis: describe(redis) };
  return { ready: pg.status === 'fulfilled' && redis.status === 'fulfilled', checks };
}

const SWAGGER_DIST = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const assets = new Map<string, Promise<Buffer>>();

/** Swagger UI's files from swagger-ui-dist, read once (the page asks for the minified css name). */
function docsAsset(file: string): Promise<Buffer> {
  const real = file === 'swagger-ui.min.css' ? 'swagger-ui.css' : file;
  if (!assets.has(real)) assets.set(real, readFile(path.join(SWAGGER_DIST, real)));
  return assets.get(real)!;
}

/**
 * The Swagger UI page, made on the first request for it: koa2-swagger-ui brings lodash and
 * handlebars (a few MB of heap), which a gateway that never serves /docs does not need.
 */
let swaggerPage: Middleware | undefined;
function swaggerUi(): Middleware {
  if (!swaggerPage) {
    const { koaSwagger } = require('koa2-swagger-ui') as typeof import('koa2-swagger-ui');
    swaggerPage = koaSwagger({
      routePrefix: false,
      title: 'Boxoffice API',
      swaggerCdnUrl: '/docs',
      swaggerVersion: 'assets',
      favicon: '/docs/assets/favicon-32x32.png',
      swaggerOptions: { url: '/openapi.json', persistAuthorization: true, tryItOutEnabled: true },
    });
  }
  return swaggerPage;
}

export function opsHandlers(deps: GatewayDeps): Handlers {
  return {
    healthz(ctx) {
      ctx.body = { status: 'ok' };
    },
    async readyz(ctx) {
      const { ready, checks } = await readiness(deps);
      ctx.status = ready ? 200 : 503;
      ctx.body = { status: ready ? 'ready' : 'unavailable', checks };
    },
    async metrics(ctx) {
      const registry = metricsRegistry();
      ctx.type = registry.contentType;
      ctx.body = await registry.metrics();
    },
    openapiJson(ctx) {
      ctx.body = loadSpec();
    },
    async docsAsset(ctx) {
      const file = ctx.state.params.file as string;
      ctx.type = path.extname(file);
      ctx.set('Cache-Control', 'public, max-age=86400');
      ctx.body = await docsAsset(file);
    },
    async docs(ctx: Context) {
      await swaggerUi()(ctx, (async () => undefined) as unknown as Next);
    },
  };
}
