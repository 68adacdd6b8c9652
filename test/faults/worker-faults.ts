import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createUser } from '../support/fixtures';
import { expectedRequestId, Op, perform, prepareShow } from './burst';
import { FaultEnv, faultEnv, inDatabase } from './fault-env';
import { runScenario, startBurst } from './scenario';
import { ShowLock, waitForLog } from './stack';
import { expectAlive, expectInvariants, expectRecovered, settle } from './verify';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers the scenarios (inside the fault suite, which starts the environment). */
export function workerFaults() {
  describe('faults: workers killed, stopped and stalled during a burst', function () {
    let e: FaultEnv;

    before(async () => {
      e = await faultEnv();
    });

    it('when a worker is SIGKILLed in the middle of a job, then another worker finishes the job and every acknowledged request has exactly one outcome', async () => {
      let killedJob = '';
      let exit: number | string | null = null;
      const { run, settled } = await runScenario('worker SIGKILL mid-job', e, async ({ show }) => {
        const lock = await ShowLock.take(e.dbUrl, show.show.id);
        const victim = await lock.blockedWorker();
        [killedJob] = await e.queues.activeJobs(show.show.id);
        exit = await e.stack.stopWorker(victim, 'SIGKILL');
        await lock.release();
        await e.stack.spawnWorker(`${victim}r`);
      });
      expectInvariants(settled);
      expect(exit).to.equal('SIGKILL');
      expect(killedJob, 'the job running when the worker died').to.be.a('string').and.not.equal('');
      expect(await e.db('requests').where({ id: killedJob }).first(), 'its outcome').to.not.equal(undefined);
      expectAlive(e.stack);
      await expectRecovered(e.db, e.stack.gateway.url, run.show.show.id);
    });

    it('when a worker is SIGTERMed mid-burst, then it finishes its running job, exits 0, and the others take the rest', async () => {
      let runningJob = '';
      let exit: number | string | null = null;
      let finishingAfterSignal = false;
      let storedAtExit: unknown;
      let activeAtExit: string[] = [];
      const { run, settled } = await runScenario('worker SIGTERM mid-burst', e, async ({ show }) => {
        const lock = await ShowLock.take(e.dbUrl, show.show.id);
        const victim = await lock.blockedWorker();
        [runningJob] = await e.queues.activeJobs(show.show.id);
        const worker = e.stack.worker(victim);
        const exited = e.stack.stopWorker(victim, 'SIGTERM');
        await sleep(500);
        finishingAfterSignal = worker.proc.exitCode === null;
        await lock.release();
        exit = await exited;
        storedAtExit = await e.db('requests').where({ id: runningJob }).first();
        activeAtExit = await e.queues.activeJobs(show.show.id);
        await e.stack.spawnWorker(`${victim}r`);
      });
      expectInvariants(settled);
      expect(finishingAfterSignal, 'still finishing its job after SIGTERM').to.equal(true);
      expect(exit).to.equal(0);
      expect(storedAtExit, 'the running job has its outcome when the worker exits').to.not.equal(undefined);
      expect(activeAtExit, 'nothing half-done left on the queue').to.not.include(runningJob);
      expectAlive(e.stack);
      await expectRecovered(e.db, e.stack.gateway.url, run.show.show.id);
    });

    it('when a stalled worker loses its job lock mid-job, then another worker runs the job too and the database keeps one outcome', async () => {
      expectAlive(e.stack);
      const show = await prepareShow(e.db);
      const showId = show.show.id;
      // The stalled run is a best-available booking: it stops inside its allocation transaction.
      const lock = await ShowLock.take(e.dbUrl, showId);
      const user = await inDatabase(e.db, () => createUser());
      const stalledOp: Op = { kind: 'book', user, showId, quantity: 2, key: randomUUID(), respondAsync: false };
      const stalled = perform(e.stack.gateway.url, stalledOp, 60_000);
      const victim = await lock.blockedWorker();
      const jobId = expectedRequestId(stalledOp);
      expect(await e.queues.activeJobs(showId), 'the job in the stalled worker').to.deep.equal([jobId]);
      const run = startBurst(e, show);
      await run.burst.reached(Math.floor(run.ops.length * 0.2));
      const pid = e.stack.worker(victim).proc.pid!;
      process.kill(pid, 'SIGSTOP');
      let takeover: unknown;
      try {
        await lock.release();
        const other = [...e.stack.workers.keys()].find((n) => n !== victim)!;
        takeover = await waitForLog(e.stack.worker(other), (l) => l.msg === 'job done' && l.job_id === jobId, 30_000).catch(() => undefined);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const results = [await stalled, ...(await run.burst.done)];
      const settled = await settle('stalled worker, lock expired', e.db, e.queues, showId, results);
      expectInvariants(settled);
      expect(takeover, 'another worker completed the job while the first was stopped').to.not.equal(undefined);
      expect(await e.db('requests').where({ id: jobId }).first(), 'the stalled job has its outcome').to.not.equal(undefined);
      const lockLost = await waitForLog(e.stack.worker(victim), (l) => String(l.err ?? '').includes(`lock for job ${jobId}`), 10_000).catch(() => undefined);
      const tail = JSON.stringify(e.stack.worker(victim).logs.slice(-8));
      expect(lockLost, `the first run, resumed, found its lock gone: ${tail}`).to.not.equal(undefined);
      expectAlive(e.stack);
      await expectRecovered(e.db, e.stack.gateway.url, showId);
    });
  });
}
