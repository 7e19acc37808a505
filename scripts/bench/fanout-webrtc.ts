/**
 * Fan-out with real WebRTC receivers: consumers of one 1 Mbit/s camera on ONE mediasoup worker,
 * watched by N receive-only viewers in Chromium (LoadViewers.ts), stepping N up until something
 * gives; and the same stepping for Janus (streaming plugin, same camera), for Janus's CPU per
 * WebRTC viewer alongside C5 Live's. The honest variant: every viewer does its own ICE, DTLS and
 * SRTP, so the load generator (Chromium) works hard too, and the benchmark says when IT ran out
 * rather than the worker. (The SRTP PlainTransport-sink variant is fanout-srtp.ts.)
 *
 *   node scripts/with-env.mjs tsx scripts/bench/fanout-webrtc.ts [--full] [--trials N] [--seconds S]
 *        [--steps 1,5,10,...] [--systems c5,janus] [--out DIR] [--json-only]
 *
 * Real parts: the camera simulator (1280x720@25 H.264 baseline, GOP 25, 1000 kbit/s asked; the
 * bitrate the viewers actually get is measured and reported), C5 Live with one media worker
 * (startTestApp, its ffmpeg ingest kept up between steps), Janus 1.1.2 (JanusPeer, pulling the same
 * camera over RTSP), Debian's Chromium. Viewers are receive-only: no <video>, and only keyframes
 * reach Chromium's decoder (see LoadViewers.ts: Chromium decodes a sink-less track otherwise).
 *
 * Pinning (taskset -apc, every thread): the mediasoup worker and Janus on core 0 (each measured
 * only while it is the system under test; Janus keeps pulling the camera meanwhile, ~1 stream);
 * Chromium (the browser and all its descendants, re-pinned every step), the C5 ingest ffmpeg, the
 * camera simulator and this process (mediasoup's Node side, Socket.IO) on core 1, the "load core".
 * Other processes on the machine are not pinned and show in the per-core busy shares.
 *
 * A step: open N viewers of the system in a fresh page (all must receive; setup time is noted),
 * wait --settle, then measure a --seconds window: CPU of the server process (mediasoup worker or
 * Janus; share of one core, /proc), of Chromium (all its processes), busy share of each core
 * (/proc/stat), and from getStats() inbound-rtp across viewers: packets received and lost, payload
 * kbit/s per viewer and in total. Then the viewers are closed. Systems alternate at every step
 * (C5 step k, Janus step k, C5 step k+1, ...; the order flips every trial). A system stops stepping
 * in a trial after a step with loss > 1% or viewers that never received, or with the server process
 * at >= 90% of its core, or with Chromium at >= 90% of the load core: then the report says the load
 * generator ran out, not the server. (Core busy shares, >= 95%, only attribute loss: other
 * processes on a shared machine float onto both cores.) A step gives up on opening after the
 * first few viewers fail (LoadViewers `abortAfterFailures`).
 *
 * Headline: CPU per viewer = least-squares slope of server CPU against viewers over the steps of a
 * trial with loss <= 1% (median over trials, min..max, n), for C5's worker and for Janus; plus the
 * intercept (the cost of the camera itself), Chromium's CPU per viewer, and why each system stopped.
 *
 * Quick (default): 2 trials, steps 1,20,40,80, 5 s windows (~4 min). --full: 3 trials, steps
 * 1,5,10,20,40,60,80,120, 8 s windows (~10 min).
 *
 * stdout: the JSON (also bench-results/fanout-webrtc.json) then one summary line; plot:
 * bench-results/fanout-webrtc.png (x viewers, y CPU % of one core, whiskers min..max over trials,
 * y2 loss %). Exit 1 when a peer or a step could not run.
 */
import { Simulator, descendants, type CameraConfig } from '../camsim/Simulator.ts';
import { startTestApp, type TestApp } from '../../test/support/pipelineApp.ts';
import { launchChromium, type LaunchedChromium } from '../../test/support/browser.ts';
import { JanusPeer } from './JanusPeer.ts';
import { LoadViewers, loadWindow, type LoadStats, type LoadViewersOptions, type LoadWindow } from './LoadViewers.ts';
import { Cleanups } from './Cleanups.ts';
import { benchmarkCommandLine, CpuMeter, cpuBusyShare, machineCpu, parentPid, pinAllToCore, pinToCore, processArgv, sleep, type CommonArgs } from './host.ts';
import { logger, report } from './report.ts';
import { formatSpread, median, round1, spread, type Spread } from './stats.ts';
import type { PlotSeries } from './plot.ts';

