import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { ScriptedCamera } from '../support/ScriptedCamera.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { RtpTap } from '../support/rtpTap.ts';
import type { CameraLease } from '../../server/cameras/CameraManager.ts';

const ORDINARY = ['iso-1', 'iso-2', 'iso-3'];
const FPS = 25;
const FRAME_MS = 1000 / FPS;
const WINDOW_MS = 7000;

/**
 * The flooding camera runs in a process of its own, as a real camera would, so that sending 30 Mbit/s
 * does not load the test process's event loop (which runs the app and the ordinary cameras): what is
 * measured is the ingest worker's share. 1920x1080: ScriptedCamera sends only the clip's VCL NAL
 * units, and at 1280x720 x264 makes up its CBR rate with filler data (720p at 30,000 kb/s sent
 * 18.7 Mbit/s). It prints its URL, then its RTP packet count whenever a line arrives on stdin.
 */
async function startFloodCamera(): Promise<{ url: string; packetsSent: () => Promise<number>; stop: () => Promise<void> }> {
  const module = fileURLToPath(new URL('../support/ScriptedCamera.ts', import.meta.url));
  const code = `
    import { createInterface } from 'node:readline';
    const { ScriptedCamera } = await import(${JSON.stringify(module)});
    const cam = await ScriptedCamera.start({ video: { width: 1920, height: 1080, fps: 30, gop: 30, slices: 2, kbps: 30000 } });
    console.log(cam.url());
    createInterface({ input: process.stdin }).on('line', () => console.log(cam.stats.rtpPacketsSent)).on('close', () => void cam.stop().then(() => process.exit(0)));
  `;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error('the flood camera process ended');
    return line.value;
  };
  const url = await next();
  return {
    url,
    packetsSent: async () => {
      child.stdin!.write('\n');
      return Number(await next());
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Monotonic milliseconds, the same clock in every thread of the process. */
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * Receives what the RtpTaps' consumers send, in a thread of its own so that the test process's
 * event loop (which also runs the cameras, the flooding one among them) does not delay the arrival
 * times. Records (arrival ms, RTP timestamp) of every marker packet (the last packet of a frame).
 */
const RECEIVER = `
const { parentPort } = require('node:worker_threads');
const dgram = require('node:dgram');
const logs = new Map();
const sockets = [];
parentPort.on('message', (m) => {
  if (m.type === 'listen') {
    const log = [];
    logs.set(m.key, log);
    const socket = dgram.createSocket('udp4');
    sockets.push(socket);
    socket.on('message', (b) => {
      if (b.length >= 12 && (b[1] & 0x80)) log.push(Number(process.hrtime.bigint()) / 1e6, b.readUInt32BE(4));
    });
    socket.on('error', (e) => parentPort.postMessage({ type: 'error', message: String(e) }));
    socket.bind(m.port, '127.0.0.1', () => parentPort.postMessage({ type: 'listening', key: m.key }));
  } else if (m.type === 'take') {
    const out = {};
    for (const [key, log] of logs) out[key] = log.splice(0);
    parentPort.postMessage({ type: 'taken', logs: out });
  } else if (m.type === 'close') {
    for (const socket of sockets) socket.close();
    parentPort.close();
  }
});
`;

class Receiver {
  readonly #worker = new Worker(RECEIVER, { eval: true });

  async listen(key: string, port: number): Promise<void> {
    const listening = this.#next('listening');
    this.#worker.postMessage({ type: 'listen', key, port });
    await listening;
  }

  /** Marker packets received since the last take(), per key: [arrival ms, RTP timestamp]. */
  async take(): Promise<Record<string, Array<[number, number]>>> {
    const taken = this.#next('taken');
    this.#worker.postMessage({ type: 'take' });
    const { logs } = (await taken) as { logs: Record<string, number[]> };
    const pairs: Record<string, Array<[number, number]>> = {};
    for (const [key, flat] of Object.entries(logs)) {
      pairs[key] = [];
      for (let i = 0; i < flat.length; i += 2) pairs[key]!.push([flat[i]!, flat[i + 1]!]);
    }
    return pairs;
  }

  async close(): Promise<void> {
    this.#worker.postMessage({ type: 'close' });
    await this.#worker.terminate();
  }

  #next(type: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (message.type === 'error') reject(new Error(String(message.message)));
        else if (message.type !== type) return;
        else resolve(message);
        this.#worker.off('message', onMessage);
      };
      this.#worker.on('message', onMessage);
    });
  }
}

