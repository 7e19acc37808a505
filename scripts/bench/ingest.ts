/**
 * Ingest capacity: CPU and memory of C5 Live per camera, passed through (H.264 copied by ffmpeg)
 * and transcoded (MJPEG decoded and encoded to H.264 by libx264), stepping the number of live
 * cameras until the machine saturates. The camera simulator's own CPU is reported separately.
 *
 *   node scripts/with-env.mjs tsx scripts/bench/ingest.ts [--full] [--trials N] [--seconds N]
 *       [--variants passthrough,transcoded] [--passthrough-steps 1,50,100] [--transcoded-steps 1,8,16]
 *       [--workers N] [--busy-limit PERCENT] [--out DIR] [--json-only]
 *
 * Quick (default, ~2.5 minutes on a quiet 2-core machine): 2 trials, 3 s windows, passthrough
 * steps 1, 50, 100 (starting hundreds of cameras takes minutes: when 100 do not saturate the
 * machine, the summary says so and gives the extrapolated "C5 alone" capacity), transcoded 1, 8,
 * 16, 24. --full (~10 minutes): 3 trials, 6 s windows, passthrough up to 400, transcoded up to 32.
 * --busy-limit 100 leaves saturation to the cameras' own health, for a machine shared with other work.
 *
 * Cameras: 640x360 @ 25 fps, a scrolling SMPTE pattern; passthrough = H.264 Main ~800 kbps,
 * transcoded = MJPEG (quality 70). The passthrough cameras are one simulator "bulk" group: ONE
 * encoder feeds every mount, so hundreds of cameras cost the simulator little (it still sends each
 * ffmpeg its own stream; that, too, is in its CPU). The transcoded cameras each have an encoder of
 * their own: in a bulk group the timestamps every client sees jump back whenever another client
 * joins, which a copying ffmpeg passes on but a decoding one answers by dropping frames until it
 * has caught up (seconds: the ingest stalls and restarts). All cameras are pulled over RTSP/UDP:
 * over TCP a bulk group sends to all its clients at the pace of the slowest (one busy ffmpeg
 * stalls every camera at once) and loses cameras when many join at the same time, which is not
 * how independent cameras behave.
 *
 * The real pipeline: startTestApp() (mediasoup workers, default one per core), every camera
 * acquired through CameraManager like a viewer would (ffprobe, then one ffmpeg per camera into a
 * mediasoup PlainTransport/Producer). A step adds cameras to the ones already live (at most
 * RAMP_CONCURRENCY starting at once), waits until all are live, lets them settle, then measures
 * over a window: CPU of all ffmpeg ingests, of this process (the C5 server: signalling, progress
 * parsing, mediasoup channel; also this benchmark's sampling, which is small), of the mediasoup
 * workers, of the simulator (process and descendants), machine busy share (/proc/stat, all cores),
 * then ffmpeg RSS and private memory (USS: what one more camera adds; RSS also counts the code
 * and libraries every ffmpeg shares).
 *
 * Health of a step, from what C5 itself sees: every camera still live with the same ffmpeg, its
 * frame rate (ffmpeg's frame counter over the window, timed by its progress reports) at >= 90 % of
 * 25 fps for at least 95 % of the cameras, and < 1 % RTP packets lost at the mediasoup producers.
 * The stepping of a variant stops at the first step that is unhealthy or where the machine is
 * >= 90 % (--busy-limit) busy: that step is where it saturates, the step before is what it
 * sustains. Cameras that never went live are a failed step (exit code 1). Interrupt time (irq + softirq, mostly the
 * streams' own loopback networking) is charged to no process and reported apart; "other load" is
 * the rest of the busy share that the processes measured here did not use (other programs, steal).
 *
 * Trials alternate the variants, A B A B (2 quick, 3 full); every number is the median over trials
 * with min-max spread and n. A trial's per-camera costs come from its last unsaturated step (the
 * most cameras, so the least noise per camera; past the busy limit the ingests compete for CPU),
 * else, on a machine busy with other work, its last step whose cameras all kept up. "C5 alone"
 * extrapolates that step linearly to the number of
 * cameras at which ffmpeg, server and mediasoup would keep the machine 90 % busy by themselves:
 * the capacity of a server whose cameras are elsewhere (no simulator, no other load).
 *
 * stdout: the JSON result, then (without --json-only) one summary line. Progress goes to stderr.
 */
