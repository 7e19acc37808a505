/** Small pure statistics helpers for the benchmarks. */

/** Nearest-rank percentile (p in 0..100) of an unsorted list; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Rounds to one decimal; null for NaN/Infinity so the value survives JSON. */
export function round1(value: number): number | null {
  return Number.isFinite(value) ? Math.round(value * 10) / 10 : null;
}

/** A number backed by several trials: their median and spread (min..max). */
export interface Spread {
  median: number | null;
  min: number | null;
  max: number | null;
  /** how many trials */
  n: number;
}

export function spread(values: readonly number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  return {
    median: round1(median(finite)),
    min: finite.length ? round1(Math.min(...finite)) : null,
    max: finite.length ? round1(Math.max(...finite)) : null,
    n: finite.length,
  };
}

/** "116 (110-121, n=3)" */
export function formatSpread(s: Spread, unit = ''): string {
  if (s.median === null) return '?';
  return s.n > 1 ? `${s.median}${unit} (${s.min}-${s.max}, n=${s.n})` : `${s.median}${unit} (n=1)`;
}
