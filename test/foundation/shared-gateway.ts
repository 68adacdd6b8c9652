import { startTestGateway, TestGateway } from '../support/gateway';

let started: Promise<TestGateway> | undefined;

/** One gateway for all foundation files (fewer pools on the shared Postgres); stopped after the run. */
export function foundationGateway(): Promise<TestGateway> {
  started ??= startTestGateway();
  return started;
}
