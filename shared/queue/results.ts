import { EventEmitter } from 'node:events';
import type { RedisClient } from '../redis';
import type { Outcome } from './jobs';
import { resultsChannel } from './names';

/**
 * Outcomes travel as `<request id> <show id> <seats left>\n<json>` so a gateway reads the
 * header of every message but parses JSON only for requests someone is waiting on.
 */
export function encodeOutcome(outcome: Outcome): string {
  return `${outcome.id} ${outcome.show_id} ${outcome.available_seats ?? -1}\n${JSON.stringify(outcome)}`;
}

/** Publishes a finished request to every gateway (fire and forget: Postgres holds the outcome). */
export function publishOutcome(redis: RedisClient, outcome: Outcome): Promise<unknown> {
  return redis.publish(resultsChannel(), encodeOutcome(outcome)).catch(() => undefined);
}

/** Publishes a change of a show's free seats that is not a client request (a hold expiring). */
export function publishSeatsLeft(redis: RedisClient, showId: number, available: number): Promise<unknown> {
  return redis.publish(resultsChannel(), `- ${showId} ${available}\n`).catch(() => undefined);
}

/**
 * A caller awaiting one request's outcome: its promise and timer, and no closure of its own (the
 * timer calls a shared function with the wait as its argument), so an open wait costs little.
 */
export class Waiting {
  readonly promise: Promise<Outcome | undefined>;
  private resolveWith!: (o: Outcome | undefined) => void;
  private timer?: NodeJS.Timeout;

  constructor(private readonly owner: ResultWaiter, readonly id: string, ms: number | undefined) {
    this.promise = new Promise((resolve) => { this.resolveWith = resolve; });
    if (ms !== undefined) this.timer = setTimeout(timeUp, ms, this);
  }

  /** Ends the wait with `outcome` (undefined: no outcome), once. */
  settle(outcome: Outcome | undefined) {
    clearTimeout(this.timer);
    this.resolveWith(outcome);
  }

  /** Stops waiting (the caller went away): resolves undefined. */
  cancel() {
    this.owner.forget(this);
    this.settle(undefined);
  }
}

function timeUp(w: Waiting) {
  w.cancel();
}

/**
 * One subscriber connection per gateway process, shared by every caller awaiting a result.
 * Emits 'seats' (showId, available) for each message so the gateway knows when a show sells out.
 * A wait costs one map entry and one timer: tens of thousands can be open at once.
 */
export class ResultWaiter extends EventEmitter {
  /** One wait per request id, or a list when several callers await the same request. */
  private readonly waiters = new Map<string, Waiting | Waiting[]>();
  private stopped = false;

  /** `shutdown` ends every wait at once (undefined) when aborted, and any wait begun after it. */
  constructor(private readonly subscriber: RedisClient, shutdown?: AbortSignal) {
    super();
    subscriber.on('message', (_channel: string, message: string) => this.dispatch(message));
    shutdown?.addEventListener('abort', () => this.endAll(), { once: true });
    if (shutdown?.aborted) this.stopped = true;
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(resultsChannel());
  }

  /** Request ids with at least one caller waiting. */
  get pending(): number {
    return this.waiters.size;
  }

  private dispatch(message: string) {
    const nl = message.indexOf('\n');
    const [id, show, seats] = message.slice(0, nl).split(' ');
    const available = Number(seats);
    if (available >= 0) this.emit('seats', Number(show), available);
    const found = this.waiters.get(id);
    if (!found) return;
    this.waiters.delete(id);
    const outcome = JSON.parse(message.slice(nl + 1)) as Outcome;
    for (const w of Array.isArray(found) ? found : [found]) w.settle(outcome);
  }

  private endAll() {
    this.stopped = true;
    const all = [...this.waiters.values()].flat();
    this.waiters.clear();
    for (const w of all) w.settle(undefined);
  }

  /** Drops one wait from the map (it ended without an outcome). */
  forget(w: Waiting) {
    const found = this.waiters.get(w.id);
    if (found === w) {
      this.waiters.delete(w.id);
    } else if (Array.isArray(found)) {
      const i = found.indexOf(w);
      if (i >= 0) found.splice(i, 1);
      if (found.length === 0) this.waiters.delete(w.id);
    }
  }

  /**
   * Resolves with the outcome of `id`, or undefined after `ms`, on `cancel()` or at shutdown.
   * Register before enqueueing.
   */
  wait(id: string, ms: number): Waiting {
    if (this.stopped) {
      const ended = new Waiting(this, id, undefined);
      ended.settle(undefined);
      return ended;
    }
    const w = new Waiting(this, id, ms);
    const found = this.waiters.get(id);
    if (!found) this.waiters.set(id, w);
    else if (Array.isArray(found)) found.push(w);
    else this.waiters.set(id, [found, w]);
    return w;
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => undefined);
  }
}
