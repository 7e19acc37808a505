/**
 * Streams per tile size, bandwidth caps and the low tier (issue #24): what a tablet-sized console
 * watching 4 cameras receives with substreams, with main streams and under a supervisor's cap
 * served by the low tier, against the rate the cameras themselves send (the floor a relay cannot go
 * under); then the CPU and memory of each low-tier transcode against one plain ffmpeg doing the same
 * transcode straight from RTSP (the native floor), in the same run.
 *
 *   npm run bench:streams -- [--quick] [--seconds N] [--transcode-seconds N] [--out DIR] [--json-only]
 *
 * Cameras: one simulator, 4 cameras each with a main stream (1280x720 @ 15 fps, GOP 1 s, H.264
 * Baseline, x264 target 1800 kbit/s) and a substream (a second mount: 640x360 @ 15 fps, 400 kbit/s).
 * Both scroll the SMPTE pattern (motion) so x264 stays near its target instead of coding a still
 * picture at a fraction of it.
 *
 * Part 1, a supervisor console in headless Chromium at a tablet viewport (1280x800, device scale
 * factor 1), layout 2x2 (4 tiles), each variant measured over a window of --seconds after all 4
 * tiles are live and steady (no switch under way):
 *   substreams  cameras with substreamUrl, supervisor cap 0 (off): the server's choice by tile size;
 *   main        the same console, each tile's stream menu set to Main (a no-gap switch), cap off;
 *   lowTier     a fresh app whose cameras have NO substream, supervisor cap 3000 kbit/s (the
 *               default), lowTier.max 4: the cap is held with the low tier (then refusals).
 * Measured in the page (an init script keeps every RTCPeerConnection the page makes; the console is
 * not changed): inbound-rtp bytesReceived of the video streams (payload, per stream id: its last
 * value minus its value at the window's start, 0 for a stream that started within it) and the
 * transport's bytesReceived (on the wire: RTP/RTCP headers, SRTP, DTLS), sampled every second; per
 * tile its stream (data-stream), the server's kbit/s for it (data-kbps) and its frames decoded per
 * second (framesDecoded of the inbound-rtp whose track the tile's <video> shows). The server's
 * measured session total (#bandwidth data-total-kbps) is averaged over the samples.
 * The floor: the producers' bitrate (CameraFeed.getStats().inBitrate, mediasoup's estimate of what
 * the ingest delivers) of exactly the streams the tiles receive, averaged over the same samples.
 *
 * Part 2, CPU per low-tier transcode: on the lowTier app, a Node Socket.IO client (operator, no
 * cap) consumes stream 'low' of 1, then 2, then 4 cameras (the consumers are not received: only
 * the transcode runs; each also holds its camera's main stream, one RTSP session). After a settle,
 * the CPU of the low-tier ffmpeg processes (CameraSession.ingestPid; /proc/<pid>/stat utime+stime
 * over --transcode-seconds) per transcode as % of one core, and their resident memory (VmRSS).
 * The peer: with every low tier stopped, one plain ffmpeg (the server's binary) reading the same
 * camera's main stream over RTSP/TCP and writing the low tier's output (lowTierOutputArgs: same
 * filter, libx264 settings and RTP packetization) to a UDP port of this process that discards it.
 *
 * Quick (--quick): 6 s windows, 6 s transcode windows. Default: 20 s and 15 s. A 2-core machine
 * shared with other work shows it in the numbers (the machine's busy share is in the JSON).
 *
 * stdout: the JSON result (benchmark 'streams'), then one summary line. Progress goes to stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { Simulator, type CameraConfig } from '../camsim/Simulator.ts';
import { startTestApp, type TestApp } from '../../test/support/pipelineApp.ts';
import { collectPageErrors, launchChromium, openConsole, type LaunchedChromium } from '../../test/support/browser.ts';
import { connectClient, ok, type ClientSocket } from '../../test/support/signallingClient.ts';
import type { ConfigInput } from '../../server/config/schema.ts';
import { lowTierOutputArgs } from '../../server/cameras/LowTierIngest.ts';
import { ffmpegPath } from '../../server/toolchain.ts';
import { Cleanups } from './Cleanups.ts';
import { benchmarkCommandLine, cpuBusyShare, CpuMeter, machineCpu, rssMb, sleep } from './host.ts';
import { logger, report } from './report.ts';
import { median, round1 } from './stats.ts';
import type { PlotSpec } from './plot.ts';

const FPS = 15;
const MAIN = { codec: 'h264', profile: 'baseline', width: 1280, height: 720, fps: FPS, gop: FPS, bitrateKbps: 1800, pattern: 'smpte', motion: 4 } as const;
const SUB = { codec: 'h264', profile: 'baseline', width: 640, height: 360, fps: FPS, gop: FPS, bitrateKbps: 400, pattern: 'smpte', motion: 2 } as const;
const CAMERAS = [1, 2, 3, 4].map((n) => ({ id: `bs-${n}`, subId: `bs-${n}-sub`, name: `Bench streams ${n}`, tag: 240 + n }));
const SIM_CONFIG = {
  cameras: CAMERAS.flatMap((c): CameraConfig[] => [
    { id: c.id, tag: c.tag, ...MAIN },
    { id: c.subId, tag: c.tag + 100, ...SUB },
  ]),
};
const TABLET = { width: 1280, height: 800 } as const;
const SUPERVISOR_CAP_KBPS = 3000;
const LOW_TIER = { max: 4, width: 640, height: 360, kbps: 500, fps: 15 } as const;
const TRANSCODE_STEPS = [1, 2, 4] as const;
const SAMPLE_MS = 1000;
const LIVE_TIMEOUT_MS = 60_000;

/** Keeps every RTCPeerConnection of the page and reads their stats and the tiles (a string: nothing tsx adds can break it in the page). */
const PAGE_SCRIPT = String.raw`(() => {
  const Native = window.RTCPeerConnection;
  const pcs = [];
  class Kept extends Native {
    constructor(...args) { super(...args); pcs.push(this); }
  }
  window.RTCPeerConnection = Kept;
  window.__benchStreams = async () => {
    const inbound = [];
    let transportBytes = 0;
    for (const pc of pcs) {
      if (pc.connectionState === 'closed') continue;
      let report;
      try { report = await pc.getStats(); } catch { continue; }
      report.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') inbound.push({ id: s.id, bytes: s.bytesReceived || 0, frames: s.framesDecoded || 0, track: s.trackIdentifier || null });
        if (s.type === 'transport') transportBytes += s.bytesReceived || 0;
      });
    }
    const tiles = [...document.querySelectorAll('.tile[data-camera-id]')].map((el) => {
      const video = el.querySelector('video:not(.standby)');
      const track = video && video.srcObject ? video.srcObject.getVideoTracks()[0] : undefined;
      return {
        cameraId: el.dataset.cameraId,
        state: el.dataset.state,
        stream: el.dataset.stream,
        kbps: el.dataset.kbps === undefined ? null : Number(el.dataset.kbps),
        switching: el.dataset.switching === 'true',
        track: track ? track.id : null,
        width: video ? video.videoWidth : 0,
        height: video ? video.videoHeight : 0,
        tileWidth: Math.round(el.getBoundingClientRect().width * devicePixelRatio),
        tileHeight: Math.round(el.getBoundingClientRect().height * devicePixelRatio),
      };
    });
    const bw = document.querySelector('#bandwidth');
    const num = (v) => (v === undefined || v === '' ? null : Number(v));
    return { at: performance.now(), inbound, transportBytes, tiles, totalKbps: bw ? num(bw.dataset.totalKbps) : null, capKbps: bw ? num(bw.dataset.capKbps) : null };
  };
})()`;

