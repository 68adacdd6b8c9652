import { Knex } from 'knex';
import { Burst, BurstShow, Op, OpResult, planOps, prepareShow } from './burst';
import { Settled, settle } from './verify';
import type { QueueProbe, Stack } from './stack';

export interface ScenarioRun {
  show: BurstShow;
  ops: Op[];
  burst: Burst;
}

export interface ScenarioOptions {
  /** Book requests in the burst (a cancel of each of the 20 seeded bookings is added). */
  books?: number;
  /** Requests per second. */
  rate?: number;
  /** Share of the burst sent before the fault is injected. */
  at?: number;
}

/**
 * Sends a booking and cancel burst through the stack's gateway, injects `fault` once `at` of it
 * is on its way, lets the burst finish (clients retry what got no answer), then settles.
 */
export async function runScenario(
  name: string, stack: Stack, queues: QueueProbe, db: Knex,
  fault: (run: ScenarioRun) => Promise<void>, opts: ScenarioOptions = {},
): Promise<{ run: ScenarioRun; results: OpResult[]; settled: Settled }> {
  const show = await prepareShow(db);
  const ops = planOps(show, opts.books ?? 100);
  const burst = new Burst({ baseUrl: stack.gateway.url, ops, rate: opts.rate ?? 40, concurrency: 24 });
  const run = { show, ops, burst };
  await burst.reached(Math.floor(ops.length * (opts.at ?? 0.4)));
  await fault(run);
  const results = await burst.done;
  const settled = await settle(name, db, queues, show.show.id, results);
  return { run, results, settled };
}
