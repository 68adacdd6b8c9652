import type { GatewayDeps } from '../deps';
import type { Handlers } from '../http/openapi-router';
import * as catalog from './catalog.service';
import { renderSvg, renderText, seatMap } from './seat-map';

export function catalogHandlers(deps: GatewayDeps): Handlers {
  const id = (ctx: any) => ctx.state.params.id as number;
  return {
    async listMovies(ctx) {
      ctx.body = await catalog.listMovies(ctx.state.query);
    },
    async getMovie(ctx) {
      ctx.body = (await catalog.getMovie(id(ctx))).toPublic();
    },
    async createMovie(ctx) {
      ctx.status = 201;
      ctx.body = await catalog.createMovie(ctx.request.body as any);
    },
    async updateMovie(ctx) {
      ctx.body = await catalog.updateMovie(id(ctx), ctx.request.body as any);
    },
    async deleteMovie(ctx) {
      await catalog.deleteMovie(id(ctx));
      ctx.status = 204;
    },
    async listMovieShows(ctx) {
      ctx.body = await catalog.listMovieShows(deps.redis, id(ctx), ctx.state.query);
    },
    async createShow(ctx) {
      ctx.status = 201;
      ctx.body = await catalog.createShow(deps.redis, ctx.request.body as any);
    },
    async getShow(ctx) {
      ctx.body = await catalog.presentShow(deps.redis, await catalog.findShow(id(ctx)));
    },
    async updateShow(ctx) {
      ctx.body = await catalog.updateShow(deps.db, deps.redis, id(ctx), ctx.request.body as any);
      deps.shows.forget(id(ctx));
    },
    async deleteShow(ctx) {
      await catalog.deleteShow(id(ctx));
      deps.shows.forget(id(ctx));
      ctx.status = 204;
    },
    async getSeatMap(ctx) {
      const map = await seatMap(await catalog.findShow(id(ctx)));
      const format = ctx.state.query.format as 'json' | 'text' | 'svg';
      if (format === 'svg') ctx.type = 'image/svg+xml';
      else if (format === 'text') ctx.type = 'text/plain';
      ctx.body = format === 'svg' ? renderSvg(map) : format === 'text' ? renderText(map) : map;
    },
  };
}
