import { PerformanceEntry, PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';

export interface HeapGrowthPolicy {
  /** Room for garbage in the old generation, in bytes, whatever the live heap. */
  headroomBytes: number;
  /** The least growth, in percent of the live heap, once that is more than the headroom. */
  minPercent: number;
  /** The most growth, in percent of the live heap, when it is small. */
  maxPercent: number;
}

/**
 * The gateway's: 40 MB of garbage, or 40% of the live heap once that is more (services/gateway/main.ts
 * says what was measured).
 */
export const GATEWAY_HEAP_POLICY: HeapGrowthPolicy = { headroomBytes: 40e6, minPercent: 40, maxPercent: 300 };

/**
 * How far the old generation may grow past its live heap before the next full collection, as
 * V8's `--heap-growing-percent`: enough for `headroomBytes` of garbage, at least `minPercent` and
 * at most `maxPercent` of the live heap.
 */
export function growingPercent(liveBytes: number, policy: HeapGrowthPolicy): number {
  const wanted = Math.ceil((policy.headroomBytes / Math.max(1, liveBytes)) * 100);
  return Math.min(policy.maxPercent, Math.max(policy.minPercent, wanted));
}

const isMajor = (e: PerformanceEntry) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;

/**
 * Bounds the old generation's room for garbage in bytes rather than as a factor of the live heap.
 *
 * V8 sets the next full collection at the live heap times a growing factor. A gateway's live heap
 * is small while it accepts bookings (its requests are short-lived) and large while thousands of
 * callers await their results. One factor cannot suit both: V8's own lets 10,000 waiters leave
 * ~100 MB of garbage uncollected, and a factor tight enough for them (1.4) makes a small heap be
 * marked again every few megabytes promoted. After each full collection the live heap is read and
 * the factor for the next one is chosen from it (V8 reads the flag whenever it sets a limit).
 * Returns a function that stops watching.
 */
export function boundHeapGrowth(policy: HeapGrowthPolicy): () => void {
  let current = -1;
  let lastLive = 0;
  const apply = () => {
    // The flag set now is used at the next full collection: expect the live heap to have grown
    // by as much again as since the last one (thousands of callers arriving keep it growing).
    const live = v8.getHeapStatistics().used_heap_size;
    const expected = live + Math.max(0, live - lastLive);
    lastLive = live;
    const percent = growingPercent(expected, policy);
    if (percent === current) return;
    current = percent;
    v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  };
  apply();
  const observer = new PerformanceObserver((list) => {
    if (list.getEntries().some(isMajor)) apply();
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}
