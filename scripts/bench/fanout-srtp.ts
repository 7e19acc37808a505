/**
 * Fan-out ceiling of ONE mediasoup worker: how many SRTP consumers of one 1 Mbit/s camera it
 * forwards before packets get lost or its core is full.
 *
 *   node scripts/with-env.mjs tsx scripts/bench/fanout-srtp.ts [--full] [--trials N] [--seconds S]
 *        [--warmup S] [--steps 1,50,...] [--budget S] [--suite AES_CM_128_HMAC_SHA1_80] [--plain]
 *        [--nice -20] [--out DIR] [--json-only]
 *
 * Real parts: the camera simulator (1280x720@25 H.264 baseline, GOP 25, ~1 Mbit/s) and C5 Live
 * with one media worker, whose ffmpeg ingest produces the camera into the worker's router (the
 * camera is acquired like a viewer would). On that router the benchmark opens N PlainTransports
 * with SRTP (comedia off, RTCP muxed), each connected to the one UDP port of a sink process, and
 * one consumer of the camera on each. The sink (SrtpSink.ts) counts packets per SSRC and finds
 * lost ones from gaps in the RTP sequence numbers (SRTP leaves the RTP header in the clear); it
 * also checks on a sample that the payloads are encrypted. --plain: plain RTP instead, to see
 * what SRTP costs (written as fanout-plain-rtp.json/.png).
 *
 * Pinning (taskset): the worker alone on core 0; the sink, the ffmpeg ingest, the simulator and
 * this process (mediasoup's Node side) share core 1, the "load generator" core. All of them run
 * at nice --nice (default -20) so that other work on this shared 2-core machine does not take
 * the worker's core from it (--nice 0: as deployed).
 *
 * A trial steps the consumer count up (consumers are added, never closed between steps); each
 * step waits a warm-up (a new consumer forwards from the next keyframe on, GOP = 1 s), then
 * measures a window: loss = (expected - received) / expected over the window per stream, summed;
 * CPU of the worker (and its kernel share), sink, ingest and simulator from /proc (share of one
 * core); busy share of each core from /proc/stat (others' work and hypervisor steal show there);
 * where packets were dropped: the sink's socket, the worker's ingest socket (/proc/net/udp), the
 * producer's own loss counter. A trial stops after a step with loss > 1% or silent consumers, or
 * with the worker at >= 95% of its core, or with the sink saturated (then it is the load
 * generator that ran out, not the worker). Loss while core 0 is full but the worker has < 85% of
 * it is reported as contention (a lower bound), not as the worker's ceiling. Everything a trial
 * opened is closed before the next one, and the router's dump is checked for leftovers.
 *
 * Trials repeat the whole stepping (quick: 2 trials, 4 s windows, <= ~2.5 min; full: 3 trials,
 * 10 s windows, <= ~10 min; --budget caps the time: no step starts that could not end in it).
 * Each number per step is the median over the trials that reached that step, with min-max and n.
 * Headline: the forwarding ceiling = the last step of a trial under 1% loss with the worker under
 * 95% (median over trials, spread), the worker's CPU per forwarded packet there, and the consumer
 * count a full core would carry at that cost (a linear projection, labelled as such).
 *
 * stdout: the JSON (also bench-results/fanout-srtp.json) then one summary line; plot:
 * bench-results/fanout-srtp.png (x consumers; worker, sink, core-0 CPU; loss on the right axis).
 * Progress on stderr. Exit 1 when a step or a peer could not run.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as osConstants, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { types } from 'mediasoup';
import { Simulator, type CameraConfig } from '../camsim/Simulator.ts';
import { startTestApp } from '../../test/support/pipelineApp.ts';
import { Cleanups } from './Cleanups.ts';
import { autogroupSupported, benchmarkCommandLine, CpuMeter, cpuBusyShare, machineCpu, pinToCore, processCpu, setAutogroupNice, sleep, udpDrops, type CommonArgs } from './host.ts';
import { logger, report } from './report.ts';
import { formatSpread, round1, spread, type Spread } from './stats.ts';
import type { PlotSeries } from './plot.ts';
import { SrtpSinkProcess } from './SrtpSinkProcess.ts';

const WORKER_CORE = 0;
const LOAD_CORE = 1;
const LOSS_LIMIT = 0.01;
const CPU_LIMIT = 0.95;
/** Core 0 this busy with the worker under this share of it: others took the core from the worker. */
const CONTENDED_WORKER_BELOW = 0.85;
const CREATE_PARALLEL = 50;

