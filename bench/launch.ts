/**
 * npm run bench:launch: plays back an on-sale. Brings up the gateway and N workers with the
 * project's own entry points against local Postgres and Redis (a database and queue prefix of its
 * own, removed afterwards), measures the ceilings of the bare parts in the same run, fires the
 * burst, checks every invariant in Postgres, prints a table and writes bench/results/<stamp>.json
 * and .svg. Exits 1 on any invariant breach.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from './lib/args';
import { Burst, BurstOptions } from './lib/burst';
import { checkBurst } from './lib/burst-checks';
import type { Knex } from 'knex';
import { Ceilings, ceilingsBC, compareAccept } from './lib/ceiling-suite';
import type { Child } from './lib/children';
import { fillShowQueue, timeDrain } from './lib/drain';
import { burstFigures } from './lib/figures';
import { BenchUser, createBenchUsers, createLaunchShow } from './lib/fixtures';
import { HttpClient } from './lib/http-client';
import { describeMachine } from './lib/machine';
import { summarizeProfiles } from './lib/profile-summary';
import { discardShowQueue } from './lib/queues';
import { LaunchReport, printReport, ratiosAndTargets, writeResults } from './lib/report';
import { probeSoldOut } from './lib/sold-out';
import { ShowSampler } from './lib/sampler';
import { BenchStack, benchEnv, parseEnvPairs } from './lib/stack';
import { round, Timeline } from './lib/stats';
import { measureWaiters, WaitersResult } from './lib/waiters';

const SOLD_OUT_SEATS = 20;

const DEFAULTS = {
  workers: 1, seats: 20000, requests: 60000, concurrency: 2000, users: 0, 'async-share': 0.3, mix: 'single=60,multi=10,best=15,hold=15',
  'confirm-share': 0.5, 'hold-seconds': 20, 'accept-requests': 20000, 'accept-concurrency': 256, 'drain-jobs': 20000, 'tx-seconds': 5,
  waiters: 10000, 'sold-out-requests': 5000, seed: 42, profile: false, 'log-level': 'info', env: '', 'keep-logs': false,
};
const HELP: Record<keyof typeof DEFAULTS, string> = {
  workers: 'worker processes', seats: 'seats of the launch show', requests: 'booking calls in the burst', concurrency: 'booking calls in flight',
  users: 'pre-registered users (0: requests / 4)', 'async-share': 'share sent with Prefer: respond-async', mix: 'weights of single, multi, best, hold',
  'confirm-share': 'share of successful holds confirmed (the rest lapse)', 'hold-seconds': 'HOLD_SECONDS of the run', 'accept-requests': 'requests of the accept measurements',
  'accept-concurrency': 'in-flight requests of the accept measurements', 'drain-jobs': 'jobs of ceiling (b)', 'tx-seconds': 'seconds of ceiling (c)',
  waiters: 'callers awaiting at once for the RSS measurement (0: skip)', 'sold-out-requests': 'booking calls at a sold-out show', seed: 'seed of the request mix', profile: 'write --cpu-prof profiles of the gateway and workers and summarise them',
  'log-level': 'LOG_LEVEL of the processes', env: 'extra KEY=VALUE,... for the processes', 'keep-logs': 'keep the processes\' log files',
};

function parseMix(spec: string): BurstOptions['mix'] {
  const mix = { single: 0, multi: 0, best: 0, hold: 0 };
  for (const part of spec.split(',')) {
    const [k, v] = part.split('=');
    if (!(k in mix) || !(Number(v) >= 0)) throw new Error(`--mix expects single=N,multi=N,best=N,hold=N, got "${spec}"`);
    mix[k as keyof typeof mix] = Number(v);
  }
  return mix;
}

/** Shows of their own for each phase, so that no phase sees another's bookings or queue. */
async function createShows(db: Knex, seats: number) {
  return {
    launch: await createLaunchShow(db, seats), bare: await createLaunchShow(db, 100_000), accept: await createLaunchShow(db, 100_000),
    waiters: await createLaunchShow(db, 100_000), drain: await createLaunchShow(db, 100_000), soldOut: await createLaunchShow(db, SOLD_OUT_SEATS),
  };
}

/** The burst on the launch show with the workers already running; the sampler watches it throughout. */
async function runBurst(stack: BenchStack, gateway: Child, users: BenchUser[], opts: BurstOptions) {
  const client = new HttpClient(gateway.port, opts.concurrency);
  const pollClient = new HttpClient(gateway.port, 64);
  const timeline = new Timeline(performance.timeOrigin + performance.now(), 1000);
  const sampler = new ShowSampler(opts.showId, timeline);
  await sampler.start();
  const workers = stack.children.filter((c) => c.name.startsWith('worker-'));
  const workerCpu = () => workers.reduce((n, w) => n + w.cpuSeconds(), 0);
  const cpuBefore = { gateway: gateway.cpuSeconds(), workers: workerCpu() };
  const burst = await new Burst(client, pollClient, users, opts, timeline).run();
  const cpu = { gateway: gateway.cpuSeconds() - cpuBefore.gateway, workers: workerCpu() - cpuBefore.workers };
  // Lapsed holds must be released: wait until the last has expired (and a little).
  const lastExpiry = Math.max(0, ...burst.lapsedHolds.map((h) => Date.parse(h.expiresAt)));
  while (Date.now() < lastExpiry + 3000) await new Promise((r) => setTimeout(r, 250));
  await sampler.stop();
  client.close();
  pollClient.close();
  const burstCpu = {
    gatewayMsPerCall: round((cpu.gateway * 1000) / Math.max(1, burst.tracked.length), 3),
    workerMsPerJob: round((cpu.workers * 1000) / Math.max(1, sampler.outcomes), 3),
  };
  return { burst, sampler, timeline, burstCpu };
}