import { cpus } from 'node:os';
import { descendants, Simulator, type BulkConfig, type SimulatorConfig } from '../camsim/Simulator.ts';
import { startTestApp, type TestApp } from '../../test/support/pipelineApp.ts';
import type { CameraLease } from '../../server/cameras/CameraManager.ts';
import { Cleanups } from './Cleanups.ts';
import type { PlotSeries, PlotSpec } from './plot.ts';
import { benchmarkCommandLine, CpuMeter, cpuBusyShare, cpuIrqShare, machineCpu, processName, rssMb, sleep, ussMb, type CommonArgs, type MachineCpu } from './host.ts';
import { logger, report } from './report.ts';
import { formatSpread, median, round1, spread, type Spread } from './stats.ts';

const VARIANT_NAMES = ['passthrough', 'transcoded'] as const;
type VariantName = (typeof VARIANT_NAMES)[number];

const FPS = 25;
const SOURCE = { width: 640, height: 360, fps: FPS, pattern: 'smpte', motion: 2 } as const;

interface Variant {
  label: string;
  prefix: string;
  source: Omit<BulkConfig, 'prefix' | 'count'>;
  /** One shared encoder for all its cameras (see the top of the file for why not always). */
  bulk: boolean;
  /** What CameraStatus.transcodeReason must say, or undefined for a passthrough. */
  transcodeReason: 'codec' | undefined;
  steps: { quick: number[]; full: number[] };
}

const VARIANTS: Record<VariantName, Variant> = {
  passthrough: {
    label: 'passthrough (H.264 copy)',
    prefix: 'pass-',
    source: { ...SOURCE, codec: 'h264', profile: 'main', gop: FPS, bitrateKbps: 800 },
    bulk: true,
    transcodeReason: undefined,
    steps: { quick: [1, 50, 100], full: [1, 50, 100, 150, 200, 250, 300, 400] },
  },
  transcoded: {
    label: 'transcoded (MJPEG -> H.264)',
    prefix: 'mjpeg-',
    source: { ...SOURCE, codec: 'mjpeg', quality: 70 },
    bulk: false,
    transcodeReason: 'codec',
    steps: { quick: [1, 8, 16, 24], full: [1, 4, 8, 12, 16, 20, 24, 32] },
  },
};

/** A step saturates the machine at this busy share (all cores); --busy-limit. */
const DEFAULT_BUSY_LIMIT = 0.9;
/** A camera keeps up when it delivers at least this share of its frame rate ... */
const FPS_KEEP_UP = 0.9;
/** ... and a step is healthy when no more than this share of its cameras falls behind. */
const LAGGING_LIMIT = 0.05;
/** RTP loss at the producers above this share makes a step unhealthy. */
const LOSS_LIMIT = 0.01;
const RAMP_CONCURRENCY = 16;
/** Busy share of the machine outside the measured processes above which the summary warns. */
const OTHER_LOAD_WARNING = 0.15;
const TEARDOWN_TIMEOUT_MS = 30_000;

interface Args extends CommonArgs {
  trials: number;
  windowSeconds: number;
  settleSeconds: number;
  variants: VariantName[];
  steps: Record<VariantName, number[]>;
  workers: number;
  busyLimit: number;
}

function parseCli(): Args {
  return benchmarkCommandLine(
    {
      trials: { type: 'string' },
      seconds: { type: 'string' },
      variants: { type: 'string', default: VARIANT_NAMES.join(',') },
      'passthrough-steps': { type: 'string' },
      'transcoded-steps': { type: 'string' },
      workers: { type: 'string', default: String(cpus().length) },
      'busy-limit': { type: 'string', default: String(DEFAULT_BUSY_LIMIT * 100) },
    },
    (flags, { full }) => {
      const mode = full ? 'full' : 'quick';
      const busyLimit = flags.number('busy-limit', { min: 10, max: 100, what: 'a percentage' }) / 100;
      const trials = flags.integer('trials', { min: 1, max: 20, fallback: full ? 3 : 2 });
      const windowSeconds = flags.number('seconds', { min: 2, max: 120, fallback: full ? 6 : 3 });
      const workers = flags.integer('workers', { min: 1, max: 16 });
      const variants = flags.names('variants', VARIANT_NAMES, 'variant');
      return {
        trials,
        windowSeconds,
        settleSeconds: full ? 2 : 1,
        variants,
        steps: {
          passthrough: flags.increasingIntegers('passthrough-steps', { min: 1, max: 1000, fallback: VARIANTS.passthrough.steps[mode] }),
          transcoded: flags.increasingIntegers('transcoded-steps', { min: 1, max: 1000, fallback: VARIANTS.transcoded.steps[mode] }),
        },
        workers,
        busyLimit,
      };
    },
  );
}

