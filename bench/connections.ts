/**
 * npm run bench:connections: Redis connections and memory against the number of shows with work.
 * One gateway and one worker process on a Redis of their own. First 2,000 shows get traffic in
 * waves (history), then 0, 10, 50, 200 and 500 of them get steady booking traffic through the
 * gateway; at each level the worker's and the gateway's Redis connections (by connection name,
 * from CLIENT LIST) and their RSS are sampled. Ends with all traffic stopped and the worker idle.
 * Prints a table and writes docs/perf/connections.svg, a JSON result and the README block.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { BookJob } from '../shared/queue/jobs';
import { ShowQueues } from '../shared/queue/producer';
import { createRedis, waitReady } from '../shared/redis';
import { connectionNames } from '../test/cluster/process-sockets';
import { parseArgs } from './lib/args';
import { Child, ROOT } from './lib/children';
import { createBenchUsers } from './lib/fixtures';
import { HttpClient } from './lib/http-client';
import { describeMachine } from './lib/machine';
import { renderCurves } from './lib/scale-chart';
import { writeReadmeBlock } from './lib/scale-readme';
import { benchRedis, RedisMode, redisMemory } from './lib/scale-servers';
import { SteadyTraffic } from './lib/scale-traffic';
import { BenchStack, benchEnv } from './lib/stack';
import { round, summarize } from './lib/stats';
import { markdownTable, table } from './lib/table';

const DEFAULTS = {
  history: 2000, wave: 500, levels: '0,10,50,200,500', 'idle-seconds': 10, 'period-seconds': 4, 'sample-seconds': 5, seats: 1000,
  redis: 'private', chart: 'docs/perf/connections.svg', readme: true,
};
const HELP: Record<keyof typeof DEFAULTS, string> = {
  history: 'shows that get traffic first (and go idle)', wave: 'history shows given traffic at once', levels: 'numbers of shows with steady traffic, comma-separated',
  'idle-seconds': 'WORKER_IDLE_SECONDS of the worker', 'period-seconds': 'one booking call per active show this often', 'sample-seconds': 'sampling time per level',
  seats: 'seats per show', redis: 'private (own redis-server) or cluster (own 3-master cluster)', chart: 'SVG chart to write (empty: none)', readme: 'write the result into README.md',
};

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** BullMQ names a worker's blocking connection `<queue prefix>:<base64 of the queue name>`: one per attached show. */
const perShow = (names: string[]) => names.filter((n) => n.startsWith(`${process.env.QUEUE_PREFIX}:`)).length;

/** A movie and `n` shows tomorrow, inserted in bulk. */
async function createShows(db: BenchStack['db'], n: number, seats: number): Promise<number[]> {
  const [movie] = await db('movies').insert({ title: 'Repertory', duration_minutes: 100, description: 'benchmark' }).returning('id');
  const rows = Array.from({ length: Math.ceil(seats / 40) }, (_, i) => Math.min(40, seats - i * 40));
  const ids: number[] = [];
  for (let start = 0; start < n; start += 500) {
    const batch = Array.from({ length: Math.min(500, n - start) }, () => ({
      movie_id: movie.id, screen_name: 'Screen 1', date_time: new Date(Date.now() + 24 * 3600_000), total_seats: seats, row_lengths: rows, max_seats_per_user: 100_000, sales_open_at: null,
    }));
    ids.push(...(await db('shows').insert(batch).returning('id')).map((r: { id: number }) => r.id));
  }
  return ids;
}

interface Row {
  label: string;
  active: number;
  workerConns: number;
  perShowConns: number;
  gatewayConns: number;
  workerRssMb: number;
  gatewayRssMb: number;
  redisMb: number;
  inFlight: number;
}

