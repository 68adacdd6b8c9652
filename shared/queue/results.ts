import { EventEmitter, setMaxListeners } from 'node:events';
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
 * One subscriber connection per gateway process, shared by every caller awaiting a result.
 * Emits 'seats' (showId, available) for each message so the gateway knows when a show sells out.
 */
export class ResultWaiter extends EventEmitter {
  private readonly waiters = new Map<string, Set<(o: Outcome) => void>>();

  constructor(private readonly subscriber: RedisClient) {
    super();
    subscriber.on('message', (_channel: string, message: string) => this.dispatch(message));
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(resultsChannel());
  }

  get pending(): number {
    return this.waiters.size;
  }

  private dispatch(message: string) {
    const nl = message.indexOf('\n');
    const [id, show, seats] = message.slice(0, nl).split(' ');
    const available = Number(seats);
    if (available >= 0) this.emit('seats', Number(show), available);
    const set = this.waiters.get(id);
    if (!set) return;
    this.waiters.delete(id);
    const outcome = JSON.parse(message.slice(nl + 1)) as Outcome;
    for (const fn of set) fn(outcome);
  }

  /**
   * Resolves with the outcome of `id` or undefined after `ms`. Register before enqueueing.
   * `abort` ends the wait early (gateway shutdown).
   */
  wait(id: string, ms: number, abort?: AbortSignal): { promise: Promise<Outcome | undefined>; cancel: () => void } {
    let cancel = () => undefined as void;
    // Every waiting caller listens on the one shutdown signal: thousands during a burst, by design.
    if (abort) setMaxListeners(0, abort);
    const promise = new Promise<Outcome | undefined>((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, set);
      const done = (o: Outcome | undefined) => {
        clearTimeout(timer);
        abort?.removeEventListener('abort', onAbort);
        set.delete(fn);
        if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        resolve(o);
      };
      const fn = (o: Outcome) => done(o);
      const onAbort = () => done(undefined);
      set.add(fn);
      const timer = setTimeout(() => done(undefined), ms);
      abort?.addEventListener('abort', onAbort, { once: true });
      cancel = () => done(undefined);
      if (abort?.aborted) onAbort();
    });
    return { promise, cancel };
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => undefined);
  }
}
