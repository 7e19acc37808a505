/**
 * Ingest cost per camera, in the processes that carry the cameras (issue 20): the packet relay in
 * an ingest worker process beside ffmpeg `-c copy` (each ffmpeg a child of the worker), in the same
 * run, stepping the number of live 640x360@25 H.264 cameras; then more relayed cameras until they
 * fall behind (saturation). Optionally the MJPEG -> H.264 transcoder.
 *
 *   node scripts/with-env.mjs tsx scripts/bench/ingest.ts [--full] [--trials N] [--seconds N]
 *       [--variants relay,copy,transcoded] [--relay-steps 0,10,50,100] [--copy-steps 0,10,50,100]
 *       [--transcoded-steps 0,4,8,16] [--saturation-max N] [--saturation-step N] [--saturation-minutes N]
 *       [--workers N] [--busy-limit PERCENT] [--transport udp|tcp] [--out DIR] [--json-only]
 *
 * Variants (default relay,copy; trials alternate them, A B A B):
 *   relay       ingest.engine 'relay': our RTSP client and the packet relay, in the ingest worker
 *   copy        ingest.engine 'ffmpeg': one ffmpeg per camera copying H.264 (a child of the worker)
 *   transcoded  ingest.engine 'ffmpeg', MJPEG cameras decoded and encoded to H.264 (libx264)
 * The cameras are pulled over UDP (--transport, default udp): with the udp_batch addon built
 * (scripts/bootstrap.sh) the relay takes them on its native path (relay_loop.c: recvmmsg, rewrite,
 * sendmmsg, no JavaScript per packet); over TCP (--transport tcp, the product's default transport)
 * on its JavaScript path (batched sendmmsg). Without the addon, one dgram send per packet:
 * `relaySending` says which.
 * Every run is a fresh C5 Live (startTestApp: ingest.workers 1, so ONE ingest worker carries every
 * camera; mediasoup workers --workers, default one per core), so each variant's worker starts from
 * the same fixed cost. Cameras are acquired through CameraManager like a viewer would (no viewer:
 * mediasoup only receives).
 *
 * Quick (default, about 6 minutes on a quiet 2-core machine): 2 trials, 3 s windows, relay and copy
 * at 0, 10, 50, 100 cameras, then relay only +50 at a time up to 300 (saturation search; at most
 * --saturation-minutes per trial). --full: 3 trials, 6 s windows, steps 0, 10, 50, 100, 200, copy
 * also 400, relay saturation search +100 up to 1000.
 *
 * Cameras: one simulator "bulk" group (ONE GStreamer encoder feeds every mount: hundreds of cameras
 * cost the simulator little; it still sends each client its own stream, and that is in its CPU),
 * H.264 Main ~800 kbit/s, GOP 1 s, pulled over RTSP/UDP. The transcoded cameras each have an encoder
 * of their own (a decoding ffmpeg answers the bulk group's timestamp jumps by dropping frames).
 *
 * Each step adds cameras to the ones already live (RAMP_CONCURRENCY at once), waits until all are
 * live, settles, then measures a window: CPU (/proc/<pid>/stat, share of ONE core) of the ingest
 * worker process alone, of its ffmpeg children (summed), of the mediasoup workers (their receive
 * cost: there are no consumers), of this process (the C5 server: signalling, the worker's IPC,
 * mediasoup's channel; also this benchmark's sampling), of the simulator, and the machine's busy
 * share (/proc/stat); then private memory (Private_Clean + Private_Dirty of smaps_rollup) and RSS
 * of the worker and of its ffmpeg children (summed).
 *
 * Per-camera figures are SLOPES: the least-squares line of a cost over the run's healthy steps
 * (step 0 included; not the saturation search's, where the worker nears a full core), so the
 * worker's fixed cost is apart (the intercept; its cost at rest is step 0). The slopes between
 * consecutive steps are in the JSON too (runs[].between).
 * The target (issue 20): at most 0.1 % of one core and 1 MB of private memory per relayed camera
 * in the ingest worker.
 *
 * Health of a step, from what C5 itself sees: every camera live with the same ingest (no restart),
 * its frame rate (the ingest's frame counter over the window, timed by its progress reports) at
 * >= 24 fps for at least 95 % of the cameras, < 1 % RTP lost at the mediasoup producers, and the
 * machine below --busy-limit (default 90 %) busy. The first unhealthy step is where the variant
 * saturates (its stepping stops), the step before is what it sustains (--busy-limit 100: no
 * busy limit, for a machine shared with other work). Cameras that never went
 * live are a failed step (exit code 1). "other load" is the busy share the processes measured here
 * and interrupts did not use (other programs on the machine).
 *
 * stdout: the JSON result, then (without --json-only) one summary line. Progress goes to stderr.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { descendants, Simulator, type BulkConfig, type SimulatorConfig } from '../camsim/Simulator.ts';
import { startTestApp, type TestApp } from '../../test/support/pipelineApp.ts';
import type { CameraLease } from '../../server/cameras/CameraManager.ts';
import { Cleanups } from './Cleanups.ts';
import type { PlotSeries, PlotSpec } from './plot.ts';
import { benchmarkCommandLine, CpuMeter, cpuBusyShare, cpuIrqShare, machineCpu, processName, rssMb, sleep, ussMb, type CommonArgs, type MachineCpu } from './host.ts';
import { logger, report } from './report.ts';
import { formatSpread, median, round1, type Spread } from './stats.ts';
import { udpBatchAddon } from '../../workers/relay/native/udpBatch.ts';

const VARIANT_NAMES = ['relay', 'copy', 'transcoded'] as const;
type VariantName = (typeof VARIANT_NAMES)[number];
const DEFAULT_VARIANTS: VariantName[] = ['relay', 'copy'];

const FPS = 25;
const SOURCE = { width: 640, height: 360, fps: FPS, pattern: 'smpte', motion: 2 } as const;
const H264_SOURCE = { ...SOURCE, codec: 'h264', profile: 'main', gop: FPS, bitrateKbps: 800 } as const;
/** Mount prefix of the bulk H.264 group the relay and copy variants share (one encoder). */
const BULK_PREFIX = 'cam-';

