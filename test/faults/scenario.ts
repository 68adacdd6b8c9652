import { Burst, BurstShow, Op, OpResult, planOps, prepareShow } from './burst';
import type { FaultEnv } from './fault-env';
import { expectAlive, Settled, settle } from './verify';

export interface ScenarioRun {
  show: BurstShow;
  ops: Op[];
  burst: Burst;
}

export interface ScenarioOptions {
  /** Book requests in the burst (a cancel of each of the 20 seeded bookings is added). */
  books?: number;
  /** Share of the burst sent before the fault is injected. */
  at?: number;
}

/** A burst of booking and cancel requests on a fresh show, at 40 requests a second, as many in flight as it takes. */
export function startBurst(e: FaultEnv, show: BurstShow, books = 100): ScenarioRun {
  const ops = planOps(show, books);
  return { show, ops, burst: new Burst({ baseUrl: e.stack.gateway.url, ops, rate: 40, concurrency: 256 }) };
}

/**
 * Sends a booking and cancel burst through the gateway, injects `fault` once `at` of it is on its
 * way, lets the burst finish (clients retry what got no answer or a 503), then settles.
 */
export async function runScenario(
  name: string, e: FaultEnv, fault: (run: ScenarioRun) => Promise<void>, opts: ScenarioOptions = {},
): Promise<{ run: ScenarioRun; results: OpResult[]; settled: Settled }> {
  expectAlive(e.stack);
  const run = startBurst(e, await prepareShow(e.db), opts.books);
  await run.burst.reached(Math.floor(run.ops.length * (opts.at ?? 0.4)));
  await fault(run);
  const results = await run.burst.done;
  const settled = await settle(name, e.db, e.queues, run.show.show.id, results);
  return { run, results, settled };
}
