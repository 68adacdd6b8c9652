export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Percentiles (nearest rank) of a list of numbers; zeros when the list is empty. */
export function summarize(values: number[]): Summary {
  if (values.length === 0) return { n: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  let sum = 0;
  for (const v of sorted) sum += v;
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1], mean: sum / sorted.length };
}

export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Counts and samples per fixed-width time bucket, relative to a start time. */
export class Timeline {
  readonly counts = new Map<string, number[]>();
  readonly samples = new Map<string, number[][]>();
  readonly gauges = new Map<string, (number | null)[]>();

  constructor(readonly startMs: number, readonly bucketMs: number) {}

  private bucket(atMs: number) {
    return Math.max(0, Math.floor((atMs - this.startMs) / this.bucketMs));
  }

  count(series: string, atMs: number, by = 1) {
    const arr = this.counts.get(series) ?? [];
    this.counts.set(series, arr);
    const b = this.bucket(atMs);
    while (arr.length <= b) arr.push(0);
    arr[b] += by;
  }

  sample(series: string, atMs: number, value: number) {
    const arr = this.samples.get(series) ?? [];
    this.samples.set(series, arr);
    const b = this.bucket(atMs);
    while (arr.length <= b) arr.push([]);
    arr[b].push(value);
  }

  gauge(series: string, atMs: number, value: number) {
    const arr = this.gauges.get(series) ?? [];
    this.gauges.set(series, arr);
    const b = this.bucket(atMs);
    while (arr.length <= b) arr.push(null);
    arr[b] = Math.max(arr[b] ?? 0, value);
  }

  get length(): number {
    const lens = [...this.counts.values(), ...this.samples.values(), ...this.gauges.values()].map((a) => a.length);
    return Math.max(0, ...lens);
  }

  /** One row per bucket: t (seconds), per-second rates of counts, p50/p99 of samples, gauges. */
  rows(): Record<string, number | null>[] {
    const perSecond = 1000 / this.bucketMs;
    return Array.from({ length: this.length }, (_, i) => {
      const row: Record<string, number | null> = { t: round((i * this.bucketMs) / 1000, 2) };
      for (const [k, arr] of this.counts) row[`${k}_per_s`] = round((arr[i] ?? 0) * perSecond);
      for (const [k, arr] of this.samples) {
        const s = summarize(arr[i] ?? []);
        row[`${k}_p50`] = s.n ? round(s.p50) : null;
        row[`${k}_p99`] = s.n ? round(s.p99) : null;
      }
      for (const [k, arr] of this.gauges) row[k] = arr[i] ?? null;
      return row;
    });
  }
}
