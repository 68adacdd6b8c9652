import type { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { Queue } from 'bullmq';
import jwt from 'jsonwebtoken';
import type { Context, Middleware, Next } from 'koa';
import { forbidden, unauthorized } from '../../../shared/errors';
import { dueShowsKey, queuePrefix, showQueueName } from '../../../shared/queue/names';
import type { TokenClaims } from '../auth/tokens';
import type { Caller, GatewayDeps } from '../deps';

/** Where Bull Board is mounted. It is not part of the OpenAPI router (the spec marks it `x-mounted`). */
export const DASHBOARD_PATH = '/admin/queues';
/** HttpOnly cookie that carries the admin's access token for the dashboard's own page and asset requests. */
export const DASHBOARD_COOKIE = 'bx_queues';
const REFRESH_MS = 2000;
const MAX_QUEUES = 200;
const UPCOMING_SHOWS = 50;

/** Shows worth listing: those announced as having work (latest first), then the next upcoming shows. */
export async function dashboardShowIds(deps: Pick<GatewayDeps, 'redis' | 'db'>): Promise<number[]> {
  const [due, upcoming] = await Promise.all([
    deps.redis.zrevrange(dueShowsKey(), 0, MAX_QUEUES - 1),
    deps.db('shows').where('date_time', '>', new Date()).orderBy('date_time').limit(UPCOMING_SHOWS).pluck('id'),
  ]);
  return [...new Set([...due.map(Number), ...upcoming.map(Number)])].slice(0, MAX_QUEUES);
}

/** The board's read-only view of the show queues, refreshed at most every few seconds when someone looks. */
class BoardQueues {
  private readonly queues = new Map<number, Queue>();
  private refreshed = 0;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly deps: GatewayDeps,
    private readonly replace: (adapters: BullMQAdapter[]) => void,
    private readonly adapt: (q: Queue, id: number) => BullMQAdapter,
  ) {}

  refresh(): Promise<void> {
    if (Date.now() - this.refreshed < REFRESH_MS) return Promise.resolve();
    this.refreshing ??= this.load().finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  private async load() {
    const ids = await dashboardShowIds(this.deps);
    for (const [id, q] of this.queues) {
      if (!ids.includes(id)) {
        this.queues.delete(id);
        void q.close().catch(() => undefined);
      }
    }
    for (const id of ids) {
      if (this.queues.has(id)) continue;
      const q = new Queue(showQueueName(id), { connection: this.deps.redis as never, prefix: queuePrefix(), skipWaitingForReady: true });
      q.on('error', () => undefined);
      this.queues.set(id, q);
    }
    this.replace([...this.queues.entries()].map(([id, q]) => this.adapt(q, id)));
    this.refreshed = Date.now();
  }

  async close() {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    this.queues.clear();
  }
}

/** 401 without a valid access token, 403 unless its user is (still) an admin. */
async function requireAdmin(deps: GatewayDeps, token: string | undefined): Promise<{ caller: Caller; exp: number }> {
  if (!token) throw unauthorized('An admin access token is required (Bearer header, or open ?token=<access token> once)');
  let claims: TokenClaims & { exp: number };
  try {
    claims = jwt.verify(token, deps.tokens.key, deps.tokens.verifyOptions) as TokenClaims & { exp: number };
  } catch {
    throw unauthorized('Missing or invalid token');
  }
  const id = Number(claims.sub);
  if (claims.typ !== 'access' || !Number.isSafeInteger(id)) throw unauthorized('An access token is required');
  const role = await deps.users.role(id);
  if (!role) throw unauthorized('The user no longer exists');
  if (role !== 'admin') throw forbidden('Only admins may see the queue dashboard');
  return { caller: { id, role, username: claims.username }, exp: claims.exp };
}

const bearer = (ctx: Context) => /^Bearer\s+(\S+)$/i.exec(ctx.get('Authorization'))?.[1];

/**
 * Bull Board at /admin/queues, admin only, read-only (nothing enters or leaves a queue from here).
 * Browsers cannot send a Bearer header when navigating, so GET /admin/queues?token=<access token>
 * moves the token into an HttpOnly cookie scoped to the dashboard and redirects to the clean URL.
 */
export function queueDashboard(deps: GatewayDeps): Middleware {
  let board: { plugin: Middleware; queues: BoardQueues } | undefined;
  // Loaded on the first dashboard request: Bull Board, its adapter and templates add about 9 MB to
  // a gateway process that most of the time never serves the page.
  const boardOf = () => {
    if (board) return board;
    const { createBullBoard } = require('@bull-board/api') as typeof import('@bull-board/api');
    const { BullMQAdapter } = require('@bull-board/api/bullMQAdapter') as typeof import('@bull-board/api/bullMQAdapter');
    const { KoaAdapter } = require('@bull-board/koa') as typeof import('@bull-board/koa');
    const serverAdapter = new KoaAdapter().setBasePath(DASHBOARD_PATH);
    // The Koa adapter pins its own copy of @bull-board/api's types; the runtime contract is the same.
    const created = createBullBoard({ queues: [], serverAdapter: serverAdapter as never, options: { uiConfig: { boardTitle: 'Boxoffice queues' } } });
    const queues = new BoardQueues(deps, created.replaceQueues, (q, id) => new BullMQAdapter(q, { readOnlyMode: true, displayName: `show ${id}` }));
    board = { plugin: serverAdapter.registerPlugin() as Middleware, queues };
    return board;
  };
  deps.shutdown.addEventListener('abort', () => void board?.queues.close(), { once: true });

  // Other paths pass straight through (a plain function: no suspended frame per request).
  return (ctx: Context, next: Next) => (ctx.path === DASHBOARD_PATH || ctx.path.startsWith(`${DASHBOARD_PATH}/`) ? serve(ctx, next) : next());

  async function serve(ctx: Context, next: Next) {
    ctx.state.route = DASHBOARD_PATH;
    const fromQuery = typeof ctx.query.token === 'string' ? ctx.query.token : undefined;
    const { caller, exp } = await requireAdmin(deps, fromQuery ?? bearer(ctx) ?? ctx.cookies.get(DASHBOARD_COOKIE));
    ctx.state.user = caller;
    if (fromQuery) {
      ctx.cookies.set(DASHBOARD_COOKIE, fromQuery, {
        httpOnly: true, sameSite: 'strict', path: DASHBOARD_PATH, secure: ctx.secure, maxAge: Math.max(0, exp * 1000 - Date.now()),
      });
      ctx.status = 303;
      ctx.redirect(DASHBOARD_PATH);
      return;
    }
    const { plugin, queues } = boardOf();
    await queues.refresh();
    await plugin(ctx, next);
  }
}
