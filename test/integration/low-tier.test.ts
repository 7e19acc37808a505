import dgram from 'node:dgram';
import { expect } from 'chai';
import type { types } from 'mediasoup';
import { LowTierIngest, type LowTierSettings } from '../../server/cameras/LowTierIngest.ts';
import { LowTierSlots } from '../../server/cameras/LowTierSlots.ts';
import type { CameraFeed } from '../../server/media/CameraFeed.ts';
import { ProducerFfmpeg, type ProducerFfmpegExit } from '../../server/media/ProducerFfmpeg.ts';
import { ffmpegPath } from '../../server/toolchain.ts';
import { IngestError } from '../../workers/IngestError.ts';
import { parseH264Sps, type H264Sps } from '../../workers/h264Sps.ts';
import { mediaSnapshot } from '../support/dumps.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { isAlive, waitFor } from '../support/processes.ts';
import { Simulator } from '../support/simulator.ts';

// Issue 24's low tier: one server-side transcode per camera, fed from the camera's own producer.

const CAMERA = 'lt-cam';
const SETTINGS: LowTierSettings = { width: 640, height: 360, kbps: 500, fps: 15 };

/**
 * The SPS in an RTP packet's payload (single NAL unit or STAP-A), if it carries one. RTCP shares
 * the port (rtcpMux): its packets are skipped (RFC 5761 §4: second byte 192-223), and an SPS that
 * does not parse is none, so nothing throws inside the socket's handler.
 */
function spsOf(packet: Buffer): H264Sps | undefined {
  if (packet.length < 13 || (packet[0]! & 0xc0) !== 0x80 || (packet[1]! >= 192 && packet[1]! <= 223)) return undefined;
  try {
    return spsOfRtp(packet);
  } catch {
    return undefined;
  }
}

function spsOfRtp(packet: Buffer): H264Sps | undefined {
  let offset = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  const payload = packet.subarray(offset);
  const type = payload[0]! & 0x1f;
  if (type === 7) return parseH264Sps(payload);
  if (type !== 24) return undefined;
  for (let at = 1; at + 2 <= payload.length; ) {
    const size = payload.readUInt16BE(at);
    const nal = payload.subarray(at + 2, at + 2 + size);
    if ((nal[0]! & 0x1f) === 7) return parseH264Sps(nal);
    at += 2 + size;
  }
  return undefined;
}

