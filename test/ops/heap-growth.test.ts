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

  it('when a process runs the policy, then V8 sets its limits with it: a growing factor well above 1.4 for a small live heap, 1.4 for a large one', () => {
    const out = execFileSync(process.execPath, ['--trace-gc-verbose', '-r', 'tsx/cjs', path.join(__dirname, 'heap-growth.fixture.ts')], { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 }).toString();
    const factors: Record<string, number[]> = { small: [], large: [] };
    let phase: 'small' | 'large' | 'done' = 'small';
    for (const line of out.split('\n')) {
      if (line.startsWith('PHASE')) phase = phase === 'small' ? 'large' : 'done';
      const m = /\[HeapController\] Limit: .*\((\d+(?:\.\d+)?)\)$/.exec(line);
      if (m && phase !== 'done') factors[phase].push(Number(m[1]));
    }
    expect(factors.small.length, 'full collections with a small live heap').to.be.greaterThan(2);
    expect(factors.large.length, 'full collections with a large live heap').to.be.greaterThan(2);
    const listed = (f: number[]) => `factors ${f.join(', ')}`;
    // The small heap's live size swings as its garbage is dropped (about 10-50 MB), and the
    // factor with it: 40 MB of room is a factor of 2-4 at the low points and about 1.5 at the
    // high ones (V8 prints one decimal).
    expect(Math.max(...factors.small), listed(factors.small)).to.be.at.least(2);
    expect(Math.min(...factors.small), listed(factors.small)).to.be.greaterThan(1.4);
    // The collections while the large heap is being built (no turn of the event loop between
    // them, so the policy has not heard of them yet) still use the small heap's factor; from the
    // first at 1.4 on, every one is at 1.4.
    const first = factors.large.indexOf(1.4);
    expect(first, listed(factors.large)).to.be.at.least(0);
    expect(factors.large.slice(first), listed(factors.large)).to.satisfy((f: number[]) => f.length >= 3 && f.every((x) => x === 1.4));
  });
});