const CAMERA = {
  id: 'cam-fanout',
  codec: 'h264',
  profile: 'baseline',
  width: 1280,
  height: 720,
  fps: 25,
  gop: 25,
  bitrateKbps: 1000,
  // A still test pattern compresses to far less than the target; a scrolling one keeps x264's
  // rate control at its target.
  pattern: 'smpte',
  motion: 4,
} as const satisfies CameraConfig;

const SUITES = {
  AES_CM_128_HMAC_SHA1_80: 30,
  AES_CM_128_HMAC_SHA1_32: 30,
  AEAD_AES_128_GCM: 28,
  AEAD_AES_256_GCM: 44,
} as const satisfies Record<types.SrtpCryptoSuite, number>;
type Suite = keyof typeof SUITES;

// Dense where this machine's worker tops out (150-250 SRTP consumers), coarser beyond for a faster one.
// budgetSeconds: no step starts that could not end by then (counted from the start of the run).
const QUICK = { trials: 2, seconds: 4, warmupSeconds: 1.5, budgetSeconds: 130, steps: [1, 50, 100, 150, 175, 200, 225, 250, 300, 400, 500, 650, 800, 1000, 1300, 1600, 2000, 2500, 3000] };
const FULL = {
  trials: 3,
  seconds: 10,
  warmupSeconds: 3,
  budgetSeconds: 560,
  steps: [1, 10, 25, 50, 75, 100, 125, 150, 175, 200, 225, 250, 300, 350, 400, 500, 600, 700, 800, 1000, 1200, 1400, 1700, 2000, 2500, 3000, 4000],
};

interface Args extends CommonArgs {
  trials: number;
  seconds: number;
  warmupSeconds: number;
  budgetSeconds: number;
  steps: number[];
  suite: Suite;
  /** plain RTP instead of SRTP (to see what SRTP costs) */
  plain: boolean;
  nice: number;
}

function parseCli(): Args {
  return benchmarkCommandLine(
    {
      trials: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      steps: { type: 'string' },
      budget: { type: 'string' },
      suite: { type: 'string', default: 'AES_CM_128_HMAC_SHA1_80' },
      plain: { type: 'boolean', default: false },
      nice: { type: 'string', default: '-20' },
    },
    (flags, { full }) => {
      const mode = full ? FULL : QUICK;
      const trials = flags.integer('trials', { min: 1, max: 20, fallback: mode.trials });
      const seconds = flags.number('seconds', { min: 1, max: 300, fallback: mode.seconds });
      const warmupSeconds = flags.number('warmup', { min: 1.2, max: 60, fallback: mode.warmupSeconds, why: 'a keyframe comes every second' });
      const steps = flags.increasingIntegers('steps', { min: 1, max: 15_000, fallback: mode.steps });
      const budgetSeconds = flags.number('budget', { min: 10, fallback: mode.budgetSeconds, what: 'a number of seconds' });
      if (!(flags.values.suite in SUITES)) throw new Error(`--suite must be one of ${Object.keys(SUITES).join(', ')}`);
      const nice = flags.integer('nice', { min: -20, max: 19 });
      return { trials, seconds, warmupSeconds, budgetSeconds, steps, suite: flags.values.suite as Suite, plain: flags.values.plain, nice };
    },
  );
}

/** Pins every thread of `pid` to `core` at the nice value `nice`; throws when the process is gone. */
async function pin(pid: number, core: number, nice: number): Promise<void> {
  if (!(await pinToCore(pid, core, { nice }))) throw new Error(`pid ${pid} is gone: it could not be pinned to core ${core}`);
}

// ---------------------------------------------------------------------------------------------
// One step's measurement

interface StepResult {
  trial: number;
  consumers: number;
  /** consumers with no packet at the sink by the end of the window */
  silentConsumers: number;
  windowSeconds: number;
  /** packets the worker sent per second (received + lost) and what arrived, per second */
  sentPps: number;
  receivedPps: number;
  /** Mbit/s arriving at the sink (SRTP packets: RTP header + encrypted payload + auth tag) */
  receivedMbps: number;
  lossPercent: number;
  lost: number;
  /** of the lost packets: dropped by the kernel at the sink's socket (the sink too slow) */
  sinkSocketDrops: number;
  /** datagrams the kernel dropped at the worker's ingest socket (the worker too slow to read the camera) */
  ingestSocketDrops: number;
  /** packets the producer saw missing from the camera's stream (ingest side) */
  producerLost: number;
  /** the camera as it arrives at the worker */
  cameraMbps: number;
  cameraPps: number;
  /** shares of one core (1 = a full core) */
  cpu: { worker: number; sink: number; ingest: number; simulator: number; bench: number };
  /** share of the worker's CPU time spent in the kernel (sending UDP, loopback delivery) */
  workerSystemShare: number | null;
  /** busy share of each core over the window, whoever used it */
  coreBusy: number[];
  /** worker CPU per packet it sent, microseconds */
  workerUsPerPacket: number | null;
  /** sink's sample so far: share of payloads whose first byte reads as a clear H.264 NAL header */
  clearPayloadShare: number | null;
  stop: StopReason | null;
}

