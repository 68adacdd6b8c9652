import type { BenchUser } from './fixtures';
import { createLaunchShow } from './fixtures';
import { AcceptResult, AcceptSample, DrainResult, measureAccept, measureAllocationLoop, measureBullDrain, mergeAccept, TxResult } from './ceilings';
import type { Child } from './children';
import type { BenchStack } from './stack';
import { round } from './stats';
import { table } from './table';

export interface CeilingOptions {
  acceptRequests: number;
  concurrency: number;
  drainJobs: number;
  txSeconds: number;
}

export interface Ceilings {
  a: AcceptResult;
  b: DrainResult;
  c: TxResult;
}

const WARMUP = 2000;
const ROUNDS = 4;

/** Ceiling (a) alone (npm run bench:ceilings): the bare app as a child process, warmed up, then measured. */
export async function ceilingA(stack: BenchStack, users: BenchUser[], showId: number, opts: CeilingOptions): Promise<AcceptResult> {
  const app = await stack.startEntry('ceiling-a', 'bench/lib/bare-gateway');
  try {
    await measureAccept(app, showId, 100_000, users, Math.min(WARMUP, opts.acceptRequests), opts.concurrency, 1);
    return mergeAccept([await measureAccept(app, showId, 100_000, users, opts.acceptRequests, opts.concurrency, 7)]);
  } finally {
    await stack.stop(app);
  }
}

/**
 * Ceiling (a) against the project's gateway under the same load, no worker running: the bare
 * Koa + JWT + queue.add app as a child process, both warmed up, then measured in alternating
 * rounds (so that the machine's other load hits both alike), on a show of their own each.
 */
export async function compareAccept(
  stack: BenchStack, gateway: Child, users: BenchUser[], shows: { bare: number; project: number }, opts: CeilingOptions,
): Promise<{ a: AcceptResult; project: AcceptResult; rounds: number[] }> {
  const app = await stack.startEntry('ceiling-a', 'bench/lib/bare-gateway');
  const per = Math.max(1, Math.ceil(opts.acceptRequests / ROUNDS));
  const samples: { a: AcceptSample[]; project: AcceptSample[] } = { a: [], project: [] };
  try {
    await measureAccept(app, shows.bare, 100_000, users, Math.min(WARMUP, per), opts.concurrency, 1);
    await measureAccept(gateway, shows.project, 100_000, users, Math.min(WARMUP, per), opts.concurrency, 1);
    for (let round = 0; round < ROUNDS; round++) {
      const offset = (round + 1) * per;
      samples.a.push(await measureAccept(app, shows.bare, 100_000, users, per, opts.concurrency, offset));
      samples.project.push(await measureAccept(gateway, shows.project, 100_000, users, per, opts.concurrency, offset));
    }
  } finally {
    await stack.stop(app);
  }
  const rate = (x: AcceptSample) => x.accepted / x.seconds;
  // Each round's ratio: how far the whole-run ratio moves with the machine and with the users'
  // tokens (the first rounds' users are new to the gateway, the last round's are not).
  const rounds = samples.project.map((p, i) => round(rate(p) / rate(samples.a[i]), 3));
  return { a: mergeAccept(samples.a), project: mergeAccept(samples.project), rounds };
}

/** Ceilings (b) and (c), in this process. */
export async function ceilingsBC(stack: BenchStack, users: BenchUser[], opts: CeilingOptions): Promise<Pick<Ceilings, 'b' | 'c'>> {
  const b = await measureBullDrain(opts.drainJobs);
  const seats = 200_000;
  const showId = await createLaunchShow(stack.db, seats, seats);
  const c = await measureAllocationLoop(stack.env.DATABASE_URL, showId, seats, users, opts.txSeconds);
  return { b, c };
}

export function ceilingTable(c: Ceilings): string {
  return table('Ceilings (bare parts, same machine, same run)', ['ceiling', 'rate', 'unit', 'p50 ms', 'p99 ms', 'CPU ms/op', 'work'], [
    ['(a) Koa + JWT verify + queue.add', c.a.rate, 'req/s', c.a.latencyMs.p50.toFixed(1), c.a.latencyMs.p99.toFixed(1), c.a.cpuMsPerRequest, `${c.a.requests} req @ ${c.a.seconds}s`],
    ['(b) BullMQ worker, conc. 1, no-op', c.b.rate, 'jobs/s', '', '', c.b.cpuMsPerJob, `${c.b.jobs} jobs @ ${c.b.seconds}s`],
    ['(c) bx_book loop, one connection', c.c.rate, 'tx/s', c.c.latencyMs.p50.toFixed(2), c.c.latencyMs.p99.toFixed(2), '', `${c.c.transactions} tx @ ${c.c.seconds}s`],
  ]);
}