const percent = (share: number) => round1(share * 100);

/** Busy and interrupt (irq + softirq: here mostly loopback networking) shares of all cores between two readings. */
function machineShares(a: MachineCpu, b: MachineCpu): { busy: number; irq: number } {
  return { busy: cpuBusyShare(a.all, b.all), irq: cpuIrqShare(a.all, b.all) };
}

/** One measured step of one trial. CPU figures are shares of ONE core (1 = a full core). */
interface StepSample {
  cameras: number;
  /** ffmpeg processes measured (cameras that never went live have none) */
  ingests: number;
  live: number;
  neverLive: number;
  machineBusy: number;
  /** share of the machine in interrupts (irq + softirq), which no process is charged for: mostly the streams' loopback networking */
  irq: number;
  /** busy share of the machine spent neither by the processes measured here nor in interrupts */
  otherLoad: number;
  ffmpegCpu: number;
  serverCpu: number;
  mediasoupCpu: number;
  simulatorCpu: number;
  ffmpegRssMb: number;
  ffmpegUssMb: number;
  serverRssMb: number;
  fpsMedian: number;
  fpsMin: number;
  lagging: number;
  restarted: number;
  lossShare: number;
  kbpsMedian: number;
  saturated: string[];
  /** every camera went live, stayed live and kept its frame rate, no loss: its CPU figures are what a camera needs */
  keptUp: boolean;
}

interface Run {
  trial: number;
  variant: VariantName;
  steps: StepSample[];
  /** cameras at the first saturated step, or null when the last step still did not saturate */
  saturatedAt: number | null;
  sustained: number | null;
  /** the step the trial's per-camera costs come from: its last unsaturated step, else its last step whose cameras kept up */
  reference: number | null;
  /**
   * Cameras at which C5 Live's own processes (ffmpeg, server, mediasoup) would keep the machine
   * --busy-limit busy, extrapolated linearly from the largest healthy step: the capacity of a machine
   * that runs nothing else (real cameras are elsewhere, the simulator is not).
   */
  capacityEstimate: number | null;
}

class Bench {
  readonly failures: string[] = [];

  constructor(
    private readonly args: Args,
    private readonly t: TestApp,
    private readonly sim: Simulator,
    private readonly log: (line: string) => void,
  ) {}

  ids(variant: VariantName, count: number): string[] {
    return Array.from({ length: count }, (_, i) => `${VARIANTS[variant].prefix}${i + 1}`);
  }