interface Variant {
  label: string;
  engine: 'relay' | 'ffmpeg';
  prefix: string;
  source: Omit<BulkConfig, 'prefix' | 'count'>;
  bulk: boolean;
  /** What CameraStatus.transcodeReason must say, or undefined for H.264 passed through. */
  transcodeReason: 'codec' | undefined;
  steps: { quick: number[]; full: number[] };
  /** More cameras after the steps until the variant saturates (the relay). */
  saturation?: { quick: { step: number; max: number }; full: { step: number; max: number } };
}

const VARIANTS: Record<VariantName, Variant> = {
  relay: {
    label: 'packet relay in the ingest worker',
    engine: 'relay',
    prefix: BULK_PREFIX,
    source: H264_SOURCE,
    bulk: true,
    transcodeReason: undefined,
    steps: { quick: [0, 10, 50, 100], full: [0, 10, 50, 100, 200] },
    saturation: { quick: { step: 50, max: 300 }, full: { step: 100, max: 1000 } },
  },
  copy: {
    label: 'ffmpeg -c copy (children of the ingest worker)',
    engine: 'ffmpeg',
    prefix: BULK_PREFIX,
    source: H264_SOURCE,
    bulk: true,
    transcodeReason: undefined,
    steps: { quick: [0, 10, 50, 100], full: [0, 10, 50, 100, 200, 400] },
  },
  transcoded: {
    label: 'transcoded MJPEG -> H.264 (ffmpeg, libx264)',
    engine: 'ffmpeg',
    prefix: 'mjpeg-',
    source: { ...SOURCE, codec: 'mjpeg', quality: 70 },
    bulk: false,
    transcodeReason: 'codec',
    steps: { quick: [0, 4, 8, 16], full: [0, 4, 8, 16, 24, 32] },
  },
};

/** The target of issue 20 for one relayed camera in the ingest worker. */
const TARGET = { cpuPercent: 0.1, privateMb: 1 } as const;
const DEFAULT_BUSY_LIMIT = 0.9;
/** A camera keeps up at >= 24 of its 25 fps ... */
const FPS_KEEP_UP = 24 / 25;
/** ... and a step is healthy when no more than this share of its cameras falls behind. */
const LAGGING_LIMIT = 0.05;
const LOSS_LIMIT = 0.01;
const RAMP_CONCURRENCY = 16;
const OTHER_LOAD_WARNING = 0.15;

interface Args extends CommonArgs {
  trials: number;
  windowSeconds: number;
  settleSeconds: number;
  variants: VariantName[];
  steps: Record<VariantName, number[]>;
  saturation: { step: number; max: number; minutes: number };
  workers: number;
  busyLimit: number;
  /** How the cameras are pulled: 'udp' (the relay's native path) or 'tcp' (interleaved: its JavaScript path). */
  transport: 'udp' | 'tcp';
}

function parseCli(): Args {
  return benchmarkCommandLine(
    {
      trials: { type: 'string' },
      seconds: { type: 'string' },
      variants: { type: 'string', default: DEFAULT_VARIANTS.join(',') },
      'relay-steps': { type: 'string' },
      'copy-steps': { type: 'string' },
      'transcoded-steps': { type: 'string' },
      'saturation-step': { type: 'string' },
      'saturation-max': { type: 'string' },
      'saturation-minutes': { type: 'string' },
      workers: { type: 'string', default: String(cpus().length) },
      'busy-limit': { type: 'string', default: String(DEFAULT_BUSY_LIMIT * 100) },
      transport: { type: 'string', default: 'udp' },
    },
    (flags, { full }) => {
      const mode = full ? 'full' : 'quick';
      const steps = (name: VariantName) =>
        flags.increasingIntegers(`${name}-steps`, { min: 0, max: 2000, fallback: VARIANTS[name].steps[mode] });
      const saturation = VARIANTS.relay.saturation![mode];
      return {
        trials: flags.integer('trials', { min: 1, max: 20, fallback: full ? 3 : 2 }),
        windowSeconds: flags.number('seconds', { min: 2, max: 120, fallback: full ? 6 : 3 }),
        settleSeconds: full ? 2 : 1,
        variants: flags.names('variants', VARIANT_NAMES, 'variant'),
        steps: { relay: steps('relay'), copy: steps('copy'), transcoded: steps('transcoded') },
        saturation: {
          step: flags.integer('saturation-step', { min: 1, max: 2000, fallback: saturation.step }),
          // 0: no saturation search beyond the steps
          max: flags.integer('saturation-max', { min: 0, max: 4000, fallback: saturation.max }),
          minutes: flags.number('saturation-minutes', { min: 0.5, max: 120, fallback: full ? 15 : 3 }),
        },
        workers: flags.integer('workers', { min: 1, max: 16 }),
        busyLimit: flags.number('busy-limit', { min: 10, max: 100, what: 'a percentage' }) / 100,
        transport: flags.names('transport', ['udp', 'tcp'] as const, 'transport')[0]!,
      };
    },
  );
}

const percent = (share: number) => round1(share * 100);
const roundTo = (value: number, digits: number): number | null => (Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : null);

/** stats.ts's spread() with more digits (per-camera CPU is hundredths of a percent). */
function spreadN(values: readonly number[], digits: number): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  return {
    median: roundTo(median(finite), digits),
    min: finite.length ? roundTo(Math.min(...finite), digits) : null,
    max: finite.length ? roundTo(Math.max(...finite), digits) : null,
    n: finite.length,
  };
}

