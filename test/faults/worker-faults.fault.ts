import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { testDb } from '../support/gateway';
import { createUser } from '../support/fixtures';
import { Burst, expectedRequestId, Op, perform, planOps, prepareShow } from './burst';
import { runScenario } from './scenario';
import { QueueProbe, ShowLock, Stack, waitForLog } from './stack';
import { expectInvariants, expectRecovered, settle } from './verify';
import './report';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('faults: workers killed, stopped and stalled during a burst', function () {
  this.timeout(180_000);
  let stack: Stack;
  let queues: QueueProbe;

  before(async () => {
    stack = await Stack.start({}, ['w1', 'w2']);
    queues = new QueueProbe(stack.env.REDIS_URL);
  });
  after(async () => {
    await stack?.stop();
    await queues?.close();
  });

  it('when a worker is SIGKILLed in the middle of a job, then another worker finishes the job and every acknowledged request has exactly one outcome', async () => {
    const db = testDb();
    let killedJob = '';
    let exit: number | string | null = null;
    const { run, settled } = await runScenario('worker SIGKILL mid-job', stack, queues, db, async ({ show }) => {
      const lock = await ShowLock.take(stack.env.DATABASE_URL, show.show.id);
      const victim = await lock.blockedWorker();
      [killedJob] = await queues.activeJobs(show.show.id);
      exit = await stack.stopWorker(victim, 'SIGKILL');
      await lock.release();
      await stack.spawnWorker(`${victim}-restarted`);
    });
    expectInvariants(settled);
    expect(exit).to.equal('SIGKILL');
    expect(killedJob, 'the job running when the worker died').to.be.a('string').and.not.equal('');
    expect(await db('requests').where({ id: killedJob }).first(), 'its outcome').to.not.equal(undefined);
    expect(stack.alive(), 'gateway and workers running').to.equal(true);
    await expectRecovered(db, stack.gateway.url, run.show.show.id, await createUser());
  });

  it('when a worker is SIGTERMed mid-burst, then it finishes its running job, exits 0, and the others take the rest', async () => {
    const db = testDb();
    let runningJob = '';
    let exit: number | string | null = null;
    let finishingAfterSignal = false;
    const { run, settled } = await runScenario('worker SIGTERM mid-burst', stack, queues, db, async ({ show }) => {
      const lock = await ShowLock.take(stack.env.DATABASE_URL, show.show.id);
      const victim = await lock.blockedWorker();
      [runningJob] = await queues.activeJobs(show.show.id);
      const worker = stack.worker(victim);
      const exited = stack.stopWorker(victim, 'SIGTERM');
      await sleep(500);
      finishingAfterSignal = worker.proc.exitCode === null;
      await lock.release();
      exit = await exited;
      const stored = await db('requests').where({ id: runningJob }).first();
      expect(stored, 'the running job has its outcome when the worker exits').to.not.equal(undefined);
      expect(await queues.activeJobs(show.show.id), 'nothing half-done on the queue').to.not.include(runningJob);
      await stack.spawnWorker(`${victim}-restarted`);
    });
    expectInvariants(settled);
    expect(finishingAfterSignal, 'still finishing its job after SIGTERM').to.equal(true);
    expect(exit).to.equal(0);
    expect(stack.alive(), 'gateway and workers running').to.equal(true);
    await expectRecovered(db, stack.gateway.url, run.show.show.id, await createUser());
  });

  it('when a stalled worker loses its job lock mid-job, then another worker runs the job too and the database keeps one outcome', async () => {
    const db = testDb();
    const show = await prepareShow(db);
    const lock = await ShowLock.take(stack.env.DATABASE_URL, show.show.id);
    const stalledOp: Op = { kind: 'book', user: await createUser(), showId: show.show.id, quantity: 2, key: randomUUID(), respondAsync: false };
    const stalled = perform(stack.gateway.url, stalledOp, 60_000);
    const victim = await lock.blockedWorker();
    const jobId = expectedRequestId(stalledOp);
    const ops = planOps(show, 100);
    const burst = new Burst({ baseUrl: stack.gateway.url, ops, rate: 40, concurrency: 24 });
    await burst.reached(Math.floor(ops.length * 0.2));
    const pid = stack.worker(victim).proc.pid!;
    process.kill(pid, 'SIGSTOP');
    let takeover: any;
    try {
      await lock.release();
      const other = [...stack.workers.keys()].find((n) => n !== victim)!;
      takeover = await waitForLog(stack.worker(other), (l) => l.msg === 'job done' && l.job_id === jobId, 30_000).catch(() => undefined);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const results = [await stalled, ...(await burst.done)];
    const settled = await settle('stalled worker, lock expired', db, queues, show.show.id, results);
    expectInvariants(settled);
    expect(takeover, 'another worker completed the job while the first was stopped').to.not.equal(undefined);
    expect(await db('requests').where({ id: jobId }).first(), 'the stalled job has its outcome').to.not.equal(undefined);
    const lockLost = await waitForLog(stack.worker(victim), (l) => String(l.err ?? '').includes(`lock for job ${jobId}`), 10_000).catch(() => undefined);
    expect(lockLost, 'the first run, resumed, found its lock gone').to.not.equal(undefined);
    expect(stack.alive(), 'gateway and workers running').to.equal(true);
    await expectRecovered(db, stack.gateway.url, show.show.id, await createUser());
  });
});