type StopReason = 'loss' | 'worker-saturated' | 'sink-saturated' | 'core-contended';

interface Rig {
  router: types.Router;
  producer: types.Producer;
  ingestPort: number;
  sink: SrtpSinkProcess;
  /** false once the camera's feed was replaced (an ingest restart closes the producer) */
  live: () => boolean;
  pids: () => { worker: number; sink: number; ingest: number; simulator: number; bench: number };
}

async function producerTotals(producer: types.Producer): Promise<{ packets: number; bytes: number; lost: number }> {
  const stats = await producer.getStats();
  return stats.reduce((t, s) => ({ packets: t.packets + s.packetCount, bytes: t.bytes + s.byteCount, lost: t.lost + s.packetsLost }), { packets: 0, bytes: 0, lost: 0 });
}

async function measure(rig: Rig, trial: number, ssrcs: ReadonlySet<number>, seconds: number): Promise<StepResult> {
  const pids = rig.pids();
  const ports = [rig.sink.port, rig.ingestPort];
  const prodA = await producerTotals(rig.producer);
  const snapA = await rig.sink.snapshot();
  const meter = CpuMeter.start({ worker: [pids.worker], sink: [pids.sink], ingest: [pids.ingest], simulator: [pids.simulator], bench: [pids.bench] });
  const coresA = machineCpu().cores;
  const splitA = processCpu(pids.worker);
  const dropsA = udpDrops(ports);
  const startedAt = performance.now();
  await sleep(seconds * 1000);
  const snapB = await rig.sink.snapshot();
  const cpu = meter.stop();
  const coresB = machineCpu().cores;
  const splitB = processCpu(pids.worker);
  const dropsB = udpDrops(ports);
  const elapsed = (performance.now() - startedAt) / 1000;
  const prodB = await producerTotals(rig.producer);

  const before = new Map(snapA.streams.map((s) => [s.ssrc, s]));
  let expected = 0;
  let received = 0;
  let bytes = 0;
  let seen = 0;
  for (const b of snapB.streams) {
    if (!ssrcs.has(b.ssrc)) continue;
    seen++;
    const a = before.get(b.ssrc) ?? { expected: 0, received: 0, bytes: 0 };
    expected += b.expected - a.expected;
    received += b.received - a.received;
    bytes += b.bytes - a.bytes;
  }
  const dt = (snapB.at - snapA.at) / 1000;
  const lost = Math.max(0, expected - received);
  const drop = (port: number) => (dropsB.get(port) ?? 0) - (dropsA.get(port) ?? 0);
  const sentPps = expected / dt;
  const user = splitB.user - splitA.user;
  const system = splitB.system - splitA.system;
  return {
    trial,
    consumers: ssrcs.size,
    silentConsumers: ssrcs.size - seen,
    windowSeconds: Math.round(dt * 100) / 100,
    sentPps: Math.round(sentPps),
    receivedPps: Math.round(received / dt),
    receivedMbps: Math.round((bytes * 8) / dt / 1e4) / 100,
    lossPercent: expected > 0 ? Math.round((lost / expected) * 10000) / 100 : 0,
    lost,
    sinkSocketDrops: drop(rig.sink.port),
    ingestSocketDrops: drop(rig.ingestPort),
    producerLost: prodB.lost - prodA.lost,
    cameraMbps: Math.round(((prodB.bytes - prodA.bytes) * 8) / elapsed / 1e4) / 100,
    cameraPps: Math.round((prodB.packets - prodA.packets) / elapsed),
    cpu,
    workerSystemShare: user + system > 0.05 ? Math.round((system / (user + system)) * 100) / 100 : null,
    coreBusy: coresB.map((b, i) => {
      const a = coresA[i];
      return a ? Math.round(cpuBusyShare(a, b) * 100) / 100 : NaN;
    }),
    workerUsPerPacket: sentPps > 0 ? Math.round((cpu.worker / sentPps) * 1e7) / 10 : null,
    clearPayloadShare: snapB.sampled > 0 ? Math.round((snapB.clearH264 / snapB.sampled) * 100) / 100 : null,
    stop: null,
  };
}