/** Least-squares line through (x, y): slope and intercept; NaN with fewer than two distinct x. */
function fitLine(points: ReadonlyArray<{ x: number; y: number }>): { slope: number; intercept: number } {
  const ok = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const n = ok.length;
  const mx = ok.reduce((s, p) => s + p.x, 0) / n;
  const my = ok.reduce((s, p) => s + p.y, 0) / n;
  const sxx = ok.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  if (n < 2 || sxx === 0) return { slope: NaN, intercept: NaN };
  const slope = ok.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
  return { slope, intercept: my - slope * mx };
}

function machineShares(a: MachineCpu, b: MachineCpu): { busy: number; irq: number } {
  return { busy: cpuBusyShare(a.all, b.all), irq: cpuIrqShare(a.all, b.all) };
}

/** One measured step of one run. CPU: shares of ONE core (1 = a full core); memory: MB. */
interface StepSample {
  cameras: number;
  live: number;
  neverLive: number;
  machineBusy: number;
  irq: number;
  otherLoad: number;
  workerCpu: number;
  /** the worker's own report (process.cpuUsage over its last second), for comparison */
  workerReportedCpu: number;
  ffmpegCpu: number;
  ffmpegProcesses: number;
  mediasoupCpu: number;
  serverCpu: number;
  simulatorCpu: number;
  workerPrivateMb: number;
  workerRssMb: number;
  ffmpegPrivateMb: number;
  ffmpegRssMb: number;
  fpsMedian: number;
  fpsMin: number;
  lagging: number;
  restarted: number;
  lossShare: number;
  kbpsMedian: number;
  saturated: string[];
  /** every camera live, kept its frame rate, no loss (the machine may still be past the busy limit) */
  keptUp: boolean;
}

/** The costs whose slope over the cameras is a per-camera figure. */
const COSTS = {
  workerCpu: (s: StepSample) => s.workerCpu * 100,
  workerPrivateMb: (s: StepSample) => s.workerPrivateMb,
  ffmpegCpu: (s: StepSample) => s.ffmpegCpu * 100,
  ffmpegPrivateMb: (s: StepSample) => s.ffmpegPrivateMb,
  ingestCpu: (s: StepSample) => (s.workerCpu + s.ffmpegCpu) * 100,
  ingestPrivateMb: (s: StepSample) => s.workerPrivateMb + s.ffmpegPrivateMb,
  mediasoupCpu: (s: StepSample) => s.mediasoupCpu * 100,
  serverCpu: (s: StepSample) => s.serverCpu * 100,
  simulatorCpu: (s: StepSample) => s.simulatorCpu * 100,
} satisfies Record<string, (s: StepSample) => number>;
type Cost = keyof typeof COSTS;
const COST_UNITS: Record<Cost, string> = {
  workerCpu: '% of one core, the ingest worker process alone',
  workerPrivateMb: 'MB private (USS) of the ingest worker',
  ffmpegCpu: '% of one core, its ffmpeg children summed',
  ffmpegPrivateMb: 'MB private (USS) of its ffmpeg children summed',
  ingestCpu: '% of one core, worker + ffmpeg children',
  ingestPrivateMb: 'MB private, worker + ffmpeg children',
  mediasoupCpu: "% of one core, mediasoup workers (receive only: no consumers)",
  serverCpu: '% of one core, the C5 server process (and this benchmark)',
  simulatorCpu: '% of one core, the camera simulator',
};

interface Run {
  trial: number;
  variant: VariantName;
  steps: StepSample[];
  saturatedAt: number | null;
  sustained: number | null;
  /** the steps the slopes are fitted over */
  fitted: number[];
  /** per camera (slope) and fixed (intercept) of each cost */
  perCamera: Record<Cost, number>;
  fixed: Record<Cost, number>;
  /** slopes between consecutive fitted steps: [from, to, worker % per camera, worker MB per camera, ...] */
  between: Array<{ from: number; to: number } & Record<Cost, number | null>>;
  workerRestarts: number;
}

/**
 * The camera simulator, started again when it has died (a run after it would only measure
 * cameras that cannot connect); its last stderr lines say why.
 */
class Simulators {
  current!: Simulator;
  private readonly tail: string[] = [];

  constructor(private readonly config: SimulatorConfig) {}

  async start(): Promise<void> {
    this.current = await Simulator.start({
      config: this.config,
      logTo: (line) => {
        this.tail.push(line);
        if (this.tail.length > 10) this.tail.shift();
      },
    });
  }

  /** Starts a new simulator when the current one has exited; returns what happened, or undefined. */
  async ensureRunning(): Promise<string | undefined> {
    if (this.current.running) return undefined;
    const last = this.tail.splice(0).join(' | ');
    await this.start();
    return `the camera simulator had exited (last stderr: ${last || 'none'}); started a new one`;
  }

  stop(): Promise<void> {
    return this.current.stop();
  }
}

class Bench {
  readonly failures: string[] = [];

  constructor(
    private readonly args: Args,
    private readonly sims: Simulators,
    private readonly cameraIds: string[],
    private readonly consoleDir: string,
    private readonly log: (line: string) => void,
  ) {}

  ids(variant: VariantName, count: number): string[] {
    return Array.from({ length: count }, (_, i) => `${VARIANTS[variant].prefix}${i + 1}`);
  }

  private get sim(): Simulator {
    return this.sims.current;
  }

