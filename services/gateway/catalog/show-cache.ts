import { Show } from '../../../shared/db/models';

const TTL_MS = 2000;
const MAX_SHOWS = 10_000;

export interface ShowFacts {
  id: number;
  total_seats: number;
  row_lengths: number[];
  date_time: Date;
  sales_open_at: Date | null;
  shuffle_seed: number;
  available: number;
  max_seats_per_user: number;
}

/**
 * What the booking hot path needs to know about a show, kept in process for a couple of
 * seconds. Seats left are also pushed by workers with every outcome, so "sold out" is known
 * without a query and without enqueueing.
 */
export class ShowCache {
  private readonly facts = new Map<number, { show: ShowFacts; until: number }>();
  private readonly loading = new Map<number, Promise<ShowFacts | undefined>>();

  /**
   * The show's facts. Past their TTL they are still answered while a fresh read runs (seats left
   * are pushed by workers all along, and a change through this gateway forgets the entry), so no
   * booking waits for Postgres once a show is known. A known show is answered as it is, not in a
   * promise (the booking path awaits it either way).
   */
  get(id: number): ShowFacts | Promise<ShowFacts | undefined> {
    return this.peek(id) ?? this.refresh(id);
  }

  /** What is known now, fresh or not, without reading Postgres (undefined if nothing is). */
  peek(id: number): ShowFacts | undefined {
    const hit = this.facts.get(id);
    if (hit && hit.until <= Date.now()) void this.refresh(id);
    return hit?.show;
  }

  private refresh(id: number): Promise<ShowFacts | undefined> {
    let pending = this.loading.get(id);
    if (!pending) {
      pending = this.load(id).finally(() => this.loading.delete(id));
      pending.catch(() => undefined);
      this.loading.set(id, pending);
    }
    return pending;
  }

  private async load(id: number): Promise<ShowFacts | undefined> {
    const row = await Show.query().findById(id);
    if (!row) {
      this.facts.delete(id);
      return undefined;
    }
    const show: ShowFacts = {
      id: row.id, total_seats: row.total_seats, row_lengths: row.row_lengths, date_time: row.date_time,
      sales_open_at: row.sales_open_at, shuffle_seed: row.shuffle_seed, available: row.available_seats,
      max_seats_per_user: row.max_seats_per_user,
    };
    if (this.facts.size >= MAX_SHOWS) this.facts.clear();
    this.facts.set(id, { show, until: Date.now() + TTL_MS });
    return show;
  }

  /** A worker reported the seats left after an outcome. */
  seatsLeft(id: number, available: number) {
    const hit = this.facts.get(id);
    if (hit) hit.show.available = available;
  }

  forget(id: number) {
    this.facts.delete(id);
  }
}
