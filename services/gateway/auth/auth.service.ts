import { User } from '../../../shared/db/models';
import { AppError, unauthorized } from '../../../shared/errors';
import type { GatewayDeps } from '../deps';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords';

export async function signup(input: { username: string; email: string; password: string }) {
  const taken = await User.query().where('username', input.username).orWhere('email', input.email.toLowerCase()).select('username', 'email');
  const field = taken.find((u) => u.username === input.username) ? 'username' : taken.length ? 'email' : undefined;
  if (field) throw new AppError(409, 'CONFLICT', `That ${field} is already registered`, { field });
  const user = await User.query().insert({
    username: input.username, email: input.email.toLowerCase(), password_hash: await hashPassword(input.password), role: 'customer',
  });
  return user.toPublic();
}

/**
 * Checks credentials; unknown users cost the same time as a wrong password. Attempts per username
 * and failures per client address are counted (429 once either is used up).
 */
export async function login(deps: Pick<GatewayDeps, 'tokens' | 'users' | 'loginLimiter'>, username: string, password: string, ip: string) {
  await deps.loginLimiter.attempt(username, ip);
  const user = await User.query().findOne({ username });
  const ok = await verifyPassword(password, user?.password_hash ?? (await dummyPasswordHash()));
  if (!user || !ok) {
    await deps.loginLimiter.failed(ip);
    throw unauthorized('Wrong username or password');
  }
  await deps.loginLimiter.succeeded(username);
  deps.users.remember(user.id, user.role);
  return deps.tokens.pair(user);
}

export async function refresh(deps: Pick<GatewayDeps, 'tokens' | 'users'>, token: string) {
  let sub: number;
  try {
    sub = Number(deps.tokens.verifyRefresh(token).sub);
  } catch {
    throw unauthorized('Invalid refresh token');
  }
  const user = await User.query().findById(sub);
  if (!user) throw unauthorized('The user no longer exists');
  const { access, token_type, expires_in } = deps.tokens.pair(user);
  return { access, token_type, expires_in };
}
