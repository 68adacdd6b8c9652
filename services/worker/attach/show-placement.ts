import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { queuePrefix } from '../../../shared/queue/names';
import type { RedisClient } from '../../../shared/redis';

/** Sorted set: worker id -> last heartbeat (ms). */
export const workersKey = () => `${queuePrefix()}:workers`;

/**
 * Spreads shows over worker processes. Every worker heartbeats into a registry; each show has one
 * owner among the live workers (rendezvous hashing, so adding or losing a worker moves only its
 * share of shows). The owner attaches to a show with work at once and, as BullMQ hands the next
 * job to the worker that finished the previous one, keeps the show while it has a backlog. The
 * other workers attach as standbys once the show has been due for `standbyAfterMs`: they take
 * over if the owner dies (its stalled job comes back after the lock expires) or falls behind.
 */
export class ShowPlacement {
  readonly id = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private live: string[] = [this.id];
  private readonly dueSince = new Map<number, number>();

  constructor(private readonly redis: RedisClient, private readonly opts: { standbyAfterMs: number; liveMs: number }) {}

  /** Records this worker as alive and reads who else is. */
  async heartbeat(now = Date.now()): Promise<void> {
    const key = workersKey();
    await this.redis.zadd(key, now, this.id);
    const [live] = await Promise.all([
      this.redis.zrangebyscore(key, now - this.opts.liveMs, '+inf'),
      this.redis.zremrangebyscore(key, '-inf', now - 60 * this.opts.liveMs),
    ]);
    this.live = live.includes(this.id) ? live : [...live, this.id];
  }

  /** The live worker that owns a show. */
  owner(showId: number): string {
    let best = '';
    let bestScore = -1;
    for (const w of this.live) {
      const score = createHash('sha1').update(`${showId}\n${w}`).digest().readUIntBE(0, 6);
      if (score > bestScore || (score === bestScore && w < best)) [best, bestScore] = [w, score];
    }
    return best;
  }

  /** Shows due this poll: forgets the ones that no longer are. */
  observeDue(showIds: number[], now = Date.now()): void {
    const due = new Set(showIds);
    for (const id of this.dueSince.keys()) if (!due.has(id)) this.dueSince.delete(id);
    for (const id of showIds) if (!this.dueSince.has(id)) this.dueSince.set(id, now);
  }

  /** Whether this worker should attach to a due show now: its owner at once, the others as standbys. */
  shouldAttach(showId: number, now = Date.now()): boolean {
    if (this.owner(showId) === this.id) return true;
    return now - (this.dueSince.get(showId) ?? now) >= this.opts.standbyAfterMs;
  }

  /** Leaves the registry, so the shows this worker owned move to others at once. */
  async leave(): Promise<void> {
    await this.redis.zrem(workersKey(), this.id).catch(() => undefined);
  }
}
