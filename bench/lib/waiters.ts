import { createRedis, waitReady } from '../../shared/redis';
import { bullKey } from '../../shared/queue/names';
import type { BenchUser } from './fixtures';
import { HttpClient } from './http-client';
import { discardShowQueue } from './queues';
import type { BenchStack } from './stack';
import { round } from './stats';

export interface WaitersResult {
  waiters: number;
  /** Requests on the queue (awaiting their result) when the peak was taken. */
  awaiting: number;
  secondsToOpen: number;
  /** RSS in MB of 10^6 bytes, as the target is stated (a MiB would flatter it by 5%). */
  baselineRssMb: number;
  peakRssMb: number;
  /** (peak - baseline) / awaiting, in KB of 1000 bytes. */
  perWaiterKb: number;
  /** Peak RSS while the stopping gateway answers them all (202) at once. */
  shutdownPeakRssMb: number;
  /** How the callers were answered when the gateway shut down (202 expected). */
  answers: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `n` callers awaiting results at once: a gateway of its own with no worker running, n booking
 * requests with `Prefer: wait=60` opened in quick waves, and the gateway's RSS sampled from /proc
 * until every request is on the queue and a little after. The gateway is then stopped (waiting
 * callers get 202), its RSS sampled while it answers them, and the queue discarded.
 */
export async function measureWaiters(stack: BenchStack, users: BenchUser[], showId: number, seats: number, n: number, env: Record<string, string> = {}): Promise<WaitersResult> {
  const gw = await stack.startGateway('gateway-waiters', env);
  const redis = createRedis({ blocking: true, name: 'bench-waiters' });
  await waitReady(redis);
  const client = new HttpClient(gw.port, n);
  const answers: Record<string, number> = {};
  await sleep(500);
  const baseline = gw.rss();
  let peak = baseline;
  let awaiting = 0;
  const started = performance.now();
  const calls: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const user = users[i % users.length];
    calls.push(client.call('POST', `/shows/${showId}/book`, { token: user.token, body: { seat_number: 1 + (i % seats) }, headers: { prefer: 'wait=60' } })
      .then((a) => {
        const k = a.transportError ? 'transport' : String(a.status);
        answers[k] = (answers[k] ?? 0) + 1;
      }));
    if (i % 250 === 249) {
      await sleep(25);
      peak = Math.max(peak, gw.rss());
    }
  }
  let secondsToOpen = 0;
  let steadyUntil = Infinity;
  while (performance.now() < steadyUntil && performance.now() - started < 90_000) {
    await sleep(200);
    peak = Math.max(peak, gw.rss());
    awaiting = Number((await redis.get(bullKey(showId, 'id'))) ?? 0);
    if (awaiting >= n && steadyUntil === Infinity) {
      secondsToOpen = (performance.now() - started) / 1000;
      steadyUntil = performance.now() + 3000;
    }
  }
  let shutdownPeak = gw.rss();
  const sampling = setInterval(() => { shutdownPeak = Math.max(shutdownPeak, gw.rss()); }, 50);
  await stack.stop(gw);
  clearInterval(sampling);
  await Promise.all(calls);
  client.close();
  await redis.quit();
  await discardShowQueue(showId);
  const mb = (b: number) => round(b / 1e6);
  return {
    waiters: n, awaiting, secondsToOpen: round(secondsToOpen, 2), baselineRssMb: mb(baseline), peakRssMb: mb(peak),
    perWaiterKb: awaiting ? round((peak - baseline) / awaiting / 1000, 2) : 0, shutdownPeakRssMb: mb(shutdownPeak), answers,
  };
}
