import type { Caller, GatewayDeps } from '../deps';
import type { Handlers } from '../http/openapi-router';
import { getJob } from './job-view';

export function jobHandlers(deps: GatewayDeps): Handlers {
  return {
    async getJob(ctx) {
      ctx.body = await getJob(deps, ctx.state.user as Caller, ctx.state.params.id);
    },
  };
}
