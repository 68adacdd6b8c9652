import { isIPv6 } from 'node:net';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../../shared/config';
import { AppError } from '../../../shared/errors';
import type { RedisClient } from '../../../shared/redis';

type LimiterConfig = Pick<Config, 'LOGIN_MAX_FAILURES_PER_USER' | 'LOGIN_MAX_FAILURES_PER_IP' | 'LOGIN_FAILURE_WINDOW_SECONDS'>;

/**
 * The bucket a client address counts in: IPv4 as is, IPv6 by its /64 (one subscriber usually
 * holds a whole /64, so counting single IPv6 addresses would not limit anyone).
 */
export function addressBucket(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (v4) return v4[1];
  if (!isIPv6(ip)) return ip || 'unknown';
  const [head, tail] = ip.split('%')[0].split('::');
  const first = head ? head.split(':') : [];
  const last = tail ? tail.split(':') : [];
  const groups = tail === undefined ? first : [...first, ...Array(Math.max(0, 8 - first.length - last.length)).fill('0'), ...last];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

const retryAfter = (res: RateLimiterRes) => String(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
const tooMany = (what: string, res: RateLimiterRes) =>
  new AppError(429, 'TOO_MANY_ATTEMPTS', `Too many failed logins for ${what}; try again later`, undefined, { 'Retry-After': retryAfter(res) });

/**
 * Brute-force protection for POST /login, kept in Redis so every gateway shares the counts.
 * - Per username, every attempt is counted *before* the password is checked, so concurrent
 *   guesses cannot slip past the limit and a blocked username costs no scrypt; a correct
 *   password forgets the count.
 * - Per client address, only failures count (many users behind one NAT or proxy log in fine);
 *   an address at its limit is refused before the password is checked. Concurrent guesses from
 *   one address can pass the limit by at most the number still in flight.
 * If Redis cannot be reached, an in-process limiter with the same limits stands in.
 */
export class LoginLimiter {
  private readonly byUser: RateLimiterRedis;
  private readonly byAddress: RateLimiterRedis;

  constructor(redis: RedisClient, cfg: LimiterConfig, keyPrefix: string) {
    const make = (name: string, points: number) => {
      const common = { points, duration: cfg.LOGIN_FAILURE_WINDOW_SECONDS, keyPrefix: `${keyPrefix}:rl:${name}` };
      return new RateLimiterRedis({ ...common, storeClient: redis, insuranceLimiter: new RateLimiterMemory(common) });
    };
    this.byUser = make('login-user', cfg.LOGIN_MAX_FAILURES_PER_USER);
    this.byAddress = make('login-ip', cfg.LOGIN_MAX_FAILURES_PER_IP);
  }

  /** Before checking a password: 429 TOO_MANY_ATTEMPTS (with Retry-After) when the address or the username is used up. */
  async attempt(username: string, ip: string): Promise<void> {
    const address = await this.byAddress.get(addressBucket(ip));
    if (address && address.consumedPoints >= this.byAddress.points) throw tooMany('this address', address);
    try {
      await this.byUser.consume(username);
    } catch (res) {
      if (res instanceof RateLimiterRes) throw tooMany('this username', res);
      throw res;
    }
  }

  /** The password was wrong: one more failure for the address. */
  async failed(ip: string): Promise<void> {
    await this.byAddress.penalty(addressBucket(ip), 1);
  }

  /** The password was right: the username starts afresh. */
  async succeeded(username: string): Promise<void> {
    await this.byUser.delete(username);
  }
}
