import { bullKey, queuePrefix, showQueueName } from '../../../shared/queue/names';
import type { RedisClient } from '../../../shared/redis';

/**
 * The jobs of one name waiting at the head of a show's queue, in the order BullMQ hands them over
 * (the prioritized set's order), up to the first job of another name. Returns id, data pairs.
 */
const PEEK_HEAD = `
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local out = {}
for _, id in ipairs(ids) do
  local fields = redis.call('HMGET', ARGV[2] .. id, 'name', 'data')
  if fields[1] ~= ARGV[3] or not fields[2] then break end
  out[#out + 1] = id
  out[#out + 1] = fields[2]
end
return out`;

/** Up to `n` jobs named `name` at the head of the show's queue (one round trip), with their parsed data. */
async function peekQueueHead<T>(redis: RedisClient, showId: number, name: string, n: number): Promise<{ id: string; data: T }[]> {
  const prefix = `${queuePrefix()}:${showQueueName(showId)}:`;
  const raw = (await redis.eval(PEEK_HEAD, 1, bullKey(showId, 'prioritized'), n, prefix, name)) as string[];
  const out: { id: string; data: T }[] = [];
  for (let i = 0; i < raw.length; i += 2) out.push({ id: raw[i], data: JSON.parse(raw[i + 1]) as T });
  return out;
}

export interface HeadBatch<T> {
  /** Jobs to pass over (the one running, those already decided); `skipping` of them may be at the head. */
  skip: (id: string) => boolean;
  skipping: number;
  /** A further check on a job's data; the batch stops at the first job that fails it. */
  fits?: (id: string, data: T) => boolean;
}

/**
 * Up to `n` jobs named `name` of the show waiting at the head of its queue, in order, passing over
 * the ones `skip` names and stopping at the first that is not such a job of this show: the jobs
 * a batch can take along with the one running.
 */
export async function batchAtHead<T extends { type: string; show_id: number }>(
  redis: RedisClient, showId: number, name: T['type'], n: number, batch: HeadBatch<T>,
): Promise<{ id: string; data: T }[]> {
  const head = await peekQueueHead<T>(redis, showId, name, n + batch.skipping);
  const out: { id: string; data: T }[] = [];
  for (const entry of head) {
    if (out.length >= n) break;
    if (batch.skip(entry.id)) continue;
    const { id, data } = entry;
    if (data.type !== name || data.show_id !== showId || (batch.fits && !batch.fits(id, data))) break;
    out.push(entry);
  }
  return out;
}
