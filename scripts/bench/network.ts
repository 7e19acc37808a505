/**
 * A console's address changes (issue #25): how long until every tile plays again when the session
 * is taken back and ICE restarts (resume), against the behaviour before it, every tile built again
 * on a new session (rebuild), with UDP allowed and with UDP dropped, in the same run.
 *
 *   npm run bench:network -- [--runs N] [--observe S] [--out DIR] [--json-only]
 *
 * Cameras: one simulator, 4 cameras 320x180 @ 15 fps, GOP 15 (1 s), H.264 Baseline, 200 kbit/s
 * (those of test/e2e/network.test.ts). Two apps on the same simulator (startTestApp, one mediasoup
 * worker each, ingests kept 60 s after their last viewer so a rebuilt session does not wait for an
 * ingest to start again):
 *   resume   today's code: signalling.resumeGraceMs 20000 (the default). The server keeps a session
 *            whose socket dropped for a network reason; the console takes it back with its resume
 *            token and restarts ICE on the same transport and consumers.
 *   rebuild  the peer, the behaviour before sessions survived a network change, reproduced with
 *            signalling.resumeGraceMs 0 (SESSION_RESUME_GRACE_MS=0): the server closes everything
 *            when the socket drops and the console builds every tile again on a new session.
 * Both listen on the root side of a veth (http.host = media.listenIp = the veth's address); one
 * headless Chromium in its own network namespace (test/support/NetnsBrowser.ts) is the console, a
 * supervisor's tablet (768x1024, touch) as in test (iii) of test/e2e/network.test.ts. No TURN server:
 * with UDP dropped the media goes over ICE-TCP to the server's WebRtcServer.
 *
 * One run: a fresh page (its own browser context) opens the console, waits until its 4 tiles are
 * live with a picture and plays 1 s; then the namespace's address changes (nb.changeAddress(): the
 * old address deleted, the next one added, sockets bound to the old one stop working). Measured from
 * just before the change: the time until every tile plays again, from test (iii)'s frame counts
 * (every tile's decoded frames, getVideoPlaybackQuality().totalVideoFrames of its shown <video>,
 * polled every 50 ms): a tile plays again at the first new frame of the first stretch of 10 new
 * frames without a 500 ms gap that follows a gap of 500 ms or more; every tile plays again when the
 * last one does. Test (iii)'s framesAfter itself (a tile plays again at its first new frame after
 * its longest gap, settled once each tile showed 10 more; test/support/frameRecovery.ts) is reported beside it
 * (framesAfterMs): it fits a resumed session, but a rebuilt tile's <video> is detached
 * (srcObject = null) when the socket drops, which changes its count once in the middle of the
 * outage, and framesAfter then ends the outage there, ~0.6 s before the new consumer's first frame.
 * The polling goes on for --observe seconds after the change (default 15) and every gap of 500 ms or
 * more after every tile played again is reported (laterGaps): with UDP allowed, ICE finds the new
 * address by itself within about a second, while the console's WebSocket, bound to the deleted
 * address, is only found dead at its ping timeout (up to pingInterval + pingTimeout, 9 s); then
 * resume takes the session back and restarts ICE, and rebuild builds every tile again: a second
 * outage. (windowMs: framesAfter's analysis over the whole window.) The
 * page closes (its session ends), the server is given up to 10 s to drop every socket, next run.
 * Variants alternate run by run (resume, rebuild, resume, ...), UDP allowed first, then UDP dropped
 * (nb.dropUdp() before the page opens: the console starts on ICE-TCP). Each variant's timeline
 * (window.c5.connectionLog(), ms after the change) is kept for every run; `typical` in the JSON is
 * the run nearest the variant's median.
 *
 * --runs N: runs per variant and network (default 5). --full changes nothing (the runs are the cost).
 * A 2-core machine shared with other work shows it in the numbers (load average in the JSON).
 *
 * stdout: the JSON result (benchmark 'network'), then one summary line. Progress goes to stderr.
 */
