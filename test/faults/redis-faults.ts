import { expect } from 'chai';
import { isAcknowledged } from './burst';
import { FaultEnv, faultEnv } from './fault-env';
import { runScenario } from './scenario';
import { ShowLock } from './stack';
import { expectAlive, expectInvariants, expectRecovered } from './verify';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers the scenarios (inside the fault suite, which starts the environment). */
export function redisFaults() {
  describe('faults: Redis restarted mid-burst', function () {
    let e: FaultEnv;

    before(async () => {
      e = await faultEnv();
    });

    it('when Redis (AOF, fsync always) crashes mid-burst and restarts, then gateway and workers reconnect by themselves and every acknowledged request has exactly one outcome', async () => {
      let backlog: string[] = [];
      const { run, results, settled } = await runScenario('Redis crash + AOF restart', e, async ({ show, burst }) => {
        // Hold the show for a moment so acknowledged jobs are still queued in Redis when it dies.
        const lock = await ShowLock.take(e.dbUrl, show.show.id);
        await sleep(1000);
        const crashedAt = Date.now();
        await e.redis.kill('SIGKILL');
        const ackedBefore = burst.answered.filter((r) => isAcknowledged(r) && r.answeredAt < crashedAt).map((r) => r.jobId!);
        const done = new Set<string>(await e.db('requests').whereIn('id', ackedBefore).pluck('id'));
        backlog = ackedBefore.filter((id) => !done.has(id));
        await lock.release();
        await sleep(1500);
        await e.redis.start();
      });
      expectInvariants(settled);
      expect(backlog.length, 'requests acknowledged before the crash and still queued').to.be.greaterThan(0);
      expect(settled.report.lost.filter((id) => backlog.includes(id))).to.deep.equal([]);
      expect(results.filter((r) => r.attempts.includes(503)).length, 'requests refused with 503 while Redis was down').to.be.greaterThan(0);
      expectAlive(e.stack);
      await expectRecovered(e.db, e.stack.gateway.url, run.show.show.id);
    });
  });
}
