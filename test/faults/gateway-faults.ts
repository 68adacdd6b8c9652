import { expect } from 'chai';
import { expectedRequestId, perform, planOps, prepareShow } from './burst';
import { FaultEnv, faultEnv } from './fault-env';
import { runScenario } from './scenario';
import { ShowLock } from './stack';
import { expectAlive, expectInvariants, expectRecovered, settle } from './verify';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers the scenarios (inside the fault suite, which starts the environment). */
export function gatewayFaults() {
  describe('faults: the gateway killed while callers await', function () {
    let e: FaultEnv;

    before(async () => {
      e = await faultEnv();
    });

    it('when the gateway is SIGKILLed while callers await, then their retries with the same Idempotency-Key get the original job and outcome from the restarted gateway', async () => {
      const enqueued = new Map<string, string>();
      let killedAt = 0;
      let exit: number | string | null = null;
      const { run, results, settled } = await runScenario('gateway SIGKILL, clients retry', e, async ({ show, ops, burst }) => {
        // Jobs cannot finish while the show's lock is held, so callers are really awaiting when the gateway dies.
        const lock = await ShowLock.take(e.dbUrl, show.show.id);
        await sleep(700);
        killedAt = Date.now();
        exit = await e.stack.gateway.kill('SIGKILL');
        for (const op of ops.slice(0, burst.started)) {
          const job = await e.queues.jobData(show.show.id, expectedRequestId(op));
          if (job) enqueued.set(expectedRequestId(op), job.created_at);
        }
        await lock.release();
        await sleep(500);
        await e.stack.gateway.start();
      });
      expectInvariants(settled);
      expect(exit).to.equal('SIGKILL');
      const cutOff = results.filter((r) => r.sentAt < killedAt && r.attempts[0] === 0);
      const reattached = cutOff.filter((r) => enqueued.has(r.jobId!));
      expect(cutOff.length, 'callers left without an answer by the kill').to.be.greaterThan(0);
      expect(reattached.length, 'of them, requests the killed gateway had already enqueued').to.be.greaterThan(0);
      const stored = await e.db('requests').whereIn('id', reattached.map((r) => r.jobId!)).select('id', 'created_at');
      expect(stored.length).to.equal(reattached.length);
      for (const row of stored) {
        expect(new Date(row.created_at).toISOString(), `${row.id} answered from the original job`).to.equal(enqueued.get(row.id));
      }
      expectAlive(e.stack);
      await expectRecovered(e.db, e.stack.gateway.url, run.show.show.id);
    });

    it('when a restarted gateway is hit at once by a burst of concurrent requests, then it answers every one and keeps running', async () => {
      const show = await prepareShow(e.db);
      await e.stack.gateway.kill('SIGKILL');
      await e.stack.gateway.start();
      // All at once and all respond-async, so the first requests that read their job's queue state do it together.
      const ops = planOps(show, 100).map((op) => ({ ...op, respondAsync: true }));
      const results = await Promise.all(ops.map((op) => perform(e.stack.gateway.url, op, 40_000)));
      const settled = await settle('gateway restart into a burst', e.db, e.queues, show.show.id, results);
      expectInvariants(settled);
      expectAlive(e.stack);
      await expectRecovered(e.db, e.stack.gateway.url, show.show.id);
    });
  });
}
