import { expect } from 'chai';
import { FaultEnv, faultEnv } from './fault-env';
import { runScenario } from './scenario';
import { ShowLock, terminateBackends } from './stack';
import { expectAlive, expectInvariants, expectRecovered } from './verify';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers the scenarios (inside the fault suite, which starts the environment). */
export function postgresFaults() {
  describe('faults: Postgres connections lost mid-burst', function () {
    let e: FaultEnv;

    before(async () => {
      e = await faultEnv();
    });

    it('when every gateway and worker session is terminated (pg_terminate_backend) mid-burst, then jobs in flight are retried and end with exactly one outcome', async () => {
      let inFlight = '';
      let terminated = 0;
      let inFlightKilled = false;
      const { run, settled } = await runScenario('Postgres sessions terminated', e, async ({ show }) => {
        const lock = await ShowLock.take(e.dbUrl, show.show.id);
        const session = await lock.blockedSession();
        [inFlight] = await e.queues.activeJobs(show.show.id);
        terminated += await terminateBackends(e.db);
        await sleep(100);
        inFlightKilled = !(await lock.sessionAlive(session.pid));
        await lock.release();
        await sleep(300);
        terminated += await terminateBackends(e.db);
      });
      expectInvariants(settled);
      expect(terminated, 'sessions terminated').to.be.greaterThan(0);
      // The session running it died while it waited for the show's lock, before it wrote anything: the outcome comes from a retry.
      expect(inFlightKilled, 'the session of the job in flight was terminated').to.equal(true);
      expect(await e.db('requests').where({ id: inFlight }).first(), 'the job in flight has its outcome').to.not.equal(undefined);
      expectAlive(e.stack);
      await expectRecovered(e.db, e.stack.gateway.url, run.show.show.id);
    });

    it('when Postgres crashes mid-burst and restarts, then gateway and workers reconnect by themselves and jobs in flight end with exactly one outcome', async () => {
      let inFlight = '';
      const { run, settled } = await runScenario('Postgres crash + restart', e, async ({ show }) => {
        const lock = await ShowLock.take(e.dbUrl, show.show.id);
        await lock.blockedWorker();
        [inFlight] = await e.queues.activeJobs(show.show.id);
        await e.pg.stop('immediate');
        await lock.release();
        await sleep(1500);
        await e.pg.start();
      });
      expectInvariants(settled);
      // Its session died with the server while it waited for the show's lock: the outcome comes from a retry.
      expect(await e.db('requests').where({ id: inFlight }).first(), 'the job in flight has its outcome').to.not.equal(undefined);
      expectAlive(e.stack);
      await expectRecovered(e.db, e.stack.gateway.url, run.show.show.id);
    });
  });
}