  async run(trial: number, variant: VariantName): Promise<Run> {
    const spec = VARIANTS[variant];
    const why = await this.sims.ensureRunning();
    if (why) {
      this.failures.push(`before trial ${trial} ${variant}: ${why}`);
      this.log(`  ${why}`);
    }
    const t = await startTestApp({
      // No page is opened: a placeholder console, so a concurrent `npm run build` (it removes dist/) cannot fail the run.
      http: { consoleDir: this.consoleDir },
      // A port range of its own: other benchmarks on this machine use the default one.
      media: { workers: this.args.workers, rtcMinPort: 20000, rtcMaxPort: 39999 },
      ingest: { workers: 1, engine: spec.engine, startTimeoutMs: 30_000 },
      cameras: this.cameraIds.map((id) => ({ id, name: id, url: this.sim.url(id), transport: this.args.transport })),
    });
    const steps: StepSample[] = [];
    const leases = new Map<string, CameraLease>();
    let saturatedAt: number | null = null;
    let workerRestarts = 0;
    try {
      const plan = [...this.args.steps[variant]];
      const search = variant === 'relay' && this.args.saturation.max > 0 ? this.args.saturation : undefined;
      let searchStarted: number | undefined;
      for (let i = 0; i < plan.length; i++) {
        const cameras = plan[i]!;
        const ids = this.ids(variant, cameras);
        const rampStart = performance.now();
        const neverLive = await this.ramp(t, ids.filter((id) => !leases.has(id)), leases);
        this.log(`  trial ${trial} ${variant} ${cameras} cameras: ${leases.size} live after ${((performance.now() - rampStart) / 1000).toFixed(1)} s`);
        if (neverLive.length) this.failures.push(`trial ${trial} ${variant} step ${cameras}: ${neverLive.length} camera(s) never went live (${neverLive.slice(0, 3).join('; ')})`);
        this.checkEngine(t, variant, [...leases.keys()]);
        await sleep(this.args.settleSeconds * 1000);
        const sample = await this.measure(t, [...leases.keys()], cameras, neverLive.length);
        steps.push(sample);
        this.log(
          `    busy ${percent(sample.machineBusy)}% (other load ${percent(sample.otherLoad)}%), worker ${percent(sample.workerCpu)}% ${round1(sample.workerPrivateMb)} MB private, ` +
            `ffmpeg x${sample.ffmpegProcesses} ${percent(sample.ffmpegCpu)}% ${round1(sample.ffmpegPrivateMb)} MB, mediasoup ${percent(sample.mediasoupCpu)}%, server ${percent(sample.serverCpu)}%, ` +
            `simulator ${percent(sample.simulatorCpu)}%, fps median ${round1(sample.fpsMedian)} min ${round1(sample.fpsMin)}, loss ${round1(sample.lossShare * 100)}%` +
            (sample.saturated.length ? `: SATURATED (${sample.saturated.join(', ')})` : ''),
        );
        if (sample.saturated.length) {
          saturatedAt = cameras;
          break;
        }
        if (search && i === plan.length - 1) {
          searchStarted ??= performance.now();
          const next = cameras + search.step;
          if (next > search.max) this.log(`    saturation search: not saturated up to ${cameras} (--saturation-max ${search.max})`);
          else if (performance.now() - searchStarted > search.minutes * 60_000) this.log(`    saturation search: time cap (${search.minutes} min) at ${cameras} cameras`);
          else plan.push(next);
        }
      }
      workerRestarts = t.app.ingestWorkers?.workers().reduce((sum, w) => sum + w.restarts, 0) ?? 0;
      if (workerRestarts) this.failures.push(`trial ${trial} ${variant}: the ingest worker was replaced ${workerRestarts} time(s)`);
    } finally {
      for (const lease of leases.values()) lease.release();
      leases.clear();
      await t.close();
      // Let the machine come back to rest before the next run.
      await sleep(1500);
    }
    const sustained = steps.filter((s) => !s.saturated.length).at(-1)?.cameras ?? null;
    // Fit over the healthy steps of the plan (not the saturation search: there the worker nears a
    // full core and its cost flattens); on a machine busy with other work, over the steps whose cameras kept up.
    const planned = steps.filter((s) => this.args.steps[variant].includes(s.cameras));
    let fitted = planned.filter((s) => !s.saturated.length);
    if (fitted.length < 2) fitted = planned.filter((s) => s.keptUp);
    const perCamera = {} as Record<Cost, number>;
    const fixed = {} as Record<Cost, number>;
    for (const [cost, pick] of Object.entries(COSTS) as Array<[Cost, (s: StepSample) => number]>) {
      const line = fitLine(fitted.map((s) => ({ x: s.cameras, y: pick(s) })));
      perCamera[cost] = line.slope;
      fixed[cost] = line.intercept;
    }
    const between = fitted.slice(1).map((b, i) => {
      const a = fitted[i]!;
      const row = { from: a.cameras, to: b.cameras } as { from: number; to: number } & Record<Cost, number | null>;
      for (const [cost, pick] of Object.entries(COSTS) as Array<[Cost, (s: StepSample) => number]>) row[cost] = roundTo((pick(b) - pick(a)) / (b.cameras - a.cameras), 4);
      return row;
    });
    return { trial, variant, steps, saturatedAt, sustained, fitted: fitted.map((s) => s.cameras), perCamera, fixed, between, workerRestarts };
  }

  /** Starts the cameras not yet live, RAMP_CONCURRENCY at a time; returns why each one that never went live did not. */
  private async ramp(t: TestApp, ids: string[], leases: Map<string, CameraLease>): Promise<string[]> {
    const failed: string[] = [];
    const queue = [...ids];
    // The bulk group's shared GStreamer media is prepared by its first client: many clients at once
    // on an unprepared one can abort the simulator (rtsp-media.c gst_rtsp_media_get_rates:
    // assertion failed). The first camera of a run starts alone.
    const first = leases.size === 0 ? queue.shift() : undefined;
    if (first !== undefined) {
      try {
        leases.set(first, await t.app.cameras.acquire(first));
      } catch (error) {
        failed.push(`${first}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const starter = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        try {
          leases.set(id, await t.app.cameras.acquire(id));
        } catch (error) {
          failed.push(`${id}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: RAMP_CONCURRENCY }, starter));
    return failed;
  }

