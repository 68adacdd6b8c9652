import type { BenchUser } from './fixtures';
import type { HttpClient } from './http-client';

/**
 * Steady booking traffic through the gateway: every active show gets one best-available booking
 * call every `periodMs` (each show on its own timer, offsets spread over the period), each caller
 * awaiting its outcome in the same call.
 */
export class SteadyTraffic {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private nextUser = 0;
  sent = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly statuses: Record<string, number> = {};

  constructor(private readonly http: HttpClient, private readonly users: BenchUser[], private readonly periodMs: number) {}

  /** Makes exactly these shows active (new ones start, shows left out stop). */
  setActive(showIds: number[]): void {
    const wanted = new Set(showIds);
    for (const [id, t] of this.timers) if (!wanted.has(id)) { clearInterval(t); this.timers.delete(id); }
    for (const id of showIds) {
      if (this.timers.has(id)) continue;
      const start = setTimeout(() => {
        void this.book(id);
        this.timers.set(id, setInterval(() => void this.book(id), this.periodMs));
      }, Math.random() * this.periodMs);
      this.timers.set(id, start);
    }
  }

  get active(): number {
    return this.timers.size;
  }

  private async book(showId: number) {
    const user = this.users[this.nextUser++ % this.users.length];
    this.sent++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const res = await this.http.call('POST', `/shows/${showId}/book`, { token: user.token, body: { quantity: 1 }, timeoutMs: 60_000 });
    this.inFlight--;
    const key = res.transportError ? 'transport' : String(res.status);
    this.statuses[key] = (this.statuses[key] ?? 0) + 1;
  }

  /** Stops sending and waits for the calls in flight. */
  async stop(): Promise<void> {
    this.setActive([]);
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 50));
  }
}
