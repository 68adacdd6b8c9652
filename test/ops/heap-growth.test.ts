import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { GATEWAY_HEAP_POLICY as policy, growingPercent } from '../../services/gateway/heap-growth';

const ROOT = path.join(__dirname, '..', '..');

describe('ops: the gateway\'s old-generation growth', function () {
  this.timeout(120_000);

  it('when the live heap is small, then the room for garbage is the headroom in bytes (at most 300%); when it is large, 40% of it', () => {
    expect(growingPercent(10e6, policy)).to.equal(300);
    expect(growingPercent(40e6, policy)).to.equal(100);
    expect(growingPercent(80e6, policy)).to.equal(50);
    expect(growingPercent(100e6, policy)).to.equal(40);
    expect(growingPercent(400e6, policy)).to.equal(40);
  });

  it('when a process runs the policy, then V8 sets every limit with the percent it chose: well above 40% for a small live heap, 40% for a large one', () => {
    const out = execFileSync(process.execPath, ['--trace-gc-verbose', '-r', 'tsx/cjs', path.join(__dirname, 'heap-growth.fixture.ts')], { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 }).toString();
    // Each full collection's factor (V8 prints one decimal) next to the percent the policy had
    // set before it.
    const limits: Record<string, { factor: number; percent: number }[]> = { small: [], large: [] };
    let phase: 'small' | 'large' | 'done' = 'small';
    let percent: number | undefined;
    for (const line of out.split('\n')) {
      if (line.startsWith('PHASE')) phase = phase === 'small' ? 'large' : 'done';
      const set = /^POLICY (\d+)$/.exec(line);
      if (set) percent = Number(set[1]);
      const m = /\[HeapController\] Limit: .*\((\d+(?:\.\d+)?)\)$/.exec(line);
      if (m && percent !== undefined && phase !== 'done') limits[phase].push({ factor: Number(m[1]), percent });
    }
    const listed = (l: { factor: number; percent: number }[]) => `factors (and percents) ${l.map((x) => `${x.factor} (${x.percent})`).join(', ')}`;
    expect(limits.small.length, 'full collections with a small live heap').to.be.greaterThan(2);
    expect(limits.large.length, 'full collections with a large live heap').to.be.greaterThan(2);
    const all = [...limits.small, ...limits.large];
    expect(all, listed(all)).to.satisfy((l: typeof all) => l.every((x) => Math.abs(x.factor - (1 + x.percent / 100)) <= 0.051));
    // The small heap's live size swings as its garbage is dropped (about 10-50 MB), and the
    // percent with it: 40 MB of room is 100-300% at the low points. At the high ones, where the
    // policy expects the heap to go on growing as fast, it can come down to 40%.
    expect(Math.max(...limits.small.map((x) => x.factor)), listed(limits.small)).to.be.at.least(2);
    // The collections while the large heap is being built (no turn of the event loop between
    // them, so the policy has not heard of them yet) still use the small heap's percent; from the
    // first at 1.4 on, every one is at 1.4.
    const factors = limits.large.map((x) => x.factor);
    const first = factors.indexOf(1.4);
    expect(first, listed(limits.large)).to.be.at.least(0);
    expect(factors.slice(first), listed(limits.large)).to.satisfy((f: number[]) => f.length >= 3 && f.every((x) => x === 1.4));
  });
});
