/**
 * Time to first frame: from a viewer's request (page navigation) to the first decoded frame of the
 * camera shown in the page, for C5 Live, Janus (streaming plugin) and rtsp-relay, warm and cold, on
 * a camera with a 1 s and one with a 2 s GOP.
 *
 *   npm run bench:ttff -- [--full] [--trials N] [--systems c5,janus,rtspRelay] [--out DIR] [--json-only]
 *
 * - warm: the camera is already being pulled when the viewer asks. C5 Live: the camera's ingest is
 *   live (a lease held, as for an always-on camera); Janus: the mountpoint exists and pulls the
 *   camera; rtsp-relay: another WebSocket client keeps its ffmpeg running.
 * - cold: nothing pulls the camera when the viewer asks. C5 Live: idle close 0 for the run, the
 *   session is idle; rtsp-relay: no client, no ffmpeg (it starts one per first client); Janus has no
 *   on-demand RTSP, so the viewer's page creates the mountpoint (Janus then connects to the camera)
 *   and watches it; the mountpoint is destroyed after the trial.
 *
 * The request is the page navigation, so every number includes loading the viewer's page and its
 * scripts from loopback, signalling and ICE/DTLS (C5 Live, Janus) or the WebSocket (rtsp-relay).
 * The first frame is the first frame shown whose stamp carries the camera's tag (a decoded, correct
 * picture; sampler.ts): C5 Live and Janus in requestVideoFrameCallback of the <video>, rtsp-relay in
 * JSMpeg's onVideoDecode after drawing into its canvas. Each trial opens a fresh browser context.
 *
 * The simulator's cameras honour keyframe requests: GStreamer's RTSP server turns an RTCP PLI into
 * a force-key-unit event for its x264enc (measured: a C5 Live viewer of a warm 10 s GOP camera had
 * its first frame 90-180 ms after resuming its consumer, not up to 10 s). So a warm C5 Live viewer
 * does not wait for the camera's GOP; Janus does (its streaming plugin does not ask the camera).
 *
 * Each request waits a random fraction of a GOP first, so it lands anywhere in the camera's GOP.
 * Trials alternate: for each round, GOP 1 s and 2 s, cold and warm, each system in turn (A B C A B C).
 * Quick mode 3 rounds, full mode 7; every number is the median over its trials with min-max and n.
 */
import type { Page } from 'playwright-core';
import { Simulator, type CameraConfig } from '../camsim/Simulator.ts';
import { startTestApp, type TestApp } from '../../test/support/pipelineApp.ts';
import { launchChromium, type LaunchedChromium } from '../../test/support/browser.ts';
import { RtspRelayPeer } from './RtspRelayPeer.ts';
import { JanusPeer } from './JanusPeer.ts';
import { samplerScript, type PageBench } from './sampler.ts';
import { Cleanups } from './Cleanups.ts';
import { benchmarkCommandLine, sleep } from './host.ts';
import { logger, report } from './report.ts';
import { spread, type Spread } from './stats.ts';
import type { PlotSpec } from './plot.ts';

const SYSTEMS = ['c5', 'janus', 'rtspRelay'] as const;
type System = (typeof SYSTEMS)[number];
const LABEL: Record<System, string> = { c5: 'C5 Live', janus: 'Janus', rtspRelay: 'rtsp-relay' };
const MODES = ['cold', 'warm'] as const;
type Mode = (typeof MODES)[number];
const GOPS = [1, 2] as const;
type Gop = (typeof GOPS)[number];

const camera = (gop: Gop) =>
  ({
    id: `cam-gop${gop}`,
    tag: 10 + gop,
    codec: 'h264',
    profile: 'baseline',
    width: 640,
    height: 360,
    fps: 25,
    gop: 25 * gop,
    bitrateKbps: 800,
    stamped: true,
  }) as const satisfies CameraConfig;

