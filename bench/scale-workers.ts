/**
 * npm run bench:scale: the same load — hot shows with pre-filled queues, one of them much busier —
 * drained by 1, 2, 4 and 8 worker processes in turn (each count run --repeat times, in alternating
 * order, the median kept). Before that, one show alone on one worker, with and without batching,
 * gives the single-show ceiling. Measures allocations/s over all shows, per show and per worker,
 * checks that each show ran one job and one allocation transaction at a time and that every
 * invariant holds, prints tables, and writes docs/perf/scale-workers.svg, a JSON result in
 * bench/results/ and the README block.
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
import { runRound, RoundResult, ScaleContext } from './lib/scale-round';
import { benchRedis, enqueueQuietly, RedisMode, redisMemory } from './lib/scale-servers';
import { BenchStack, benchEnv, parseEnvPairs } from './lib/stack';
import { markdownTable, table } from './lib/table';

const DEFAULTS = {
  workers: '1,2,4,8', repeat: 3, shows: 32, jobs: 150, 'hot-jobs': 600, 'solo-jobs': 3000, seats: 1000, redis: 'private', 'pool-total': 32,
  'idle-seconds': 5, chart: 'docs/perf/scale-workers.svg', readme: true, 'log-level': 'warn', env: '', 'keep-logs': false,
};
const HELP: Record<keyof typeof DEFAULTS, string> = {
  workers: 'worker process counts to run, comma-separated', repeat: 'runs of each count (the median is reported)', shows: 'hot shows (the first one is the busy show)',
  jobs: 'queued book jobs per show', 'hot-jobs': 'queued book jobs on the busy show', 'solo-jobs': 'jobs of the one-show rounds (0: skip them)', seats: 'seats per show',
  redis: 'private (own redis-server), cluster (own 3-master cluster) or shared (REDIS_URL)',
  'pool-total': 'Postgres connections over all workers (DB_POOL_MAX = pool-total / workers)', 'idle-seconds': 'WORKER_IDLE_SECONDS of the workers',
  chart: 'SVG chart to write (empty: none)', readme: 'write the result into README.md', 'log-level': 'LOG_LEVEL of the workers',
  env: 'extra KEY=VALUE,... for the workers', 'keep-logs': 'keep the workers\' log files',
};

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

interface Scaled {
  workers: number;
  median: RoundResult;
  rates: number[];
}

/** Creates `jobs.length` shows, fills their queues (show i gets jobs[i] jobs) without announcing them, and runs a round. */
async function play(ctx: ScaleContext, workers: number, jobs: number[], env: Record<string, string> = {}, seats = ctx.seats): Promise<{ result: RoundResult; bytesPerJob: number }> {
  const shows = await Promise.all(jobs.map(() => createBenchShow(ctx.db, seats, 40, 100_000)));
  const before = await redisMemory(ctx.redis);
  const ids = await Promise.all(shows.map((id, i) => enqueueQuietly(ctx.queues, id, seats, ctx.users, jobs[i])));
  const bytesPerJob = Math.round((await redisMemory(ctx.redis) - before) / ids.flat().length);
  const result = await runRound(ctx, workers, shows, ids, env);
  log(`${workers} workers, ${shows.length} shows: ${result.rate} allocations/s (per show ${result.perShowRate}, busy show ${result.hotRate}), `
    + `jobs per worker ${result.jobsPerWorker.join('/')}, CPU ms/job: worker ${result.cpuMsPerJob}, Postgres ${result.pgCpuMsPerJob}, Redis ${result.redisCpuMsPerJob}, attach ${result.attachMs} ms, invariants ${result.invariants}`);
  return { result, bytesPerJob };
}

