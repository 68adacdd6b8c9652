import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { Logger } from '../../../shared/logger';

/** Channel the users table's triggers notify on (see the user_changes migration). */
export const USER_CHANGES_CHANNEL = 'bx_user_changed';
/** How long user_changes rows are kept: longer than any access token lives (ACCESS_TOKEN_TTL ≤ 1 day). */
export const RETENTION_MS = 2 * 24 * 3600 * 1000;
const RECONNECT_MS = [1000, 2000, 5000, 10_000];
const PRUNE_EVERY_MS = 3600 * 1000;
/** A heartbeat goes out through another connection this often; the feed is trusted while they arrive. */
export const HEARTBEAT_MS = 2000;
/** Without a heartbeat heard for this long, nobody is trusted unasked. */
export const HEARTBEAT_STALE_MS = 3 * HEARTBEAT_MS;

/**
 * Which users were deleted or had their role changed, heard from Postgres as it happens.
 *
 * Listens on bx_user_changed on a connection of its own, then reads the user_changes rows of the
 * retention window: from then on every change is known, in commit order, milliseconds after its
 * commit. `unchanged(id)` is true only while listening and only for a user with no change in the
 * window: such a user still exists, with the role every token of theirs that has not expired was
 * issued with. Anyone else (a changed user, or anyone while the connection is down and until it
 * has been made again) is asked of the user directory, as before.
 *
 * Notifications only reach a session that listens on a connection of its own (a pooler in
 * transaction mode would hand the LISTEN to one server connection and the NOTIFY to another). So
 * `notify` sends a heartbeat on the channel every HEARTBEAT_MS through another connection (the
 * gateway's pool), and the feed counts as listening only while its heartbeats come back.
 */
export class UserChanges {
  private readonly changed = new Map<number, number>();
  private client?: Client;
  private listening = false;
  private stopped = false;
  private failures = 0;
  private retry?: NodeJS.Timeout;
  private pruned = 0;
  private readonly nonce = `hb:${randomBytes(6).toString('hex')}`;
  private heartbeatAt = 0;
  private heartbeats?: NodeJS.Timeout;

  constructor(
    private readonly databaseUrl: string,
    private readonly log: Logger,
    /** Sends a notification on the channel through a connection other than the listening one. */
    private readonly notify: (channel: string, payload: string) => Promise<unknown>,
    private readonly onChange: (userId: number) => void = () => undefined,
  ) {}

  /** Connects and listens; resolves once listening, or at the first failure (it then retries on its own). */
  async start(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.databaseUrl, application_name: 'gateway-user-changes' });
    this.client = client;
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => {
      if (msg.channel !== USER_CHANGES_CHANNEL) return;
      if (msg.payload === this.nonce) this.heartbeatAt = Date.now();
      else this.heard(Number(msg.payload), Date.now());
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${USER_CHANGES_CHANNEL}`);
      // Listening first, then the rows: a change committed in between is both heard and read.
      const since = Date.now() - RETENTION_MS;
      if (Date.now() - this.pruned > PRUNE_EVERY_MS) {
        await client.query('DELETE FROM user_changes WHERE changed_at < to_timestamp($1 / 1000.0)', [since]);
        this.pruned = Date.now();
      }
      const rows = await client.query<{ user_id: number; at: string }>(
        'SELECT user_id, (extract(epoch FROM max(changed_at)) * 1000)::bigint AS at FROM user_changes WHERE changed_at >= to_timestamp($1 / 1000.0) GROUP BY user_id',
        [since],
      );
      for (const r of rows.rows) this.heard(r.user_id, Number(r.at));
      await this.beat();
      for (const deadline = Date.now() + HEARTBEAT_STALE_MS; !this.beating(); await new Promise((r) => setTimeout(r, 20))) {
        if (Date.now() > deadline || this.client !== client) throw new Error('no heartbeat came back on the channel');
      }
      if (this.client !== client) return;
      this.listening = true;
      this.failures = 0;
      clearInterval(this.heartbeats);
      this.heartbeats = setInterval(() => void this.beat(), HEARTBEAT_MS).unref();
    } catch (err) {
      this.lost(client, err as Error);
    }
  }

  /** True when the user is known to have had no deletion and no role change in the retention window. */
  unchanged(userId: number): boolean {
    return this.connected && !this.changed.has(userId);
  }

  /** Listening, with a heartbeat heard lately. */
  get connected(): boolean {
    return this.listening && this.beating();
  }

  private beating(): boolean {
    return Date.now() - this.heartbeatAt < HEARTBEAT_STALE_MS;
  }

  private async beat(): Promise<void> {
    await this.notify(USER_CHANGES_CHANNEL, this.nonce).catch((err: Error) => this.log.warn({ err: err.message }, 'user changes: heartbeat not sent'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listening = false;
    clearTimeout(this.retry);
    clearInterval(this.heartbeats);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private heard(userId: number, at: number) {
    if (!Number.isSafeInteger(userId)) return;
    this.changed.delete(userId);
    this.changed.set(userId, at);
    // Oldest first (insertion order): forget what no unexpired token can predate.
    const oldest = Date.now() - RETENTION_MS;
    for (const [id, when] of this.changed) {
      if (when >= oldest) break;
      this.changed.delete(id);
    }
    this.onChange(userId);
  }

  /** The connection is gone: nobody is trusted unasked until a new one listens and has read the rows. */
  private lost(client: Client, err?: Error) {
    if (this.client !== client) return;
    this.client = undefined;
    this.listening = false;
    clearInterval(this.heartbeats);
    client.removeAllListeners('end');
    void client.end().catch(() => undefined);
    if (this.stopped) return;
    const wait = RECONNECT_MS[Math.min(this.failures++, RECONNECT_MS.length - 1)];
    this.log.warn({ err: err?.message, retry_ms: wait }, 'user changes: not listening; users are looked up until it listens again');
    this.retry = setTimeout(() => void this.start(), wait).unref();
  }
}
