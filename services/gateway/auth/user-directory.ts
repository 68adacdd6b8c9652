import { User, Role } from '../../../shared/db/models';

const TTL_MS = 10_000;
const MAX_ENTRIES = 100_000;
const MAX_PER_QUERY = 1000;

type Waiter = { resolve: (role: Role | null) => void; reject: (err: unknown) => void };

/**
 * Answers "does this user still exist, and with which role" for every authenticated request,
 * from a short-lived in-process cache so a burst does not turn into one query per request.
 * Misses are looked up together: while one lookup query runs, the next misses queue up and go
 * in the following query, so a burst of new users costs a few queries, not one each.
 */
export class UserDirectory {
  private readonly cache = new Map<number, { role: Role | null; until: number }>();
  private queued = new Map<number, Waiter[]>();
  private flushing = false;

  async role(userId: number): Promise<Role | null> {
    const hit = this.cache.get(userId);
    if (hit && hit.until > Date.now()) return hit.role;
    return new Promise<Role | null>((resolve, reject) => {
      const waiters = this.queued.get(userId);
      if (waiters) waiters.push({ resolve, reject });
      else this.queued.set(userId, [{ resolve, reject }]);
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Looks up the queued users (in chunks), then whoever queued meanwhile, until nobody waits. */
  private async flush(): Promise<void> {
    while (this.queued.size > 0) {
      const batch = this.queued;
      this.queued = new Map();
      const ids = [...batch.keys()];
      for (let i = 0; i < ids.length; i += MAX_PER_QUERY) {
        const chunk = ids.slice(i, i + MAX_PER_QUERY);
        try {
          const res = await User.knex().raw('SELECT id, role FROM users WHERE id = ANY (?)', [chunk]);
          const found = new Map((res.rows as { id: number; role: Role }[]).map((u) => [u.id, u.role]));
          for (const id of chunk) {
            const role = found.get(id) ?? null;
            this.remember(id, role);
            for (const w of batch.get(id)!) w.resolve(role);
          }
        } catch (err) {
          for (const id of chunk) for (const w of batch.get(id)!) w.reject(err);
        }
      }
    }
    this.flushing = false;
  }

  remember(userId: number, role: Role | null) {
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    this.cache.set(userId, { role, until: Date.now() + TTL_MS });
  }

  forget(userId: number) {
    this.cache.delete(userId);
  }
}
