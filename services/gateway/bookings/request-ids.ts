import { createHash, randomUUID } from 'node:crypto';
import { badRequest } from '../../../shared/errors';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Request ids start with the show id, so a job can be found on its show's queue from its id alone:
 * `<show>-<uuid>`, or `<show>-k<hash of user and Idempotency-Key>` for keyed requests.
 */
export function newRequestId(showId: number, userId: number, idempotencyKey?: string): string {
  return idempotencyKey ? `${showId}-k${idempotencyHash(userId, idempotencyKey).slice(0, 40)}` : `${showId}-${randomUUID().replace(/-/g, '')}`;
}

export const idempotencyHash = (userId: number, key: string) => sha(`${userId}\n${key}`);

/** A stable fingerprint of what was asked, to tell a replay from a reused key. */
export const bodyHash = (type: string, target: number, body: unknown) => sha(`${type}\n${target}\n${JSON.stringify(body ?? null)}`).slice(0, 32);

export function showIdOfRequest(id: string): number {
  const show = Number(id.split('-')[0]);
  if (!Number.isSafeInteger(show) || show < 1) throw badRequest('Not a job id of this service');
  return show;
}