function stopReason(s: StepResult): StopReason | null {
  const sinkLimited = s.cpu.sink >= CPU_LIMIT || (s.lost > 0 && s.sinkSocketDrops >= s.lost / 2);
  const contended = (s.coreBusy[WORKER_CORE] ?? 0) >= CPU_LIMIT && s.cpu.worker < CONTENDED_WORKER_BELOW;
  if (s.lossPercent > LOSS_LIMIT * 100 || s.silentConsumers > 0) {
    if (sinkLimited) return 'sink-saturated';
    if (s.cpu.worker >= CPU_LIMIT) return 'worker-saturated';
    return contended ? 'core-contended' : 'loss';
  }
  if (s.cpu.worker >= CPU_LIMIT) return 'worker-saturated';
  if (s.cpu.sink >= CPU_LIMIT) return 'sink-saturated';
  return null;
}

// ---------------------------------------------------------------------------------------------
// One trial: step the consumer count up on fresh transports, close everything at the end

interface Sinkhole {
  transport: types.PlainTransport;
  consumer: types.Consumer;
}

async function addSinkholes(rig: Rig, args: Args, count: number, into: Sinkhole[]): Promise<void> {
  const { suite, plain } = args;
  const one = async (): Promise<Sinkhole> => {
    const transport = await rig.router.createPlainTransport({ listenIp: '127.0.0.1', rtcpMux: true, comedia: false, enableSrtp: !plain, srtpCryptoSuite: suite });
    try {
      await transport.connect({
        ip: '127.0.0.1',
        port: rig.sink.port,
        // The sink never decrypts: any key will do.
        ...(!plain && { srtpParameters: { cryptoSuite: suite, keyBase64: randomBytes(SUITES[suite]).toString('base64') } }),
      });
      const consumer = await transport.consume({ producerId: rig.producer.id, rtpCapabilities: rig.router.rtpCapabilities, paused: false });
      return { transport, consumer };
    } catch (error) {
      transport.close();
      throw error;
    }
  };
  let left = count;
  while (left > 0) {
    const batch = Math.min(left, CREATE_PARALLEL);
    const settled = await Promise.allSettled(Array.from({ length: batch }, one));
    for (const s of settled) if (s.status === 'fulfilled') into.push(s.value);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw new Error(`could not open a consumer: ${failed.reason instanceof Error ? failed.reason.message : String(failed.reason)}`);
    left -= batch;
  }
}

async function routerShape(router: types.Router): Promise<{ transports: number; consumers: number }> {
  const dump = (await router.dump()) as { transportIds: string[]; mapProducerIdConsumerIds: Record<string, string[]> };
  return { transports: dump.transportIds.length, consumers: Object.values(dump.mapProducerIdConsumerIds).reduce((n, ids) => n + ids.length, 0) };
}

interface TrialRun {
  steps: StepResult[];
  /** the next step would have ended after the time budget */
  outOfTime: boolean;
}

async function runTrial(rig: Rig, args: Args, trial: number, deadline: number, log: (line: string) => void, failures: string[], open: Sinkhole[]): Promise<TrialRun> {
  const results: StepResult[] = [];
  let outOfTime = false;
  let lastCreateMs = 0;
  const baseline = await routerShape(rig.router);
  try {
    for (const target of args.steps) {
      // Opening scales with the consumers added; the snapshots and getStats add about a second.
      const estimate = lastCreateMs * 2 + (args.warmupSeconds + args.seconds + 1) * 1000;
      if (performance.now() + estimate > deadline) {
        outOfTime = true;
        log(`  trial ${trial}: out of time before ${target} consumers (--budget ${args.budgetSeconds} s)`);
        break;
      }
      const createStart = performance.now();
      try {
        await addSinkholes(rig, args, target - open.length, open);
      } catch (error) {
        failures.push(`trial ${trial}, step ${target} consumers: ${error instanceof Error ? error.message : String(error)}`);
        break;
      }
      const createMs = performance.now() - createStart;
      lastCreateMs = createMs;
      await sleep(args.warmupSeconds * 1000);
      let step: StepResult;
      try {
        step = await measure(rig, trial, new Set(open.map((h) => h.consumer.rtpParameters.encodings?.[0]?.ssrc ?? -1)), args.seconds);
      } catch (error) {
        failures.push(`trial ${trial}, step ${target} consumers: ${error instanceof Error ? error.message : String(error)}`);
        break;
      }
      if (!rig.live()) {
        failures.push(`trial ${trial}, step ${target} consumers: the camera's ingest restarted, its producer and consumers closed`);
        break;
      }
      step.stop = stopReason(step);
      results.push(step);
      log(
        `  trial ${trial} ${String(step.consumers).padStart(5)} consumers (opened in ${(createMs / 1000).toFixed(1)} s): ` +
          `worker ${pct(step.cpu.worker)} (sys ${step.workerSystemShare === null ? '?' : pct(step.workerSystemShare)}) sink ${pct(step.cpu.sink)} ingest ${pct(step.cpu.ingest)} sim ${pct(step.cpu.simulator)} ` +
          `| cores ${step.coreBusy.map(pct).join(' ')} | ${step.receivedPps} pkt/s ${step.receivedMbps} Mbit/s, loss ${step.lossPercent}% ` +
          `(sink drops ${step.sinkSocketDrops}, ingest drops ${step.ingestSocketDrops}, producer lost ${step.producerLost}` +
          `${step.silentConsumers ? `, ${step.silentConsumers} silent` : ''}) | camera ${step.cameraMbps} Mbit/s` +
          `${step.stop ? ` -> stop: ${step.stop}` : ''}`,
      );
      if (step.stop) break;
    }
  } finally {
    for (const h of open.splice(0)) h.transport.close();
  }
  const after = await routerShape(rig.router);
  rig.sink.forget();
  if (after.transports !== baseline.transports || after.consumers !== baseline.consumers)
    failures.push(`trial ${trial}: the router still has ${after.transports} transports / ${after.consumers} consumers after closing (before: ${baseline.transports} / ${baseline.consumers})`);
  return { steps: results, outOfTime };
}