interface PageSample {
  at: number;
  inbound: Array<{ id: string; bytes: number; frames: number; track: string | null }>;
  transportBytes: number;
  tiles: Array<{ cameraId: string; state: string; stream: string | undefined; kbps: number | null; switching: boolean; track: string | null; width: number; height: number; tileWidth: number; tileHeight: number }>;
  totalKbps: number | null;
  capKbps: number | null;
}

interface Args {
  full: boolean;
  out: string;
  jsonOnly: boolean;
  quick: boolean;
  windowSeconds: number;
  transcodeSeconds: number;
  settleSeconds: number;
}

const args: Args = benchmarkCommandLine(
  {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    'transcode-seconds': { type: 'string' },
  },
  (flags) => {
    const quick = flags.values.quick === true;
    return {
      quick,
      windowSeconds: flags.number('seconds', { min: 2, max: 600, fallback: quick ? 6 : 20 }),
      transcodeSeconds: flags.number('transcode-seconds', { min: 2, max: 600, fallback: quick ? 6 : 15 }),
      settleSeconds: quick ? 3 : 5,
    };
  },
);
const log = logger(args);
const failures: string[] = [];
const cleanups = new Cleanups();

async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(250);
  }
}

function appConfig(sim: Simulator, variant: 'substreams' | 'lowTier'): ConfigInput {
  return {
    media: { workers: 1 },
    bandwidth: { capKbps: { supervisor: variant === 'lowTier' ? SUPERVISOR_CAP_KBPS : 0 }, sampleMs: SAMPLE_MS },
    lowTier: LOW_TIER,
    cameras: CAMERAS.map((c) => ({
      id: c.id,
      name: c.name,
      url: sim.url(c.id),
      ...(variant === 'substreams' && { substreamUrl: sim.url(c.subId) }),
    })),
  } as ConfigInput;
}

