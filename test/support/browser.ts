/**
 * Browser helpers for tests and benchmarks: Debian's Chromium driven by playwright-core (never a
 * downloaded browser), and in-page sampling of the frames a <video> presents, decoding the
 * simulator's clock stamp and camera tag (test/support/frames.ts) to measure glass-to-glass latency.
 *
 *   const chromium = await launchChromium();
 *   const page = await chromium.newPage();
 *   const errors = collectPageErrors(page);
 *   await openConsole(page, `${baseUrl}/#code=${code}`);
 *   await waitForTiles(page, (tiles) => tiles.filter((t) => t.state === 'live').length === 4);
 *   const samples = await sampleVideo(page, '.tile[data-index="0"]', { durationMs: 5000 });
 *   latencyStats(samples, { dropFirstMs: 1000 });   // { count, p50, p95, p99, ... }
 *   await chromium.close();
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { MARK, stampAgeMs } from './frames.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * No autoplay-policy flag on purpose: a <video> without `muted`/`playsinline` must fail here as
 * it would for an operator. --disable-quic keeps Chromium from probing QUIC on the loopback.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface LaunchedChromium {
  browser: Browser;
  /** A new page in its own browser context (own localStorage, cookies, sessionStorage): one independent viewer. */
  newPage(): Promise<Page>;
  /** Closes every page and the browser; Playwright removes the temporary profile. Idempotent. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Extra Chromium arguments (for example fake media flags in a specific test). */
  args?: string[];
  /** Default 1280x720. */
  viewport?: { width: number; height: number };
  /** Default true. */
  headless?: boolean;
}

/**
 * Starts headless Chromium. Playwright's launch() gives every browser a fresh temporary profile
 * (user-data-dir under os.tmpdir()) and deletes it when the browser closes; each newPage() then
 * has its own incognito-like context, so several viewers in one browser do not share storage.
 */
export async function launchChromium(options: LaunchOptions = {}): Promise<LaunchedChromium> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: options.headless ?? true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
  const viewport = options.viewport ?? { width: 1280, height: 720 };
  let closing: Promise<void> | undefined;
  return {
    browser,
    async newPage() {
      const context = await browser.newContext({ viewport });
      return context.newPage();
    },
    close() {
      closing ??= browser.close().catch(() => undefined);
      return closing;
    },
  };
}

/** Console errors, failed requests and uncaught exceptions of a page, collected from now on. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('requestfailed', (request) => errors.push(`requestfailed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  return errors;
}

/** What the console exposes on window.c5.tiles(). */
export interface ConsoleTile {
  cameraId: string | undefined;
  state: 'empty' | 'connecting' | 'live' | 'reconnecting' | 'forbidden';
  reason: string | undefined;
  videoWidth: number;
  videoHeight: number;
  transport: 'udp' | 'tcp' | undefined;
}

/** Opens the console (for example `${base}/#code=<code>`) and waits until window.c5 is ready. */
export async function openConsole(page: Page, url: string, timeoutMs = 20000): Promise<void> {
  await page.goto(url);
  await page.waitForFunction('window.c5 !== undefined && window.c5.ready === true', undefined, { timeout: timeoutMs, polling: 100 });
}

/** The console's tiles as window.c5.tiles() reports them. */
export function consoleTiles(page: Page): Promise<ConsoleTile[]> {
  return page.evaluate('window.c5.tiles()') as Promise<ConsoleTile[]>;
}