const SYSTEMS = ['c5', 'janus'] as const;
type System = (typeof SYSTEMS)[number];
const LABEL: Record<System, string> = { c5: 'C5 Live worker', janus: 'Janus' };

const SERVER_CORE = 0;
const LOAD_CORE = 1;
const LOSS_LIMIT_PCT = 1;
/** A process using this share of its core has saturated it. */
const PROCESS_LIMIT = 0.9;
/** A core this busy is saturated. */
const CORE_LIMIT = 0.95;
const VIEWER_TIMEOUT_MS = 20_000;

const CAMERA = {
  id: 'cam-fanout',
  tag: 9,
  codec: 'h264',
  profile: 'baseline',
  width: 1280,
  height: 720,
  fps: 25,
  gop: 25,
  bitrateKbps: 1000,
} as const satisfies CameraConfig;

interface Args extends CommonArgs {
  trials: number;
  seconds: number;
  settleSeconds: number;
  steps: number[];
  systems: System[];
}

function parseCli(): Args {
  return benchmarkCommandLine(
    {
      trials: { type: 'string' },
      seconds: { type: 'string' },
      settle: { type: 'string', default: '2' },
      steps: { type: 'string' },
      systems: { type: 'string', default: SYSTEMS.join(',') },
    },
    (flags, { full }) => ({
      trials: flags.integer('trials', { min: 1, max: 20, fallback: full ? 3 : 2 }),
      seconds: flags.number('seconds', { min: 1, max: 120, fallback: full ? 8 : 5 }),
      settleSeconds: flags.number('settle', { min: 0, max: 60 }),
      steps: flags.increasingIntegers('steps', { min: 1, max: 1000, fallback: full ? [1, 5, 10, 20, 40, 60, 80, 120] : [1, 20, 40, 80] }),
      systems: flags.names('systems', SYSTEMS, 'system'),
    }),
  );
}

/** A process's executable as its command line names it ('' when gone). */
const cmdline0 = (pid: number) => processArgv(pid)[0] ?? '';

/** The benchmark's Chromium: the chromium processes among our descendants, and everything under them. */
function chromiumPids(): number[] {
  const ours = descendants(process.pid);
  const chromium = new Set(ours.filter((pid) => /chrom/.test(cmdline0(pid))));
  const roots = [...chromium].filter((pid) => !chromium.has(parentPid(pid) ?? -1));
  return [...new Set(roots.flatMap((root) => [root, ...descendants(root)]))];
}

/** C5 Live's ffmpeg ingest: an ffmpeg among our descendants that is not the simulator's. */
function ingestPids(sim: Simulator): number[] {
  const simPids = new Set([sim.pid, ...descendants(sim.pid)]);
  return descendants(process.pid).filter((pid) => !simPids.has(pid) && /ffmpeg/.test(cmdline0(pid)));
}

interface StepResult {
  system: System;
  trial: number;
  viewers: number;
  /** ms to open all viewers (each receiving) */
  setupMs: number;
  /** server process (mediasoup worker / Janus), % of one core */
  serverCpuPct: number;
  /** all Chromium processes, % of one core */
  chromiumCpuPct: number;
  /** C5's ffmpeg ingest, % of one core (runs during Janus steps too) */
  ingestCpuPct: number;
  /** busy % of the server core and of the load core */
  serverCoreBusyPct: number | null;
  loadCoreBusyPct: number | null;
  window: LoadWindow;
  /** viewers failed or silent during the window */
  notReceiving: number;
  /** distinct errors of those viewers (at most 3) */
  viewerErrors: string[];
  /** why this step ends the stepping of this system in this trial (null: it does not) */
  stop: string | null;
}

interface Peers {
  sim: Simulator;
  c5: TestApp;
  janus: JanusPeer | undefined;
  chromium: LaunchedChromium;
  token: string;
  workerPid: number;
}

function loadOptions(system: System, peers: Peers, count: number): LoadViewersOptions {
  const common = { count, tolerateFailures: true, timeoutMs: VIEWER_TIMEOUT_MS, concurrency: 10, abortAfterFailures: Math.max(3, Math.ceil(count / 20)) };
  if (system === 'c5') return { ...common, system: 'c5', consoleUrl: peers.c5.app.consoleUrl, token: peers.token, cameraId: CAMERA.id };
  if (!peers.janus) throw new Error('janus is not running');
  return { ...common, system: 'janus', pageUrl: peers.janus.pageUrl, janusPort: peers.janus.janusPort };
}

