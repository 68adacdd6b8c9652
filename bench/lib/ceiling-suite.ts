import type { BenchUser } from './fixtures';
import { createBenchShow } from './fixtures';
import { AcceptResult, DrainResult, measureAccept, measureAllocationLoop, measureBullDrain, TxResult } from './ceilings';
import type { BenchStack } from './stack';
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

/** Ceiling (a): the bare Koa + JWT + queue.add app as a child process, warmed up, then measured. */
export async function ceilingA(stack: BenchStack, users: BenchUser[], opts: CeilingOptions): Promise<AcceptResult> {
  const app = await stack.startEntry('ceiling-a', 'bench/lib/bare-gateway');
  try {
    await measureAccept(app, 999_999, 20_000, users, Math.min(WARMUP, opts.acceptRequests), opts.concurrency);
    return await measureAccept(app, 999_998, 20_000, users, opts.acceptRequests, opts.concurrency);
  } finally {
    await stack.stop(app);
  }
}

/** Ceilings (b) and (c), in this process. */
export async function ceilingsBC(stack: BenchStack, users: BenchUser[], opts: CeilingOptions): Promise<Pick<Ceilings, 'b' | 'c'>> {
  const b = await measureBullDrain(opts.drainJobs);
  const seats = 200_000;
  const showId = await createBenchShow(stack.db, seats, 100, seats);
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
