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
    expect(factors.small.at(-1)).to.be.greaterThan(1.5);
    expect(factors.large.at(-1)).to.equal(1.4);
  });
});
