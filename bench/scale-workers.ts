/**
 * npm run bench:scale: the same load — hot shows with pre-filled queues, one of them much busier —
 * drained by 1, 2, 4 and 8 worker processes in turn. Measures allocations/s over all shows, per
 * show and per worker, checks that each show ran one job and one allocation transaction at a time
 * and that every invariant holds, prints a table, and writes docs/perf/scale-workers.svg, a JSON
 * result in bench/results/ and the README block.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ShowQueues } from '../shared/queue/producer';
import { createRedis, waitReady } from '../shared/redis';
import { parseArgs } from './lib/args';
import { ROOT } from './lib/children';
import { createBenchShow, createBenchUsers } from './lib/fixtures';
import { describeMachine } from './lib/machine';
import { renderCurves } from './lib/scale-chart';
import { writeReadmeBlock } from './lib/scale-readme';
import { benchRedis, enqueueQuietly, RedisMode, redisMemory } from './lib/scale-servers';
import { BenchStack, benchEnv, parseEnvPairs } from './lib/stack';
import { table } from './lib/table';
import { runRound, RoundResult, ScaleContext } from './lib/scale-round';

const DEFAULTS = {
  workers: '1,2,4,8', shows: 32, jobs: 150, 'hot-jobs': 600, seats: 1000, redis: 'private', 'pool-total': 32, 'idle-seconds': 5,
  chart: 'docs/perf/scale-workers.svg', readme: true, 'log-level': 'warn', env: '', 'keep-logs': false,
};
const HELP: Record<keyof typeof DEFAULTS, string> = {
  workers: 'worker process counts to run, comma-separated', shows: 'hot shows (the first one is the busy show)', jobs: 'queued book jobs per show',
  'hot-jobs': 'queued book jobs on the busy show', seats: 'seats per show', redis: 'private (own redis-server), cluster (own 3-master cluster) or shared (REDIS_URL)',
  'pool-total': 'Postgres connections over all workers (DB_POOL_MAX = pool-total / workers)', 'idle-seconds': 'WORKER_IDLE_SECONDS of the workers',
  chart: 'SVG chart to write (empty: none)', readme: 'write the result into README.md', 'log-level': 'LOG_LEVEL of the workers',
  env: 'extra KEY=VALUE,... for the workers', 'keep-logs': 'keep the workers\' log files',
};

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

function report(rounds: RoundResult[], ctx: { shows: number; jobs: number; hotJobs: number; redis: string; bytesPerJob: number; command: string; machine: string }) {
  const rows = rounds.map((r) => [
    r.workers, r.pool, r.jobs, r.seconds, r.rate, `${r.perShowRate} / ${r.hotRate}`, `${r.normalDoneP50} / ${r.normalDoneMax}`, r.hotDone,
    r.jobsPerWorker.join(' '), r.cpuMsPerJob, r.serial.maxActiveJobsPerShow, r.serial.maxLockTxPerShow, r.invariants,
  ]);
  const headers = ['workers', 'pool', 'jobs', 'seconds', 'alloc/s', 'per show/s (hot)', 'shows done s p50/max', 'hot done s', 'jobs per worker', 'cpu ms/job', 'max active/show', 'max tx/show', 'invariants'];
  console.log(table(`${ctx.shows} hot shows (${ctx.jobs} queued jobs each, the busy one ${ctx.hotJobs}), Redis: ${ctx.redis}`, headers, rows));
  const md = [
    `### Many workers: ${ctx.shows} hot shows`,
    '',
    `\`${ctx.command}\` — ${ctx.machine}. Each round pre-fills ${ctx.shows} show queues (${ctx.jobs} single-seat book jobs each, the busy show ${ctx.hotJobs}),`,
    `starts the workers, then announces all shows at once; rates are outcomes stored in Postgres per second from the first to the last.`,
    `Redis memory per queued job: ${ctx.bytesPerJob} bytes.`,
    '',
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    '![allocations per second against worker processes](docs/perf/scale-workers.svg)',
  ].join('\n');
  return md;
}

async function main() {
  const args = parseArgs(process.argv.slice(3), DEFAULTS, HELP);
  const counts = args.workers.split(',').map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--workers expects counts like 1,2,4,8, got "${args.workers}"`);
  const tag = `sw${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const redisServer = await benchRedis(args.redis as RedisMode);
  const env = benchEnv({ tag, logLevel: args['log-level'], holdSeconds: 600, extraEnv: { REDIS_URL: redisServer.url, ...parseEnvPairs(args.env) } });
  const stack = new BenchStack(env);
  const redis = createRedis({ blocking: false, name: 'bench-scale', url: redisServer.url });
  const queues = new ShowQueues(redis);
  try {
    const db = await stack.prepareDatabase();
    await waitReady(redis);
    const pg = (await db.raw('SHOW server_version')).rows[0].server_version as string;
    const m = describeMachine(pg, await stack.redisVersion());
    const machineLine = `${m.cpu}, ${m.cores} cores, ${m.ramGb} GB, Node ${m.node}, Postgres ${m.postgres}, Redis ${m.redis} (${args.redis}), load average ${m.loadAvg} at start`;
    log(`machine: ${machineLine}`);
    const users = await createBenchUsers(db, 2000, tag);
    const ctx: ScaleContext = {
      stack, db, redis, queues, users, shows: args.shows, jobs: args.jobs, hotJobs: args['hot-jobs'], seats: args.seats,
      poolTotal: args['pool-total'], idleSeconds: args['idle-seconds'], log,
    };
    let bytesPerJob = 0;
    const rounds: RoundResult[] = [];
    for (const workers of counts) {
      const shows = await Promise.all(Array.from({ length: args.shows }, () => createBenchShow(db, args.seats, 40, 100_000)));
      const before = await redisMemory(redis);
      const ids = await Promise.all(shows.map((id, i) => enqueueQuietly(queues, id, args.seats, users, i === 0 ? args['hot-jobs'] : args.jobs)));
      if (!bytesPerJob) bytesPerJob = Math.round((await redisMemory(redis) - before) / ids.flat().length);
      const r = await runRound(ctx, workers, shows, ids);
      log(`${workers} workers: ${r.rate} allocations/s (per show ${r.perShowRate}, busy show ${r.hotRate}), jobs per worker ${r.jobsPerWorker.join('/')}, `
        + `${r.jobMs} ms/job in the processor, ${r.cpuMsPerJob} worker CPU ms/job, attach ${r.attachMs} ms, invariants ${r.invariants}`);
      rounds.push(r);
    }
    const command = `npm run bench:scale -- ${process.argv.slice(3).join(' ')}`.trim();
    const md = report(rounds, { shows: args.shows, jobs: args.jobs, hotJobs: args['hot-jobs'], redis: args.redis, bytesPerJob, command, machine: machineLine });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
    fs.writeFileSync(path.join(__dirname, 'results', `scale-workers-${stamp}.json`), JSON.stringify({ args, machine: m, bytesPerJob, rounds }, null, 2));
    if (args.chart) writeChart(path.join(ROOT, args.chart), rounds, args.shows, machineLine);
    if (args.readme) writeReadmeBlock('scale-workers', md);
    if (rounds.some((r) => r.invariants !== 'ok' || r.serial.maxActiveJobsPerShow > 1)) process.exitCode = 1;
  } finally {
    await queues.close();
    await redis.quit().catch(() => undefined);
    await stack.teardown(args['keep-logs']);
    await redisServer.stop();
  }
}

function writeChart(file: string, rounds: RoundResult[], shows: number, machine: string) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, renderCurves({
    title: `Allocations per second, ${shows} hot shows`, subtitle: machine, xLabel: 'worker processes', x: rounds.map((r) => r.workers),
    panels: [
      { title: 'All shows', unit: 'allocations/s', series: [{ label: 'total', color: '#1f77b4', values: rounds.map((r) => r.rate) }] },
      { title: 'One show', unit: 'allocations/s', series: [
        { label: 'typical show (median)', color: '#2ca02c', values: rounds.map((r) => r.perShowRate) },
        { label: 'busy show', color: '#d62728', values: rounds.map((r) => r.hotRate) },
      ] },
      { title: 'Time until drained', unit: 's', series: [
        { label: 'last typical show', color: '#2ca02c', values: rounds.map((r) => r.normalDoneMax) },
        { label: 'busy show', color: '#d62728', values: rounds.map((r) => r.hotDone) },
      ] },
    ],
  }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
