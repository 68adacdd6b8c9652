import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { queuePrefix } from '../../../shared/queue/names';
import type { RedisClient } from '../../../shared/redis';

/** Sorted set: worker id -> last heartbeat (ms). */
export const workersKey = () => `${queuePrefix()}:workers`;

export type ShowRole = 'owner' | 'standby' | 'none';

/**
 * Spreads shows over worker processes. Every worker heartbeats into a registry; the live workers
 * are ranked per show by rendezvous hashing (adding or losing a worker moves only its share).
 * The first is the show's owner: it attaches as soon as the show has work and, as BullMQ hands the
 * next job to the worker that finished the previous one, keeps the show while it has a backlog.
 * The next `standbys` attach once the show has been due for `standbyAfterMs`: they take over when
 * the owner stops (its stalled job comes back once the lock expires). The rest stay away, so a
 * show costs the fleet 1 + standbys blocking connections however many workers run. A worker that
 * dies drops out of the ranking after `liveMs`; one that shuts down leaves it at once.
 */
export class ShowPlacement {
  readonly id = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private live: string[] = [this.id];
  private readonly dueSince = new Map<number, number>();

  constructor(private readonly redis: RedisClient, private readonly opts: { standbyAfterMs: number; liveMs: number; standbys: number }) {}

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

  /** This worker's part in a show: its owner, one of its standbys, or neither. */
  role(showId: number): ShowRole {
    const mine = createHash('sha1').update(`${showId}\n${this.id}`).digest().readUIntBE(0, 6);
    let ahead = 0;
    for (const w of this.live) {
      if (w === this.id) continue;
      const score = createHash('sha1').update(`${showId}\n${w}`).digest().readUIntBE(0, 6);
      if (score > mine || (score === mine && w < this.id)) ahead++;
    }
    return ahead === 0 ? 'owner' : ahead <= this.opts.standbys ? 'standby' : 'none';
  }

  /** Shows due this poll: forgets the ones that no longer are. */
  observeDue(showIds: number[], now = Date.now()): void {
    const due = new Set(showIds);
    for (const id of this.dueSince.keys()) if (!due.has(id)) this.dueSince.delete(id);
    for (const id of showIds) if (!this.dueSince.has(id)) this.dueSince.set(id, now);
  }

  /** Whether this worker should attach to a due show now: its owner at once, a standby after a while. */
  shouldAttach(showId: number, now = Date.now()): boolean {
    const role = this.role(showId);
    if (role === 'owner') return true;
    return role === 'standby' && now - (this.dueSince.get(showId) ?? now) >= this.opts.standbyAfterMs;
  }

  /** Leaves the registry, so the shows this worker owned move to others at once. */
  async leave(): Promise<void> {
    await this.redis.zrem(workersKey(), this.id).catch(() => undefined);
  }
}
