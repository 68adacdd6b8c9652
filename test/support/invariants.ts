/** The invariant checks live with the launch benchmark, which runs them too; tests use them from here. */
export { checkInvariants, waitForOutcomes } from '../../bench/lib/invariants';
export type { InvariantReport } from '../../bench/lib/invariants';
