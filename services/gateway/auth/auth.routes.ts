import type { GatewayDeps } from '../deps';
import type { Handlers } from '../http/openapi-router';
import { login, refresh, signup } from './auth.service';

export function authHandlers(deps: GatewayDeps): Handlers {
  return {
    async signup(ctx) {
      ctx.status = 201;
      ctx.body = await signup(ctx.request.body as any);
    },
    async login(ctx) {
      const { username, password } = ctx.request.body as { username: string; password: string };
      ctx.body = await login(deps, username, password, ctx.ip);
    },
    async refreshToken(ctx) {
      ctx.body = await refresh(deps, (ctx.request.body as { refresh: string }).refresh);
    },
  };
}