/** Janus mountpoint ids of the two cameras (mountpoint 1 is JanusPeer's always-on default). */
const JANUS_ID: Record<Gop, number> = { 1: 11, 2: 12 };
const FIRST_FRAME_TIMEOUT_MS = 30_000;
/** How long a warm source has been pulling before a warm trial starts. */
const WARM_MS = 2500;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Trial {
  system: System;
  gop: Gop;
  mode: Mode;
  round: number;
  firstFrameMs: number | null;
  /** ms after navigation of the start-up milestones the page showed (sampler.ts marks) */
  marks: Record<string, number>;
  error?: string;
}

/** Everything the trials run against, and how to put each camera in the warm or cold state. */
class Peers {
  c5 = new Map<Gop, { t: TestApp; userId: string; lease?: { release(): void } }>();
  janus: JanusPeer | undefined;
  relay: RtspRelayPeer | undefined;
  relayHolder: { page: Page; gop: Gop } | undefined;
  constructor(
    readonly sim: Simulator,
    readonly chromium: LaunchedChromium,
  ) {}

  async prepare(system: System, gop: Gop, mode: Mode): Promise<void> {
    const cam = camera(gop);
    if (system === 'c5') {
      const c5 = this.c5.get(gop)!;
      const state = () => c5.t.app.cameras.status(cam.id)?.state;
      if (mode === 'warm') {
        c5.lease ??= await c5.t.app.cameras.acquire(cam.id);
        await until(`C5 Live ${cam.id} live`, () => state() === 'live');
        await sleep(WARM_MS);
      } else {
        c5.lease?.release();
        c5.lease = undefined;
        await until(`C5 Live ${cam.id} idle`, () => state() === undefined || state() === 'idle' || state() === 'closed');
      }
    } else if (system === 'rtspRelay') {
      const url = this.sim.url(cam.id);
      if (this.relayHolder && (mode === 'cold' || this.relayHolder.gop !== gop)) {
        await this.relayHolder.page.context().close();
        this.relayHolder = undefined;
      }
      if (mode === 'warm') {
        if (!this.relayHolder) {
          // A second client that only reads the WebSocket (no decoding) keeps the relay's ffmpeg running.
          const page = await this.chromium.newPage();
          await page.evaluate(`window.hold = new WebSocket(${JSON.stringify(this.relay!.streamUrl(`gop${gop}`))})`);
          this.relayHolder = { page, gop };
        }
        await until(`rtsp-relay ffmpeg for ${cam.id}`, () => RtspRelayPeer.ffmpegPids(url).length > 0);
        await sleep(WARM_MS);
      } else {
        await until(`rtsp-relay ffmpeg for ${cam.id} gone`, () => RtspRelayPeer.ffmpegPids(url).length === 0);
      }
    } else {
      if (mode === 'warm') {
        await this.janus!.createMountpoint(JANUS_ID[gop]);
        await sleep(WARM_MS);
      } else {
        await this.janus!.destroyMountpoint(JANUS_ID[gop]);
      }
    }
  }

  async after(system: System, gop: Gop, mode: Mode): Promise<void> {
    if (system === 'janus' && mode === 'cold') await this.janus!.destroyMountpoint(JANUS_ID[gop]);
  }

  pageUrl(system: System, gop: Gop, mode: Mode): string {
    if (system === 'c5') {
      const c5 = this.c5.get(gop)!;
      const code = c5.t.app.loginCodes.issue({ userId: c5.userId, role: 'operator' });
      return `${c5.t.app.consoleUrl}/#code=${encodeURIComponent(code)}`;
    }
    if (system === 'rtspRelay') return this.relay!.playerUrl(`gop${gop}`);
    return this.janus!.playerUrl(JANUS_ID[gop], { create: mode === 'cold' });
  }
}