  async run(trial: number, variant: VariantName): Promise<Run> {
    const steps: StepSample[] = [];
    const leases = new Map<string, CameraLease>();
    let saturatedAt: number | null = null;
    try {
      for (const cameras of this.args.steps[variant]) {
        const ids = this.ids(variant, cameras);
        const rampStart = { at: performance.now(), cpu: machineCpu() };
        const neverLive = await this.ramp(ids.filter((id) => !leases.has(id)), leases);
        const rampBusy = machineShares(rampStart.cpu, machineCpu()).busy;
        this.log(`  trial ${trial} ${variant} ${cameras} cameras: ${leases.size} live after ${((performance.now() - rampStart.at) / 1000).toFixed(1)} s (machine ${percent(rampBusy)}% busy)`);
        if (neverLive.length) this.failures.push(`trial ${trial} ${variant} step ${cameras}: ${neverLive.length} camera(s) never went live (${neverLive.slice(0, 3).join('; ')})`);
        this.checkTranscode(variant, [...leases.keys()]);
        await sleep(this.args.settleSeconds * 1000);
        const sample = await this.measure([...leases.keys()], cameras, neverLive.length);
        steps.push(sample);
        this.log(
          `    busy ${percent(sample.machineBusy)}% (irq ${percent(sample.irq)}%, other load ${percent(sample.otherLoad)}%), ffmpeg ${percent(sample.ffmpegCpu / sample.ingests)}% of a core/camera, ` +
            `${round1(sample.ffmpegRssMb)} MB RSS/camera, server ${percent(sample.serverCpu)}%, mediasoup ${percent(sample.mediasoupCpu)}%, ` +
            `simulator ${percent(sample.simulatorCpu)}%, fps median ${round1(sample.fpsMedian)} min ${round1(sample.fpsMin)}, ` +
            `loss ${round1(sample.lossShare * 100)}%${sample.saturated.length ? `: SATURATED (${sample.saturated.join(', ')})` : ''}`,
        );
        if (sample.saturated.length) {
          saturatedAt = cameras;
          break;
        }
      }
    } finally {
      await this.releaseAll(leases);
    }
    const sustained = steps.filter((s) => !s.saturated.length).at(-1)?.cameras ?? null;
    // Past the busy limit ingests compete for CPU and use less of it: prefer the last step below it.
    const reference = steps.filter((s) => !s.saturated.length).at(-1) ?? steps.filter((s) => s.keptUp).at(-1);
    const c5 = reference ? reference.ffmpegCpu + reference.serverCpu + reference.mediasoupCpu : 0;
    const capacityEstimate = reference && c5 > 0 ? Math.floor((reference.cameras * this.args.busyLimit * cpus().length) / c5) : null;
    return { trial, variant, steps, saturatedAt, sustained, reference: reference?.cameras ?? null, capacityEstimate };
  }

