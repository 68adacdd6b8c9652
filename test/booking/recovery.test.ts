import { expect } from 'chai';
import { Job, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { config } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import type { BookJob } from '../../shared/queue/jobs';
import { bullKey, queuePrefix, showQueueName } from '../../shared/queue/names';
import { FIFO_PRIORITY } from '../../shared/queue/producer';
import { createRedis } from '../../shared/redis';
import { bookSeats } from '../../services/worker/allocation/allocate';
import { makeProcessor } from '../../services/worker/allocation/processor';
import { checkInvariants, waitForOutcomes } from '../support/invariants';
import { createShow, createUser, createUsers, TestUser } from '../support/fixtures';
import { startTestGateway, stopTestGateway, testDb, TestGateway } from '../support/gateway';
import { spawnWorker, WorkerProcess } from '../support/workers';
import { activeSeats, ASYNC, book, eventually, holdShowLock, jobIdOf, lockWaiters, pollJob, taggedDatabaseUrl } from './booking-client';

const bookJob = (user: TestUser, showId: number, seats: number[]): BookJob => ({
  type: 'book', request_id: `${showId}-${randomUUID().replace(/-/g, '')}`, user_id: user.id, show_id: showId,
  seats, hold: false, created_at: new Date().toISOString(), body_hash: 'test',
});

describe('booking recovery: jobs run twice, stalls, killed workers, lost connections', function () {
  this.timeout(90_000);
  let t: TestGateway;
  const workers: Record<string, WorkerProcess> = {};
  const outcomesOf = async (showId: number) => Number((await testDb()('requests').where('show_id', showId).count('* as n'))[0].n);

  before(async () => {
    const url = config().DATABASE_URL;
    const start = (name: string) => spawnWorker({ DB_POOL_MAX: '3', DATABASE_URL: taggedDatabaseUrl(url, name) });
    [t, workers['bx-worker-a'], workers['bx-worker-b']] = await Promise.all([startTestGateway(), start('bx-worker-a'), start('bx-worker-b')]);
  });
  after(() => Promise.all([...Object.values(workers).map((w) => w.kill('SIGTERM')), stopTestGateway(t)]));

  /** Waits for a backend (other than those seen) to block on the show's allocation lock, and returns it. */
  async function nextLockWaiter(showId: number, seen: Set<number>) {
    let found: { pid: number; application_name: string } | undefined;
    await eventually(async () => {
      found = (await lockWaiters(testDb(), showId)).find((w) => !seen.has(w.pid));
      return found !== undefined;
    }, 20_000, 'a job blocked on the show lock');
    seen.add(found!.pid);
    return found!;
  }
  const terminate = (pid: number) => testDb().raw('SELECT pg_terminate_backend(?)', [pid]);

  it('when the same book job is allocated twice, also at once, then one booking and the same outcome, the second marked replayed', async () => {
    const [u, show] = await Promise.all([createUser(), createShow()]);
    const job = bookJob(u, show.id, [9]);
    const first = await bookSeats(testDb(), job, [9], 600);
    const second = await bookSeats(testDb(), job, [9], 600);
    expect(first.status).to.equal('completed');
    expect(first.replayed).to.equal(undefined);
    expect(second.replayed).to.equal(true);
    const strip = ({ replayed: _r, available_seats: _a, ...o }: typeof first) => o;
    expect(strip(second)).to.deep.equal(strip(first));

    const racing = bookJob(u, show.id, [10]);
    const both = await Promise.all([bookSeats(testDb(), racing, [10], 600), bookSeats(testDb(), racing, [10], 600)]);
    expect(both.filter((o) => o.replayed)).to.have.length(1);
    expect(both[0].result).to.deep.equal(both[1].result);

    const deps = { cfg: config(), db: testDb(), redis: t.gw.deps.redis, bullClient: t.gw.deps.redis, queues: t.gw.deps.queues, log: createLogger('test') };
    const processor = makeProcessor(deps);
    const viaQueue = bookJob(u, show.id, [11]);
    const asJob = { name: 'book', id: viaQueue.request_id, data: viaQueue, opts: {} } as unknown as Job<BookJob>;
    const reports = [await processor(asJob), await processor(asJob)];
    expect(reports).to.deep.equal([{ status: 'completed', seats: 1 }, { status: 'completed', seats: 1, replayed: true }]);
    expect(await activeSeats(testDb(), show.id)).to.deep.equal([9, 10, 11]);
    expect(await outcomesOf(show.id)).to.equal(3);
  });

  it('when a job stalls after its allocation committed, then it runs again on another worker, which replays the one outcome', async () => {
    const [u, show] = await Promise.all([createUser(), createShow()]);
    const job = bookJob(u, show.id, [4]);
    // Added without announcing the show, so only the stuck worker below sees it at first.
    await t.gw.deps.queues.queue(show.id).add('book', job, { jobId: job.request_id, priority: FIFO_PRIORITY, attempts: 10 });
    const connection = createRedis({ blocking: true, name: 'test-stuck-worker' });
    const stuck = new Worker(showQueueName(show.id), null, { connection: connection as never, prefix: queuePrefix(), lockDuration: 1000, autorun: false });
    try {
      const taken = await stuck.getNextJob('stuck-token', { block: false });
      expect(taken?.id).to.equal(job.request_id);
      const deps = { cfg: config(), db: testDb(), redis: t.gw.deps.redis, bullClient: t.gw.deps.redis, queues: t.gw.deps.queues, log: createLogger('test') };
      const firstRun = await makeProcessor(deps)(taken as Job<BookJob>);
      expect(firstRun).to.deep.equal({ status: 'completed', seats: 1 });
      // The stuck worker never completes the job nor renews its lock; the running workers take over.
      await t.gw.deps.queues.announce(show.id);
      const jobKey = bullKey(show.id, job.request_id);
      await eventually(async () => (await t.gw.deps.redis.hget(jobKey, 'finishedOn')) !== null, 20_000, 'the stalled job to finish');
      const [stalls, returned] = await t.gw.deps.redis.hmget(jobKey, 'stc', 'returnvalue');
      expect(Number(stalls)).to.equal(1);
      expect(JSON.parse(returned!)).to.deep.equal({ status: 'completed', seats: 1, replayed: true });
      let lateCompletion: unknown;
      await taken!.moveToCompleted(firstRun, 'stuck-token', false).catch((err) => { lateCompletion = err; });
      expect(lateCompletion, 'the first run can no longer complete the job').to.be.instanceOf(Error);
    } finally {
      await stuck.close(true);
      await connection.quit();
    }
    expect(await activeSeats(testDb(), show.id)).to.deep.equal([4]);
    expect(await outcomesOf(show.id)).to.equal(1);
    expect((await pollJob(t.api, u.token, job.request_id)).result.bookings[0]).to.include({ seat_number: 4, status: 'booked' });
  });

  it('when a running job loses its database connection, then it is retried and ends with exactly one outcome', async () => {
    const [u, show] = await Promise.all([createUser(), createShow()]);
    const lock = await holdShowLock(testDb(), show.id);
    const seen = new Set<number>();
    let id: string;
    try {
      id = (await book(t.api, u.token, show.id, { seat_number: 12 }, ASYNC)).body.id;
      await terminate((await nextLockWaiter(show.id, seen)).pid);
      await nextLockWaiter(show.id, seen);
    } finally {
      await lock.release();
    }
    const done = await pollJob(t.api, u.token, id);
    expect(done.status).to.equal('completed');
    expect(done.result.bookings[0]).to.include({ seat_number: 12, status: 'booked' });
    const bull = await t.gw.deps.queues.queue(show.id).getJob(id);
    expect(bull!.attemptsMade, 'one failed attempt, then success').to.equal(2);
    expect((bull!.stacktrace ?? []).join('\n')).to.match(/terminat/i);
    expect(await activeSeats(testDb(), show.id)).to.deep.equal([12]);
    expect(await outcomesOf(show.id)).to.equal(1);
  });

  it('when a job keeps failing until its attempts run out, then it gets one INTERNAL outcome that names the cause', async () => {
    const [u, show] = await Promise.all([createUser(), createShow()]);
    const job = bookJob(u, show.id, [13]);
    const lock = await holdShowLock(testDb(), show.id);
    const seen = new Set<number>();
    try {
      await t.gw.deps.queues.add(show.id, job, { attempts: 2 });
      await terminate((await nextLockWaiter(show.id, seen)).pid);
      await terminate((await nextLockWaiter(show.id, seen)).pid);
      await nextLockWaiter(show.id, seen); // the worker storing the final outcome, under the same lock
    } finally {
      await lock.release();
    }
    await waitForOutcomes(testDb(), [job.request_id], 20_000);
    const done = await pollJob(t.api, u.token, job.request_id);
    expect(done).to.include({ status: 'failed', result: null });
    expect(done.error.code).to.equal('INTERNAL');
    expect(done.error.message).to.match(/could not be processed \(2 attempts\).*terminat/i);
    expect(await activeSeats(testDb(), show.id)).to.deep.equal([]);
    expect(await outcomesOf(show.id)).to.equal(1);
  });

  it('when a worker is killed with SIGKILL in the middle of a job while 200 requests are queued, then the other finishes them all, none lost or doubled', async () => {
    const [users, show] = await Promise.all([createUsers(20), createShow({ total_seats: 300 })]);
    const sending = Promise.all(Array.from({ length: 200 }, (_, i) => book(t.api, users[i % 20].token, show.id, { seat_number: i + 1 }, ASYNC)));
    await eventually(async () => (await outcomesOf(show.id)) >= 30, 30_000, '30 outcomes');

    // Freeze the show's allocation so the job in flight is known, then kill the worker running it.
    const lock = await holdShowLock(testDb(), show.id);
    let victimName: string;
    let victimHeldTheJob: boolean;
    try {
      const inFlight = await nextLockWaiter(show.id, new Set());
      // Workers started by other suites may be attached too; one of ours is killed either way.
      victimHeldTheJob = workers[inFlight.application_name] !== undefined;
      victimName = victimHeldTheJob ? inFlight.application_name : 'bx-worker-a';
      await workers[victimName].kill('SIGKILL');
    } finally {
      await lock.release();
    }
    const killedAt = Date.now();
    const doneBefore = await outcomesOf(show.id);
    const answers = await sending;
    expect(answers.every((a) => a.status === 202 || a.status === 201), 'all accepted').to.equal(true);
    const ids = answers.map(jobIdOf) as string[];
    await waitForOutcomes(testDb(), ids, 60_000);
    const finishedAt = Date.now();

    const report = await checkInvariants(testDb(), show.id, ids);
    expect(report).to.deep.include({ duplicates: 0, lost: [], outcomes: 200, mismatched: [], activeSeats: 200, counter: 200 });
    const failed = await testDb()('requests').where('show_id', show.id).whereNot('status', 'completed').pluck('id');
    expect(failed, 'every seat was free, so every request booked').to.deep.equal([]);
    const stalled: string[] = [];
    let replayed = false;
    for (const id of ids) {
      const [stc, returned] = await t.gw.deps.redis.hmget(bullKey(show.id, id), 'stc', 'returnvalue');
      if (Number(stc) > 0) stalled.push(id);
      // The killed worker's transaction may still commit once the lock is free; then the rerun replays it.
      if (Number(stc) > 0 && JSON.parse(returned!).replayed) replayed = true;
    }
    expect(stalled, 'the job the killed worker held came back once').to.have.length(victimHeldTheJob ? 1 : 0);
    console.log(`      killed ${victimName} ${victimHeldTheJob ? 'mid-job' : 'between jobs'} with ${doneBefore} of 200 requests done${replayed ? ' (its orphaned transaction committed; the rerun replayed it)' : ''}; `
      + `all 200 had their outcome ${finishedAt - killedAt} ms after the kill (JOB_LOCK_SECONDS=${config().JOB_LOCK_SECONDS})`);
    delete workers[victimName];
  });
});
