/**
 * npm run bench:launch: plays back an on-sale. Brings up the gateway and N workers with the
 * project's own entry points against local Postgres and Redis (a database and queue prefix of its
 * own, removed afterwards), measures the ceilings of the bare parts in the same run, fires the
 * burst, checks every invariant in Postgres, prints a table and writes bench/results/<stamp>.json
 * and .svg. Exits 1 on any invariant breach.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from './lib/args';
import { Burst, BurstOptions } from './lib/burst';
import { checkBurst } from './lib/burst-checks';
import { measureAccept } from './lib/ceilings';
import { ceilingA, ceilingsBC } from './lib/ceiling-suite';
import { burstFigures } from './lib/figures';
import { createBenchShow, createBenchUsers } from './lib/fixtures';
import { HttpClient } from './lib/http-client';
import { describeMachine } from './lib/machine';
import { summarizeProfiles } from './lib/profile-summary';
import { discardShowQueue } from './lib/queues';
import { LaunchReport, printReport, ratiosAndTargets, writeResults } from './lib/report';
import { ShowSampler } from './lib/sampler';
import { BenchStack, benchEnv, parseEnvPairs } from './lib/stack';
import { Timeline } from './lib/stats';
import { measureWaiters } from './lib/waiters';

const DEFAULTS = {
  workers: 1, seats: 20000, requests: 60000, concurrency: 1000, users: 0, 'async-share': 0.3, mix: 'single=60,multi=10,best=15,hold=15',
  'confirm-share': 0.5, 'hold-seconds': 20, 'accept-requests': 20000, 'accept-concurrency': 256, 'drain-jobs': 20000, 'tx-seconds': 5,
  waiters: 10000, seed: 42, profile: false, 'log-level': 'info', env: '', 'keep-logs': false,
};
const HELP: Record<keyof typeof DEFAULTS, string> = {
  workers: 'worker processes', seats: 'seats of the launch show', requests: 'booking calls in the burst', concurrency: 'booking calls in flight',
  users: 'pre-registered users (0: requests / 4)', 'async-share': 'share sent with Prefer: respond-async', mix: 'weights of single, multi, best, hold',
  'confirm-share': 'share of successful holds confirmed (the rest lapse)', 'hold-seconds': 'HOLD_SECONDS of the run', 'accept-requests': 'requests of the accept measurements',
  'accept-concurrency': 'in-flight requests of the accept measurements', 'drain-jobs': 'jobs of ceiling (b)', 'tx-seconds': 'seconds of ceiling (c)',
  waiters: 'callers awaiting at once for the RSS measurement (0: skip)', seed: 'seed of the request mix', profile: 'write --cpu-prof profiles of the gateway and workers and summarise them',
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

async function main() {
  const args = parseArgs(process.argv.slice(3), DEFAULTS, HELP);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const tag = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const resultsDir = path.join(__dirname, 'results');
  const profileDir = args.profile ? path.join(resultsDir, `profiles-${stamp}`) : undefined;
  const env = benchEnv({
    tag, logLevel: args['log-level'], holdSeconds: args['hold-seconds'],
    // The per-user rate limit stays on; the run spreads its calls over enough users to stay below it.
    extraEnv: parseEnvPairs(args.env),
  });
  const stack = new BenchStack(env, profileDir);
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    void stack.teardown(args['keep-logs']).finally(() => process.exit(130));
  });
  const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
  try {
    const db = await stack.prepareDatabase();
    const pg = (await db.raw('SHOW server_version')).rows[0].server_version as string;
    const redisVersion = await stack.redisVersion();
    const machine = describeMachine(pg, redisVersion);
    log(`machine: ${machine.cpu} x${machine.cores}, ${machine.ramGb} GB, Node ${machine.node}, load ${machine.loadAvg}; logs in ${stack.logDir}`);
    const userCount = args.users || Math.max(2000, Math.ceil(args.requests / 4));
    const users = await createBenchUsers(db, userCount, tag);
    const [launchShow, acceptShow, waitersShow] = [
      await createBenchShow(db, args.seats, 40, 100_000), await createBenchShow(db, 100_000, 100, 100_000), await createBenchShow(db, 100_000, 100, 100_000),
    ];
    log(`${users.length} users, launch show ${launchShow} with ${args.seats} seats`);

    const copts = { acceptRequests: args['accept-requests'], concurrency: args['accept-concurrency'], drainJobs: args['drain-jobs'], txSeconds: args['tx-seconds'] };
    log('ceiling (a): bare Koa + JWT + queue.add');
    const a = await ceilingA(stack, users, copts);
    const waiters = args.waiters > 0 ? (log(`${args.waiters} callers awaiting at once, no worker`), await measureWaiters(stack, users, waitersShow, 100_000, args.waiters)) : undefined;

    log('gateway accept: the project gateway, same load as (a), no worker');
    const gateway = await stack.startGateway('gateway');
    await measureAccept(gateway, acceptShow, 100_000, users, Math.min(2000, copts.acceptRequests), copts.concurrency, 7);
    const gatewayAccept = await measureAccept(gateway, acceptShow, 100_000, users, copts.acceptRequests, copts.concurrency, 13);
    await discardShowQueue(acceptShow);

    log('ceilings (b) BullMQ no-op drain and (c) allocation loop');
    const bc = await ceilingsBC(stack, users, copts);
    const ceilings = { a, ...bc };

    log(`starting ${args.workers} worker(s); burst of ${args.requests} booking calls at concurrency ${args.concurrency}`);
    for (let i = 0; i < args.workers; i++) await stack.startWorker(`worker-${i + 1}`);
    const burstOpts: BurstOptions = {
      showId: launchShow, seats: args.seats, requests: args.requests, concurrency: args.concurrency, asyncShare: args['async-share'],
      mix: parseMix(args.mix), confirmShare: args['confirm-share'], seed: args.seed, pollTimeoutMs: 180_000,
    };
    const client = new HttpClient(gateway.port, args.concurrency);
    const pollClient = new HttpClient(gateway.port, 64);
    const timeline = new Timeline(performance.timeOrigin + performance.now(), 1000);
    const sampler = new ShowSampler(launchShow, timeline);
    await sampler.start();
    const workers = stack.children.filter((c) => c.name.startsWith('worker-'));
    const workerCpu = () => workers.reduce((n, w) => n + w.cpuSeconds(), 0);
    const cpuBefore = { gateway: gateway.cpuSeconds(), workers: workerCpu() };
    const burst = await new Burst(client, pollClient, users, burstOpts, timeline).run();
    const cpuAfter = { gateway: gateway.cpuSeconds(), workers: workerCpu() };
    log(`burst done in ${((burst.endedAt - burst.startedAt) / 1000).toFixed(1)}s; waiting for lapsed holds, then checking`);
    const lastExpiry = Math.max(0, ...burst.lapsedHolds.map((h) => Date.parse(h.expiresAt)));
    while (Date.now() < lastExpiry + 3000) await new Promise((r) => setTimeout(r, 250));
    await sampler.stop();
    client.close();
    pollClient.close();
    const checks = await checkBurst(db, launchShow, args.seats, burst, sampler.soldOutAt !== undefined);
    await Promise.all(stack.children.map((c) => c.stop()));

    const figures = burstFigures(burst, sampler, timeline);
    const { ratios, targets } = ratiosAndTargets(ceilings, gatewayAccept, figures, waiters);
    const burstCpu = {
      gatewayMsPerCall: Math.round(((cpuAfter.gateway - cpuBefore.gateway) * 1e6) / Math.max(1, burst.tracked.length)) / 1000,
      workerMsPerJob: Math.round(((cpuAfter.workers - cpuBefore.workers) * 1e6) / Math.max(1, sampler.outcomes)) / 1000,
    };
    const report: LaunchReport = {
      command: `npm run bench:launch -- ${process.argv.slice(3).join(' ')}`.trim(), machine, options: args, ceilings, gatewayAccept, burst: figures, burstCpu, waiters,
      ratios, targets, checks, timeline: timeline.rows(), profiles: profileDir ? summarizeProfiles(profileDir) : [],
    };
    console.log(printReport(report));
    const files = writeResults(resultsDir, stamp, report);
    console.log(`\nWrote ${path.relative(process.cwd(), files.json)} and ${path.relative(process.cwd(), files.svg)}${profileDir && fs.existsSync(profileDir) ? ` (profiles in ${path.relative(process.cwd(), profileDir)})` : ''}`);
    process.exitCode = checks.breaches.length ? 1 : 0;
  } finally {
    if (!interrupted) await stack.teardown(args['keep-logs']);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