const pct = (share: number) => `${Math.round(share * 100)}%`;

// ---------------------------------------------------------------------------------------------
// Summaries

interface StepSummary {
  consumers: number;
  workerCpuPercent: Spread;
  sinkCpuPercent: Spread;
  ingestCpuPercent: Spread;
  simulatorCpuPercent: Spread;
  core0BusyPercent: Spread;
  core1BusyPercent: Spread;
  /** core 0 busy minus the worker: other processes on the worker's core */
  core0OthersPercent: Spread;
  workerSystemPercent: Spread;
  lossPercent: Spread;
  receivedPps: Spread;
  receivedMbps: Spread;
  workerUsPerPacket: Spread;
  stops: StopReason[];
}

function summarizeSteps(all: StepResult[]): StepSummary[] {
  const counts = [...new Set(all.map((s) => s.consumers))].sort((a, b) => a - b);
  return counts.map((consumers) => {
    const at = all.filter((s) => s.consumers === consumers);
    const of = (pick: (s: StepResult) => number | null) => spread(at.map(pick).filter((v): v is number => v !== null));
    return {
      consumers,
      workerCpuPercent: of((s) => s.cpu.worker * 100),
      sinkCpuPercent: of((s) => s.cpu.sink * 100),
      ingestCpuPercent: of((s) => s.cpu.ingest * 100),
      simulatorCpuPercent: of((s) => s.cpu.simulator * 100),
      core0BusyPercent: of((s) => (s.coreBusy[0] ?? NaN) * 100),
      core1BusyPercent: of((s) => (s.coreBusy[1] ?? NaN) * 100),
      core0OthersPercent: of((s) => Math.max(0, (s.coreBusy[0] ?? NaN) - s.cpu.worker) * 100),
      workerSystemPercent: of((s) => (s.workerSystemShare === null ? null : s.workerSystemShare * 100)),
      lossPercent: of((s) => s.lossPercent),
      receivedPps: of((s) => s.receivedPps),
      receivedMbps: of((s) => s.receivedMbps),
      workerUsPerPacket: of((s) => s.workerUsPerPacket),
      stops: at.flatMap((s) => (s.stop ? [s.stop] : [])),
    };
  });
}

interface TrialCeiling {
  trial: number;
  /** last step under 1% loss with the worker under 95% (null: not even the first step) */
  consumers: number | null;
  mbps: number | null;
  lossPercent: number | null;
  workerCpuPercent: number | null;
  /** why the stepping ended: a stop reason, or 'steps-exhausted' / 'time-budget' / 'failed' */
  endedBy: StopReason | 'steps-exhausted' | 'time-budget' | 'failed';
  /** worker CPU per forwarded packet at the ceiling step (when the worker was busy enough to resolve it) */
  workerUsPerPacket: number | null;
  /** ceiling consumers / worker's share of a core there: what one full core would carry at that cost */
  projectedConsumersAtFullCore: number | null;
}

