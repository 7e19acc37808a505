/**
 * Load viewers for the benchmarks: N receive-only viewers of one camera in ONE Chromium page, for
 * C5 Live, Janus or rtsp-relay, behind one interface.
 *
 *   const load = await LoadViewers.open(chromium, { system: 'c5', count: 20, consoleUrl: t.app.consoleUrl, token: () => t.token('operator'), cameraId: 'cam-1' });
 *   const load = await LoadViewers.open(chromium, { system: 'janus', count: 20, pageUrl: janus.pageUrl, janusPort: janus.janusPort });
 *   const load = await LoadViewers.open(chromium, { system: 'rtspRelay', count: 20, port: relay.port });
 *   load.count                        // 20
 *   const a = await load.stats();     // per viewer and total: packets, lost, bytes, frames decoded, state
 *   ...; const b = await load.stats();
 *   loadWindow(a, b)                  // over the window: loss %, kbit/s per viewer and in total, failures
 *   await load.close();               // closes every viewer, then the browser context (idempotent)
 *
 * `chromium` is test/support/browser.ts's LaunchedChromium (anything with a playwright `browser`).
 * Each LoadViewers gets its own browser context and page; several can share one browser.
 *
 * The page is NOT a file or route of the system under test: LoadViewers bundles
 * scripts/bench/loadViewersPage.ts with esbuild (once per process) and serves it with Playwright
 * routes (context.route) at /bench-load.html and /bench-load.js on the system's own origin, so the
 * page is same-origin with it (C5 Live's Socket.IO refuses cross-origin browsers; Janus's page server
 * then also gives us /vendor/janus.js and /vendor/adapter.js; rtsp-relay's WebSocket is /stream).
 *
 *   C5 Live    each viewer: its own Socket.IO connection (the token in the handshake auth, as the
 *              console does), mediasoup-client Device, receive transport and one resumed consumer
 *              (client/src/SignallingClient.ts and MediaReceiver.ts, the console's own code).
 *   Janus      one janus.js session with N streaming-plugin handles watching mountpoint 1 (one
 *              session: janus.js long-polls per session and Chromium allows 6 HTTP/1.1 connections
 *              per host); each handle has its own RTCPeerConnection.
 *   rtsp-relay N WebSockets to ws://127.0.0.1:<port>/stream counting MPEG-TS bytes (no decoding).
 *
 * Receive-only: no remote track gets a sink unless `decode: true`. NOTE: a missing sink is not what
 * stops Chromium from decoding: measured with Debian's Chromium 156, a remote video track with no
 * sink at all is still decoded at the full frame rate. So by default every video receiver also gets
 * an RTCRtpScriptTransform (installed in the 'track' event by a page-wide RTCPeerConnection
 * subclass, before the receive stream exists) that passes on keyframes only: the page still does
 * ICE, DTLS, SRTP, RTP/RTCP and NACKs and counts every packet and byte, but decodes one frame per
 * GOP, so 20 load viewers do not cost a core of H.264 decoding a real viewer would spend on its own
 * machine. (Dropping every frame would make each receiver send ~3 PLIs a second; keyframes keep its
 * frame buffer fed, so it sends none.) If the transform is unavailable, each viewer's `remark` says
 * so and all frames are decoded. With `decode: true` every track goes to a small muted <video>.
 *
 * Stats for WebRTC come from getStats() inbound-rtp (video): packetsReceived, packetsLost,
 * bytesReceived (RTP payload), framesDecoded, nackCount, pliCount; for rtsp-relay packets are
 * WebSocket messages, nothing is lost (TCP) and framesDecoded is null. A viewer's state is its
 * PeerConnection's (Janus), its DTLS transport's (C5) or its WebSocket's (rtsp-relay): 'connecting',
 * 'connected', 'failed' (with `error`) or 'closed'.
 *
 * open() resolves when every viewer has received a packet; by default it throws (after closing
 * everything) if any viewer failed or got nothing within `timeoutMs` (30 s each); with
 * `tolerateFailures: true` it returns anyway and the failures show in stats().
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import type { BenchLoadApi, LoadSystem, PageOpenOptions, PageStats, ViewerStats } from './loadViewersPage.ts';
import { withTimeout } from './Cleanups.ts';
import { median } from './stats.ts';

export type { LoadSystem, ViewerStats } from './loadViewersPage.ts';

const PAGE_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'loadViewersPage.ts');
const HTML_PATH = '/bench-load.html';
const JS_PATH = '/bench-load.js';
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_CONCURRENCY = 8;
const CLOSE_TIMEOUT_MS = 15_000;

interface CommonOptions {
  /** How many viewers (1..1000). */
  count: number;
  /** Viewers being set up at once (default 8). */
  concurrency?: number;
  /** Decode every frame, in a small muted <video> (WebRTC only; default false: only keyframes reach the decoder). */
  decode?: boolean;
  /** Per viewer: set-up plus first packet (default 30 s). */
  timeoutMs?: number;
  /** Return even if some viewers failed (default false: open() throws). */
  tolerateFailures?: boolean;
  /** Stop setting up more viewers once this many have failed (the rest fail as 'not attempted'); default: never. */
  abortAfterFailures?: number;
}