/**
 * The relay adds a constant offset to RTP timestamps (H264RtpRewriter: kept unless the camera's clock
 * jumps or its session restarts). Found from a quiet window: each arrival votes for the frame sent
 * last before it (frame delays there are a few ms, far under the 40 ms between frames); the offset
 * must have nearly every vote.
 */
function timestampOffset(sent: Array<[number, number]>, arrived: Array<[number, number]>): number {
  const votes = new Map<number, number>();
  for (const [at, tsOut] of arrived) {
    const last = sent.filter(([sentAt]) => sentAt <= at).at(-1);
    if (!last) continue;
    const offset = (tsOut - last[1]) >>> 0;
    votes.set(offset, (votes.get(offset) ?? 0) + 1);
  }
  const [offset, count] = [...votes.entries()].sort((x, y) => y[1] - x[1])[0] ?? [0, 0];
  expect(count, 'one timestamp offset for (nearly) every frame').to.be.at.least(arrived.length * 0.8);
  return offset;
}

/** Per-frame delay (ms) from the camera's send (its last packet written) to the frame's last packet leaving mediasoup's consumer. */
function frameDelays(sent: Array<[number, number]>, arrived: Array<[number, number]>, offset: number): { delays: number[]; unmatched: number } {
  const sentAt = new Map(sent.map(([at, ts]) => [ts, at]));
  const delays: number[] = [];
  let unmatched = 0;
  for (const [at, tsOut] of arrived) {
    const from = sentAt.get((tsOut - offset) >>> 0);
    if (from === undefined) unmatched++;
    else delays.push(at - from);
  }
  return { delays, unmatched };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

// Over TCP every camera takes the relay's JavaScript path; over UDP the ordinary and flooding cameras
// take the native one (relay_loop.c), the trickling camera (TCP by nature) the JavaScript one, on the same worker.
for (const transport of ['tcp', 'udp'] as const)
describe(`ingest worker isolation (issue 20): ordinary and flooding cameras over ${transport}`, function () {
  this.timeout(180_000);
  let t: TestApp;
  const ordinary: ScriptedCamera[] = [];
  /** Frames each ordinary camera sent: [send ms, RTP timestamp]. */
  const sent = new Map<string, Array<[number, number]>>();
  let flood: Awaited<ReturnType<typeof startFloodCamera>> | undefined;
  let trickle: ScriptedCamera;
  const leases: CameraLease[] = [];
  const taps: RtpTap[] = [];
  let receiver: Receiver | undefined;

  before(async () => {
    for (const id of ORDINARY) {
      const log: Array<[number, number]> = [];
      sent.set(id, log);
      ordinary.push(await ScriptedCamera.start({ video: { width: 640, height: 360, fps: FPS, gop: FPS, slices: 1, kbps: 1000 }, onFrameSent: (ts) => log.push([nowMs(), ts]) }));
    }
    flood = await startFloodCamera();
    // Everything it writes goes out 64 bytes every 20 ms (3.2 kB/s): the relay's reader holds part of
    // an interleaved packet nearly all the time, and still sees a whole packet often enough not to stall.
    trickle = await ScriptedCamera.start({ video: { width: 320, height: 180, fps: FPS, gop: FPS, slices: 1 }, honourPli: true, mediaTrickle: { chunkBytes: 64, intervalMs: 20 } });
    t = await startTestApp({
      cameras: [
        ...ORDINARY.map((id, i) => ({ id, name: `Ordinary ${i + 1}`, url: ordinary[i]!.url(), transport })),
        { id: 'iso-flood', name: 'Flooding', url: flood.url, transport },
        { id: 'iso-trickle', name: 'Trickling', url: trickle.url() },
      ],
      ingest: { workers: 1, engine: 'relay' },
    });
  });
  after(async () => {
    for (const tap of taps) tap.close();
    for (const lease of leases) lease.release();
    await receiver?.close();
    await t?.close();
    await flood?.stop();
    for (const cam of [...ordinary, trickle]) await cam?.stop();
  });

  it('a camera flooding at over 20 Mbit/s and one trickling bytes mid-packet on the same worker move the others\' frame delay p95 by less than one frame', async () => {
    const pool = t.app.ingestWorkers!;
    expect(pool.workers()).to.have.length(1);
    receiver = new Receiver();
    for (const id of ORDINARY) {
      const lease = await t.app.cameras.acquire(id);
      leases.push(lease);
      const tap = await RtpTap.create(lease.feed!.host.router, lease.feed!.producer);
      taps.push(tap);
      await receiver.listen(id, tap.transport.tuple.remotePort!);
    }
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await sleep(2000);
    const offsets = new Map<string, number>();
    const measure = async (): Promise<Record<string, { p50: number; p95: number; max: number; frames: number; unmatched: number }>> => {
      await receiver!.take();
      for (const log of sent.values()) log.splice(0);
      await sleep(WINDOW_MS);
      // Frames sent in the last half second may still be on their way.
      await sleep(500);
      const arrived = await receiver!.take();
      const result: Record<string, { p50: number; p95: number; max: number; frames: number; unmatched: number }> = {};
      for (const id of ORDINARY) {
        if (!offsets.has(id)) offsets.set(id, timestampOffset(sent.get(id)!, arrived[id] ?? []));
        const { delays, unmatched } = frameDelays(sent.get(id)!, arrived[id] ?? [], offsets.get(id)!);
        result[id] = { p50: percentile(delays, 50), p95: percentile(delays, 95), max: Math.max(...delays), frames: delays.length, unmatched };
      }
      return result;
    };

    const baseline = await measure();

    const worker = pool.workers()[0]!;
    const rssBefore = worker.residentBytes;
    const trickleConnections = trickle.stats.connections;
    const trickleAcquire = t.app.cameras.acquire('iso-trickle').then((lease) => leases.push(lease));
    const floodLease = await t.app.cameras.acquire('iso-flood');
    leases.push(floodLease);
    await trickleAcquire;
    await sleep(2000);
    const floodBefore = await floodLease.feed!.getStats();
    const ordinaryBefore = await Promise.all(leases.slice(0, ORDINARY.length).map((lease) => lease.feed!.getStats()));
    const trickleBefore = { ...trickle.stats };
    const floodSentBefore = await flood!.packetsSent();
    const relayedBefore = t.app.cameras.status('iso-flood')?.progress;
    let cpuPeak = 0;
    let rssPeak = pool.workers()[0]!.residentBytes;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, pool.workers()[0]!.residentBytes);
      cpuPeak = Math.max(cpuPeak, pool.workers()[0]!.cpuRatio);
    }, 250);
    const startedAt = nowMs();
    let loaded: Awaited<ReturnType<typeof measure>>;
    try {
      loaded = await measure();
    } finally {
      clearInterval(sampler);
    }
    const seconds = (nowMs() - startedAt) / 1000;
    const floodAfter = await floodLease.feed!.getStats();
    const ordinaryAfter = await Promise.all(leases.slice(0, ORDINARY.length).map((lease) => lease.feed!.getStats()));
    const floodSent = (await flood!.packetsSent()) - floodSentBefore;
    const relayed = t.app.cameras.status('iso-flood')?.progress;
    const floodMbps = ((floodAfter.inBytes - floodBefore.inBytes) * 8) / seconds / 1e6;
    const trickled = trickle.stats.trickledBytes - trickleBefore.trickledBytes;
    const midPacket = (trickle.stats.trickledChunksMidPacket - trickleBefore.trickledChunksMidPacket) / Math.max(1, trickle.stats.trickledChunks - trickleBefore.trickledChunks);

    for (const id of ORDINARY) {
      const b = baseline[id]!;
      const l = loaded[id]!;
      console.log(`      ${id}: frame delay p50/p95/max ${b.p50.toFixed(1)}/${b.p95.toFixed(1)}/${b.max.toFixed(1)} ms alone (${b.frames} frames), ${l.p50.toFixed(1)}/${l.p95.toFixed(1)}/${l.max.toFixed(1)} ms beside the flood and the trickle (${l.frames} frames); p95 moved ${(l.p95 - b.p95).toFixed(1)} ms; producer lost ${ordinaryAfter[ORDINARY.indexOf(id)]!.lost - ordinaryBefore[ORDINARY.indexOf(id)]!.lost} of ${ordinaryAfter[ORDINARY.indexOf(id)]!.inPackets - ordinaryBefore[ORDINARY.indexOf(id)]!.inPackets} packets`);
    }
    console.log(`      flood: ${floodMbps.toFixed(1)} Mbit/s into mediasoup (camera sent ${floodSent} packets, the relay received ${(relayed?.packets ?? 0) - (relayedBefore?.packets ?? 0)} (lost ${(relayed?.lost ?? 0) - (relayedBefore?.lost ?? 0)}), producer received ${floodAfter.inPackets - floodBefore.inPackets}, lost ${floodAfter.lost - floodBefore.lost}; worker CPU peak ${(cpuPeak * 100).toFixed(0)}%); trickle: ${trickled} bytes in the window, ${(midPacket * 100).toFixed(0)}% of its writes ending inside an interleaved packet, state ${t.app.cameras.status('iso-trickle')?.state}, ${trickle.stats.activeSessions} session`);
    console.log(`      worker RSS ${(rssBefore / 2 ** 20).toFixed(1)} MB before, peak ${(rssPeak / 2 ** 20).toFixed(1)} MB in the window (+${((rssPeak - rssBefore) / 2 ** 20).toFixed(1)} MB); window ${seconds.toFixed(1)} s`);

    // Not vacuous: the flood flowed at over 20 Mbit/s, the trickler stayed connected mid-packet, and
    // each ordinary camera delivered (nearly) every frame in both windows.
    expect(floodMbps).to.be.at.least(20);
    expect(trickle.stats.connections, 'the trickling camera never reconnected').to.equal(trickleConnections + 1);
    expect(trickle.stats.activeSessions).to.equal(1);
    expect(t.app.cameras.status('iso-trickle')?.state).to.equal('live');
    expect(trickled).to.be.greaterThan((WINDOW_MS / 1000) * 2000);
    expect(midPacket).to.be.greaterThan(0.8);
    const expectedFrames = (WINDOW_MS / 1000) * FPS;
    for (const id of ORDINARY) {
      for (const window of [baseline[id]!, loaded[id]!]) {
        expect(window.frames, id).to.be.at.least(expectedFrames * 0.9);
        expect(window.unmatched, id).to.be.at.most(2);
      }
      const i = ORDINARY.indexOf(id);
      expect(ordinaryAfter[i]!.lost - ordinaryBefore[i]!.lost, `${id}: packets lost beside the flood`).to.be.at.most(Math.ceil((ordinaryAfter[i]!.inPackets - ordinaryBefore[i]!.inPackets) * 0.001));
      expect(loaded[id]!.p95 - baseline[id]!.p95, `${id}: p95 moved by less than one frame (${FRAME_MS} ms)`).to.be.lessThan(FRAME_MS);
    }
    expect(rssPeak - rssBefore, 'the worker\'s memory stays bounded').to.be.lessThan(64 * 2 ** 20);
  });
});