/** Consumes `producer` to a local UDP socket and resolves with the first SPS it carries. */
async function firstSps(router: types.Router, producer: types.Producer, timeoutMs: number): Promise<H264Sps> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const transport = await router.createPlainTransport({ listenIp: '127.0.0.1', rtcpMux: true, comedia: false });
  try {
    await transport.connect({ ip: '127.0.0.1', port: socket.address().port });
    const found = new Promise<H264Sps>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SPS within ${timeoutMs} ms`)), timeoutMs);
      socket.on('message', (packet) => {
        const sps = spsOf(packet);
        if (!sps) return;
        clearTimeout(timer);
        resolve(sps);
      });
    });
    await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    return await found;
  } finally {
    transport.close();
    socket.close();
  }
}

describe('low tier: a shared transcode fed from the camera\'s own producer', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let t: TestApp;

  const rtspClients = async (): Promise<number> => (await sim.status()).cameras.find((camera) => camera.id === CAMERA)!.clients;
  const mainViewers = (): number => t.app.cameras.session(CAMERA)?.viewers ?? 0;
  const lowTier = (slots: LowTierSlots, ledger?: { add(pid: number): void; remove(pid: number): void }) =>
    new LowTierIngest(CAMERA, {
      acquireMain: () => t.app.cameras.acquire(CAMERA),
      slots,
      ffmpegPath: ffmpegPath(),
      settings: SETTINGS,
      ...(ledger && { ledger }),
    });

  before(async () => {
    sim = await Simulator.start({
      config: { cameras: [{ id: CAMERA, codec: 'h264', profile: 'main', width: 1280, height: 720, fps: 15, gop: 30, bitrateKbps: 1500, pattern: 'ball' }] },
    });
    t = await startTestApp({ cameras: [{ id: CAMERA, name: 'Low-tier test camera', url: sim.url(CAMERA) }] });
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
  });

  it('ProducerFfmpeg decodes a live producer, and close() leaves no process, transport or consumer', async () => {
    const lease = await t.app.cameras.acquire(CAMERA);
    try {
      const feed = lease.feed!;
      const before = await mediaSnapshot(t.app);
      const ledger = new Set<number>();
      const ffmpeg = await ProducerFfmpeg.start({
        router: feed.host.router,
        producer: feed.producer,
        ffmpegPath: ffmpegPath(),
        outputArgs: ['-f', 'null', '-'],
        ledger: { add: (pid) => ledger.add(pid), remove: (pid) => ledger.delete(pid) },
      });
      const pid = ffmpeg.pid!;
      expect(ledger.has(pid)).to.equal(true);
      expect(isAlive(pid)).to.equal(true);
      const exits: ProducerFfmpegExit[] = [];
      ffmpeg.on('exit', (exit) => exits.push(exit));
      const progress = await new Promise<{ frames: number; fps: number }>((resolve) => ffmpeg.on('progress', (p) => p.frames > 0 && resolve(p)));
      expect(progress.frames).to.be.above(0);
      expect(await t.app.media.workers[feed.host.index]!.router.dump()).to.have.property('transportIds').that.includes(ffmpeg.transport.id);
      await Promise.all([ffmpeg.close(), ffmpeg.close()]);
      expect(isAlive(pid)).to.equal(false);
      expect(ffmpeg.transport.closed).to.equal(true);
      expect(ffmpeg.consumer.closed).to.equal(true);
      expect(ledger.size).to.equal(0);
      expect(exits).to.deep.equal([]);
      expect(await mediaSnapshot(t.app)).to.deep.equal(before);
    } finally {
      lease.release();
    }
  });

  it('ProducerFfmpeg takes a JPEG snapshot from a producer (stdout is the output) and releases everything when ffmpeg ends by itself', async () => {
    const lease = await t.app.cameras.acquire(CAMERA);
    try {
      const feed = lease.feed!;
      const ffmpeg = await ProducerFfmpeg.start({
        router: feed.host.router,
        producer: feed.producer,
        ffmpegPath: ffmpegPath(),
        outputArgs: ['-frames:v', '1', '-f', 'image2pipe', '-c:v', 'mjpeg', 'pipe:1'],
      });
      const chunks: Buffer[] = [];
      ffmpeg.output!.on('data', (chunk: Buffer) => chunks.push(chunk));
      const exit = await new Promise<ProducerFfmpegExit>((resolve) => ffmpeg.once('exit', resolve));
      expect(exit).to.include({ reason: 'ffmpeg_exited', code: 0 });
      const jpeg = Buffer.concat(chunks);
      expect(jpeg.subarray(0, 2).toString('hex')).to.equal('ffd8');
      expect(jpeg.subarray(-2).toString('hex')).to.equal('ffd9');
      expect(ffmpeg.transport.closed).to.equal(true);
      await ffmpeg.close();
    } finally {
      lease.release();
    }
  });

  it('LowTierIngest sends 640x360 Constrained Baseline into its own feed while the camera keeps ONE RTSP session', async () => {
    const viewersBefore = mainViewers();
    const slots = new LowTierSlots(2);
    const ingest = lowTier(slots);
    let lowFeed: CameraFeed | undefined;
    try {
      const description = await ingest.open();
      expect(description).to.deep.include({ engine: 'ffmpeg', transcodeReason: 'low_tier', keyframeRequests: false });
      expect(description.codec.parameters['profile-level-id']).to.equal('42e01f');
      expect(slots.active).to.equal(1);
      expect(mainViewers()).to.equal(viewersBefore + 1);
      lowFeed = await t.app.media.createCameraFeed(`${CAMERA}~low`, description);
      const flowing = new Promise<void>((resolve) => ingest.once('flowing', resolve));
      const errors: IngestError[] = [];
      ingest.on('error', (error) => errors.push(error));
      const started = Date.now();
      ingest.start(lowFeed.rtpTarget);
      await Promise.all([flowing, lowFeed.firstRtp]);
      const firstRtpMs = Date.now() - started;
      const sps = await firstSps(lowFeed.host.router, lowFeed.producer, 5000);
      expect({ width: sps.width, height: sps.height, profileIdc: sps.profileIdc }).to.deep.equal({ width: 640, height: 360, profileIdc: 66 });
      expect(sps.constraintFlags & 0x40, 'constraint_set1 (Constrained Baseline)').to.not.equal(0);
      expect(await rtspClients()).to.equal(1);
      const stats = await lowFeed.getStats();
      expect(stats.inBytes).to.be.above(0);
      expect(errors).to.deep.equal([]);
      const pid = ingest.pid!;
      expect(isAlive(pid)).to.equal(true);
      console.log(`      first low-tier RTP ${firstRtpMs} ms after start()`);
      await ingest.stop();
      expect(isAlive(pid)).to.equal(false);
      expect(ingest.pid).to.equal(undefined);
      expect(errors, 'stop() is not an error').to.deep.equal([]);
    } finally {
      await ingest.stop();
      lowFeed?.close();
    }
    expect(slots.active).to.equal(0);
    expect(mainViewers()).to.equal(viewersBefore);
  });

  it('refuses a transcode beyond the per-node limit with "busy", and frees the slot at stop()', async () => {
    const slots = new LowTierSlots(1);
    const first = lowTier(slots);
    const second = lowTier(slots);
    await first.stop(); // Never opened: nothing to give back.
    expect(slots.active).to.equal(0);
    try {
      await first.open();
      const refused = await second.open().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).to.be.instanceOf(IngestError);
      expect((refused as IngestError).reason).to.equal('busy');
      expect((refused as IngestError).message).to.contain('1 per node');
      await second.stop(); // Its failed open() took nothing.
      expect(slots.active).to.equal(1);
      await first.stop();
      await first.stop();
      expect(slots.active).to.equal(0);
      await second.open();
      expect(slots.active).to.equal(1);
    } finally {
      await first.stop();
      await second.stop();
    }
    expect(slots.active).to.equal(0);
  });

  it('stop() releases the main stream\'s lease, and a stopped ingest opens again', async () => {
    const hold = await t.app.cameras.acquire(CAMERA); // Keeps the main camera live across the ingest's stops.
    try {
      const viewersBefore = mainViewers();
      const slots = new LowTierSlots(1);
      const ingest = lowTier(slots);
      for (let round = 0; round < 2; round++) {
        await ingest.open();
        expect(mainViewers()).to.equal(viewersBefore + 1);
        await ingest.stop();
        expect(mainViewers()).to.equal(viewersBefore);
        expect(slots.active).to.equal(0);
      }
    } finally {
      hold.release();
    }
  });

  it('ends the run with "exited" when the main feed closes (the main camera restarts), keeping lease and slot until stop()', async () => {
    const slots = new LowTierSlots(1);
    const ingest = lowTier(slots);
    let lowFeed: CameraFeed | undefined;
    try {
      const description = await ingest.open();
      lowFeed = await t.app.media.createCameraFeed(`${CAMERA}~low`, description);
      const flowing = new Promise<void>((resolve) => ingest.once('flowing', resolve));
      ingest.start(lowFeed.rtpTarget);
      await flowing;
      const pid = ingest.pid!;
      const failed = new Promise<IngestError>((resolve) => ingest.once('error', resolve));
      t.app.cameras.session(CAMERA)!.feed!.close();
      const error = await failed;
      expect(error.reason).to.equal('exited');
      expect(error.message).to.match(/main stream closed|producer closed/);
      expect(isAlive(pid)).to.equal(false);
      expect(slots.active).to.equal(1);
      const viewers = mainViewers();
      await ingest.stop();
      expect(slots.active).to.equal(0);
      expect(mainViewers()).to.equal(viewers - 1);
    } finally {
      await ingest.stop();
      lowFeed?.close();
    }
    await waitFor(async () => (await rtspClients()) <= 1, 10_000, 'at most one RTSP session');
  });
});