  private checkEngine(t: TestApp, variant: VariantName, ids: string[]): void {
    const { engine, transcodeReason } = VARIANTS[variant];
    const wrong = ids.filter((id) => {
      const status = t.app.cameras.status(id);
      return status?.engine !== engine || status.transcodeReason !== transcodeReason;
    });
    if (wrong.length) {
      const status = t.app.cameras.status(wrong[0]!);
      const message = `${variant}: ${wrong.length} camera(s) on engine ${String(status?.engine)} (transcodeReason ${String(status?.transcodeReason)}), expected ${engine} (${String(transcodeReason)})`;
      if (!this.failures.includes(message)) this.failures.push(message);
    }
  }

  private async measure(t: TestApp, ids: string[], cameras: number, neverLive: number): Promise<StepSample> {
    const workers = t.app.ingestWorkers?.workers() ?? [];
    const workerPids = workers.filter((w) => w.alive).map((w) => w.pid);
    const ffmpegPids = workerPids.flatMap((pid) => descendants(pid)).filter((pid) => processName(pid) === 'ffmpeg');
    const sessions = ids.map((id) => t.app.cameras.session(id));
    const pidsBefore = sessions.map((s) => s?.ingestPid);
    const restartsBefore = sessions.map((s) => s?.status.restarts ?? 0);
    const frames = () => sessions.map((s) => ({ frames: s?.status.progress?.frames ?? 0, at: s?.status.lastFrameAt ?? 0 }));
    const rtp = async () =>
      Promise.all(
        sessions.map(async (s) => {
          const stats = (await s?.feed?.producer.getStats().catch(() => [])) ?? [];
          return stats.reduce((sum, st) => ({ packets: sum.packets + st.packetCount, lost: sum.lost + st.packetsLost, bytes: sum.bytes + st.byteCount }), { packets: 0, lost: 0, bytes: 0 });
        }),
      );

    // A camera that just went live reports its first progress about a second later (and the worker
    // gathers reports for PROGRESS_BATCH_MS): the window starts once every camera has reported, or a
    // newcomer's rate would be measured from nothing.
    const reportedBy = Date.now() + 5000;
    while (Date.now() < reportedBy && sessions.some((s) => s !== undefined && !s.status.lastFrameAt)) await sleep(100);
    const framesBefore = frames();
    const rtpBefore = await rtp();
    const machineBefore = machineCpu();
    const serverBefore = process.cpuUsage();
    const started = performance.now();
    const meter = CpuMeter.start({
      worker: workerPids,
      ffmpeg: ffmpegPids,
      mediasoup: t.app.media.workers.map((w) => w.pid),
      simulator: [this.sim.pid, ...descendants(this.sim.pid)],
    });
    await sleep(this.args.windowSeconds * 1000);
    const cpu = meter.stop({ round: false });
    const seconds = (performance.now() - started) / 1000;
    const server = process.cpuUsage(serverBefore);
    const machine = machineShares(machineBefore, machineCpu());
    const framesAfter = frames();
    const rtpAfter = await rtp();

    const fps = framesAfter.map((after, i) => {
      const before = framesBefore[i]!;
      return after.frames > before.frames && after.at > before.at ? ((after.frames - before.frames) / (after.at - before.at)) * 1000 : 0;
    });
    let packets = 0;
    let lost = 0;
    const kbps = rtpAfter.map((after, i) => {
      const before = rtpBefore[i]!;
      packets += after.packets - before.packets;
      lost += after.lost - before.lost;
      return ((after.bytes - before.bytes) * 8) / seconds / 1000;
    });
    const live = sessions.filter((s) => s?.state === 'live').length;
    const restarted = sessions.filter((s, i) => (s?.status.restarts ?? 0) > restartsBefore[i]! || s?.ingestPid !== pidsBefore[i]).length;
    const lagging = fps.filter((f) => f < FPS * FPS_KEEP_UP).length;
    const lossShare = packets + lost > 0 ? Math.max(0, lost) / (packets + lost) : 0;
    const liveFfmpeg = ffmpegPids.filter((pid) => processName(pid) === 'ffmpeg');
    const sum = (pids: number[], f: (pid: number) => number) => pids.reduce((s, pid) => s + f(pid), 0);
    const sample: StepSample = {
      cameras,
      live,
      neverLive,
      machineBusy: machine.busy,
      irq: machine.irq,
      otherLoad: NaN,
      workerCpu: cpu.worker,
      workerReportedCpu: (t.app.ingestWorkers?.workers() ?? []).reduce((s, w) => s + w.cpuRatio, 0),
      ffmpegCpu: cpu.ffmpeg,
      ffmpegProcesses: liveFfmpeg.length,
      mediasoupCpu: cpu.mediasoup,
      serverCpu: (server.user + server.system) / 1e6 / seconds,
      simulatorCpu: cpu.simulator,
      workerPrivateMb: sum(workerPids, ussMb),
      workerRssMb: sum(workerPids, rssMb),
      ffmpegPrivateMb: sum(liveFfmpeg, ussMb),
      ffmpegRssMb: sum(liveFfmpeg, rssMb),
      fpsMedian: median(fps),
      fpsMin: fps.length ? Math.min(...fps) : NaN,
      lagging,
      restarted,
      lossShare,
      kbpsMedian: median(kbps),
      saturated: [],
      keptUp: false,
    };
    const measured = sample.workerCpu + sample.ffmpegCpu + sample.mediasoupCpu + sample.serverCpu + sample.simulatorCpu;
    sample.otherLoad = Math.max(0, machine.busy - machine.irq - measured / cpus().length);
    if (!this.sim.running) sample.saturated.push('the camera simulator exited');
    if (neverLive) sample.saturated.push(`${neverLive} never went live`);
    if (live < ids.length || restarted) sample.saturated.push(`${ids.length - live} not live, ${restarted} restarted`);
    if (fps.length && lagging / fps.length > LAGGING_LIMIT) sample.saturated.push(`${lagging} of ${fps.length} below ${FPS * FPS_KEEP_UP} fps`);
    if (lossShare > LOSS_LIMIT) sample.saturated.push(`${round1(lossShare * 100)}% RTP lost`);
    sample.keptUp = sample.saturated.length === 0;
    if (this.args.busyLimit < 1 && machine.busy >= this.args.busyLimit) sample.saturated.push(`machine ${percent(machine.busy)}% busy`);
    return sample;
  }
}