function markdown(scaled: Scaled[], solo: { label: string; r: RoundResult }[], args: typeof DEFAULTS, bytesPerJob: number, machine: string): string {
  const headers = ['workers', 'DB_POOL_MAX', 'allocations/s (runs)', 'typical show /s', 'busy show /s', 'typical shows drained s (p50/last)', 'busy show drained s', 'jobs per worker', 'CPU ms/job: worker / Postgres / Redis', 'max running jobs per show', 'max allocation tx per show', 'invariants'];
  const rows = scaled.map(({ workers, median: r, rates }) => [
    workers, r.pool, `${r.rate} (${rates.join(', ')})`, r.perShowRate, r.hotRate, `${r.normalDoneP50} / ${r.normalDoneMax}`, r.hotDone,
    r.jobsPerWorker.join(' '), `${r.cpuMsPerJob} / ${r.pgCpuMsPerJob} / ${r.redisCpuMsPerJob ?? '-'}`, r.serial.maxActiveJobsPerShow, r.serial.maxLockTxPerShow, r.invariants,
  ]);
  const soloHeaders = ['one show, one worker', 'jobs', 'allocations/s', 'mean processor time per job ms', 'CPU ms/job: worker / Postgres / Redis'];
  const soloRows = solo.map(({ label, r }) => [label, r.jobs, r.hotRate, r.jobMs, `${r.cpuMsPerJob} / ${r.pgCpuMsPerJob} / ${r.redisCpuMsPerJob ?? '-'}`]);
  console.log(table('One show alone (the per-show ceiling)', soloHeaders, soloRows));
  console.log(table(`${args.shows} hot shows (${args.jobs} queued jobs each, the busy one ${args['hot-jobs']}), Redis: ${args.redis}`, headers, rows));
  const command = `npm run bench:scale -- ${process.argv.slice(3).join(' ')}`.trim();
  return [
    `### Many workers: ${args.shows} hot shows`,
    '',
    `\`${command}\` — ${machine}.`,
    `Each round pre-fills ${args.shows} show queues (${args.jobs} single-seat book jobs each, the busy show ${args['hot-jobs']}), starts the workers,`,
    `then announces all shows at once; a rate is outcomes stored in Postgres per second, first to last. Each worker count ran ${args.repeat} times`,
    `(alternating order); the row is the median run, the other runs' totals in brackets. Redis memory per queued job: ${bytesPerJob} bytes.`,
    '',
    ...markdownTable(soloHeaders, soloRows),
    '',
    ...markdownTable(headers, rows),
    '',
    '![allocations per second against worker processes](docs/perf/scale-workers.svg)',
  ].join('\n');
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
    const m = describeMachine((await db.raw('SHOW server_version')).rows[0].server_version, await stack.redisVersion());
    const machine = `${m.cpu}, ${m.cores} cores, ${m.ramGb} GB, Node ${m.node}, Postgres ${m.postgres}, Redis ${m.redis} (${args.redis}), load average ${m.loadAvg} at start`;
    log(`machine: ${machine}`);
    const ctx: ScaleContext = {
      stack, db, redis, queues, users: await createBenchUsers(db, 2000, tag), seats: args.seats, poolTotal: args['pool-total'], idleSeconds: args['idle-seconds'],
      redisPids: redisServer.pids,
    };
    const solo: { label: string; r: RoundResult }[] = [];
    if (args['solo-jobs']) {
      const seats = Math.max(args.seats, 4 * args['solo-jobs']);
      solo.push({ label: `batched (ALLOCATION_BATCH ${env.ALLOCATION_BATCH ?? 'default'})`, r: (await play(ctx, 1, [args['solo-jobs']], {}, seats)).result });
      solo.push({ label: 'one job per transaction (ALLOCATION_BATCH=1)', r: (await play(ctx, 1, [args['solo-jobs']], { ALLOCATION_BATCH: '1' }, seats)).result });
    }
    const runs = new Map<number, RoundResult[]>(counts.map((c) => [c, []]));
    let bytesPerJob = 0;
    for (let rep = 0; rep < args.repeat; rep++) {
      for (const workers of rep % 2 ? [...counts].reverse() : counts) {
        const { result, bytesPerJob: b } = await play(ctx, workers, Array.from({ length: args.shows }, (_, i) => (i === 0 ? args['hot-jobs'] : args.jobs)));
        bytesPerJob ||= b;
        runs.get(workers)!.push(result);
      }
    }
    const scaled: Scaled[] = counts.map((workers) => {
      const all = [...runs.get(workers)!].sort((a, b) => a.rate - b.rate);
      return { workers, median: all[Math.floor((all.length - 1) / 2)], rates: runs.get(workers)!.map((r) => r.rate) };
    });
    const md = markdown(scaled, solo, args, bytesPerJob, machine);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
    fs.writeFileSync(path.join(__dirname, 'results', `scale-workers-${stamp}.json`), JSON.stringify({ args, machine: m, bytesPerJob, solo, runs: [...runs] }, null, 2));
    if (args.chart) writeChart(path.join(ROOT, args.chart), scaled, solo, args.shows, machine);
    if (args.readme) writeReadmeBlock('scale-workers', md);
    const all = [...solo.map((s) => s.r), ...[...runs.values()].flat()];
    if (all.some((r) => r.invariants !== 'ok' || r.serial.maxActiveJobsPerShow > 1 || r.serial.maxLockTxPerShow > 1)) process.exitCode = 1;
  } finally {
    await queues.close();
    await redis.quit().catch(() => undefined);
    await stack.teardown(args['keep-logs']);
    await redisServer.stop();
  }
}

function writeChart(file: string, scaled: Scaled[], solo: { r: RoundResult }[], shows: number, machine: string) {
  const flat = (v: number | undefined) => scaled.map(() => v ?? null);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, renderCurves({
    title: `Allocations per second, ${shows} hot shows`, subtitle: machine, xLabel: 'worker processes', x: scaled.map((s) => s.workers),
    panels: [
      { title: `All ${shows} shows`, unit: 'allocations/s, median run', series: [{ label: 'total', color: '#1f77b4', values: scaled.map((s) => s.median.rate) }] },
      { title: 'One show', unit: 'allocations/s', series: [
        { label: 'typical show (median)', color: '#2ca02c', values: scaled.map((s) => s.median.perShowRate) },
        { label: 'busy show', color: '#d62728', values: scaled.map((s) => s.median.hotRate) },
        { label: 'one show alone, batched', color: '#7f7f7f', values: flat(solo[0]?.r.hotRate) },
      ] },
      { title: 'Time until drained', unit: 's', series: [
        { label: 'last typical show', color: '#2ca02c', values: scaled.map((s) => s.median.normalDoneMax) },
        { label: 'busy show', color: '#d62728', values: scaled.map((s) => s.median.hotDone) },
      ] },
    ],
  }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