/**
 * Why a step ends the stepping. Saturation by itself is judged on the processes (>= 90% of their
 * core): on a shared machine other processes float onto both cores, so a busy core alone says
 * little. A busy core (>= 95%) is used to attribute loss or failed viewers.
 */
function stopReason(r: Omit<StepResult, 'stop'>): string | null {
  const loadProcessOut = r.chromiumCpuPct >= PROCESS_LIMIT * 100;
  const serverProcessOut = r.serverCpuPct >= PROCESS_LIMIT * 100;
  const loadOut = loadProcessOut || (r.loadCoreBusyPct ?? 0) >= CORE_LIMIT * 100;
  const serverOut = serverProcessOut || (r.serverCoreBusyPct ?? 0) >= CORE_LIMIT * 100;
  const who =
    loadOut && serverOut ? 'both cores busy' : loadOut ? 'load core busy: the load generator (Chromium) ran out, not the server' : serverOut ? 'server core busy' : 'neither core saturated';
  const w = r.window;
  if (r.notReceiving > 0) return `${r.notReceiving} of ${w.viewers} viewers not receiving at ${r.viewers} (${who}${r.viewerErrors.length ? `; ${r.viewerErrors.join('; ')}` : ''})`;
  if (w.lossPct > LOSS_LIMIT_PCT) return `loss ${w.lossPct}% > ${LOSS_LIMIT_PCT}% at ${r.viewers} viewers (${who})`;
  if (loadProcessOut) return `the load generator (Chromium at ${r.chromiumCpuPct}% of core ${LOAD_CORE}) ran out at ${r.viewers} viewers, not the server`;
  if (serverProcessOut) return `the server process saturated its core (${r.serverCpuPct}%) at ${r.viewers} viewers`;
  return null;
}

function notReceiving(before: LoadStats, after: LoadStats): { notReceiving: number; viewerErrors: string[] } {
  const prior = new Map(before.viewers.map((v) => [v.index, v.packetsReceived]));
  const bad = after.viewers.filter((v) => v.state === 'failed' || v.packetsReceived <= (prior.get(v.index) ?? 0));
  return { notReceiving: bad.length, viewerErrors: [...new Set(bad.map((v) => v.error ?? v.state))].slice(0, 3) };
}

async function runStep(system: System, trial: number, count: number, peers: Peers, args: Args): Promise<StepResult> {
  const started = performance.now();
  const load = await LoadViewers.open(peers.chromium, loadOptions(system, peers, count));
  try {
    const setupMs = Math.round(performance.now() - started);
    // A new page may mean a new renderer: pin the whole browser again (and the server, new threads).
    await pinAllToCore(chromiumPids(), LOAD_CORE);
    const serverPid = system === 'c5' ? peers.workerPid : peers.janus!.pid!;
    await pinToCore(serverPid, SERVER_CORE);
    await sleep(args.settleSeconds * 1000);
    const before = await load.stats();
    const meter = CpuMeter.start({ server: [serverPid], chromium: chromiumPids(), ingest: ingestPids(peers.sim) });
    const coresA = machineCpu().cores;
    await sleep(args.seconds * 1000);
    const coresB = machineCpu().cores;
    const cpu = meter.stop();
    const after = await load.stats();
    const busy = (core: number) => {
      const a = coresA[core];
      const b = coresB[core];
      return a && b ? round1(100 * cpuBusyShare(a, b)) : null;
    };
    const result = {
      system,
      trial,
      viewers: count,
      setupMs,
      serverCpuPct: Math.round(cpu.server * 1000) / 10,
      chromiumCpuPct: Math.round(cpu.chromium * 1000) / 10,
      ingestCpuPct: Math.round(cpu.ingest * 1000) / 10,
      serverCoreBusyPct: busy(SERVER_CORE),
      loadCoreBusyPct: busy(LOAD_CORE),
      window: loadWindow(before, after),
      ...notReceiving(before, after),
    };
    return { ...result, stop: stopReason(result) };
  } finally {
    await load.close();
  }
}

