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

/** Share of all CPU time (all cores) that was busy between two /proc/stat readings, 0..1. */
export interface CpuReading {
  busy: number;
  total: number;
}

export function cpuBusyShare(a: CpuReading, b: CpuReading): number {
  const total = b.total - a.total;
  return total > 0 ? (b.busy - a.busy) / total : NaN;
}

/** Parses the aggregate "cpu" line of /proc/stat. */
export function parseProcStat(text: string): CpuReading {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return { busy: 0, total: 0 };
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  const total = f.slice(0, 8).reduce((s, v) => s + v, 0); // user..steal (guest is inside user)
  return { busy: total - idle, total };
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