function trialCeiling(trial: number, run: TrialRun, lastStep: number): TrialCeiling {
  const { steps } = run;
  const ok = steps.filter((s) => s.lossPercent <= LOSS_LIMIT * 100 && s.cpu.worker < CPU_LIMIT && s.silentConsumers === 0);
  const best = ok[ok.length - 1];
  const last = steps[steps.length - 1];
  const endedBy = last?.stop ?? (run.outOfTime ? 'time-budget' : last?.consumers === lastStep ? 'steps-exhausted' : 'failed');
  // Below a fifth of a core, /proc's 10 ms ticks make the per-packet cost too coarse.
  const resolved = best && best.cpu.worker >= 0.2 ? best : undefined;
  return {
    trial,
    consumers: best?.consumers ?? null,
    mbps: best?.receivedMbps ?? null,
    lossPercent: best?.lossPercent ?? null,
    workerCpuPercent: best ? Math.round(best.cpu.worker * 100) : null,
    endedBy,
    workerUsPerPacket: resolved?.workerUsPerPacket ?? null,
    projectedConsumersAtFullCore: resolved ? Math.round(resolved.consumers / resolved.cpu.worker) : null,
  };
}

const STOP_TEXT: Record<TrialCeiling['endedBy'], string> = {
  loss: 'loss over 1% (not at the sink)',
  'worker-saturated': "the worker's core saturated",
  'sink-saturated': 'the sink saturated: the load generator ran out, not the worker',
  'core-contended': "loss with the worker's core taken by other processes (a lower bound, not the worker's ceiling)",
  'steps-exhausted': 'no more steps (raise --steps)',
  'time-budget': 'the time budget (a lower bound; raise --budget)',
  failed: 'a step failed',
};

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const args = parseCli();
  const print = logger(args);
  const t0 = performance.now();
  const log = (line: string) => print(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  const failures: string[] = [];
  const cleanups = new Cleanups();
  const trials: TrialRun[] = [];
  const deadline = t0 + args.budgetSeconds * 1000;
  const open: Sinkhole[] = [];
  const setup: Record<string, unknown> = {};
  try {
    if (args.nice !== 0 && process.env[SESSION_ENV] === '1') {
      try {
        setup.autogroup = setAutogroupNice(args.nice);
      } catch (error) {
        setup.autogroup = `not reniced: ${error instanceof Error ? error.message : String(error)}`;
        log(`could not renice this session's autogroup (${String(setup.autogroup)}); nice only counts against our own processes`);
      }
    }
    // This process hosts mediasoup's Node side and starts the ingest: it belongs on the load core.
    await pin(process.pid, LOAD_CORE, args.nice);
    log(`starting the camera simulator (${CAMERA.width}x${CAMERA.height}@${CAMERA.fps}, GOP ${CAMERA.gop}, ${CAMERA.bitrateKbps} kbit/s target)`);
    const sim = await Simulator.start({ config: { cameras: [CAMERA] } });
    cleanups.add('the camera simulator', () => sim.stop());
    await pin(sim.pid, LOAD_CORE, args.nice);

    log('starting C5 Live (1 media worker)');
    // A port range wide enough for thousands of PlainTransports.
    const t = await startTestApp({
      logLevel: 'warn',
      media: { workers: 1, rtcMinPort: 20000, rtcMaxPort: 39999 },
      cameras: [{ id: CAMERA.id, name: 'Fan-out', url: sim.url(CAMERA.id) }],
    });
    cleanups.add('C5 Live', () => t.close());
    const worker = t.app.media.workers[0];
    if (!worker) throw new Error('C5 Live has no media worker');
    await pin(worker.pid, WORKER_CORE, args.nice);

    const lease = await t.app.cameras.acquire(CAMERA.id);
    cleanups.add('the camera lease', () => lease.release());
    const feed = lease.feed;
    if (!feed) throw new Error('the camera is not live after acquire()');
    if (feed.host !== worker) throw new Error('the camera is hosted on another worker');
    const ingestPid = () => t.app.cameras.session(CAMERA.id)?.ingestPid;
    const firstIngest = ingestPid();
    if (firstIngest === undefined) throw new Error('no ingest process');
    await pin(firstIngest, LOAD_CORE, args.nice);

    log(`starting the sink on core ${LOAD_CORE}`);
    const sink = await SrtpSinkProcess.start({ core: LOAD_CORE });
    cleanups.add('the sink', () => sink.stop());
    await pin(sink.pid, LOAD_CORE, args.nice);
    cleanups.add('the open consumers', () => {
      for (const h of open.splice(0)) h.transport.close();
    });

    const rig: Rig = {
      router: worker.router,
      producer: feed.producer,
      ingestPort: feed.transport.tuple.localPort,
      sink,
      live: () => lease.feed === feed && !feed.closed,
      pids: () => ({ worker: worker.pid, sink: sink.pid, ingest: ingestPid() ?? 0, simulator: sim.pid, bench: process.pid }),
    };
    Object.assign(setup, {
      pinning: {
        workerCore: WORKER_CORE,
        loadCore: LOAD_CORE,
        onLoadCore: ['sink', 'ffmpeg ingest', 'camera simulator', 'this process (mediasoup Node side)'],
        nice: args.nice,
      },
      pids: rig.pids(),
    });

    log('measuring the camera alone');
    await sleep(2000);
    const alone = await measure(rig, 0, new Set(), 4);
    Object.assign(setup, {
      cameraAlone: { mbps: alone.cameraMbps, pps: alone.cameraPps, workerCpuPercent: Math.round(alone.cpu.worker * 100), ingestCpuPercent: Math.round(alone.cpu.ingest * 100), simulatorCpuPercent: Math.round(alone.cpu.simulator * 100) },
      // What else keeps the machine busy (other benchmarks, the hypervisor's steal counts as busy).
      background: { coreBusyPercent: alone.coreBusy.map((b) => Math.round(b * 100)), loadAverage: loadavg().map((l) => Math.round(l * 10) / 10) },
    });
    log(
      `  camera ${alone.cameraMbps} Mbit/s, ${alone.cameraPps} pkt/s; worker ${pct(alone.cpu.worker)}, ingest ${pct(alone.cpu.ingest)}, simulator ${pct(alone.cpu.simulator)}; ` +
        `cores busy ${alone.coreBusy.map(pct).join(' ')}, load average ${loadavg()[0]!.toFixed(1)}`,
    );

    for (let trial = 1; trial <= args.trials; trial++) {
      if (!rig.live()) {
        failures.push(`trial ${trial}: not run, the camera's ingest restarted (its producer closed)`);
        break;
      }
      if (trial > 1 && deadline - performance.now() < (args.warmupSeconds + args.seconds + 1) * 3000) {
        log(`not starting trial ${trial}: too little of the --budget ${args.budgetSeconds} s left`);
        break;
      }
      log(`trial ${trial}/${args.trials}: steps ${args.steps.join(', ')}; ${args.warmupSeconds} s warm-up + ${args.seconds} s window each`);
      trials.push(await runTrial(rig, args, trial, deadline, log, failures, open));
      await sleep(1000);
    }
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  } finally {
    log('stopping everything');
    await cleanups.run();
  }
  log('writing the report');

  const name = args.plain ? 'fanout-plain-rtp' : 'fanout-srtp';
  const transportKind = args.plain ? 'plain RTP' : args.suite;
  const allSteps = trials.flatMap((t) => t.steps);
  const steps = summarizeSteps(allSteps);
  const lastStep = args.steps[args.steps.length - 1]!;
  const ceilings = trials.map((run, i) => trialCeiling(i + 1, run, lastStep));
  for (const c of ceilings) if (c.consumers === null && c.endedBy !== 'failed') failures.push(`trial ${c.trial}: not even ${args.steps[0]} consumer(s) ran under 1% loss`);
  // A trial cut short by the time budget or a failure found no ceiling: headline without it when others did.
  const ran = ceilings.filter((c) => c.consumers !== null);
  const complete = ran.filter((c) => c.endedBy !== 'time-budget' && c.endedBy !== 'failed');
  const valid = complete.length ? complete : ran;
  const ceiling = {
    consumers: spread(valid.map((c) => c.consumers!)),
    mbps: spread(valid.map((c) => c.mbps!)),
    lossPercent: spread(valid.map((c) => c.lossPercent!)),
    workerCpuPercent: spread(valid.map((c) => c.workerCpuPercent!)),
    projectedConsumersAtFullCore: spread(valid.map((c) => c.projectedConsumersAtFullCore).filter((v): v is number => v !== null)),
    endedBy: ceilings.map((c) => c.endedBy),
  };
  // Per-packet cost where the worker is busy enough for /proc's 10 ms ticks to resolve it, and not yet saturated.
  const usPerPacket = spread(valid.map((c) => c.workerUsPerPacket).filter((v): v is number => v !== null));

  const lastMeasured = allSteps.at(-1);
  const clearShare = lastMeasured?.clearPayloadShare ?? null;
  if (clearShare !== null && (args.plain ? clearShare < 0.5 : clearShare > 0.5))
    failures.push(`the payloads at the sink ${args.plain ? 'do not look like clear H.264' : 'look like clear H.264: SRTP is not encrypting'} (${Math.round(clearShare * 100)}% of a sample)`);

  const result = {
    method:
      `N PlainTransports (${args.plain ? 'plain RTP' : `SRTP ${args.suite}`}, comedia off, rtcpMux) on the one worker's router, each with one consumer of the camera, all sending to one UDP port of a sink process; ` +
      'consumers are added step by step (never closed between steps) and all closed after each trial; ' +
      `loss = sequence-number gaps summed over the streams in a ${args.seconds} s window after a ${args.warmupSeconds} s warm-up; CPU = /proc/<pid>/stat over the window as a share of one core; core busy = /proc/stat per core; ` +
      'per step: median (min-max, n = trials that reached the step); ceiling per trial = last step with loss <= 1%, worker < 95% and no silent consumer; headline = median over trials; ' +
      'projectedConsumersAtFullCore = ceiling consumers / worker CPU share at the ceiling (linear extrapolation)',
    camera: { ...CAMERA, ...(setup.cameraAlone as object) },
    transport: transportKind,
    trialsPlanned: args.trials,
    trialsRun: trials.length,
    windowSeconds: args.seconds,
    warmupSeconds: args.warmupSeconds,
    stepsPlanned: args.steps,
    setup,
    ceiling,
    workerUsPerPacket: usPerPacket,
    encryptionCheck: { clearH264PayloadShare: clearShare, expected: args.plain ? 'most (clear; ~0.8 seen)' : '~0.1 (encrypted: chance matches)' },
    trialCeilings: ceilings,
    steps,
    raw: allSteps,
  };

  const endedBy = [...new Set(ceilings.map((c) => c.endedBy))].map((e) => STOP_TEXT[e]).join(' / ');
  const n = valid.length;
  const cameraMbps = (setup.cameraAlone as { mbps?: number } | undefined)?.mbps;
  const summary =
    ceiling.consumers.median === null
      ? `${name}: no step ran under 1% loss (${endedBy || 'no trial ran'})`
      : `${name} (one worker pinned to core ${WORKER_CORE}; sink, ingest, simulator on core ${LOAD_CORE}; ${transportKind}): ` +
        `ceiling ${formatSpread(ceiling.consumers)} consumers = ${ceiling.mbps.median} Mbit/s at ${ceiling.lossPercent.median}% loss, ` +
        `worker ${ceiling.workerCpuPercent.median}% of a core (median of ${n} trial${n === 1 ? '' : 's'}, ${args.seconds} s windows); ` +
        `stepping ended by: ${endedBy}; worker ${formatSpread(usPerPacket, ' us')} CPU per forwarded packet, ` +
        `~${ceiling.projectedConsumersAtFullCore.median === null ? '?' : Math.round(ceiling.projectedConsumersAtFullCore.median)} consumers per full core (projection); camera ${cameraMbps ?? '?'} Mbit/s`;

  const series = (label: string, pick: (s: StepSummary) => Spread, y2 = false): PlotSeries => ({
    label,
    y2,
    points: steps.map((s) => ({ x: s.consumers, y: pick(s).median, yMin: pick(s).min, yMax: pick(s).max })),
  });
  return report(args, {
    name,
    result,
    summary,
    plots: {
      title: `One mediasoup worker fanning out a ${cameraMbps ?? 1} Mbit/s camera (${args.plain ? 'plain RTP' : 'SRTP'})`,
      subtitle: `${transportKind}; worker alone on core ${WORKER_CORE}, sink+ingest+simulator on core ${LOAD_CORE}; median of <= ${trials.length} trials (whiskers min-max), ${args.seconds} s windows`,
      kind: 'line',
      xLabel: 'consumers (1 Mbit/s each)',
      yLabel: 'CPU, % of one core',
      y2Label: 'loss %',
      series: [
        series('worker CPU %', (s) => s.workerCpuPercent),
        series('sink CPU %', (s) => s.sinkCpuPercent),
        series(`core ${WORKER_CORE} busy %, all processes`, (s) => s.core0BusyPercent),
        series('loss % (right axis)', (s) => s.lossPercent, true),
      ],
    },
    failures,
  });
}

/**
 * Linux groups the processes of a session (autogroup) and shares the CPU fairly between groups:
 * a nice value only counts inside the group. So the benchmark re-runs itself as the leader of a
 * session of its own (spawn detached = setsid), whose group it can then give --nice without
 * touching the caller's session. setpriv kills that copy if this one dies.
 */
async function inOwnSession(): Promise<number> {
  const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    detached: true,
    env: { ...process.env, [SESSION_ENV]: '1' },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward);
  return new Promise<number>((resolve) => {
    child.once('error', (error) => {
      process.stderr.write(`bench: could not start in a session of its own: ${error.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1)));
  });
}

const SESSION_ENV = 'C5_BENCH_OWN_SESSION';
const code = process.env[SESSION_ENV] === '1' || !autogroupSupported() ? await main() : await inOwnSession();
process.exit(code);