async function producerKbps(t: TestApp, cameraId: string, stream: string): Promise<number | null> {
  const feed = t.app.cameras.session(cameraId, stream as 'main' | 'sub' | 'low')?.feed;
  if (!feed) return null;
  return (await feed.getStats()).inBitrate / 1000;
}

async function readPage(page: Page): Promise<PageSample> {
  return (await page.evaluate('window.__benchStreams()')) as PageSample;
}

async function openTabletConsole(chromium: LaunchedChromium, t: TestApp): Promise<{ page: Page; errors: string[] }> {
  const page = await chromium.newPage();
  await page.addInitScript(PAGE_SCRIPT);
  const errors = collectPageErrors(page);
  await openConsole(page, await t.consoleLink('supervisor'), 30_000);
  await page.click('#layouts button[data-layout="4"]').catch(() => undefined);
  return { page, errors };
}

/** Waits until `count` tiles are live with a stream and none is switching (or `want` holds); returns the last sample. */
async function waitSteady(page: Page, what: string, want: (s: PageSample) => boolean, timeoutMs = LIVE_TIMEOUT_MS): Promise<PageSample> {
  let last: PageSample | undefined;
  try {
    return await waitUntil(what, timeoutMs, async () => {
      last = await readPage(page);
      return want(last) ? last : undefined;
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}; tiles ${JSON.stringify(last?.tiles.map((t) => ({ id: t.cameraId, state: t.state, stream: t.stream, switching: t.switching })))}`);
  }
}

const allLive = (streams?: string) => (s: PageSample) =>
  s.tiles.length === CAMERAS.length && s.tiles.every((t) => t.state === 'live' && t.stream !== undefined && !t.switching && t.track !== null && (streams === undefined || t.stream === streams));

interface ConsoleMeasure {
  seconds: number;
  /** inbound-rtp bytesReceived summed over the video streams, over the window */
  bytesReceived: number;
  kbps: number | null;
  /** the transport's bytesReceived (headers, RTCP, SRTP, DTLS included) */
  wireKbps: number | null;
  /** the server's measured session total (#bandwidth data-total-kbps), mean over the samples */
  serverTotalKbps: number | null;
  capKbps: number | null;
  /** floor: the producers' rate of the streams the tiles receive, mean over the samples */
  producerKbps: number | null;
  /** kbps over producerKbps */
  overFloor: number | null;
  tiles: Array<{ cameraId: string; stream: string | undefined; tileSize: string; videoSize: string; serverKbps: number | null; producerKbps: number | null; fps: number | null; framesDecoded: number }>;
  streams: Record<string, number>;
  samples: number;
}

async function measureConsole(page: Page, t: TestApp, seconds: number): Promise<ConsoleMeasure> {
  const samples: PageSample[] = [];
  const producerSums: number[] = [];
  const perTileProducer = new Map<string, number[]>();
  const sampleOnce = async () => {
    const s = await readPage(page);
    samples.push(s);
    let sum = 0;
    for (const tile of s.tiles) {
      if (tile.stream === undefined) continue;
      const kbps = await producerKbps(t, tile.cameraId, tile.stream);
      if (kbps === null) continue;
      sum += kbps;
      const list = perTileProducer.get(tile.cameraId) ?? [];
      list.push(kbps);
      perTileProducer.set(tile.cameraId, list);
    }
    producerSums.push(sum);
  };
  const started = performance.now();
  await sampleOnce();
  while (performance.now() - started < seconds * 1000) {
    await sleep(Math.min(SAMPLE_MS, seconds * 1000 - (performance.now() - started)));
    await sampleOnce();
  }
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const elapsed = (last.at - first.at) / 1000;
  // Per inbound-rtp stream: its last value minus its value at the start (0 if it began within the window).
  const base = new Map(first.inbound.map((s) => [s.id, s]));
  const latest = new Map<string, PageSample['inbound'][number]>();
  for (const s of samples) for (const r of s.inbound) latest.set(r.id, r);
  let bytes = 0;
  for (const [id, r] of latest) bytes += r.bytes - (base.get(id)?.bytes ?? 0);
  const byTrackStart = new Map(first.inbound.filter((r) => r.track).map((r) => [r.track!, r.frames]));
  const byTrackEnd = new Map(last.inbound.filter((r) => r.track).map((r) => [r.track!, r.frames]));
  const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);
  const serverTotals = samples.map((s) => s.totalKbps).filter((v): v is number => v !== null);
  const tiles = last.tiles.map((tile) => {
    const frames = tile.track ? (byTrackEnd.get(tile.track) ?? 0) - (byTrackStart.get(tile.track) ?? 0) : 0;
    const serverKbps = samples.map((s) => s.tiles.find((x) => x.cameraId === tile.cameraId)?.kbps).filter((v): v is number => typeof v === 'number');
    return {
      cameraId: tile.cameraId,
      stream: tile.stream,
      tileSize: `${tile.tileWidth}x${tile.tileHeight}`,
      videoSize: `${tile.width}x${tile.height}`,
      serverKbps: serverKbps.length ? round1(mean(serverKbps)) : null,
      producerKbps: round1(mean(perTileProducer.get(tile.cameraId) ?? [])),
      fps: round1(frames / elapsed),
      framesDecoded: frames,
    };
  });
  const streams: Record<string, number> = {};
  for (const tile of last.tiles) if (tile.stream) streams[tile.stream] = (streams[tile.stream] ?? 0) + 1;
  const kbps = (bytes * 8) / elapsed / 1000;
  const floor = mean(producerSums);
  return {
    seconds: round1(elapsed) ?? 0,
    bytesReceived: bytes,
    kbps: round1(kbps),
    wireKbps: round1(((last.transportBytes - first.transportBytes) * 8) / elapsed / 1000),
    serverTotalKbps: serverTotals.length ? round1(mean(serverTotals)) : null,
    capKbps: last.capKbps,
    producerKbps: round1(floor),
    overFloor: floor > 0 ? Math.round((kbps / floor) * 1000) / 1000 : null,
    tiles,
    streams,
    samples: samples.length,
  };
}

async function withApp<T>(sim: Simulator, variant: 'substreams' | 'lowTier', run: (t: TestApp) => Promise<T>): Promise<T> {
  const t = await startTestApp(appConfig(sim, variant));
  try {
    return await run(t);
  } finally {
    await t.close().catch((error: unknown) => log(`closing the ${variant} app: ${(error as Error).message}`));
  }
}

/** Part 1: substreams and main in one console, then the low tier under the cap in another app. */
async function consoleVariants(sim: Simulator, chromium: LaunchedChromium): Promise<Record<string, ConsoleMeasure | { error: string }>> {
  const out: Record<string, ConsoleMeasure | { error: string }> = {};
  const settle = () => sleep(args.settleSeconds * 1000);
  await withApp(sim, 'substreams', async (t) => {
    const { page, errors } = await openTabletConsole(chromium, t);
    try {
      log('substreams: waiting for 4 live tiles');
      await waitSteady(page, 'substreams: 4 live tiles', allLive());
      await settle();
      await waitSteady(page, 'substreams: steady', allLive());
      out.substreams = await measureConsole(page, t, args.windowSeconds);
      log(`substreams: ${JSON.stringify({ kbps: (out.substreams as ConsoleMeasure).kbps, streams: (out.substreams as ConsoleMeasure).streams })}`);
    } catch (error) {
      out.substreams = { error: (error as Error).message };
      failures.push(`substreams: ${(error as Error).message}`);
    }
    try {
      log('main: choosing Main in every tile menu');
      for (const c of CAMERAS) await page.selectOption(`.tile[data-camera-id="${c.id}"] select.tile-stream-select`, 'main');
      await waitSteady(page, 'main: 4 live tiles on main', allLive('main'));
      await settle();
      await waitSteady(page, 'main: steady', allLive('main'));
      out.main = await measureConsole(page, t, args.windowSeconds);
      log(`main: ${JSON.stringify({ kbps: (out.main as ConsoleMeasure).kbps, streams: (out.main as ConsoleMeasure).streams })}`);
    } catch (error) {
      out.main = { error: (error as Error).message };
      failures.push(`main: ${(error as Error).message}`);
    }
    if (errors.length) log(`page errors (substreams/main): ${errors.slice(0, 5).join(' | ')}`);
    await page.context().close();
  });
  return out;
}

/** Part 1 (c) and part 2 on the app whose cameras have no substream. */
async function lowTierRuns(sim: Simulator, chromium: LaunchedChromium): Promise<{ console: ConsoleMeasure | { error: string }; transcode: TranscodeResult }> {
  return withApp(sim, 'lowTier', async (t) => {
    let consoleResult: ConsoleMeasure | { error: string };
    const { page, errors } = await openTabletConsole(chromium, t);
    try {
      log(`lowTier: waiting for 4 live tiles under the ${SUPERVISOR_CAP_KBPS} kbit/s cap`);
      await waitSteady(page, 'lowTier: 4 live tiles', allLive());
      await sleep(args.settleSeconds * 1000);
      await waitSteady(page, 'lowTier: steady', allLive());
      consoleResult = await measureConsole(page, t, args.windowSeconds);
      log(`lowTier: ${JSON.stringify({ kbps: consoleResult.kbps, streams: consoleResult.streams })}`);
    } catch (error) {
      consoleResult = { error: (error as Error).message };
      failures.push(`lowTier: ${(error as Error).message}`);
    }
    if (errors.length) log(`page errors (lowTier): ${errors.slice(0, 5).join(' | ')}`);
    await page.context().close();
    // Every low tier of the console stops (idle close 0) before part 2 starts its own.
    await waitUntil('the console low tiers stopped', 30_000, () => (CAMERAS.every((c) => (t.app.cameras.status(c.id, 'low')?.state ?? 'idle') === 'idle') ? true : undefined)).catch((error: unknown) => failures.push((error as Error).message));
    const transcode = await transcodeCpu(sim, t);
    return { console: consoleResult, transcode };
  });
}

interface TranscodeStep {
  transcodes: number;
  seconds: number;
  /** % of one core, all the low-tier ffmpeg processes together */
  totalCpuPercent: number | null;
  /** % of one core per transcode */
  cpuPercentEach: number | null;
  rssMbEach: number | null;
  /** the low tier's producer rate per camera (kbit/s), checking each transcode runs */
  lowKbps: Array<number | null>;
  machineBusyPercent: number | null;
}

interface TranscodeResult {
  steps: TranscodeStep[];
  direct: { cpuPercent: number | null; rssMb: number | null; seconds: number; machineBusyPercent: number | null; command: string[] } | { error: string };
}

async function measurePids(pids: number[], seconds: number): Promise<{ cpuPercent: number; rss: number[]; busy: number }> {
  const before = machineCpu();
  const meter = CpuMeter.start({ all: pids });
  const rss: number[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    await sleep(Math.min(1000, end - Date.now()));
    rss.push(...pids.map((pid) => rssMb(pid)));
  }
  const cpu = meter.stop({ round: false });
  return { cpuPercent: cpu.all * 100, rss: rss.filter((v) => v > 0), busy: cpuBusyShare(before.all, machineCpu().all) };
}

async function transcodeCpu(sim: Simulator, t: TestApp): Promise<TranscodeResult> {
  const steps: TranscodeStep[] = [];
  let socket: ClientSocket | undefined;
  try {
    socket = await connectClient(t.app.consoleUrl, await t.token('operator'));
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    let consumed = 0;
    for (const n of TRANSCODE_STEPS) {
      for (; consumed < n; consumed++) {
        const cameraId = CAMERAS[consumed]!.id;
        await ok(socket, 'consume', { transportId: transport.id, cameraId, rtpCapabilities: rtpCapabilities as never, stream: 'low' });
      }
      const ids = CAMERAS.slice(0, n).map((c) => c.id);
      const pids = await waitUntil(`${n} low-tier transcodes live`, LIVE_TIMEOUT_MS, () => {
        const list = ids.map((id) => (t.app.cameras.status(id, 'low')?.state === 'live' ? t.app.cameras.session(id, 'low')?.ingestPid : undefined));
        return list.every((p) => p !== undefined) ? (list as number[]) : undefined;
      });
      await sleep(args.settleSeconds * 1000);
      log(`transcode: ${n} low tier(s), pids ${pids.join(',')}`);
      const m = await measurePids(pids, args.transcodeSeconds);
      const lowKbps = await Promise.all(ids.map(async (id) => round1((await producerKbps(t, id, 'low')) ?? NaN)));
      steps.push({
        transcodes: n,
        seconds: args.transcodeSeconds,
        totalCpuPercent: round1(m.cpuPercent),
        cpuPercentEach: round1(m.cpuPercent / n),
        rssMbEach: m.rss.length ? round1(median(m.rss)) : null,
        lowKbps,
        machineBusyPercent: round1(m.busy * 100),
      });
      log(`transcode: ${n}: ${round1(m.cpuPercent / n)} % core each`);
    }
  } catch (error) {
    failures.push(`low-tier transcodes: ${(error as Error).message}`);
  } finally {
    socket?.close();
  }
  await waitUntil('every low tier stopped', 30_000, () => (CAMERAS.every((c) => (t.app.cameras.status(c.id, 'low')?.state ?? 'idle') === 'idle' && (t.app.cameras.status(c.id, 'main')?.state ?? 'idle') === 'idle') ? true : undefined)).catch((error: unknown) => failures.push((error as Error).message));
  return { steps, direct: await directFfmpeg(sim) };
}

/** The native floor: one ffmpeg transcoding camera 1 straight from RTSP to the low tier's output, sent to a UDP sink. */
async function directFfmpeg(sim: Simulator): Promise<TranscodeResult['direct']> {
  const sinks: UdpSocket[] = [];
  let child: ChildProcess | undefined;
  const stderr: string[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const s = createSocket('udp4');
      s.on('message', () => undefined);
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      sinks.push(s);
      ports.push((s.address() as AddressInfo).port);
    }
    const command = [
      '-hide_banner', '-nostdin', '-loglevel', 'error',
      '-fflags', 'nobuffer', '-flags', 'low_delay',
      '-rtsp_transport', 'tcp', '-i', sim.url(CAMERAS[0]!.id),
      '-map', '0:v:0', '-an', '-sn', '-dn',
      ...lowTierOutputArgs(LOW_TIER, { ip: '127.0.0.1', rtpPort: ports[0]!, rtcpPort: ports[1]! } as never, 0x5eed, 96),
    ];
    const bin = process.env.FFMPEG_BIN ?? ffmpegPath();
    child = spawn(bin, command, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(...chunk.toString().split('\n').filter(Boolean)));
    let packets = 0;
    sinks[0]!.on('message', () => packets++);
    await waitUntil('the direct ffmpeg sending', 30_000, () => (packets > 0 ? true : child!.exitCode !== null ? (() => { throw new Error(`ffmpeg exited ${child!.exitCode}: ${stderr.slice(-3).join(' | ')}`); })() : undefined));
    await sleep(args.settleSeconds * 1000);
    log(`direct ffmpeg: pid ${child.pid}`);
    const m = await measurePids([child.pid!], args.transcodeSeconds);
    if (child.exitCode !== null) throw new Error(`ffmpeg exited ${child.exitCode} during the window: ${stderr.slice(-3).join(' | ')}`);
    return { cpuPercent: round1(m.cpuPercent), rssMb: m.rss.length ? round1(median(m.rss)) : null, seconds: args.transcodeSeconds, machineBusyPercent: round1(m.busy * 100), command: [bin, ...command] };
  } catch (error) {
    failures.push(`direct ffmpeg: ${(error as Error).message}`);
    return { error: (error as Error).message };
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    for (const s of sinks) s.close();
  }
}

async function main(): Promise<number> {
  log(`streams: ${args.quick ? 'quick' : 'default'} run, ${args.windowSeconds} s console windows, ${args.transcodeSeconds} s transcode windows`);
  const sim = await Simulator.start({ config: SIM_CONFIG as never });
  cleanups.add('the camera simulator', () => sim.stop());
  const chromium = await launchChromium({ viewport: TABLET });
  cleanups.add('Chromium', () => chromium.close());

  const part1 = await consoleVariants(sim, chromium);
  const low = await lowTierRuns(sim, chromium);

  const sub = part1.substreams && 'kbps' in part1.substreams ? part1.substreams : undefined;
  const main = part1.main && 'kbps' in part1.main ? part1.main : undefined;
  const lowConsole = 'kbps' in low.console ? low.console : undefined;
  const saving = sub?.kbps && main?.kbps ? Math.round((1 - sub.kbps / main.kbps) * 1000) / 10 : null;
  const oneStep = low.transcode.steps.find((s) => s.transcodes === 1);
  const eachAll = low.transcode.steps.map((s) => `${s.transcodes}: ${s.cpuPercentEach}%`).join(', ');
  const direct = 'cpuPercent' in low.transcode.direct ? low.transcode.direct : undefined;

  const result = {
    setup: {
      viewport: { ...TABLET, deviceScaleFactor: 1 },
      layout: '2x2',
      role: 'supervisor',
      mainStream: MAIN,
      substream: SUB,
      lowTier: LOW_TIER,
      supervisorCapKbps: { substreams: 0, main: 0, lowTier: SUPERVISOR_CAP_KBPS },
      windowSeconds: args.windowSeconds,
      transcodeSeconds: args.transcodeSeconds,
      bytes: 'inbound-rtp bytesReceived (video payload) summed over the window in the page; wireKbps: the transport bytesReceived',
      floor: 'producer inBitrate (CameraFeed.getStats) of the streams the tiles receive, mean over the window',
    },
    console: { substreams: part1.substreams, main: part1.main, lowTier: low.console },
    savingVsMainPercent: saving,
    transcode: low.transcode,
  };
  const summary =
    `streams: tablet 2x2 substreams ${sub?.kbps ?? '?'} kbit/s vs main ${main?.kbps ?? '?'} kbit/s (${saving ?? '?'}% less; cameras send ${sub?.producerKbps ?? '?'} vs ${main?.producerKbps ?? '?'}); ` +
    `low tier ${lowConsole?.kbps ?? '?'} kbit/s under cap ${SUPERVISOR_CAP_KBPS} (${lowConsole ? Object.entries(lowConsole.streams).map(([k, v]) => `${v} ${k}`).join(', ') : '?'}); ` +
    `low-tier transcode ${oneStep?.cpuPercentEach ?? '?'}% core each (${eachAll}) (ffmpeg direct ${direct?.cpuPercent ?? '?'}%)`;

  const bar = (label: string, m: ConsoleMeasure | undefined) => [
    { x: label, y: m?.kbps ?? null },
  ];
  const plots: Record<string, PlotSpec> = {
    console: {
      title: 'Tablet console, 4 cameras in 2x2: bit rate received',
      subtitle: `1280x800, main 1280x720@15, sub 640x360@15, low tier ${LOW_TIER.width}x${LOW_TIER.height} ${LOW_TIER.kbps} kbit/s; ${args.windowSeconds} s windows`,
      kind: 'bar',
      xLabel: 'variant',
      yLabel: 'kbit/s',
      series: [
        { label: 'received (inbound-rtp)', points: [...bar('substreams', sub), ...bar('main', main), ...bar(`cap ${SUPERVISOR_CAP_KBPS}`, lowConsole)] },
        { label: 'cameras send (producers)', points: [{ x: 'substreams', y: sub?.producerKbps ?? null }, { x: 'main', y: main?.producerKbps ?? null }, { x: `cap ${SUPERVISOR_CAP_KBPS}`, y: lowConsole?.producerKbps ?? null }] },
      ],
    },
    transcode: {
      title: 'CPU per low-tier transcode (1280x720@15 -> 640x360@15)',
      kind: 'bar',
      xLabel: 'transcodes',
      yLabel: '% of one core each',
      series: [
        { label: 'low tier (ffmpeg from the producer)', points: low.transcode.steps.map((s) => ({ x: String(s.transcodes), y: s.cpuPercentEach })) },
        { label: 'ffmpeg direct from RTSP', points: [{ x: '1', y: direct?.cpuPercent ?? null }] },
      ],
    },
  };
  return report({ ...args, full: !args.quick }, { name: 'streams', result, summary, plots, failures });
}

let code = 1;
try {
  code = await main();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
} finally {
  await cleanups.run();
}
process.exit(code);