async function main() {
  const args = parseArgs(process.argv.slice(3), DEFAULTS, HELP);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const tag = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const resultsDir = path.join(__dirname, 'results');
  const keepLogs = args['keep-logs'] || args.profile;
  // The per-user rate limit stays on: the run spreads its calls over enough users to stay below it.
  const stack = new BenchStack(benchEnv({ tag, logLevel: args['log-level'], holdSeconds: args['hold-seconds'], extraEnv: parseEnvPairs(args.env) }), args.profile);
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    void stack.teardown(keepLogs).finally(() => process.exit(130));
  });
  const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
  try {
    const db = await stack.prepareDatabase();
    const machine = describeMachine((await db.raw('SHOW server_version')).rows[0].server_version, await stack.redisVersion());
    log(`${machine.cpu} x${machine.cores}, ${machine.ramGb} GB, Node ${machine.node}, load ${machine.loadAvg}; process logs in ${stack.logDir}`);
    const users = await createBenchUsers(db, args.users || Math.max(2000, Math.ceil(args.requests / 4), args.waiters), tag);
    const shows = await createShows(db, args.seats);
    const copts = { acceptRequests: args['accept-requests'], concurrency: args['accept-concurrency'], drainJobs: args['drain-jobs'], txSeconds: args['tx-seconds'] };

    let waiters: WaitersResult | undefined;
    if (args.waiters > 0) {
      log(`${args.waiters} callers awaiting their result at once, no worker running`);
      waiters = await measureWaiters(stack, users, shows.waiters, 100_000, args.waiters);
    }
    log('accept: ceiling (a), bare Koa + JWT + queue.add, and the project gateway, same load, alternating rounds, no worker');
    const gateway = await stack.startGateway('gateway');
    const accept = await compareAccept(stack, gateway, users, { bare: shows.bare, project: shows.accept }, copts);
    await Promise.all([discardShowQueue(shows.bare), discardShowQueue(shows.accept)]);

    log('ceilings (b) BullMQ worker no-op drain and (c) bx_book loop on one connection');
    const ceilings: Ceilings = { a: accept.a, ...(await ceilingsBC(stack, users, copts)) };

    log(`project drain: ${args.workers} worker process(es) working off ${copts.drainJobs} queued booking jobs of one show`);
    await fillShowQueue(shows.drain, 100_000, users, copts.drainJobs, { best: 0.15, hold: 0.1 });
    for (let i = 0; i < args.workers; i++) await stack.startWorker(`worker-${i + 1}`);
    const workers = stack.children.filter((c) => c.name.startsWith('worker-'));
    const drain = await timeDrain(db, shows.drain, copts.drainJobs, () => workers.reduce((n, w) => n + w.cpuSeconds(), 0));
    log(`sold out: ${args['sold-out-requests']} booking calls at a sold-out show`);
    const soldOut = await probeSoldOut(gateway, users, shows.soldOut, SOLD_OUT_SEATS, args['sold-out-requests'], 16);

    log(`burst: ${args.requests} booking calls, ${args.concurrency} in flight, on ${args.seats} seats`);
    const run = await runBurst(stack, gateway, users, {
      showId: shows.launch, seats: args.seats, requests: args.requests, concurrency: args.concurrency, asyncShare: args['async-share'],
      mix: parseMix(args.mix), confirmShare: args['confirm-share'], seed: args.seed, pollTimeoutMs: 300_000,
    });
    log(`burst done in ${((run.burst.endedAt - run.burst.startedAt) / 1000).toFixed(1)}s; checking the database`);
    const checks = await checkBurst(db, shows.launch, args.seats, run.burst, run.sampler.soldOutAt !== undefined);
    await Promise.all(stack.children.map((c) => c.stop()));

    const figures = burstFigures(run.burst, run.sampler, run.timeline);
    const { ratios, targets } = ratiosAndTargets(ceilings, accept.project, drain, soldOut, waiters);
    const report: LaunchReport = {
      command: `npm run bench:launch${process.argv.length > 3 ? ` -- ${process.argv.slice(3).join(' ')}` : ''}`, machine, options: args, ceilings,
      gatewayAccept: accept.project, drain, soldOut, burst: figures, burstCpu: run.burstCpu, waiters, ratios, acceptRounds: accept.rounds, targets, checks, timeline: run.timeline.rows(),
      profiles: stack.profileDir ? summarizeProfiles(stack.profileDir) : [],
    };
    console.log(printReport(report));
    const files = writeResults(resultsDir, stamp, report);
    console.log(`\nWrote ${path.relative(process.cwd(), files.json)} and ${path.relative(process.cwd(), files.svg)}${stack.profileDir ? `; profiles in ${stack.profileDir}` : ''}`);
    if (checks.breaches.length) console.error(`\nINVARIANT BREACH: ${checks.breaches.join('; ')}`);
    process.exitCode = checks.breaches.length ? 1 : 0;
  } finally {
    if (!interrupted) await stack.teardown(keepLogs);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