  /** Starts the cameras not yet live, RAMP_CONCURRENCY at a time; returns why each one that never went live did not. */
  private async ramp(ids: string[], leases: Map<string, CameraLease>): Promise<string[]> {
    const failed: string[] = [];
    const queue = [...ids];
    const starter = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        try {
          leases.set(id, await this.t.app.cameras.acquire(id));
        } catch (error) {
          failed.push(`${id}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: RAMP_CONCURRENCY }, starter));
    return failed;
  }

  private checkTranscode(variant: VariantName, ids: string[]): void {
    const expected = VARIANTS[variant].transcodeReason;
    const wrong = ids.filter((id) => this.t.app.cameras.status(id)?.transcodeReason !== expected);
    if (wrong.length) {
      const message = `${variant}: ${wrong.length} camera(s) with transcodeReason ${String(this.t.app.cameras.status(wrong[0]!)?.transcodeReason)}, expected ${String(expected)}`;
      if (!this.failures.includes(message)) this.failures.push(message);
    }
  }

  private async measure(ids: string[], cameras: number, neverLive: number): Promise<StepSample> {
    const sessions = ids.map((id) => this.t.app.cameras.session(id));
    const pidsBefore = sessions.map((s) => s?.ingestPid);
    const pids = pidsBefore.filter((pid): pid is number => pid !== undefined);
    const restartsBefore = sessions.map((s) => s?.status.restarts ?? 0);
    const frames = () =>
      sessions.map((s) => {
        const status = s?.status;
        return { frames: status?.progress?.frames ?? 0, at: status?.lastFrameAt ?? 0 };
      });
    const rtp = async () =>
      Promise.all(
        sessions.map(async (s) => {
          const stats = (await s?.feed?.producer.getStats().catch(() => [])) ?? [];
          return stats.reduce((sum, st) => ({ packets: sum.packets + st.packetCount, lost: sum.lost + st.packetsLost, bytes: sum.bytes + st.byteCount }), { packets: 0, lost: 0, bytes: 0 });
        }),
      );

    const framesBefore = frames();
    const rtpBefore = await rtp();
    const machineBefore = machineCpu();
    const serverBefore = process.cpuUsage();
    const started = performance.now();
    const meter = CpuMeter.start({ ffmpeg: pids, mediasoup: this.t.app.media.workers.map((w) => w.pid), simulator: [this.sim.pid, ...descendants(this.sim.pid)] });
    await sleep(this.args.windowSeconds * 1000);
    // Unrounded: 1 % of a core is too coarse for one camera.
    const cpu = meter.stop({ round: false });
    const seconds = (performance.now() - started) / 1000;
    const server = process.cpuUsage(serverBefore);
    const machine = machineShares(machineBefore, machineCpu());
    const machineBusy = machine.busy;
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
    const livePids = sessions.map((s) => s?.ingestPid).filter((pid): pid is number => pid !== undefined);
    const sample: StepSample = {
      cameras,
      ingests: pids.length,
      live,
      neverLive,
      machineBusy,
      irq: machine.irq,
      otherLoad: NaN,
      ffmpegCpu: cpu.ffmpeg,
      serverCpu: (server.user + server.system) / 1e6 / seconds,
      mediasoupCpu: cpu.mediasoup,
      simulatorCpu: cpu.simulator,
      ffmpegRssMb: livePids.length ? livePids.reduce((sum, pid) => sum + rssMb(pid), 0) / livePids.length : NaN,
      ffmpegUssMb: livePids.length ? livePids.reduce((sum, pid) => sum + ussMb(pid), 0) / livePids.length : NaN,
      serverRssMb: process.memoryUsage().rss / 1024 / 1024,
      fpsMedian: median(fps),
      fpsMin: fps.length ? Math.min(...fps) : NaN,
      lagging,
      restarted,
      lossShare,
      kbpsMedian: median(kbps),
      saturated: [],
      keptUp: false,
    };
    sample.otherLoad = Math.max(0, machineBusy - machine.irq - (sample.ffmpegCpu + sample.serverCpu + sample.mediasoupCpu + sample.simulatorCpu) / cpus().length);
    if (neverLive) sample.saturated.push(`${neverLive} never went live`);
    if (live < ids.length || restarted) sample.saturated.push(`${ids.length - live} not live, ${restarted} restarted`);
    if (fps.length && lagging / fps.length > LAGGING_LIMIT) sample.saturated.push(`${lagging} below ${FPS * FPS_KEEP_UP} fps`);
    if (lossShare > LOSS_LIMIT) sample.saturated.push(`${round1(lossShare * 100)}% RTP lost`);
    sample.keptUp = sample.saturated.length === 0;
    if (machineBusy >= this.args.busyLimit) sample.saturated.push(`machine ${percent(machineBusy)}% busy`);
    return sample;
  }

  /** Releases every lease (the test app closes an unwatched ingest at once) and waits until the ingests are gone. */
  private async releaseAll(leases: Map<string, CameraLease>): Promise<void> {
    const ids = [...leases.keys()];
    for (const lease of leases.values()) lease.release();
    leases.clear();
    const deadline = Date.now() + TEARDOWN_TIMEOUT_MS;
    const busy = () => ids.filter((id) => this.t.app.cameras.session(id)?.ingestPid !== undefined || this.t.app.cameras.session(id)?.state !== 'idle');
    while (busy().length && Date.now() < deadline) await sleep(200);
    const left = busy();
    if (left.length) this.failures.push(`${left.length} camera(s) still running ${TEARDOWN_TIMEOUT_MS / 1000} s after release (${left.slice(0, 3).join(', ')})`);
    // Let the machine come back to rest before the next variant.
    await sleep(1500);
  }
}

const PER_STEP = {
  machineBusyPercent: { unit: '% of all cores', pick: (s) => s.machineBusy * 100 },
  irqPercent: { unit: '% of all cores in irq + softirq (mostly the loopback networking of the streams)', pick: (s) => s.irq * 100 },
  otherLoadPercent: { unit: '% of all cores, busy but neither in the processes measured here nor in interrupts', pick: (s) => s.otherLoad * 100 },
  ffmpegCpuPercent: { unit: '% of one core, all ingests', pick: (s) => s.ffmpegCpu * 100 },
  ffmpegCpuPerCameraPercent: { unit: '% of one core', pick: (s) => (s.ffmpegCpu / s.ingests) * 100 },
  c5CpuPerCameraPercent: { unit: '% of one core: ffmpeg + server + mediasoup, per camera', pick: (s) => ((s.ffmpegCpu + s.serverCpu + s.mediasoupCpu) / s.ingests) * 100 },
  serverCpuPercent: { unit: '% of one core (this node process)', pick: (s) => s.serverCpu * 100 },
  mediasoupCpuPercent: { unit: '% of one core, all workers', pick: (s) => s.mediasoupCpu * 100 },
  serverAndMediasoupCpuPercent: { unit: '% of one core', pick: (s) => (s.serverCpu + s.mediasoupCpu) * 100 },
  simulatorCpuPercent: { unit: '% of one core', pick: (s) => s.simulatorCpu * 100 },
  ffmpegRssPerCameraMb: { unit: 'MB', pick: (s) => s.ffmpegRssMb },
  ffmpegUssPerCameraMb: { unit: 'MB, private to each ffmpeg', pick: (s) => s.ffmpegUssMb },
  serverRssMb: { unit: 'MB', pick: (s) => s.serverRssMb },
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
    for (const [key, { pick }] of Object.entries(PER_STEP)) row[key] = spread(at.map(pick));
    row.saturatedIn = at.filter((s) => s.saturated.length).length;
    row.saturation = [...new Set(at.flatMap((s) => s.saturated))];
    return row;
  });
  const atReference = mine.flatMap((r) => r.steps.filter((s) => s.cameras === r.reference));
  const per = (key: keyof typeof PER_STEP) => spread(atReference.map(PER_STEP[key].pick));
  const notSaturated = mine.filter((r) => r.saturatedAt === null).length;
  return {
    label: VARIANTS[variant].label,
    source: VARIANTS[variant].source,
    trials: mine.length,
    headline: {
      /** per trial, the step the per-camera figures come from */
      atCameras: mine.map((r) => r.reference),
      ffmpegCpuPerCameraPercent: per('ffmpegCpuPerCameraPercent'),
      c5CpuPerCameraPercent: per('c5CpuPerCameraPercent'),
      ffmpegRssPerCameraMb: per('ffmpegRssPerCameraMb'),
      ffmpegUssPerCameraMb: per('ffmpegUssPerCameraMb'),
      simulatorCpuPercent: per('simulatorCpuPercent'),
      machineBusyPercent: per('machineBusyPercent'),
      otherLoadPercent: per('otherLoadPercent'),
      rtpKbpsMedian: per('rtpKbpsMedian'),
      /** cameras at the first saturated step of each trial */
      saturatesAt: spread(mine.flatMap((r) => (r.saturatedAt === null ? [] : [r.saturatedAt]))),
      /** cameras at the last healthy step of each trial */
      sustains: spread(mine.flatMap((r) => (r.sustained === null ? [] : [r.sustained]))),
      trialsNotSaturated: notSaturated,
      /** see Run.capacityEstimate */
      capacityEstimate: spread(mine.flatMap((r) => (r.capacityEstimate === null ? [] : [r.capacityEstimate]))),
    },
    steps,
  };
}

function plots(summaries: Partial<Record<VariantName, ReturnType<typeof summarize>>>, args: Args): Record<string, PlotSpec> {
  const cores = cpus().length;
  const line = (summary: ReturnType<typeof summarize>, key: keyof typeof PER_STEP, scale = 1) =>
    summary.steps.map((row) => {
      const s = row[key] as Spread;
      const scaled = (v: number | null) => (v === null ? null : round1(v * scale));
      return { x: row.cameras as number, y: scaled(s.median), yMin: scaled(s.min), yMax: scaled(s.max) };
    });
  const cpuSeries: PlotSeries[] = [];
  const perCameraSeries: PlotSeries[] = [];
  const memorySeries: PlotSeries[] = [];
  for (const [variant, summary] of Object.entries(summaries) as Array<[VariantName, ReturnType<typeof summarize>]>) {
    // shares of one core -> % of the machine
    cpuSeries.push(
      { label: `${variant}: machine busy`, points: line(summary, 'machineBusyPercent') },
      { label: `${variant}: ffmpeg ingests`, points: line(summary, 'ffmpegCpuPercent', 1 / cores) },
      { label: `${variant}: server + mediasoup`, points: line(summary, 'serverAndMediasoupCpuPercent', 1 / cores) },
      { label: `${variant}: simulator`, points: line(summary, 'simulatorCpuPercent', 1 / cores) },
    );
    perCameraSeries.push(
      { label: `${variant}: ffmpeg`, points: line(summary, 'ffmpegCpuPerCameraPercent') },
      { label: `${variant}: ffmpeg + server + mediasoup`, points: line(summary, 'c5CpuPerCameraPercent') },
    );
    memorySeries.push(
      { label: `${variant}: RSS`, points: line(summary, 'ffmpegRssPerCameraMb') },
      { label: `${variant}: private (USS)`, points: line(summary, 'ffmpegUssPerCameraMb') },
    );
  }
  const subtitle = `640x360 @ 25 fps, ${cores} cores, ${args.workers} mediasoup worker(s); median of ${args.trials} alternating trial(s), whiskers min-max`;
  const base = { subtitle, kind: 'line', logX: true, xLabel: 'live cameras' } as const;
  return {
    cpu: { ...base, title: 'Ingest: CPU by number of live cameras', yLabel: '% of the machine (all cores)', series: cpuSeries },
    'per-camera': { ...base, title: 'Ingest: CPU per camera', yLabel: '% of one core', series: perCameraSeries },
    memory: { ...base, title: 'Ingest: ffmpeg memory per camera', yLabel: 'MB', series: memorySeries },
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
  const maxCameras = (v: VariantName) => Math.max(...args.steps[v]);
  // tsx's esbuild service is a child too, and stays.
  const started = () => descendants(process.pid).filter((pid) => processName(pid) !== 'esbuild');
  try {
    const sim = await Simulator.start({
      config: {
        cameras: args.variants.flatMap((v): SimulatorConfig['cameras'] => {
          const { source, prefix, bulk } = VARIANTS[v];
          return bulk ? [{ bulk: { ...source, prefix, count: maxCameras(v) } }] : Array.from({ length: maxCameras(v) }, (_, i) => ({ ...source, id: `${prefix}${i + 1}` }));
        }),
      },
    });
    cleanups.add('the camera simulator', () => sim.stop());
    const cameraIds = args.variants.flatMap((v) => Array.from({ length: maxCameras(v) }, (_, i) => `${VARIANTS[v].prefix}${i + 1}`));
    const t = await startTestApp({
      // A port range of its own: other benchmarks on this machine use the default one.
      media: { workers: args.workers, rtcMinPort: 20000, rtcMaxPort: 29999 },
      ingest: { startTimeoutMs: 30_000 },
      cameras: cameraIds.map((id) => ({ id, name: id, url: sim.url(id), transport: 'udp' })),
    });
    cleanups.add('C5 Live', () => t.close());
    bench = new Bench(args, t, sim, log);
    log(`ingest: ${args.trials} trial(s) of ${args.variants.join(', ')}; window ${args.windowSeconds} s after ${args.settleSeconds} s settling; ${cpus().length} cores, ${args.workers} mediasoup worker(s) [${elapsed()}]`);
    for (let trial = 1; trial <= args.trials; trial++) {
      for (const variant of args.variants) {
        const run = await bench.run(trial, variant);
        runs.push(run);
        log(`trial ${trial} ${variant}: ${run.saturatedAt === null ? `not saturated up to ${run.steps.at(-1)?.cameras ?? 0}` : `saturated at ${run.saturatedAt}`} cameras [${elapsed()}]`);
      }
    }
  } catch (error) {
    failures.push(`run aborted: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await cleanups.run();
  }
  failures.unshift(...(bench?.failures ?? []));
  // Everything this benchmark started (simulator, mediasoup workers, ffmpeg, ffprobe) must be gone.
  let leftover = started();
  for (let i = 0; i < 25 && leftover.length; i++) {
    await sleep(200);
    leftover = started();
  }
  if (leftover.length) failures.push(`processes left running: ${leftover.map((pid) => `${pid} (${processName(pid) ?? '?'})`).join(', ')}`);

  const summaries: Partial<Record<VariantName, ReturnType<typeof summarize>>> = {};
  for (const variant of args.variants) if (runs.some((r) => r.variant === variant)) summaries[variant] = summarize(runs, variant);
  const otherLoad = Math.max(0, ...runs.flatMap((r) => r.steps.map((s) => s.otherLoad)));
  const describe = (variant: VariantName) => {
    const h = summaries[variant]?.headline;
    if (!h) return `${variant} did not run`;
    const saturation =
      h.saturatesAt.n === 0
        ? `not saturated up to ${maxCameras(variant)} cameras`
        : `saturates at ${formatSpread(h.saturatesAt)} cameras${h.trialsNotSaturated ? ` (${h.trialsNotSaturated} trial(s) not up to ${maxCameras(variant)})` : ''}`;
    return (
      `${variant}: ffmpeg ${formatSpread(h.ffmpegCpuPerCameraPercent, '%')} of a core, ${formatSpread(h.ffmpegUssPerCameraMb, ' MB')} private ` +
      `(${formatSpread(h.ffmpegRssPerCameraMb, ' MB')} RSS) per camera at ${[...new Set(h.atCameras)].join('/') || '?'} cameras (with server + mediasoup ${formatSpread(h.c5CpuPerCameraPercent, '%')}; ` +
      `simulator ${formatSpread(h.simulatorCpuPercent, '%')} of a core in all), ${saturation}, C5 alone ~${formatSpread(h.capacityEstimate)}`
    );
  };
  const code = await report(args, {
    name: 'ingest',
    result: {
      method:
        `cameras stepped up per variant (kept live across steps, ramped ${RAMP_CONCURRENCY} at a time), settle, then measure a window; CPU as % of ONE core unless noted; ` +
        `a step saturates at >= ${percent(args.busyLimit)}% machine busy, a camera not live or restarted, > ${LAGGING_LIMIT * 100}% of cameras below ${FPS * FPS_KEEP_UP} fps, or > ${LOSS_LIMIT * 100}% RTP loss; ` +
        "per-camera figures at each trial's last unsaturated step (else its last step whose cameras all kept up); medians over alternating trials (A B A B) with min-max and n",
      cores: cpus().length,
      mediaWorkers: args.workers,
      trials: args.trials,
      order: runs.map((r) => `${r.variant}#${r.trial}`),
      windowSeconds: args.windowSeconds,
      settleSeconds: args.settleSeconds,
      steps: Object.fromEntries(args.variants.map((v) => [v, args.steps[v]])),
      units: Object.fromEntries(Object.entries(PER_STEP).map(([key, { unit }]) => [key, unit])),
      variants: summaries,
      runs: runs.map((r) => ({
        trial: r.trial,
        variant: r.variant,
        saturatedAt: r.saturatedAt,
        sustained: r.sustained,
        reference: r.reference,
        capacityEstimate: r.capacityEstimate,
        steps: r.steps.map((s) => ({
          cameras: s.cameras,
          live: s.live,
          neverLive: s.neverLive,
          machineBusyPercent: percent(s.machineBusy),
          irqPercent: percent(s.irq),
          otherLoadPercent: percent(s.otherLoad),
          ffmpegCpuPercent: percent(s.ffmpegCpu),
          serverCpuPercent: percent(s.serverCpu),
          mediasoupCpuPercent: percent(s.mediasoupCpu),
          simulatorCpuPercent: percent(s.simulatorCpu),
          ffmpegRssPerCameraMb: round1(s.ffmpegRssMb),
          ffmpegUssPerCameraMb: round1(s.ffmpegUssMb),
          serverRssMb: round1(s.serverRssMb),
          fpsMedian: round1(s.fpsMedian),
          fpsMin: round1(s.fpsMin),
          lagging: s.lagging,
          restarted: s.restarted,
          rtpLossPercent: round1(s.lossShare * 100),
          rtpKbpsMedian: round1(s.kbpsMedian),
          saturated: s.saturated,
          keptUp: s.keptUp,
        })),
      })),
    },
    summary:
      `ingest per camera (640x360@25, ${cpus().length} cores, n=${args.trials} alternating trials): ${args.variants.map(describe).join('; ')}` +
      (otherLoad > OTHER_LOAD_WARNING ? ` (WARNING: other programs used up to ${percent(otherLoad)}% of the machine during a step)` : ''),
    plots: plots(summaries, args),
    failures,
  });
  log(`ingest: done in ${elapsed()}`);
  return code;
}

process.exit(await main());
