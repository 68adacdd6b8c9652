import type { Context, Middleware, Next } from 'koa';
import koaJwt from 'koa-jwt';
import { forbidden, unauthorized } from '../../../shared/errors';
import type { Caller, GatewayDeps } from '../deps';
import type { TokenClaims } from './tokens';

/** koa-jwt with the algorithm pinned and iss/aud checked, then: access tokens only, user still exists. */
export function authGuards(deps: Pick<GatewayDeps, 'tokens' | 'users'>) {
  const jwt = koaJwt({ secret: deps.tokens.key as never, ...deps.tokens.verifyOptions, key: 'claims' });

  const authenticate: Middleware = async (ctx: Context, next: Next) => {
    await jwt(ctx, async () => {
      const claims = ctx.state.claims as TokenClaims;
      const id = Number(claims?.sub);
      if (claims?.typ !== 'access' || !Number.isSafeInteger(id)) throw unauthorized('An access token is required');
      const role = await deps.users.role(id);
      if (!role) throw unauthorized('The user no longer exists');
      ctx.state.user = { id, role, username: claims.username } satisfies Caller;
      await next();
    });
  };

  const requireRole = (role: string): Middleware => async (ctx, next) => {
    if ((ctx.state.user as Caller).role !== role) throw forbidden(`Only ${role}s may do this`);
    await next();
  };

  return { authenticate, requireRole };
}