export type LoadViewersOptions = CommonOptions &
  (
    | {
        system: 'c5';
        /** t.app.consoleUrl: the page is served on this origin. */
        consoleUrl: string;
        /** A bearer token (JWT) or a function giving one (called once; all viewers share it). */
        token: string | (() => string | Promise<string>);
        cameraId: string;
      }
    | {
        system: 'janus';
        /** JanusPeer.pageUrl: the page is served on this origin (it also serves /vendor/janus.js). */
        pageUrl: string;
        /** JanusPeer.janusPort: the API is http://127.0.0.1:<janusPort>/janus. */
        janusPort: number;
        /** Default 1 (JanusPeer's mountpoint). */
        mountpointId?: number;
      }
    | {
        system: 'rtspRelay';
        /** RtspRelayPeer.port. */
        port: number;
        /** Default '/stream'. */
        path?: string;
      }
  );

export interface LoadTotals {
  viewers: number;
  /** viewers connected with at least one packet */
  receiving: number;
  failed: number;
  packetsReceived: number;
  packetsLost: number;
  bytesReceived: number;
  /** null for rtsp-relay */
  framesDecoded: number | null;
}

export interface LoadStats {
  system: LoadSystem;
  /** The page's performance.now() when read (ms). */
  at: number;
  viewers: ViewerStats[];
  total: LoadTotals;
}

export interface LoadWindow {
  seconds: number;
  viewers: number;
  /** viewers that failed by the end of the window */
  failed: number;
  /** viewers that received nothing during the window */
  silent: number;
  packetsReceived: number;
  packetsLost: number;
  /** lost / (received + lost) over all viewers, in % (2 decimals; 0 when nothing was expected) */
  lossPct: number;
  /** the worst viewer's loss in % */
  maxViewerLossPct: number;
  /** payload kbit/s summed over viewers */
  kbpsTotal: number;
  /** median payload kbit/s of one viewer */
  kbpsPerViewer: number;
  framesDecoded: number | null;
}