async function runTrial(peers: Peers, system: System, gop: Gop, mode: Mode, round: number): Promise<Trial> {
  const cam = camera(gop);
  await peers.prepare(system, gop, mode);
  // Without this the trials keep one rhythm and every request lands at the same point of the
  // camera's GOP (its encoder started with the first client): a random offset of up to one GOP
  // makes the wait for the next keyframe a fair draw.
  await sleep(Math.random() * gop * 1000);
  const page = await peers.chromium.newPage();
  try {
    const tileSelector = `[data-camera-id="${cam.id}"]`;
    await page.addInitScript({
      content: samplerScript(
        system === 'rtspRelay'
          ? { mode: 'canvas' }
          : { mode: 'video', selector: system === 'janus' ? '#janus-video' : `${tileSelector} video:not(.standby)`, untilTag: cam.tag, ...(system === 'c5' && { tileSelector }) },
      ),
    });
    const url = peers.pageUrl(system, gop, mode);
    const navigationStart = Date.now();
    await page.goto(url, { waitUntil: 'commit', timeout: 20_000 });
    try {
      await page.waitForFunction(`window.__bench && window.__bench.frames.some((f) => f.tag === ${cam.tag})`, undefined, {
        timeout: FIRST_FRAME_TIMEOUT_MS,
        polling: 10,
      });
    } catch {
      const state = await page.evaluate(`JSON.stringify({ janus: window.janusState, relay: window.relayState, bench: window.__bench && { frames: window.__bench.frames.length, marks: window.__bench.marks, errors: window.__bench.errors } })`).catch(() => '?');
      return { system, gop, mode, round, firstFrameMs: null, marks: {}, error: `no frame within ${FIRST_FRAME_TIMEOUT_MS} ms (${String(state)})` };
    }
    const bench = JSON.parse((await page.evaluate('JSON.stringify(window.__bench)')) as string) as PageBench;
    const first = bench.frames.find((f) => f.tag === cam.tag)!;
    const marks: Record<string, number> = {};
    for (const [name, at] of Object.entries(bench.marks).sort((a, b) => a[1] - b[1])) marks[name] = at - navigationStart;
    return { system, gop, mode, round, firstFrameMs: first.at - navigationStart, marks };
  } finally {
    await page.context().close().catch(() => undefined);
    await peers.after(system, gop, mode);
  }
}