import type { Socket } from 'node:net';
import { cpus, loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { Simulator, type CameraConfig } from '../camsim/Simulator.ts';
import { startTestApp, type TestApp } from '../../test/support/pipelineApp.ts';
import { consoleTiles, openConsole, type ConsoleTile } from '../../test/support/browser.ts';
import { NetnsBrowser } from '../../test/support/NetnsBrowser.ts';
import { Cleanups } from './Cleanups.ts';
import { benchmarkCommandLine, sleep } from './host.ts';
import { logger, report } from './report.ts';
import { median, percentile, round1 } from './stats.ts';
import type { PlotSpec } from './plot.ts';
import { FRAME_COUNTS, recoveryOf, type Recovery as RecoveryWithSettled } from '../../test/support/frameRecovery.ts';

type Recovery = Omit<RecoveryWithSettled, 'settled'>;

const CAMERAS = [1, 2, 3, 4].map((n) => ({ id: `bn-${n}`, tag: 70 + n }));
const CAMERA = { codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15, bitrateKbps: 200 } as const;
const SIM_CONFIG = { cameras: CAMERAS.map((c): CameraConfig => ({ id: c.id, tag: c.tag, ...CAMERA })) };
const TABLET = { width: 768, height: 1024 } as const;
const RESUME_GRACE_MS = 20_000;
const LIVE_TIMEOUT_MS = 30_000;
const RECOVERY_TIMEOUT_MS = 30_000;
/** A gap between new frames this long is an outage (15 fps: 7.5 frame intervals). */
const MIN_GAP_MS = 500;
const VARIANTS = ['resume', 'rebuild'] as const;
type Variant = (typeof VARIANTS)[number];
const NETWORKS = ['udpAllowed', 'udpDropped'] as const;
type Network = (typeof NETWORKS)[number];

const args = benchmarkCommandLine({ runs: { type: 'string' }, observe: { type: 'string' } }, (flags) => ({
  runs: flags.integer('runs', { min: 1, max: 50, fallback: 5 }),
  observeSeconds: flags.number('observe', { min: 0, max: 120, fallback: 15 }),
}));
const log = logger(args);
const failures: string[] = [];
const cleanups = new Cleanups();
/** The apps' mediasoup workers: one with an ICE-TCP connection to the vanished address is killed by the app 2 s after its close, on a timer this process must outlive. */
const workerPids: number[] = [];

async function workersGone(): Promise<void> {
  const alive = () => workerPids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  const deadline = Date.now() + 5000;
  while (alive().length > 0 && Date.now() < deadline) await sleep(100);
  for (const pid of alive()) {
    process.stderr.write(`bench: mediasoup worker ${pid} still running 5 s after its app closed: killed\n`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}


/**
 * When each tile plays again for good: the first new frame of the first stretch of at least 10 new
 * frames without a gap of `minGapMs` that follows a gap of `minGapMs` (the outage). Unlike
 * framesAfter's "first frame after the longest gap", a lone count change inside the outage (a
 * rebuilt tile's <video> detached, srcObject = null, bumps its count once) does not end it. A tile
 * that never stopped for `minGapMs` keeps framesAfter's value. Undefined until every tile has one.
 */
function playingForGood(history: Array<{ at: number; counts: number[] }>, since: number, minGapMs: number, fallback: number[]): number[] | undefined {
  const perTile: number[] = [];
  for (let i = 0; i < history[0]!.counts.length; i++) {
    let lastChange = since;
    let stretchStart: number | undefined;
    let frames = 0;
    let outage = false;
    let found: number | undefined;
    for (let k = 1; k < history.length && found === undefined; k++) {
      const added = history[k]!.counts[i]! - history[k - 1]!.counts[i]!;
      if (!(added > 0) && !(history[k]!.counts[i]! > 0 && history[k - 1]!.counts[i]! > history[k]!.counts[i]!)) continue;
      const at = history[k]!.at;
      // A count that went down is a new <video>: what it shows now counts from 0.
      const gained = added > 0 ? added : history[k]!.counts[i]!;
      if (at - lastChange >= minGapMs) {
        outage = true;
        stretchStart = at;
        frames = 0;
      }
      lastChange = at;
      if (outage && stretchStart !== undefined) {
        frames += gained;
        if (frames >= 10) found = stretchStart - since;
      }
    }
    if (!outage) {
      // Never stopped for minGapMs: framesAfter's answer, once it has one.
      if (!(fallback[i]! > 0)) return undefined;
      perTile.push(fallback[i]!);
    } else if (found === undefined) return undefined;
    else perTile.push(found);
  }
  return perTile;
}

/** Gaps of at least `minMs` between new frames of any tile that start after `fromMs` (ms from `since`). */
function gapsAfter(history: Array<{ at: number; counts: number[] }>, since: number, fromMs: number, minMs: number): Array<{ tile: number; startMs: number; ms: number }> {
  const found: Array<{ tile: number; startMs: number; ms: number }> = [];
  for (let i = 0; i < history[0]!.counts.length; i++) {
    let lastChange: number | undefined;
    for (let k = 1; k < history.length; k++) {
      if (history[k]!.counts[i]! > history[k - 1]!.counts[i]!) {
        const at = history[k]!.at;
        if (lastChange !== undefined && lastChange - since >= fromMs && at - lastChange >= minMs) found.push({ tile: i, startMs: lastChange - since, ms: at - lastChange });
        lastChange = at;
      }
    }
  }
  return found;
}

/**
 * Polls every tile's decoded frames every 50 ms from `since` on, until test (iii)'s framesAfter
 * settles (`first`: its result) and at least `observeMs` have passed since `since` (`window`: the
 * same analysis over the whole window, which catches a later, longer outage such as a socket that
 * is only found dead at its ping timeout), and the gaps of 500 ms or more after `first`.
 */
async function framesAfter(
  page: Page,
  since: number,
  timeoutMs: number,
  observeMs: number,
): Promise<{ first: Recovery; forGood: { allPlayingMs: number; perTileMs: number[] }; window: Recovery; laterGaps: Array<{ tile: number; startMs: number; ms: number }> }> {
  const history: Array<{ at: number; counts: number[] }> = [];
  let first: Recovery | undefined;
  let forGood: number[] | undefined;
  for (;;) {
    history.push({ at: Date.now(), counts: (await page.evaluate(FRAME_COUNTS)) as number[] });
    const now = recoveryOf(history, since);
    if (now.settled && first === undefined) first = { allPlayingMs: now.allPlayingMs, perTileMs: now.perTileMs, longestGapMs: now.longestGapMs };
    if (first && forGood === undefined) forGood = playingForGood(history, since, MIN_GAP_MS, first.perTileMs);
    if (now.settled && first && forGood && Date.now() - since >= observeMs) {
      const { settled: _settled, ...window } = now;
      const allPlayingMs = Math.max(...forGood);
      return { first, forGood: { allPlayingMs, perTileMs: forGood }, window, laterGaps: gapsAfter(history, since, allPlayingMs + 1, MIN_GAP_MS) };
    }
    if (Date.now() - since > timeoutMs) throw new Error(`the tiles did not all play again within ${timeoutMs} ms: ${JSON.stringify({ perTile: now.perTileMs, gaps: now.longestGapMs, last: history.at(-1) })}`);
    await sleep(50);
  }
}

async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** Opens the console and waits until every camera's tile is live with a picture; ms from page.goto(). */
async function openLive(page: Page, url: string): Promise<{ liveMs: number; tiles: ConsoleTile[] }> {
  const started = Date.now();
  await openConsole(page, url, LIVE_TIMEOUT_MS);
  let last: ConsoleTile[] = [];
  try {
    last = await waitUntil('every tile live', LIVE_TIMEOUT_MS, async () => {
      const tiles = await consoleTiles(page);
      last = tiles;
      const live = tiles.filter((t) => t.cameraId && t.state === 'live' && t.videoWidth > 0);
      return live.length === CAMERAS.length ? tiles : undefined;
    }, 50);
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${JSON.stringify(last)}`);
  }
  return { liveMs: Date.now() - started, tiles: last };
}

interface RunResult {
  run: number;
  /** every tile playing again for good (playingForGood: the first stretch of 10 frames after the outage) */
  ms: number | null;
  /** test (iii)'s framesAfter exactly (first frame after the longest gap; fooled by a rebuilt tile's detach) */
  framesAfterMs?: number;
  framesAfterPerTileMs?: number[];
  /** the same analysis over the whole observation window (the end of each tile's longest gap in it) */
  windowMs?: number;
  /** gaps of 500 ms or more after the first recovery, within the window */
  laterGaps?: Array<{ tile: number; startMs: number; ms: number }>;
  perTileMs?: number[];
  longestGapMs?: number[];
  /** the console's connection after the change */
  /** resumed: the session was taken back; new: a new session (tiles rebuilt); kept: the socket never dropped within the window */
  session?: 'resumed' | 'new' | 'kept';
  media?: { state: string; iceRestarts: number; protocol: string | undefined; relayed: boolean };
  transportsBefore?: Array<string | undefined>;
  transportsAfter?: Array<string | undefined>;
  /** window.c5.connectionLog() from just before the change, ms after it */
  timeline?: string[];
  openLiveMs?: number;
  error?: string;
}

function appFor(sim: Simulator, nb: NetnsBrowser, variant: Variant): Promise<TestApp> {
  return startTestApp({
    http: { host: nb.hostAddress },
    media: { listenIp: nb.hostAddress, workers: 1 },
    ingest: { idleCloseMs: 60_000 },
    signalling: { resumeGraceMs: variant === 'resume' ? RESUME_GRACE_MS : 0 },
    cameras: CAMERAS.map((c) => ({ id: c.id, name: c.id, url: sim.url(c.id) })),
  });
}

async function oneRun(nb: NetnsBrowser, t: TestApp, run: number): Promise<RunResult> {
  const context = await nb.browser.newContext({ viewport: TABLET, hasTouch: true });
  const page = await context.newPage();
  try {
    const opened = await openLive(page, await t.consoleLink('supervisor'));
    await sleep(1000);
    const transportsBefore = (await consoleTiles(page)).filter((x) => x.cameraId).map((x) => x.transport);

    const changedAt = Date.now();
    await nb.changeAddress();
    const recovery = await framesAfter(page, changedAt, RECOVERY_TIMEOUT_MS + args.observeSeconds * 1000, args.observeSeconds * 1000);

    const media = (await page.evaluate('window.c5.media()')) as RunResult['media'];
    const transportsAfter = (await consoleTiles(page)).filter((x) => x.cameraId).map((x) => x.transport);
    const entries = (await page.evaluate('window.c5.connectionLog()')) as Array<{ at: number; event: string }>;
    const pageNow = (await page.evaluate('performance.now()')) as number;
    const changedInPage = pageNow - (Date.now() - changedAt);
    const after = entries.filter((e) => e.at >= changedInPage - 50);
    const session = after.some((e) => e.event.startsWith('session resumed')) ? 'resumed' : after.some((e) => /new session/.test(e.event)) ? 'new' : 'kept';
    return {
      run,
      ms: recovery.forGood.allPlayingMs,
      perTileMs: recovery.forGood.perTileMs,
      framesAfterMs: recovery.first.allPlayingMs,
      framesAfterPerTileMs: recovery.first.perTileMs,
      longestGapMs: recovery.first.longestGapMs,
      windowMs: recovery.window.allPlayingMs,
      laterGaps: recovery.laterGaps,
      session,
      media,
      transportsBefore,
      transportsAfter,
      timeline: after.map((e) => `${Math.round(e.at - changedInPage)} ${e.event}`),
      openLiveMs: opened.liveMs,
    };
  } finally {
    await context.close().catch(() => undefined);
    // The closed page ends its session (pagehide); a socket left on the old address goes at the ping timeout.
    await waitUntil('the server dropped every socket', 10_000, () => (t.app.signalling.connectionCount === 0 && t.app.signalling.detachedCount === 0 ? true : undefined), 100).catch(() => undefined);
  }
}

interface VariantSummary {
  p50Ms: number | null;
  maxMs: number | null;
  minMs: number | null;
  n: number;
  /** test (iii)'s framesAfter over the same runs */
  framesAfterP50Ms: number | null;
  framesAfterMaxMs: number | null;
  /** runs with a gap of 500 ms or more after every tile played again (within the observation window) */
  runsWithLaterGaps: number;
  /** the longest such gap, and when the last one ended (ms after the change), over the runs */
  laterGapMaxMs: number | null;
  laterGapEndMaxMs: number | null;
  sessions: Record<string, number>;
  /** the run nearest the median: its timeline (ms after the address change) */
  typical?: { run: number; ms: number | null; timeline: string[] | undefined; media: RunResult['media'] };
  runs: RunResult[];
}

function summarize(runs: RunResult[]): VariantSummary {
  const ok = runs.filter((r) => r.ms !== null).map((r) => r.ms!);
  const later = runs.flatMap((r) => r.laterGaps ?? []);
  const fa = runs.filter((r) => r.framesAfterMs !== undefined).map((r) => r.framesAfterMs!);
  const p50 = ok.length ? percentile(ok, 50) : NaN;
  const mid = median(ok);
  const typical = runs.filter((r) => r.ms !== null).sort((a, b) => Math.abs(a.ms! - mid) - Math.abs(b.ms! - mid))[0];
  const sessions: Record<string, number> = {};
  for (const r of runs) if (r.session) sessions[r.session] = (sessions[r.session] ?? 0) + 1;
  return {
    p50Ms: Number.isFinite(p50) ? p50 : null,
    maxMs: ok.length ? Math.max(...ok) : null,
    minMs: ok.length ? Math.min(...ok) : null,
    n: ok.length,
    framesAfterP50Ms: fa.length ? percentile(fa, 50) : null,
    framesAfterMaxMs: fa.length ? Math.max(...fa) : null,
    runsWithLaterGaps: runs.filter((r) => (r.laterGaps?.length ?? 0) > 0).length,
    laterGapMaxMs: later.length ? Math.max(...later.map((g) => g.ms)) : null,
    laterGapEndMaxMs: later.length ? Math.max(...later.map((g) => g.startMs + g.ms)) : null,
    sessions,
    ...(typical && { typical: { run: typical.run, ms: typical.ms, timeline: typical.timeline, media: typical.media } }),
    runs,
  };
}

async function main(): Promise<number> {
  const startedAt = Date.now();
  const loadBefore = loadavg().map((v) => round1(v));
  log(`network: ${args.runs} runs per variant and network; load average ${loadBefore.join(' ')}`);
  const [sim, nb] = await Promise.all([Simulator.start({ config: SIM_CONFIG as never }), NetnsBrowser.create({ viewport: TABLET })]);
  cleanups.add('the camera simulator', () => sim.stop());
  cleanups.add('the namespace browser', () => nb.close());
  const apps = {} as Record<Variant, TestApp>;
  for (const variant of VARIANTS) {
    const t = await appFor(sim, nb, variant);
    // A connection from an address the namespace no longer has never ends by itself: Socket.IO's
    // close waits for its WebSocket close handshake (ws: 30 s) and server.close() for the socket, past
    // the cleanup's time limit (the mediasoup worker would be left running). Destroyed first.
    const sockets = new Set<Socket>();
    t.app.web.server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    for (const w of t.app.media.workers) workerPids.push(w.worker.pid);
    cleanups.add(`the ${variant} app`, async () => {
      for (const socket of sockets) socket.destroy();
      await t.close();
    });
    apps[variant] = t;
  }
  // Warm-up (UDP allowed): every camera's ingest runs in both apps, so what is measured is the network's part.
  for (const variant of VARIANTS) {
    const context = await nb.browser.newContext({ viewport: TABLET });
    const page = await context.newPage();
    try {
      const warm = await openLive(page, await apps[variant].consoleLink('supervisor'));
      log(`warm-up ${variant}: every tile live after ${warm.liveMs} ms`);
    } finally {
      await context.close().catch(() => undefined);
    }
  }

  const results: Record<Network, Record<Variant, RunResult[]>> = { udpAllowed: { resume: [], rebuild: [] }, udpDropped: { resume: [], rebuild: [] } };
  for (const network of NETWORKS) {
    if (network === 'udpDropped') await nb.dropUdp();
    else await nb.allowAll();
    for (let run = 1; run <= args.runs; run++) {
      for (const variant of VARIANTS) {
        let r: RunResult;
        try {
          r = await oneRun(nb, apps[variant], run);
        } catch (error) {
          const message = (error as Error).message.slice(0, 600);
          failures.push(`${network} ${variant} run ${run}: ${message}`);
          r = { run, ms: null, error: message };
        }
        results[network][variant].push(r);
        log(`${network} ${variant} run ${run}: ${r.ms === null ? `failed (${r.error})` : `every tile playing again after ${r.ms} ms (framesAfter ${r.framesAfterMs} ms; ${r.session}; ${r.media?.protocol ?? '?'}, ICE restarts ${r.media?.iceRestarts ?? '?'})`}`);
        if (r.timeline) log(`    ${r.timeline.join('; ')}`);
      }
    }
  }
  await nb.allowAll();

  const summary = Object.fromEntries(NETWORKS.map((n) => [n, Object.fromEntries(VARIANTS.map((v) => [v, summarize(results[n][v])]))])) as Record<Network, Record<Variant, VariantSummary>>;
  for (const n of NETWORKS) {
    if (summary[n].resume.sessions.new) failures.push(`${n}: ${summary[n].resume.sessions.new} resume run(s) got a new session instead of resuming`);
    if (summary[n].rebuild.sessions.resumed) failures.push(`${n}: ${summary[n].rebuild.sessions.resumed} rebuild run(s) resumed`);
  }
  const s = (ms: number | null) => (ms === null ? '?' : (ms / 1000).toFixed(1));
  const pair = (v: VariantSummary) => `p50 ${s(v.p50Ms)} s (max ${s(v.maxMs)})`;
  const later = (v: VariantSummary) => `${v.runsWithLaterGaps}/${v.runs.length}${v.laterGapMaxMs === null ? '' : ` (max ${s(v.laterGapMaxMs)} s, over by ${s(v.laterGapEndMaxMs)} s)`}`;
  const line =
    `bench:network — address change, every tile playing again: resume ${pair(summary.udpAllowed.resume)}, rebuild ${pair(summary.udpAllowed.rebuild)}; ` +
    `UDP dropped: resume ${pair(summary.udpDropped.resume)}, rebuild ${pair(summary.udpDropped.rebuild)} ` +
    `(later outages of 0.5 s or more within ${args.observeSeconds} s: ${NETWORKS.map((n) => `${n === 'udpAllowed' ? 'UDP' : 'no UDP'} ${VARIANTS.map((v) => `${v} ${later(summary[n][v])}`).join(' / ')}`).join(', ')}; ` +
    `test (iii)'s framesAfter: ${NETWORKS.map((n) => `${n === 'udpAllowed' ? 'UDP' : 'no UDP'} ${VARIANTS.map((v) => `${v} ${s(summary[n][v].framesAfterP50Ms)}`).join(' / ')}`).join(', ')}; ` +
    `${args.runs} runs each, 4 cameras 320x180@15 GOP 1 s; load ${loadBefore[0]} -> ${round1(loadavg()[0]!)})`;

  const result = {
    setup: {
      cameras: { count: CAMERAS.length, ...CAMERA },
      console: { role: 'supervisor', viewport: TABLET, hasTouch: true },
      runs: args.runs,
      variants: {
        resume: `signalling.resumeGraceMs ${RESUME_GRACE_MS}: the session is taken back, ICE restarts`,
        rebuild: 'signalling.resumeGraceMs 0 (SESSION_RESUME_GRACE_MS=0): the session closes, every tile built again',
      },
      change: 'NetnsBrowser.changeAddress() (10.77.k.2 <-> .3), measured from just before it',
      observeSeconds: args.observeSeconds,
      measure: "every tile's decoded frames polled every 50 ms (test (iii)'s counts); a tile plays again at the first frame of the first stretch of 10 new frames without a 500 ms gap that follows a gap of 500 ms or more; all: the last tile. framesAfterMs: test (iii)'s framesAfter (first frame after the longest gap), which a rebuilt tile's detach fools",
      order: 'UDP allowed then UDP dropped; resume and rebuild alternate run by run; a fresh page (browser context) per run',
      noTurn: 'no TURN server: with UDP dropped, ICE-TCP to the server',
      loadAverage: { before: loadBefore, after: loadavg().map((v) => round1(v)) },
      cores: cpus().length,
      seconds: Math.round((Date.now() - startedAt) / 1000),
    },
    udpAllowed: summary.udpAllowed,
    udpDropped: summary.udpDropped,
  };
  const plot: PlotSpec = {
    title: 'Console address change: every tile playing again',
    subtitle: `4 cameras 320x180@15, GOP 1 s; p50 of ${args.runs} runs`,
    kind: 'bar',
    xLabel: 'network',
    yLabel: 's',
    series: VARIANTS.map((v) => ({
      label: v === 'resume' ? 'resume (session kept, ICE restart)' : 'rebuild (grace 0, every tile again)',
      points: NETWORKS.map((n) => ({ x: n === 'udpAllowed' ? 'UDP allowed' : 'UDP dropped', y: summary[n][v].p50Ms === null ? null : summary[n][v].p50Ms! / 1000 })),
    })),
  };
  return report(args, { name: 'network', result, summary: line, plots: plot, failures });
}

let code = 1;
try {
  code = await main();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
} finally {
  await cleanups.run();
  await workersGone();
}
process.exit(code);