function totals(viewers: readonly ViewerStats[]): LoadTotals {
  let framesDecoded: number | null = null;
  const t = { viewers: viewers.length, receiving: 0, failed: 0, packetsReceived: 0, packetsLost: 0, bytesReceived: 0 };
  for (const v of viewers) {
    if (v.state === 'failed') t.failed += 1;
    if (v.state === 'connected' && v.packetsReceived > 0) t.receiving += 1;
    t.packetsReceived += v.packetsReceived;
    t.packetsLost += v.packetsLost;
    t.bytesReceived += v.bytesReceived;
    if (v.framesDecoded !== null) framesDecoded = (framesDecoded ?? 0) + v.framesDecoded;
  }
  return { ...t, framesDecoded };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** What happened between two stats() of the same LoadViewers (viewers matched by index). */
export function loadWindow(before: LoadStats, after: LoadStats): LoadWindow {
  const seconds = (after.at - before.at) / 1000;
  const prior = new Map(before.viewers.map((v) => [v.index, v]));
  let received = 0;
  let lost = 0;
  let bytes = 0;
  let frames: number | null = null;
  let silent = 0;
  let worst = 0;
  const kbps: number[] = [];
  for (const v of after.viewers) {
    const p = prior.get(v.index);
    const r = v.packetsReceived - (p?.packetsReceived ?? 0);
    const l = Math.max(0, v.packetsLost - (p?.packetsLost ?? 0));
    const b = v.bytesReceived - (p?.bytesReceived ?? 0);
    received += r;
    lost += l;
    bytes += b;
    if (v.framesDecoded !== null) frames = (frames ?? 0) + v.framesDecoded - (p?.framesDecoded ?? 0);
    if (r <= 0) silent += 1;
    if (r + l > 0) worst = Math.max(worst, (100 * l) / (r + l));
    kbps.push(seconds > 0 ? (b * 8) / 1000 / seconds : 0);
  }
  return {
    seconds: round2(seconds),
    viewers: after.viewers.length,
    failed: after.viewers.filter((v) => v.state === 'failed').length,
    silent,
    packetsReceived: received,
    packetsLost: lost,
    lossPct: received + lost > 0 ? round2((100 * lost) / (received + lost)) : 0,
    maxViewerLossPct: round2(worst),
    kbpsTotal: seconds > 0 ? Math.round((bytes * 8) / 1000 / seconds) : 0,
    kbpsPerViewer: kbps.length ? Math.round(median(kbps)) : 0,
    framesDecoded: frames,
  };
}

let bundle: Promise<string> | undefined;

/** loadViewersPage.ts bundled for the browser (IIFE), built once per process. */
function pageBundle(): Promise<string> {
  bundle ??= esbuild
    .build({
      entryPoints: [PAGE_SOURCE],
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      target: ['chrome110'],
      // socket.io-client and debug check process.env.NODE_ENV; the browser has no process.
      define: { 'process.env.NODE_ENV': JSON.stringify('production') },
      logLevel: 'silent',
    })
    .then((result) => {
      const out = result.outputFiles[0];
      if (!out) throw new Error('esbuild produced no bundle for loadViewersPage.ts');
      return out.text;
    });
  bundle.catch(() => {
    bundle = undefined;
  });
  return bundle;
}

function pageHtml(system: LoadSystem): string {
  const vendor = system === 'janus' ? '<script src="/vendor/adapter.js"></script>\n<script src="/vendor/janus.js"></script>\n' : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>bench load viewers (${system})</title>
<link rel="icon" href="data:,">
${vendor}<script src="${JS_PATH}"></script>
</head>
<body style="margin:0;background:#000"></body>
</html>
`;
}


/** Calls window.c5BenchLoad.<method>(arg) in the page (a string: tsx's keepNames helpers do not exist in the page). */
function call<K extends keyof BenchLoadApi>(page: Page, method: K, arg?: unknown): Promise<Awaited<ReturnType<BenchLoadApi[K]>>> {
  return page.evaluate(`window.c5BenchLoad.${method}(${arg === undefined ? '' : JSON.stringify(arg)})`) as Promise<Awaited<ReturnType<BenchLoadApi[K]>>>;
}

export class LoadViewers {
  #closing: Promise<void> | undefined;

  private constructor(
    readonly system: LoadSystem,
    readonly count: number,
    private readonly context: BrowserContext,
    private readonly page: Page,
    /** Console errors and uncaught exceptions of the page (at most 50). */
    readonly errors: string[],
  ) {}

  static async open(chromium: { browser: Browser }, options: LoadViewersOptions): Promise<LoadViewers> {
    if (!Number.isInteger(options.count) || options.count < 1 || options.count > 1000) throw new Error('LoadViewers: count must be an integer from 1 to 1000');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    const common = { count: options.count, concurrency, decode: options.decode ?? false, timeoutMs, ...(options.abortAfterFailures !== undefined && { abortAfterFailures: options.abortAfterFailures }) };
    let origin: string;
    let pageOptions: PageOpenOptions;
    switch (options.system) {
      case 'c5': {
        origin = new URL(options.consoleUrl).origin;
        const token = typeof options.token === 'function' ? await options.token() : options.token;
        pageOptions = { ...common, system: 'c5', token, cameraId: options.cameraId };
        break;
      }
      case 'janus':
        origin = new URL(options.pageUrl).origin;
        pageOptions = { ...common, system: 'janus', janusApi: `http://127.0.0.1:${options.janusPort}/janus`, mountpointId: options.mountpointId ?? 1 };
        break;
      case 'rtspRelay':
        origin = `http://127.0.0.1:${options.port}`;
        pageOptions = { ...common, system: 'rtspRelay', wsUrl: `ws://127.0.0.1:${options.port}${options.path ?? '/stream'}` };
        break;
    }
    const js = await pageBundle();
    const html = pageHtml(options.system);
    const htmlUrl = `${origin}${HTML_PATH}`;
    const jsUrl = `${origin}${JS_PATH}`;

    // The page is fulfilled by Playwright, not by a loopback server, so Chromium's Local Network
    // Access checks would block its requests to 127.0.0.1 (WebSocket, fetch, XHR): grant them.
    const context = await chromium.browser.newContext({ viewport: { width: 640, height: 360 }, permissions: ['local-network-access'] });
    const errors: string[] = [];
    const note = (line: string) => {
      if (errors.length < 50) errors.push(line);
    };
    try {
      const fulfill = (type: string, body: string) => (route: Route) => route.fulfill({ status: 200, contentType: type, headers: { 'cache-control': 'no-store' }, body });
      await context.route((url) => url.href === htmlUrl, fulfill('text/html; charset=utf-8', html));
      await context.route((url) => url.href === jsUrl, fulfill('application/javascript', js));
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') note(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => note(`pageerror: ${e.message}`));
      await page.goto(htmlUrl);
      await page.waitForFunction('window.c5BenchLoad !== undefined', undefined, { timeout: 10_000 });
      const load = new LoadViewers(options.system, options.count, context, page, errors);
      try {
        // Page-side, every viewer gives up after timeoutMs; this only guards against a stuck page.
        const rounds = Math.ceil(options.count / Math.max(1, concurrency));
        await withTimeout(call(page, 'open', pageOptions), rounds * timeoutMs + 15_000, `opening ${options.count} ${options.system} viewers`);
        if (!options.tolerateFailures) {
          const stats = await load.stats();
          const bad = stats.viewers.filter((v) => v.state === 'failed' || v.packetsReceived === 0);
          if (bad.length > 0) {
            const reasons = [...new Set(bad.map((v) => v.error ?? v.state))].slice(0, 5).join('; ');
            throw new Error(`${bad.length} of ${options.count} ${options.system} viewers did not receive: ${reasons}${errors.length ? ` (page: ${errors.slice(0, 3).join(' | ')})` : ''}`);
          }
        }
        return load;
      } catch (error) {
        await load.close();
        throw error;
      }
    } catch (error) {
      await context.close().catch(() => undefined);
      throw error;
    }
  }

  /** Per-viewer counters and totals, read now. */
  async stats(): Promise<LoadStats> {
    const s: PageStats = await withTimeout(call(this.page, 'stats'), 30_000, 'load viewer stats');
    return { system: this.system, at: s.at, viewers: s.viewers, total: totals(s.viewers) };
  }

  /** Closes every viewer in the page (consumers, handles, sockets), then the browser context. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await withTimeout(call(this.page, 'close'), CLOSE_TIMEOUT_MS, 'closing load viewers').catch(() => undefined);
      await this.context.close().catch(() => undefined);
    })();
    return this.#closing;
  }
}
