/**
 * Run by heap-growth.test.ts under `node --trace-gc-verbose`: the gateway's heap policy, a small
 * live heap with garbage churning through it, then a live heap of ~300 MB with the same churn.
 * Prints PHASE <MB> after each and POLICY <percent> whenever the policy sets V8's growing
 * percent, between V8's own lines about the limits it set.
 */
import v8 from 'node:v8';
import { boundHeapGrowth, GATEWAY_HEAP_POLICY } from '../../services/gateway/heap-growth';

const setFlags = v8.setFlagsFromString;
v8.setFlagsFromString = (flags: string) => {
  const percent = /^--heap-growing-percent=(\d+)$/.exec(flags);
  if (percent) console.log(`POLICY ${percent[1]}`);
  setFlags(flags);
};
boundHeapGrowth(GATEWAY_HEAP_POLICY);
const live: string[] = [];
let garbage: object[] = [];
const tick = () => new Promise((resolve) => setImmediate(resolve));

async function phase(liveMb: number, allocations: number) {
  while (live.length < liveMb * 1000) live.push('x'.repeat(900) + live.length);
  for (let i = 0; i < allocations; i++) {
    garbage.push({ i, s: 'y'.repeat(200) + i });
    if (garbage.length > 100_000) garbage = [];
    // The policy hears of each full collection through a PerformanceObserver: let it run.
    if (i % 10_000 === 0) await tick();
  }
  console.log(`PHASE ${liveMb}`);
}

void (async () => {
  await phase(5, 3e6);
  await phase(300, 3e6);
})();