/** Per-step numbers in the JSON and plots (CPU: % of one core; memory: MB). */
const PER_STEP = {
  machineBusyPercent: { unit: '% of all cores', pick: (s) => s.machineBusy * 100 },
  otherLoadPercent: { unit: '% of all cores, busy but neither in the processes measured here nor in interrupts', pick: (s) => s.otherLoad * 100 },
  irqPercent: { unit: '% of all cores in irq + softirq (mostly the loopback networking of the streams)', pick: (s) => s.irq * 100 },
  workerCpuPercent: { unit: '% of one core, the ingest worker process alone (/proc)', pick: (s) => s.workerCpu * 100 },
  workerReportedCpuPercent: { unit: "% of one core, the worker's own report of its last second", pick: (s) => s.workerReportedCpu * 100 },
  workerPrivateMb: { unit: 'MB private (USS) of the ingest worker', pick: (s) => s.workerPrivateMb },
  workerRssMb: { unit: 'MB RSS of the ingest worker', pick: (s) => s.workerRssMb },
  ffmpegCpuPercent: { unit: '% of one core, its ffmpeg children summed', pick: (s) => s.ffmpegCpu * 100 },
  ffmpegPrivateMb: { unit: 'MB private (USS), ffmpeg children summed', pick: (s) => s.ffmpegPrivateMb },
  ffmpegRssMb: { unit: 'MB RSS, ffmpeg children summed', pick: (s) => s.ffmpegRssMb },
  mediasoupCpuPercent: { unit: '% of one core, all mediasoup workers (receive only)', pick: (s) => s.mediasoupCpu * 100 },
  serverCpuPercent: { unit: '% of one core, the server process (and this benchmark)', pick: (s) => s.serverCpu * 100 },
  simulatorCpuPercent: { unit: '% of one core', pick: (s) => s.simulatorCpu * 100 },
  fpsMedian: { unit: 'fps', pick: (s) => s.fpsMedian },
  fpsMin: { unit: 'fps', pick: (s) => s.fpsMin },
  rtpKbpsMedian: { unit: 'kbps per camera at the SFU', pick: (s) => s.kbpsMedian },
  rtpLossPercent: { unit: '%', pick: (s) => s.lossShare * 100 },
  live: { unit: 'cameras', pick: (s) => s.live },
} satisfies Record<string, { unit: string; pick: (s: StepSample) => number }>;

function summarize(runs: Run[], variant: VariantName) {
  const mine = runs.filter((r) => r.variant === variant);
  const cameraSteps = [...new Set(mine.flatMap((r) => r.steps.map((s) => s.cameras)))].sort((a, b) => a - b);
  const steps = cameraSteps.map((cameras) => {
    const row: Record<string, unknown> = { cameras };
    const at = mine.flatMap((r) => r.steps.filter((s) => s.cameras === cameras));
    for (const [key, { pick }] of Object.entries(PER_STEP)) row[key] = spreadN(at.map(pick), 2);
    row.saturatedIn = at.filter((s) => s.saturated.length).length;
    row.saturation = [...new Set(at.flatMap((s) => s.saturated))];
    return row;
  });
  const perCamera = Object.fromEntries((Object.keys(COSTS) as Cost[]).map((c) => [c, spreadN(mine.map((r) => r.perCamera[c]), 3)])) as Record<Cost, Spread>;
  const fixed = Object.fromEntries((Object.keys(COSTS) as Cost[]).map((c) => [c, spreadN(mine.map((r) => r.fixed[c]), 1)])) as Record<Cost, Spread>;
  return {
    label: VARIANTS[variant].label,
    engine: VARIANTS[variant].engine,
    source: VARIANTS[variant].source,
    trials: mine.length,
    /** slope per camera over each trial's healthy steps (CPU % of one core, MB), median over trials */
    perCamera,
    /** intercept: the cost with no camera */
    fixed,
    headline: {
      fittedSteps: mine.map((r) => r.fitted),
      saturatesAt: spreadN(mine.flatMap((r) => (r.saturatedAt === null ? [] : [r.saturatedAt])), 0),
      sustains: spreadN(mine.flatMap((r) => (r.sustained === null ? [] : [r.sustained])), 0),
      trialsNotSaturated: mine.filter((r) => r.saturatedAt === null).length,
      maxCameras: Math.max(0, ...mine.map((r) => r.steps.at(-1)?.cameras ?? 0)),
    },
    steps,
  };
}
type Summary = ReturnType<typeof summarize>;