/** Medians of the processes' connections and memory over `seconds`. */
async function sample(label: string, active: number, procs: { worker: Child; gateway: Child }, ports: number[], memory: () => Promise<number>, traffic: SteadyTraffic, seconds: number): Promise<Row> {
  const s: Record<string, number[]> = { w: [], ps: [], g: [], wr: [], gr: [], m: [], f: [] };
  for (let i = 0; i < Math.max(1, seconds * 2); i++) {
    const names = connectionNames(procs.worker.pid, ports);
    s.w.push(names.length);
    s.ps.push(perShow(names));
    s.g.push(connectionNames(procs.gateway.pid, ports).length);
    s.wr.push(procs.worker.rss() / 2 ** 20);
    s.gr.push(procs.gateway.rss() / 2 ** 20);
    s.m.push((await memory()) / 2 ** 20);
    s.f.push(traffic.inFlight);
    await sleep(500);
  }
  const med = (k: string, d = 0) => round(summarize(s[k]).p50, d);
  return { label, active, workerConns: med('w'), perShowConns: med('ps'), gatewayConns: med('g'), workerRssMb: med('wr', 1), gatewayRssMb: med('gr', 1), redisMb: med('m', 1), inFlight: med('f') };
}

/** Gives each history show one booking (straight onto its queue, as the gateway would) and waits for the outcomes. */
async function playHistory(stack: BenchStack, queues: ShowQueues, shows: number[], users: { id: number }[], wave: number, worker: Child, ports: number[]) {
  let peak = 0;
  for (let start = 0; start < shows.length; start += wave) {
    const batch = shows.slice(start, start + wave);
    await Promise.all(batch.map((showId, i) => {
      const request_id = `${showId}-${randomBytes(16).toString('hex')}`;
      const job: BookJob = { type: 'book', request_id, user_id: users[i % users.length].id, show_id: showId, quantity: 1, allow_split: false, hold: false, created_at: new Date().toISOString(), body_hash: 'x'.repeat(32) };
      return queues.add(showId, job);
    }));
    for (;;) {
      peak = Math.max(peak, perShow(connectionNames(worker.pid, ports)));
      const [{ n }] = await stack.db('requests').whereIn('show_id', shows.slice(0, start + wave)).count('* as n');
      if (Number(n) >= Math.min(shows.length, start + wave)) break;
      await sleep(250);
    }
    log(`history: ${Math.min(shows.length, start + wave)} shows have had traffic (worker per-show connections peaked at ${peak})`);
  }
  return peak;
}

