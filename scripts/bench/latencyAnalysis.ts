/**
 * Turns the frames one trial's page recorded into latency numbers (pure; no I/O).
 *
 * A frame is valid when its tag is the camera's and its stamp is a plausible recent clock
 * (0 <= age-ish <= 10 s); anything else is a decode failure. Each camera frame is counted once, the
 * first time its stamp is shown: JSMpeg gets 30 fps from rtsp-relay's `-r 30` out of a 25 fps
 * camera, so about one frame in six could be a repeat, and a repeated frame is not new information on
 * the screen. A stamp within half a frame interval of the last counted one is the same camera frame
 * read again with a little noise in its low bits (seen in Chromium right after a stall, where one
 * camera frame was presented two or three times with stamps 1-2 ms apart): a repeat too. The first
 * `warmupMs` after the first valid frame are dropped.
 */
import { stampAgeMs } from '../../test/support/frames.ts';
import type { PageFrame } from './sampler.ts';
import { percentile } from './stats.ts';

export interface FrameAnalysisOptions {
  /** the camera's tag (rows 16..31) */
  tag: number;
  /** Date.now() just before the page was opened */
  navigationStart: number;
  /** dropped from the start of the trial, counted from the first valid frame */
  warmupMs: number;
  /** the camera's frame interval (40 ms at 25 fps), to count frames that never showed */
  frameIntervalMs: number;
  /** receiver clock when the measurement window ended; frames after it are ignored */
  endAt?: number;
}

export interface FrameAnalysis {
  /** navigation start -> first valid frame shown; null when none was */
  firstFrameMs: number | null;
  /** frames counted (unique stamps after the warm-up) */
  frames: number;
  /** latency of each counted frame in ms, in arrival order */
  latencies: number[];
  p50: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
  /** callbacks that showed a stamp already shown (after the warm-up) */
  repeats: number;
  /** of the repeats, those whose stamp read differently (within half a frame interval) */
  noisyRepeats: number;
  /** gaps between counted frames longer than 2.5 frame intervals (receiver time) */
  stalls: number;
  /** camera frames that never showed (gaps in the stamps between counted frames) */
  missedFrames: number;
  /** frames whose tag or stamp did not decode to something plausible (whole trial) */
  decodeFailures: number;
  /** counted frames whose stamp was older than the previous counted frame's */
  outOfOrder: number;
  /** span in ms of receiver time covered by the counted frames */
  spanMs: number;
}

const MAX_AGE_MS = 10_000;
const MIN_AGE_MS = -50; // same clock: anything from the future is a misread

function signedDiff(later: number, earlier: number): number {
  const M = 2 ** 32;
  let d = (((later - earlier) % M) + M) % M;
  if (d >= M / 2) d -= M;
  return d;
}

export function analyzeFrames(frames: readonly PageFrame[], opts: FrameAnalysisOptions): FrameAnalysis {
  let decodeFailures = 0;
  const valid: Array<PageFrame & { age: number }> = [];
  for (const f of frames) {
    if (opts.endAt !== undefined && f.at > opts.endAt) break;
    const age = stampAgeMs(f.stamp, f.at);
    if (f.tag !== opts.tag || age < MIN_AGE_MS || age > MAX_AGE_MS) decodeFailures++;
    else valid.push({ ...f, age });
  }
  const first = valid[0];
  const firstFrameMs = first ? first.at - opts.navigationStart : null;
  const seen = new Set<number>();
  const latencies: number[] = [];
  let repeats = 0;
  let noisyRepeats = 0;
  let stalls = 0;
  let missedFrames = 0;
  let outOfOrder = 0;
  let prevStamp: number | undefined;
  let firstCountedAt: number | undefined;
  let lastCountedAt: number | undefined;
  for (const f of valid) {
    if (first && f.at < first.at + opts.warmupMs) {
      seen.add(f.stamp);
      continue;
    }
    if (seen.has(f.stamp)) {
      repeats++;
      continue;
    }
    seen.add(f.stamp);
    if (prevStamp !== undefined) {
      const d = signedDiff(f.stamp, prevStamp);
      if (Math.abs(d) < opts.frameIntervalMs / 2) {
        repeats++;
        noisyRepeats++;
        continue;
      }
      if (d < 0) outOfOrder++;
      else missedFrames += Math.max(0, Math.round(d / opts.frameIntervalMs) - 1);
    }
    if (lastCountedAt !== undefined && f.at - lastCountedAt > 2.5 * opts.frameIntervalMs) stalls++;
    prevStamp = f.stamp;
    firstCountedAt ??= f.at;
    lastCountedAt = f.at;
    latencies.push(f.age);
  }
  return {
    firstFrameMs,
    frames: latencies.length,
    latencies,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    min: latencies.length ? Math.min(...latencies) : NaN,
    max: latencies.length ? Math.max(...latencies) : NaN,
    repeats,
    noisyRepeats,
    stalls,
    missedFrames,
    decodeFailures,
    outOfOrder,
    spanMs: firstCountedAt !== undefined && lastCountedAt !== undefined ? lastCountedAt - firstCountedAt : 0,
  };
}
