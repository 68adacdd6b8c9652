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

/** A caller awaiting one request's outcome. */
interface Waiting {
  resolve: (o: Outcome | undefined) => void;
  timer: NodeJS.Timeout;
}

/**
 * One subscriber connection per gateway process, shared by every caller awaiting a result.
 * Emits 'seats' (showId, available) for each message so the gateway knows when a show sells out.
 * A wait costs one map entry and one timer: tens of thousands can be open at once.
 */
export class ResultWaiter extends EventEmitter {
  private readonly waiters = new Map<string, Waiting[]>();
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
    const list = this.waiters.get(id);
    if (!list) return;
    this.waiters.delete(id);
    const outcome = JSON.parse(message.slice(nl + 1)) as Outcome;
    for (const w of list) {
      clearTimeout(w.timer);
      w.resolve(outcome);
    }
  }

  private endAll() {
    this.stopped = true;
    const all = [...this.waiters.values()].flat();
    this.waiters.clear();
    for (const w of all) {
      clearTimeout(w.timer);
      w.resolve(undefined);
    }
  }

  private remove(id: string, w: Waiting) {
    const list = this.waiters.get(id);
    if (!list) return;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.waiters.delete(id);
  }

  /**
   * Resolves with the outcome of `id`, or undefined after `ms`, on `cancel()` or at shutdown.
   * Register before enqueueing.
   */
  wait(id: string, ms: number): { promise: Promise<Outcome | undefined>; cancel: () => void } {
    let cancel = () => undefined as void;
    const promise = new Promise<Outcome | undefined>((resolve) => {
      if (this.stopped) return resolve(undefined);
      const w: Waiting = {
        resolve,
        timer: setTimeout(() => {
          this.remove(id, w);
          resolve(undefined);
        }, ms),
      };
      const list = this.waiters.get(id);
      if (list) list.push(w);
      else this.waiters.set(id, [w]);
      cancel = () => {
        clearTimeout(w.timer);
        this.remove(id, w);
        resolve(undefined);
      };
    });
    return { promise, cancel };
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => undefined);
  }
}