function plots(summaries: Partial<Record<VariantName, Summary>>, args: Args): Record<string, PlotSpec> {
  const line = (summary: Summary, key: keyof typeof PER_STEP) =>
    summary.steps.map((row) => {
      const s = row[key] as Spread;
      return { x: row.cameras as number, y: s.median, yMin: s.min, yMax: s.max };
    });
  const cpuSeries: PlotSeries[] = [];
  const memorySeries: PlotSeries[] = [];
  for (const [variant, summary] of Object.entries(summaries) as Array<[VariantName, Summary]>) {
    cpuSeries.push({ label: `${variant}: ingest worker`, points: line(summary, 'workerCpuPercent') });
    if (VARIANTS[variant].engine === 'ffmpeg') cpuSeries.push({ label: `${variant}: ffmpeg children`, points: line(summary, 'ffmpegCpuPercent') });
    cpuSeries.push({ label: `${variant}: mediasoup (receive)`, points: line(summary, 'mediasoupCpuPercent') }, { label: `${variant}: server`, points: line(summary, 'serverCpuPercent') });
    memorySeries.push({ label: `${variant}: ingest worker private`, points: line(summary, 'workerPrivateMb') });
    if (VARIANTS[variant].engine === 'ffmpeg') memorySeries.push({ label: `${variant}: ffmpeg children private`, points: line(summary, 'ffmpegPrivateMb') });
  }
  const subtitle = `640x360 @ 25 fps, ${cpus().length} cores, 1 ingest worker, ${args.workers} mediasoup worker(s); median of ${args.trials} alternating trial(s), whiskers min-max`;
  const base = { subtitle, kind: 'line', xLabel: 'live cameras' } as const;
  return {
    cpu: { ...base, title: 'Ingest: CPU by number of live cameras', yLabel: '% of one core', series: cpuSeries },
    memory: { ...base, title: 'Ingest: private memory by number of live cameras', yLabel: 'MB', series: memorySeries },
  };
}