async function main() {
  const args = parseArgs(process.argv.slice(3), DEFAULTS, HELP);
  const levels = args.levels.split(',').map(Number);
  const tag = `cn${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const server = await benchRedis(args.redis as RedisMode);
  const stack = new BenchStack(benchEnv({ tag, logLevel: 'warn', holdSeconds: 600, extraEnv: { REDIS_URL: server.url } }));
  const redis = createRedis({ blocking: false, name: 'bench-connections', url: server.url });
  const queues = new ShowQueues(redis);
  let http: HttpClient | undefined;
  let traffic: SteadyTraffic | undefined;
  try {
    const db = await stack.prepareDatabase();
    await waitReady(redis);
    const m = describeMachine((await db.raw('SHOW server_version')).rows[0].server_version, await stack.redisVersion());
    const machine = `${m.cpu}, ${m.cores} cores, ${m.ramGb} GB, Node ${m.node}, Postgres ${m.postgres}, Redis ${m.redis} (${args.redis}), load average ${m.loadAvg} at start`;
    log(`machine: ${machine}`);
    const users = await createBenchUsers(db, 3000, tag);
    const shows = await createShows(db, Math.max(args.history, ...levels), args.seats);
    const worker = await stack.startWorker('worker', { WORKER_IDLE_SECONDS: String(args['idle-seconds']), DB_POOL_MAX: '16' });
    const gateway = await stack.startGateway('gateway', { DB_POOL_MAX: '16' });
    const procs = { worker, gateway };
    http = new HttpClient(gateway.port, 1024);
    traffic = new SteadyTraffic(http, users, args['period-seconds'] * 1000);
    const memory = () => redisMemory(redis);
    const rows: Row[] = [await sample('fresh worker, no show has had traffic', 0, procs, server.ports, memory, traffic, 2)];
    const historyPeak = await playHistory(stack, queues, shows.slice(0, args.history), users, args.wave, worker, server.ports);
    log(`waiting ${args['idle-seconds']} s and more for the worker to detach`);
    while (perShow(connectionNames(worker.pid, server.ports)) > 0) await sleep(500);
    for (const active of levels) {
      traffic.setActive(shows.slice(0, active));
      await sleep(args['period-seconds'] * 1000 + 3000);
      rows.push(await sample(`${args.history} had traffic, ${active} active`, active, procs, server.ports, memory, traffic, args['sample-seconds']));
      log(`${active} active shows: ${JSON.stringify(rows[rows.length - 1])}`);
    }
    await traffic.stop();
    const stoppedAt = Date.now();
    while (perShow(connectionNames(worker.pid, server.ports)) > 0) await sleep(500);
    const detachS = round((Date.now() - stoppedAt) / 1000, 1);
    rows.push(await sample(`all idle again (after ${detachS} s)`, 0, procs, server.ports, memory, traffic, 2));
    finish(args, rows, { machine, historyPeak, history: args.history, statuses: traffic.statuses, maxInFlight: traffic.maxInFlight });
  } finally {
    await traffic?.stop();
    http?.close();
    await queues.close();
    await redis.quit().catch(() => undefined);
    await stack.teardown(false);
    await server.stop();
  }
}

function finish(args: typeof DEFAULTS, rows: Row[], ctx: { machine: string; historyPeak: number; history: number; statuses: Record<string, number>; maxInFlight: number }) {
  const headers = ['state', 'active shows', 'worker conns', 'of them per-show', 'gateway conns', 'worker RSS MB', 'gateway RSS MB', 'Redis MB', 'calls in flight'];
  const cells = rows.map((r) => [r.label, r.active, r.workerConns, r.perShowConns, r.gatewayConns, r.workerRssMb, r.gatewayRssMb, r.redisMb, r.inFlight]);
  console.log(table(`Redis connections against shows with work (worker WORKER_IDLE_SECONDS=${args['idle-seconds']})`, headers, cells));
  console.log(`history: per-show connections peaked at ${ctx.historyPeak} while ${args.wave} shows at a time got traffic; answers ${JSON.stringify(ctx.statuses)}`);
  const command = ['npm run bench:connections', ...(process.argv.length > 3 ? ['--', ...process.argv.slice(3)] : [])].join(' ');
  const md = [
    '### Many shows, bounded connections',
    '',
    `\`${command}\` — ${ctx.machine}. One gateway and one worker process; ${ctx.history} shows first get one booking each`,
    `(${args.wave} at a time: the worker's per-show connections peaked at ${ctx.historyPeak}), then the first N shows get one booking call every`,
    `${args['period-seconds']} s through the gateway, each caller awaiting its outcome. Medians over ${args['sample-seconds']} s per level;`,
    'connections are counted by name in CLIENT LIST (the worker\'s two shared clients plus one blocking connection per attached show; the gateway\'s command client and its one results subscriber).',
    '',
    ...markdownTable(headers, cells),
    '',
    '![Redis connections and RSS against active shows](docs/perf/connections.svg)',
  ].join('\n');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', `connections-${stamp}.json`), JSON.stringify({ args, ...ctx, rows }, null, 2));
  const levelRows = rows.filter((r) => r.label.includes('active'));
  if (args.chart) {
    const file = path.join(ROOT, args.chart);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, renderCurves({
      title: `Redis connections and memory against active shows (${ctx.history} shows have had traffic)`, subtitle: ctx.machine, xLabel: 'shows with traffic now',
      x: levelRows.map((r) => r.active),
      panels: [
        { title: 'Redis connections', unit: 'connections', series: [
          { label: 'worker', color: '#1f77b4', values: levelRows.map((r) => r.workerConns) },
          { label: 'gateway', color: '#ff7f0e', values: levelRows.map((r) => r.gatewayConns) },
        ] },
        { title: 'Resident memory', unit: 'MB', series: [
          { label: 'worker RSS', color: '#1f77b4', values: levelRows.map((r) => r.workerRssMb) },
          { label: 'gateway RSS', color: '#ff7f0e', values: levelRows.map((r) => r.gatewayRssMb) },
          { label: 'Redis used_memory', color: '#2ca02c', values: levelRows.map((r) => r.redisMb) },
        ] },
      ],
    }));
  }
  if (args.readme) writeReadmeBlock('connections', md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