async function main(): Promise<number> {
  const args = benchmarkCommandLine({ trials: { type: 'string' }, systems: { type: 'string', default: SYSTEMS.join(',') } }, (flags, { full }) => ({
    trials: flags.integer('trials', { min: 1, max: 50, fallback: full ? 7 : 3 }),
    systems: flags.names('systems', SYSTEMS, 'system'),
  }));
  const { trials, systems } = args;
  const log = logger(args);
  const cleanups = new Cleanups();
  const failures: string[] = [];
  const results: Trial[] = [];
  try {
    log(`starting the camera simulator (GOP 1 s and 2 s cameras, 640x360@25, stamped)`);
    const sim = await Simulator.start({ config: { cameras: GOPS.map(camera) } });
    cleanups.add('the camera simulator', () => sim.stop());
    log('launching Chromium');
    const chromium = await launchChromium();
    cleanups.add('Chromium', () => chromium.close());
    const peers = new Peers(sim, chromium);
    cleanups.add('the rtsp-relay holder', () => peers.relayHolder?.page.context().close());

    const started: System[] = [];
    for (const system of systems) {
      try {
        if (system === 'c5') {
          for (const gop of GOPS) {
            const cam = camera(gop);
            const t = await startTestApp({ logLevel: 'info', media: { workers: 1 }, cameras: [{ id: cam.id, name: cam.id, url: sim.url(cam.id) }] });
            cleanups.add(`C5 Live (GOP ${gop} s)`, () => t.close());
            peers.c5.set(gop, { t, userId: await t.user('operator') });
            cleanups.add(`the C5 Live lease (GOP ${gop} s)`, () => peers.c5.get(gop)?.lease?.release());
          }
        } else if (system === 'rtspRelay') {
          const relay = await RtspRelayPeer.start({ rtspUrl: sim.url(camera(1).id), more: { gop1: sim.url(camera(1).id), gop2: sim.url(camera(2).id) } });
          cleanups.add('rtsp-relay', () => relay.close());
          peers.relay = relay;
        } else {
          const janus = await JanusPeer.start({ rtspUrl: sim.url(camera(1).id), more: { [JANUS_ID[1]]: sim.url(camera(1).id), [JANUS_ID[2]]: sim.url(camera(2).id) } });
          cleanups.add('Janus', () => janus.close());
          peers.janus = janus;
        }
        started.push(system);
      } catch (error) {
        failures.push(`${LABEL[system]} did not start: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    for (let round = 1; round <= trials; round++) {
      for (const gop of GOPS) {
        for (const mode of MODES) {
          for (const system of started) {
            let trial: Trial;
            try {
              trial = await runTrial(peers, system, gop, mode, round);
            } catch (error) {
              trial = { system, gop, mode, round, firstFrameMs: null, marks: {}, error: error instanceof Error ? error.message : String(error) };
            }
            if (trial.error) failures.push(`${LABEL[system]} GOP ${gop} s ${mode} round ${round}: ${trial.error}`);
            log(`round ${round}/${trials} GOP ${gop} s ${mode} ${LABEL[system]}: ${trial.firstFrameMs ?? 'failed'} ms ${Object.entries(trial.marks).map(([k, v]) => `${k} ${v}`).join(', ')}`);
            results.push(trial);
          }
        }
      }
    }
  } catch (error) {
    failures.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    await cleanups.run();
  }

  const table: Record<string, Record<string, Record<Mode, Spread>>> = {};
  for (const system of systems) {
    table[system] = {};
    for (const gop of GOPS) {
      const pick = (mode: Mode) =>
        spread(results.filter((r) => r.system === system && r.gop === gop && r.mode === mode && r.firstFrameMs !== null).map((r) => r.firstFrameMs!));
      table[system]![`gop${gop}s`] = { warm: pick('warm'), cold: pick('cold') };
    }
  }
  const cell = (system: System, gop: Gop, mode: Mode) => table[system]?.[`gop${gop}s`]?.[mode];
  const fmtS = (s: Spread | undefined) => (s?.median == null ? '?' : `${(s.median / 1000).toFixed(2)}`);
  const summary =
    `ttff (s, median of ${trials} alternating trials; warm / cold): ` +
    GOPS.map((gop) => `GOP ${gop} s ${systems.map((s) => `${LABEL[s]} ${fmtS(cell(s, gop, 'warm'))} / ${fmtS(cell(s, gop, 'cold'))}`).join(', ')}`).join('; ');
  const plot: PlotSpec = {
    title: 'Time to first frame (page navigation -> first decoded frame)',
    subtitle: `median and min-max of ${trials} alternating trials each; 640x360@25 H.264, loopback, headless Chromium`,
    kind: 'bar',
    xLabel: 'camera GOP and state',
    yLabel: 'ms',
    series: systems.map((system) => ({
      label: LABEL[system],
      points: GOPS.flatMap((gop) =>
        MODES.map((mode) => {
          const s = cell(system, gop, mode);
          return { x: `GOP ${gop} s, ${mode}`, y: s?.median ?? null, yMin: s?.min ?? null, yMax: s?.max ?? null };
        }),
      ),
    })),
  };
  return report(args, {
    name: 'ttff',
    result: {
      trialsPerCell: trials,
      camera: '640x360@25 H.264 baseline 800 kbps, GOP 25 and 50 frames, stamped',
      statistic:
        'ms from page navigation start to the first shown frame carrying the camera tag; median (min-max, n) over alternating trials; fresh browser context per trial',
      ttffMs: table,
      trials: results,
    },
    summary,
    plots: plot,
    failures,
  });
}

const code = await main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  return 2;
});
process.exit(code);
