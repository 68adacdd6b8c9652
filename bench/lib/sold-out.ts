import fs from 'node:fs';
import { bullKey } from '../../shared/queue/names';
import { createRedis, waitReady } from '../../shared/redis';
import type { Child } from './children';
import type { BenchUser } from './fixtures';
import { HttpClient, runPool } from './http-client';
import { Summary, summarize } from './stats';

export interface SoldOutProbe {
  requests: number;
  /** 409 SOLD_OUT answers that name no job: refused by the gateway without enqueueing. */
  refused: number;
  /** Answers of any other kind (a job id, another status). */
  other: Record<string, number>;
  /** Jobs added to the show's queue while the probe ran (must be 0). */
  enqueued: number;
  /** As the client saw it (includes waiting for the gateway's event loop). */
  latencyMs: Summary;
  /** As the gateway logged it (duration_ms of its request lines; empty below LOG_LEVEL info). */
  gatewayMs: Summary;
}

/**
 * duration_ms of the gateway's request lines for refused bookings of `showId`, logged after byte
 * `from`. The gateway writes a request's line (synchronously) before its answer goes out, so every
 * answered call's line is in the file by now.
 */
function loggedDurations(logFile: string, from: number, showId: number): number[] {
  const text = fs.readFileSync(logFile, 'utf8').slice(from);
  const out: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"SOLD_OUT"')) continue;
    try {
      const l = JSON.parse(line) as { msg?: string; show_id?: number | string; status?: number; error_code?: string; duration_ms?: number };
      if (l.msg === 'request' && Number(l.show_id) === showId && l.status === 409 && typeof l.duration_ms === 'number') out.push(l.duration_ms);
    } catch {
      /* not a log line */
    }
  }
  return out;
}

/**
 * Sells out a small show through the gateway (one awaiting booking per seat, workers running),
 * then sends `n` more booking requests at `concurrency` and measures how they are answered:
 * 409 SOLD_OUT from the gateway's cache of seats left, with nothing added to the queue.
 */
export async function probeSoldOut(gateway: Child, users: BenchUser[], showId: number, seats: number, n: number, concurrency: number): Promise<SoldOutProbe> {
  const client = new HttpClient(gateway.port, concurrency);
  const redis = createRedis({ blocking: true, name: 'bench-sold-out' });
  await waitReady(redis);
  try {
    const sold = await Promise.all(Array.from({ length: seats }, (_, i) =>
      client.call('POST', `/shows/${showId}/book`, { token: users[i % users.length].token, body: { seat_number: i + 1 }, headers: { prefer: 'wait=30' } })));
    const unsold = sold.filter((a) => a.status !== 201);
    if (unsold.length) throw new Error(`could not sell the probe show out: ${unsold.map((a) => a.status).join(', ')}`);
    const addsBefore = Number((await redis.get(bullKey(showId, 'id'))) ?? 0);
    const logFrom = fs.statSync(gateway.logFile).size;
    const latencies: number[] = [];
    const other: Record<string, number> = {};
    let refused = 0;
    await runPool(n, concurrency, async (i) => {
      const a = await client.call('POST', `/shows/${showId}/book`, { token: users[(seats + i) % users.length].token, body: { seat_number: 1 + (i % seats) } });
      latencies.push(a.ms);
      if (a.status === 409 && a.body?.error?.code === 'SOLD_OUT' && !a.body?.error?.details?.job_id) {
        refused++;
      } else {
        const key = a.transportError ? 'transport' : `${a.status} ${a.body?.error?.code ?? ''}`.trim();
        other[key] = (other[key] ?? 0) + 1;
      }
    });
    const enqueued = Number((await redis.get(bullKey(showId, 'id'))) ?? 0) - addsBefore;
    const gatewayMs = summarize(loggedDurations(gateway.logFile, logFrom, showId));
    return { requests: n, refused, other, enqueued, latencyMs: summarize(latencies), gatewayMs };
  } finally {
    client.close();
    await redis.quit();
  }
}
