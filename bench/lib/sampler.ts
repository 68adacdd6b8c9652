import { bullKey, resultsChannel } from '../../shared/queue/names';
import { createRedis, RedisClient, waitReady } from '../../shared/redis';
import type { Timeline } from './stats';

const epochNow = () => performance.timeOrigin + performance.now();

/**
 * Watches one show while the burst runs: every `everyMs` its queue depth and BullMQ's job-id
 * counter (one INCR per add, so its growth is the accept rate); and every outcome workers publish
 * on the results channel (allocations per second, seats left, the moment the show sold out).
 */
export class ShowSampler {
  private readonly redis: RedisClient;
  private readonly sub: RedisClient;
  private timer?: NodeJS.Timeout;
  private lastCounter?: number;
  /** Epoch ms when a published outcome first said 0 seats left. */
  soldOutAt?: number;
  available?: number;
  outcomes = 0;
  seatsTaken = 0;
  maxDepth = 0;

  constructor(private readonly showId: number, private readonly timeline: Timeline, private readonly everyMs = 250) {
    this.redis = createRedis({ blocking: false, name: 'bench-sampler' });
    this.sub = createRedis({ blocking: true, name: 'bench-results' });
  }

  async start(): Promise<void> {
    await Promise.all([waitReady(this.redis), waitReady(this.sub)]);
    this.sub.on('message', (_c: string, message: string) => this.onOutcome(message));
    await this.sub.subscribe(resultsChannel());
    await this.sample();
    this.timer = setInterval(() => void this.sample().catch(() => undefined), this.everyMs);
  }

  private onOutcome(message: string) {
    const nl = message.indexOf('\n');
    const [id, show, seats] = message.slice(0, nl).split(' ');
    if (Number(show) !== this.showId) return;
    const at = epochNow();
    const available = Number(seats);
    if (available >= 0) {
      this.available = available;
      this.timeline.gauge('seats_left', at, available);
      if (available === 0 && this.soldOutAt === undefined) this.soldOutAt = at;
    }
    // Replays of an outcome carry no seat count; count first outcomes only.
    if (id === '-' || available < 0) return;
    this.outcomes++;
    this.timeline.count('allocated_jobs', at);
    const outcome = JSON.parse(message.slice(nl + 1)) as { type: string; status: string; result?: { bookings?: unknown[] } };
    if (outcome.type === 'book' && outcome.status === 'completed') {
      const n = outcome.result?.bookings?.length ?? 0;
      this.seatsTaken += n;
      this.timeline.count('allocated_seats', at, n);
    }
  }

  private async sample() {
    const at = epochNow();
    const [counter, prioritized, wait, active] = await Promise.all([
      this.redis.get(bullKey(this.showId, 'id')),
      this.redis.zcard(bullKey(this.showId, 'prioritized')),
      this.redis.llen(bullKey(this.showId, 'wait')),
      this.redis.llen(bullKey(this.showId, 'active')),
    ]);
    const depth = prioritized + wait + active;
    this.maxDepth = Math.max(this.maxDepth, depth);
    this.timeline.gauge('queue_depth', at, depth);
    const n = Number(counter ?? 0);
    if (this.lastCounter !== undefined && n > this.lastCounter) this.timeline.count('accepted', at, n - this.lastCounter);
    this.lastCounter = n;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.redis.quit().catch(() => undefined), this.sub.quit().catch(() => undefined)]);
  }
}