async function main(): Promise<number> {
  const args = parseCli();
  const log = logger(args);
  const cleanups = new Cleanups();
  const runs: Run[] = [];
  const failures: string[] = [];
  let bench: Bench | undefined;
  const began = performance.now();
  const elapsed = () => `${Math.round((performance.now() - began) / 1000)} s`;
  const maxCameras = (v: VariantName) => Math.max(0, ...args.steps[v], v === 'relay' ? args.saturation.max : 0);
  const started = () => descendants(process.pid).filter((pid) => processName(pid) !== 'esbuild');
  try {
    const bulkCount = Math.max(0, ...args.variants.filter((v) => VARIANTS[v].bulk).map(maxCameras));
    const simCameras: SimulatorConfig['cameras'] = [];
    if (bulkCount) simCameras.push({ bulk: { ...H264_SOURCE, prefix: BULK_PREFIX, count: bulkCount } });
    if (args.variants.includes('transcoded')) {
      const { source, prefix } = VARIANTS.transcoded;
      for (let i = 1; i <= maxCameras('transcoded'); i++) simCameras.push({ ...source, id: `${prefix}${i}` });
    }
    const sims = new Simulators({ cameras: simCameras });
    await sims.start();
    cleanups.add('the camera simulator', () => sims.stop());
    const cameraIds = [
      ...Array.from({ length: bulkCount }, (_, i) => `${BULK_PREFIX}${i + 1}`),
      ...(args.variants.includes('transcoded') ? Array.from({ length: maxCameras('transcoded') }, (_, i) => `${VARIANTS.transcoded.prefix}${i + 1}`) : []),
    ];
    const consoleDir = mkdtempSync(join(tmpdir(), 'c5-bench-console-'));
    writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><title>ingest benchmark</title>\n');
    cleanups.add('the placeholder console', () => rmSync(consoleDir, { recursive: true, force: true }));
    bench = new Bench(args, sims, cameraIds, consoleDir, log);
    log(`ingest: ${args.trials} trial(s) of ${args.variants.join(', ')}; window ${args.windowSeconds} s after ${args.settleSeconds} s settling; ${cpus().length} cores, 1 ingest worker, ${args.workers} mediasoup worker(s) [${elapsed()}]`);
    for (let trial = 1; trial <= args.trials; trial++) {
      for (const variant of args.variants) {
        const run = await bench.run(trial, variant);
        runs.push(run);
        log(
          `trial ${trial} ${variant}: ${run.saturatedAt === null ? `not saturated up to ${run.steps.at(-1)?.cameras ?? 0}` : `saturated at ${run.saturatedAt}`} cameras; ` +
            `per camera: worker ${roundTo(run.perCamera.workerCpu, 3)}% ${roundTo(run.perCamera.workerPrivateMb, 2)} MB, ffmpeg ${roundTo(run.perCamera.ffmpegCpu, 3)}% ${roundTo(run.perCamera.ffmpegPrivateMb, 2)} MB, ` +
            `mediasoup ${roundTo(run.perCamera.mediasoupCpu, 3)}%, server ${roundTo(run.perCamera.serverCpu, 3)}% [${elapsed()}]`,
        );
      }
    }
  } catch (error) {
    failures.push(`run aborted: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await cleanups.run();
  }
  failures.unshift(...(bench?.failures ?? []));
  let leftover = started();
  for (let i = 0; i < 25 && leftover.length; i++) {
    await sleep(200);
    leftover = started();
  }
  if (leftover.length) failures.push(`processes left running: ${leftover.map((pid) => `${pid} (${processName(pid) ?? '?'})`).join(', ')}`);

  const summaries: Partial<Record<VariantName, Summary>> = {};
  for (const variant of args.variants) if (runs.some((r) => r.variant === variant)) summaries[variant] = summarize(runs, variant);
  const otherLoad = Math.max(0, ...runs.flatMap((r) => r.steps.map((s) => s.otherLoad)));
  const relay = summaries.relay;
  const target = relay
    ? {
        cpuPercentPerCamera: TARGET.cpuPercent,
        privateMbPerCamera: TARGET.privateMb,
        workerCpuPercentPerCamera: relay.perCamera.workerCpu,
        workerPrivateMbPerCamera: relay.perCamera.workerPrivateMb,
        met: relay.perCamera.workerCpu.median !== null && relay.perCamera.workerPrivateMb.median !== null && relay.perCamera.workerCpu.median <= TARGET.cpuPercent && relay.perCamera.workerPrivateMb.median <= TARGET.privateMb,
      }
    : undefined;
  const saturation = (v: VariantName, s: Summary) =>
    s.headline.saturatesAt.n === 0
      ? `not saturated up to ${s.headline.maxCameras}`
      : `saturates at ${formatSpread(s.headline.saturatesAt)}${s.headline.trialsNotSaturated ? ` (${s.headline.trialsNotSaturated} trial(s) not up to ${maxCameras(v)})` : ''}`;
  const describe = (variant: VariantName) => {
    const s = summaries[variant];
    if (!s) return `${variant} did not run`;
    const p = s.perCamera;
    const ingest =
      VARIANTS[variant].engine === 'relay'
        ? `worker ${formatSpread(p.workerCpu, '%')} of a core, ${formatSpread(p.workerPrivateMb, ' MB')} private`
        : `worker + ffmpeg ${formatSpread(p.ingestCpu, '%')} of a core (ffmpeg ${formatSpread(p.ffmpegCpu, '%')}), ${formatSpread(p.ingestPrivateMb, ' MB')} private (ffmpeg ${formatSpread(p.ffmpegPrivateMb, ' MB')})`;
    return `${variant}: ${ingest}, mediasoup receive ${formatSpread(p.mediasoupCpu, '%')}, server ${formatSpread(p.serverCpu, '%')} per camera; worker fixed ${formatSpread(s.fixed.workerCpu, '%')} ${formatSpread(s.fixed.workerPrivateMb, ' MB')}; ${saturation(variant, s)} cameras`;
  };
  // What the worker (same environment, same addon cache) sends the relay's RTP with.
  const relaySending = udpBatchAddon(() => undefined)
    ? 'native: the UDP cameras received (recvmmsg), rewritten and sent (sendmmsg, same-size runs as one UDP_SEGMENT datagram) in the udp_batch addon (relay_loop.c)'
    : `one dgram send per packet (${/^(0|false|no|off)$/i.test(process.env.INGEST_RELAY_NATIVE?.trim() ?? '') ? 'INGEST_RELAY_NATIVE=false' : 'udp_batch addon not built'})`;
  const code = await report(args, {
    name: 'ingest',
    result: {
      method:
        'a fresh C5 Live per run (ingest.workers 1, ingest.engine per variant), cameras stepped up (kept live across steps, ramped ' +
        `${RAMP_CONCURRENCY} at a time), settle, measure a window; CPU as % of ONE core from /proc; per-camera = least-squares slope over the run's healthy planned steps (step 0 included; not the saturation search), fixed = intercept; ` +
        `a step saturates at >= ${percent(args.busyLimit)}% machine busy, a camera not live or restarted, > ${LAGGING_LIMIT * 100}% of cameras below ${FPS * FPS_KEEP_UP} fps, or > ${LOSS_LIMIT * 100}% RTP loss; ` +
        `relay runs continue +${args.saturation.step} cameras up to ${args.saturation.max} (at most ${args.saturation.minutes} min) to find saturation; medians over alternating trials with min-max and n`,
      cores: cpus().length,
      ingestWorkers: 1,
      mediaWorkers: args.workers,
      transport: args.transport,
      relaySending,
      trials: args.trials,
      order: runs.map((r) => `${r.variant}#${r.trial}`),
      windowSeconds: args.windowSeconds,
      settleSeconds: args.settleSeconds,
      steps: Object.fromEntries(args.variants.map((v) => [v, args.steps[v]])),
      saturationSearch: args.saturation,
      units: { perCamera: COST_UNITS, steps: Object.fromEntries(Object.entries(PER_STEP).map(([key, { unit }]) => [key, unit])) },
      target,
      variants: summaries,
      runs: runs.map((r) => ({
        trial: r.trial,
        variant: r.variant,
        saturatedAt: r.saturatedAt,
        sustained: r.sustained,
        fitted: r.fitted,
        workerRestarts: r.workerRestarts,
        perCamera: Object.fromEntries(Object.entries(r.perCamera).map(([k, v]) => [k, roundTo(v, 4)])),
        fixed: Object.fromEntries(Object.entries(r.fixed).map(([k, v]) => [k, roundTo(v, 2)])),
        between: r.between,
        steps: r.steps.map((s) => ({
          ...Object.fromEntries(Object.entries(PER_STEP).map(([key, { pick }]) => [key, roundTo(pick(s), 2)])),
          cameras: s.cameras,
          neverLive: s.neverLive,
          ffmpegProcesses: s.ffmpegProcesses,
          lagging: s.lagging,
          restarted: s.restarted,
          saturated: s.saturated,
          keptUp: s.keptUp,
        })),
      })),
    },
    summary:
      `ingest per camera (640x360@25, ${cpus().length} cores, 1 ingest worker, n=${args.trials} alternating trials): ${args.variants.map(describe).join('; ')}` +
      (args.variants.includes('relay') ? `; cameras over ${args.transport}, relay ${args.transport === 'udp' ? relaySending.split(':')[0] : 'JavaScript path'}` : '') +
      (target ? `; target (<= ${TARGET.cpuPercent}% of a core and ${TARGET.privateMb} MB per relayed camera in the worker) ${target.met ? 'MET' : 'NOT MET'}` : '') +
      (otherLoad > OTHER_LOAD_WARNING ? ` (WARNING: other programs used up to ${percent(otherLoad)}% of the machine during a step)` : ''),
    plots: plots(summaries, args),
    failures,
  });
  log(`ingest: done in ${elapsed()}`);
  return code;
}

process.exit(await main());
