import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { queuePrefix } from '../../../shared/queue/names';
import type { RedisClient } from '../../../shared/redis';

/** Sorted set: worker id -> last heartbeat (ms). */
export const workersKey = () => `${queuePrefix()}:workers`;

const rank = (showId: number, workerId: string) => createHash('sha1').update(`${showId}\n${workerId}`).digest().readUIntBE(0, 6);

/**
 * Spreads shows over worker processes. Every worker heartbeats into a registry in Redis, and
 * each show is owned by one of the live workers, chosen by rendezvous hashing (a worker joining
 * or leaving moves only its own share of shows). Only the owner attaches to a show, so a show
 * with work costs the fleet one BullMQ worker and one blocking connection, and the shows' work
 * spreads over the processes. A worker that shuts down leaves the registry at once; one that dies
 * drops out after `liveMs`, and the new owner attaches and takes back the stalled job once its
 * lock expires.
 */
export class ShowPlacement {
  readonly id = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private live: string[] = [this.id];
  private beats = 0;

  constructor(private readonly redis: RedisClient, private readonly liveMs: number) {}

  /** True once this worker has seen the registry twice (workers started together all see each other). */
  get settled(): boolean {
    return this.beats >= 2;
  }

  /** Records this worker as alive and reads which workers are. */
  async heartbeat(now = Date.now()): Promise<void> {
    const key = workersKey();
    await this.redis.zadd(key, now, this.id);
    const [live] = await Promise.all([
      this.redis.zrangebyscore(key, now - this.liveMs, '+inf'),
      this.redis.zremrangebyscore(key, '-inf', now - 100 * this.liveMs),
    ]);
    this.live = live.includes(this.id) ? live : [...live, this.id];
    this.beats++;
  }

  get liveWorkers(): number {
    return this.live.length;
  }

  /** Whether this worker is the show's owner among the live workers. */
  owns(showId: number): boolean {
    const mine = rank(showId, this.id);
    return this.live.every((w) => {
      if (w === this.id) return true;
      const theirs = rank(showId, w);
      return theirs < mine || (theirs === mine && w > this.id);
    });
  }

  /** Leaves the registry, so the shows this worker owned move to the others at once. */
  async leave(): Promise<void> {
    await this.redis.zrem(workersKey(), this.id).catch(() => undefined);
  }
}
