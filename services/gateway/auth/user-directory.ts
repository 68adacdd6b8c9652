import { User, Role } from '../../../shared/db/models';

const TTL_MS = 10_000;
const MAX_ENTRIES = 100_000;

/**
 * Answers "does this user still exist, and with which role" for every authenticated request,
 * from a short-lived in-process cache so a burst does not turn into one query per request.
 */
export class UserDirectory {
  private readonly cache = new Map<number, { role: Role | null; until: number }>();

  async role(userId: number): Promise<Role | null> {
    const hit = this.cache.get(userId);
    if (hit && hit.until > Date.now()) return hit.role;
    const user = await User.query().findById(userId).select('role');
    this.remember(userId, user?.role ?? null);
    return user?.role ?? null;
  }

  remember(userId: number, role: Role | null) {
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    this.cache.set(userId, { role, until: Date.now() + TTL_MS });
  }

  forget(userId: number) {
    this.cache.delete(userId);
  }
}
