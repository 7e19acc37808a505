/**
 * Time left on a grant: how long, how it reads ("2 h 05 min", "9 min 30 s", "45 s"), whether the
 * investigator should be warned (10 minutes or less), and the end times the console asks for.
 * Pure functions: the panels call them every second with Date.now().
 */

/** At or under this much time left, the grant is shown with a warning. */
export const WARNING_MS = 10 * 60_000;

export type Urgency = 'ok' | 'warning' | 'ended';

/** Milliseconds from `now` until `endsAt` (ISO), never negative; 0 when the date cannot be read. */
export function msLeft(endsAt: string, now: number): number {
  const end = Date.parse(endsAt);
  if (Number.isNaN(end)) return 0;
  return Math.max(0, end - now);
}

export function urgency(ms: number): Urgency {
  if (ms <= 0) return 'ended';
  return ms <= WARNING_MS ? 'warning' : 'ok';
}

/** 7_500_000 -> "2 h 05 min", 570_000 -> "9 min 30 s", 45_000 -> "45 s", 0 -> "ended". Rounds up: "1 s" until it is over. */
export function formatTimeLeft(ms: number): string {
  if (ms <= 0) return 'ended';
  const totalSeconds = Math.ceil(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours} h ${String(minutes).padStart(2, '0')} min`;
  if (minutes > 0) return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
  return `${seconds} s`;
}

/** The end time `durationMs` from now, as the API takes it (ISO). */
export function endsAtIn(now: number, durationMs: number): string {
  return new Date(now + durationMs).toISOString();
}

/** A grant's end pushed back by `addMs`: from its current end, or from now if that has passed. */
export function extendedEnd(endsAt: string, now: number, addMs: number): string {
  const end = Date.parse(endsAt);
  const from = Number.isNaN(end) ? now : Math.max(end, now);
  return new Date(from + addMs).toISOString();
}
