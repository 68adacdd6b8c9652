import { stopFaultEnv, faultEnv } from './fault-env';
import { gatewayFaults } from './gateway-faults';
import { postgresFaults } from './postgres-faults';
import { redisFaults } from './redis-faults';
import { printFaultTable } from './report';
import { workerFaults } from './worker-faults';

/**
 * The fault suite: a gateway and two workers as real processes on a private Redis (AOF) and a
 * private Postgres; each scenario sends a booking and cancel burst, breaks one thing in the
 * middle of it, and checks afterwards that no seat is booked twice, every acknowledged request
 * has exactly one outcome, and every process recovered by itself.
 */
describe('fault suite', function () {
  this.timeout(180_000);

  before(async function () {
    this.timeout(120_000);
    await faultEnv();
  });
  after(async function () {
    this.timeout(60_000);
    printFaultTable();
    await stopFaultEnv();
  });

  workerFaults();
  gatewayFaults();
  redisFaults();
  postgresFaults();
});