/** Polls window.c5.tiles() until `predicate` holds; returns the tiles then (rejects on timeout with the last tiles). */
export async function waitForTiles(page: Page, predicate: (tiles: ConsoleTile[]) => boolean, timeoutMs = 20000): Promise<ConsoleTile[]> {
  const deadline = Date.now() + timeoutMs;
  let tiles: ConsoleTile[] = [];
  for (;;) {
    tiles = await consoleTiles(page);
    if (predicate(tiles)) return tiles;
    if (Date.now() >= deadline) throw new Error(`tiles did not reach the expected state in ${timeoutMs} ms: ${JSON.stringify(tiles)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One presented video frame. */
export interface VideoSample {
  /** Date.now() in the page when the frame was presented (requestVideoFrameCallback). */
  receivedAt: number;
  /** The sender's Date.now() mod 2^32, or null when the frame is too small to carry the marks. */
  stamp: number | null;
  /** The camera tag, or null when the frame is too small. */
  tag: number | null;
  width: number;
  height: number;
}

export interface SampleOptions {
  /** How long to sample. */
  durationMs: number;
  /** Stop earlier after this many frames. */
  maxFrames?: number;
}

/**
 * In-page sampler. A string, not a function, on purpose: tsx compiles test files with esbuild's
 * keepNames, which wraps named functions in a `__name()` helper that does not exist in the page.
 * The block decode is the one of frames.ts (readBlocks), for RGBA ImageData.
 */
const SAMPLER_SOURCE = String.raw`async (args) => {
  const { selector, durationMs, maxFrames, blockWidth, blockHeight, stampRow, stampBits, tagRow, tagBits } = args;
  const found = document.querySelector(selector);
  const video = found instanceof HTMLVideoElement ? found : found ? (found.querySelector('video:not(.standby)') ?? found.querySelector('video')) : null;
  if (!video) throw new Error('no <video> matches ' + selector);
  if (typeof video.requestVideoFrameCallback !== 'function') throw new Error('requestVideoFrameCallback is not supported');
  const rows = Math.max(stampRow + blockHeight, tagRow + blockHeight);
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const readBlocks = (data, width, row, bits) => {
    if (width < bits * blockWidth) return null;
    const y = row + blockHeight / 2;
    let value = 0;
    for (let i = 0; i < bits; i++) {
      const x = i * blockWidth + blockWidth / 2;
      const p = (y * width + x) * 4;
      if ((data[p] + data[p + 1] + data[p + 2]) / 3 >= 128) value += 2 ** i;
    }
    return value;
  };
  const samples = [];
  return await new Promise((resolve) => {
    const end = performance.now() + durationMs;
    let handle = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      video.cancelVideoFrameCallback(handle);
      resolve(samples);
    };
    const onFrame = (now, metadata) => {
      const receivedAt = Date.now();
      const width = metadata.width || video.videoWidth;
      const height = metadata.height || video.videoHeight;
      let stamp = null;
      let tag = null;
      if (width > 0 && height >= rows) {
        if (canvas.width !== width) canvas.width = width;
        if (canvas.height !== rows) canvas.height = rows;
        ctx.drawImage(video, 0, 0, width, rows, 0, 0, width, rows);
        const data = ctx.getImageData(0, 0, width, rows).data;
        stamp = readBlocks(data, width, stampRow, stampBits);
        tag = readBlocks(data, width, tagRow, tagBits);
      }
      samples.push({ receivedAt, stamp, tag, width, height });
      if (performance.now() >= end || samples.length >= maxFrames) finish();
      else handle = video.requestVideoFrameCallback(onFrame);
    };
    const timer = setTimeout(finish, durationMs + 100);
    handle = video.requestVideoFrameCallback(onFrame);
  });
}`;

/**
 * Samples the frames a <video> presents for `durationMs` (selector: the video, or an element
 * containing it, e.g. `.tile[data-camera-id="cam-stamped"]`): per frame the page's Date.now() at
 * requestVideoFrameCallback and the stamp and tag decoded from the top 32 rows.
 */
export async function sampleVideo(page: Page, selector: string, options: SampleOptions): Promise<VideoSample[]> {
  const args = {
    selector,
    durationMs: options.durationMs,
    maxFrames: options.maxFrames ?? Number.MAX_SAFE_INTEGER,
    blockWidth: MARK.blockWidth,
    blockHeight: MARK.blockHeight,
    stampRow: MARK.stampRow,
    stampBits: MARK.stampBits,
    tagRow: MARK.tagRow,
    tagBits: MARK.tagBits,
  };
  return (await page.evaluate(`(${SAMPLER_SOURCE})(${JSON.stringify(args)})`)) as VideoSample[];
}

export interface LatencyStats {
  /** Frames with a stamp that were counted. */
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Glass-to-glass latency (receivedAt - stamp, wrap-safe) over the stamped samples; the first
 * `dropFirstMs` after the first sample are left out (start-up, keyframe wait). NaN when empty.
 */
export function latencyStats(samples: VideoSample[], options: { dropFirstMs?: number } = {}): LatencyStats {
  const first = samples[0]?.receivedAt ?? 0;
  const skipUntil = first + (options.dropFirstMs ?? 0);
  const ages = samples
    .filter((s): s is VideoSample & { stamp: number } => s.stamp !== null && s.receivedAt >= skipUntil)
    .map((s) => stampAgeMs(s.stamp, s.receivedAt))
    .sort((a, b) => a - b);
  const count = ages.length;
  if (count === 0) return { count, min: NaN, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  return {
    count,
    min: ages[0] ?? NaN,
    p50: percentile(ages, 50),
    p95: percentile(ages, 95),
    p99: percentile(ages, 99),
    max: ages[count - 1] ?? NaN,
    mean: ages.reduce((sum, age) => sum + age, 0) / count,
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? NaN;
}

/** A presented frame with what requestVideoFrameCallback says about it (WebRTC sources). */
export interface TimedVideoSample extends VideoSample {
  /** The frame's RTP timestamp (90 kHz) as received, or null when the browser does not give it. */
  rtpTimestamp: number | null;
  /** The frame's media time (s). */
  mediaTime: number;
  /** Frames the compositor has presented so far (a gap: frames decoded but never shown). */
  presentedFrames: number;
}

const TIMED_SAMPLER_SOURCE = SAMPLER_SOURCE.replace(
  'samples.push({ receivedAt, stamp, tag, width, height });',
  'samples.push({ receivedAt, stamp, tag, width, height, rtpTimestamp: metadata.rtpTimestamp ?? null, mediaTime: metadata.mediaTime, presentedFrames: metadata.presentedFrames });',
);

/**
 * sampleVideo() plus each frame's RTP timestamp, media time and presented-frame count: two samples
 * with the same stamp and the same RTP timestamp are one frame presented twice; with different RTP
 * timestamps, two pictures the camera stamped alike.
 */
export async function sampleVideoTimed(page: Page, selector: string, options: SampleOptions): Promise<TimedVideoSample[]> {
  if (TIMED_SAMPLER_SOURCE === SAMPLER_SOURCE) throw new Error('sampleVideoTimed: the sampler changed, update the replacement');
  const args = {
    selector,
    durationMs: options.durationMs,
    maxFrames: options.maxFrames ?? Number.MAX_SAFE_INTEGER,
    blockWidth: MARK.blockWidth,
    blockHeight: MARK.blockHeight,
    stampRow: MARK.stampRow,
    stampBits: MARK.stampBits,
    tagRow: MARK.tagRow,
    tagBits: MARK.tagBits,
  };
  return (await page.evaluate(`(${TIMED_SAMPLER_SOURCE})(${JSON.stringify(args)})`)) as TimedVideoSample[];
}