/** Least-squares line y = a + b x; null with fewer than 2 distinct x. */
function fitLine(points: ReadonlyArray<{ x: number; y: number }>): { intercept: number; slope: number } | null {
  if (new Set(points.map((p) => p.x)).size < 2) return null;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const slope = sxy / sxx;
  return { intercept: my - slope * mx, slope };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** spread() with 3 decimals (per-viewer slopes are fractions of a percent). */
function spread3(values: readonly number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  return {
    median: finite.length ? round3(median(finite)) : null,
    min: finite.length ? round3(Math.min(...finite)) : null,
    max: finite.length ? round3(Math.max(...finite)) : null,
    n: finite.length,
  };
}

interface StepSummary {
  viewers: number;
  serverCpuPct: Spread;
  chromiumCpuPct: Spread;
  lossPct: Spread;
  kbpsTotal: Spread;
  kbpsPerViewer: Spread;
  setupMs: Spread;
  serverCoreBusyPct: Spread;
  loadCoreBusyPct: Spread;
  stoppedHere: string[];
}

function summarize(system: System, results: readonly StepResult[], steps: readonly number[]) {
  const mine = results.filter((r) => r.system === system);
  const perStep: StepSummary[] = [];
  for (const viewers of steps) {
    const at = mine.filter((r) => r.viewers === viewers);
    if (at.length === 0) continue;
    const s = (f: (r: StepResult) => number | null) => spread(at.map(f).filter((v): v is number => v !== null));
    perStep.push({
      viewers,
      serverCpuPct: s((r) => r.serverCpuPct),
      chromiumCpuPct: s((r) => r.chromiumCpuPct),
      lossPct: s((r) => r.window.lossPct),
      kbpsTotal: s((r) => r.window.kbpsTotal),
      kbpsPerViewer: s((r) => r.window.kbpsPerViewer),
      setupMs: s((r) => r.setupMs),
      serverCoreBusyPct: s((r) => r.serverCoreBusyPct),
      loadCoreBusyPct: s((r) => r.loadCoreBusyPct),
      stoppedHere: at.filter((r) => r.stop).map((r) => `trial ${r.trial}: ${r.stop}`),
    });
  }
  const trials = [...new Set(mine.map((r) => r.trial))];
  const fits = trials.map((trial) => {
    const clean = mine.filter((r) => r.trial === trial && r.window.lossPct <= LOSS_LIMIT_PCT && r.notReceiving === 0);
    return {
      trial,
      server: fitLine(clean.map((r) => ({ x: r.viewers, y: r.serverCpuPct }))),
      chromium: fitLine(clean.map((r) => ({ x: r.viewers, y: r.chromiumCpuPct }))),
      maxCleanViewers: clean.length ? Math.max(...clean.map((r) => r.viewers)) : 0,
      stop: mine.find((r) => r.trial === trial && r.stop)?.stop ?? 'steps exhausted (no limit reached)',
    };
  });
  const slopes = (pick: (f: (typeof fits)[number]) => number | undefined) => spread3(fits.map(pick).filter((v): v is number => v !== undefined));
  return {
    perStep,
    /** % of one core per added viewer (least-squares slope over the clean steps of each trial) */
    cpuPerViewerPct: slopes((f) => f.server?.slope),
    /** % of one core at 0 viewers by the same line (the camera itself) */
    interceptPct: spread(fits.map((f) => f.server?.intercept).filter((v): v is number => v !== undefined)),
    chromiumCpuPerViewerPct: slopes((f) => f.chromium?.slope),
    maxCleanViewers: spread(fits.map((f) => f.maxCleanViewers)),
    stoppedBy: fits.map((f) => `trial ${f.trial}: ${f.stop}`),
    fits: fits.map((f) => ({ trial: f.trial, slopePct: f.server ? round3(f.server.slope) : null, interceptPct: f.server ? round1(f.server.intercept) : null, chromiumSlopePct: f.chromium ? round3(f.chromium.slope) : null })),
  };
}

async function main(): Promise<number> {
  const args = parseCli();
  const log = logger(args);
  const cleanups = new Cleanups();
  const failures: string[] = [];
  const results: StepResult[] = [];
  let cameraCheck: Record<string, unknown> = {};
  try {
    await pinToCore(process.pid, LOAD_CORE);
    log(`fanout-webrtc: ${args.trials} trial(s), steps ${args.steps.join(',')}, ${args.seconds} s windows, systems ${args.systems.join(',')}`);
    const sim = await Simulator.start({ config: { cameras: [CAMERA] } });
    cleanups.add('the camera simulator', () => sim.stop());
    await pinAllToCore([sim.pid, ...descendants(sim.pid)], LOAD_CORE);
    const rtspUrl = sim.url(CAMERA.id);

    const c5 = await startTestApp({
      logLevel: 'info',
      media: { workers: 1 },
      // Keep the ingest up between C5 steps (Janus also pulls the camera all along).
      ingest: { idleCloseMs: 3_600_000 },
      cameras: [{ id: CAMERA.id, name: 'Fan-out camera', url: rtspUrl }],
    });
    cleanups.add('C5 Live', () => c5.close());
    const worker = c5.app.media.workers[0];
    if (!worker) throw new Error('C5 Live has no media worker');
    await pinToCore(worker.pid, SERVER_CORE);

    let janus: JanusPeer | undefined;
    if (args.systems.includes('janus')) {
      try {
        janus = await JanusPeer.start({ rtspUrl });
        cleanups.add('Janus', () => janus!.close());
        if (janus.pid === undefined) throw new Error('janus has no pid');
        await pinToCore(janus.pid, SERVER_CORE);
      } catch (error) {
        failures.push(`Janus could not start: ${error instanceof Error ? error.message : String(error)}`);
        janus = undefined;
      }
    }

    const chromium = await launchChromium();
    cleanups.add('Chromium', () => chromium.close());
    await pinAllToCore(chromiumPids(), LOAD_CORE);
    const peers: Peers = { sim, c5, janus, chromium, token: await c5.token('operator'), workerPid: worker.pid };
    const systems = args.systems.filter((s) => s !== 'janus' || janus);

    // Warm-up: bundle the page, start C5's ingest (then pin it), let Janus get its stream.
    for (const system of systems) {
      const load = await LoadViewers.open(chromium, { ...loadOptions(system, peers, 1), tolerateFailures: false, timeoutMs: 30_000 });
      const s = await load.stats();
      log(`  warm-up ${system}: first packet after ${s.viewers[0]?.firstPacketMs ?? '?'} ms`);
      await load.close();
    }
    await pinAllToCore(ingestPids(sim), LOAD_CORE);

    for (let trial = 1; trial <= args.trials; trial++) {
      const order = trial % 2 === 1 ? systems : [...systems].reverse();
      const stopped = new Set<System>();
      for (const viewers of args.steps) {
        for (const system of order) {
          if (stopped.has(system)) continue;
          try {
            await pinAllToCore(ingestPids(sim), LOAD_CORE);
            const r = await runStep(system, trial, viewers, peers, args);
            results.push(r);
            log(
              `  trial ${trial} ${system.padEnd(5)} ${String(viewers).padStart(4)} viewers: server ${r.serverCpuPct}% chromium ${r.chromiumCpuPct}% ` +
                `cores ${r.serverCoreBusyPct}%/${r.loadCoreBusyPct}% loss ${r.window.lossPct}% ${r.window.kbpsPerViewer} kbit/s/viewer ` +
                `(${r.window.kbpsTotal} total) setup ${r.setupMs} ms${r.stop ? ` -> STOP: ${r.stop}` : ''}`,
            );
            if (r.stop) stopped.add(system);
          } catch (error) {
            const what = `trial ${trial} ${system} ${viewers} viewers: ${error instanceof Error ? error.message : String(error)}`;
            log(`  FAILED ${what}`);
            failures.push(what);
            stopped.add(system);
          }
        }
      }
    }

    const kbps = (system: System) => spread(results.filter((r) => r.system === system).map((r) => r.window.kbpsPerViewer));
    const pps = (system: System) =>
      spread(results.filter((r) => r.system === system && r.window.seconds > 0).map((r) => r.window.packetsReceived / r.viewers / r.window.seconds));
    cameraCheck = {
      askedKbps: CAMERA.bitrateKbps,
      /** RTP payload kbit/s one viewer receives (median over every step; headers not counted) */
      receivedKbpsPerViewer: Object.fromEntries(systems.map((s) => [s, kbps(s)])),
      packetsPerSecondPerViewer: Object.fromEntries(systems.map((s) => [s, pps(s)])),
    };
  } catch (error) {
    failures.push(`setup: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    log('stopping everything');
    await cleanups.run();
  }

  const present = SYSTEMS.filter((s) => results.some((r) => r.system === s));
  const summaries = Object.fromEntries(present.map((s) => [s, summarize(s, results, args.steps)])) as Partial<Record<System, ReturnType<typeof summarize>>>;

  const series: PlotSeries[] = [];
  for (const s of present) {
    const sum = summaries[s]!;
    series.push({ label: `${LABEL[s]} CPU (core ${SERVER_CORE})`, points: sum.perStep.map((p) => ({ x: p.viewers, y: p.serverCpuPct.median, yMin: p.serverCpuPct.min, yMax: p.serverCpuPct.max })) });
  }
  for (const s of present) {
    const sum = summaries[s]!;
    series.push({ label: `Chromium CPU, ${s === 'c5' ? 'C5' : 'Janus'} viewers (core ${LOAD_CORE})`, points: sum.perStep.map((p) => ({ x: p.viewers, y: p.chromiumCpuPct.median, yMin: p.chromiumCpuPct.min, yMax: p.chromiumCpuPct.max })) });
  }
  for (const s of present) {
    const sum = summaries[s]!;
    series.push({ label: `loss % (${s === 'c5' ? 'C5' : 'Janus'})`, y2: true, points: sum.perStep.map((p) => ({ x: p.viewers, y: p.lossPct.median, yMin: p.lossPct.min, yMax: p.lossPct.max })) });
  }

  const c5s = summaries.c5;
  const js = summaries.janus;
  const camKbps = (cameraCheck.receivedKbpsPerViewer as Record<string, Spread> | undefined)?.c5;
  const summary =
    `fanout-webrtc (1280x720@25 camera, ${camKbps?.median ?? '?'} kbit/s payload per viewer; server on core ${SERVER_CORE}, Chromium on core ${LOAD_CORE}; ${args.trials} trial(s)): ` +
    (c5s ? `C5 worker ${formatSpread(c5s.cpuPerViewerPct, '%')} of a core per viewer (camera ${formatSpread(c5s.interceptPct, '%')}), up to ${formatSpread(c5s.maxCleanViewers)} viewers, ${c5s.stoppedBy.join(' / ')}` : 'C5: no result') +
    '; ' +
    (js ? `Janus ${formatSpread(js.cpuPerViewerPct, '%')} per viewer (camera ${formatSpread(js.interceptPct, '%')}), up to ${formatSpread(js.maxCleanViewers)} viewers, ${js.stoppedBy.join(' / ')}` : 'Janus: no result') +
    (c5s ? `; Chromium ${formatSpread(c5s.chromiumCpuPerViewerPct, '%')} per C5 viewer` : '');

  return report(args, {
    name: 'fanout-webrtc',
    result: {
      method:
        'N receive-only WebRTC viewers (LoadViewers, one Chromium page, keyframes-only decode) of one camera; server process pinned to core 0, Chromium + ingest + simulator + bench process to core 1; per step a window of CPU (/proc) and getStats inbound-rtp loss/bytes; CPU per viewer = least-squares slope over the steps with loss <= 1%.',
      camera: { ...CAMERA, ...cameraCheck },
      pinning: { serverCore: SERVER_CORE, onServerCore: ['mediasoup worker (C5 steps)', 'Janus (Janus steps; pulls the camera throughout)'], loadCore: LOAD_CORE, onLoadCore: ['Chromium (all processes)', 'C5 ffmpeg ingest', 'camera simulator', 'this process (mediasoup Node side, Socket.IO)'] },
      limits: { lossPct: LOSS_LIMIT_PCT, processShare: PROCESS_LIMIT, coreBusy: CORE_LIMIT },
      params: { trials: args.trials, steps: args.steps, windowSeconds: args.seconds, settleSeconds: args.settleSeconds, systems: args.systems },
      systems: summaries,
      steps: results,
    },
    summary,
    plots: {
      title: 'Fan-out to WebRTC viewers: server CPU per viewer (one 1 Mbit/s camera)',
      subtitle: `server pinned to core ${SERVER_CORE}, Chromium (load) to core ${LOAD_CORE}; median of ${args.trials} trial(s), whiskers min..max`,
      kind: 'line',
      xLabel: 'receive-only WebRTC viewers',
      yLabel: 'CPU, % of one core',
      y2Label: 'packet loss %',
      series,
    },
    failures,
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`fanout-webrtc: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
