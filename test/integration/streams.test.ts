import { expect } from 'chai';
import type { Config } from '../../server/config/schema.ts';
import { Simulator } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { connectClient, ok, request, type ClientSocket } from '../support/signallingClient.ts';
import { mediaSnapshot } from '../support/dumps.ts';
import { waitFor } from '../support/processes.ts';

// Issue 24 over real signalling, a real mediasoup worker, real simulator cameras and a real low-tier
// ffmpeg: the stream given per tile size, the ladder under a role's cap (substream, low tier,
// refusal), the low tier pulling no second RTSP session, and its per-node limit. No browser here:
// the consumers are not received, so a cap is held against the streams' producer rates (what
// the server counts for a consumer it has not measured yet); test/e2e/streams.test.ts measures
// real consumers in Chromium.

const SIM = {
  cameras: [
    // S: a main stream and its substream (a second mount of the simulator, as a camera's second profile).
    { id: 'st-s', tag: 61, codec: 'h264', profile: 'baseline', width: 960, height: 540, fps: 15, gop: 15, bitrateKbps: 1200, pattern: 'smpte', motion: 3 },
    { id: 'st-s-sub', tag: 62, codec: 'h264', profile: 'baseline', width: 480, height: 270, fps: 15, gop: 15, bitrateKbps: 150 },
    // N and M: main streams only.
    { id: 'st-n', tag: 63, codec: 'h264', profile: 'baseline', width: 960, height: 540, fps: 15, gop: 15, bitrateKbps: 1200, pattern: 'smpte', motion: 3 },
    { id: 'st-m', tag: 64, codec: 'h264', profile: 'baseline', width: 960, height: 540, fps: 15, gop: 15, bitrateKbps: 1200, pattern: 'smpte', motion: 3 },
  ],
} as const;

const LOW_KBPS = 100;

describe('streams per tile size, bandwidth caps and the low tier (#24)', function () {
  this.timeout(120_000);
  let sim: Simulator;
  let t: TestApp;
  let config: Config;
  const sockets: ClientSocket[] = [];

  async function viewer(role: 'operator' | 'supervisor'): Promise<{ socket: ClientSocket; transportId: string; rtpCapabilities: Record<string, unknown> }> {
    const socket = await connectClient(t.app.consoleUrl, await t.token(role));
    sockets.push(socket);
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    return { socket, transportId: transport.id, rtpCapabilities: rtpCapabilities as unknown as Record<string, unknown> };
  }

  /** The rate the server counts for a live stream nobody measured yet: its producer's (kbit/s). */
  async function producerKbps(cameraId: string, stream: 'main' | 'sub' | 'low'): Promise<number> {
    const feed = t.app.cameras.session(cameraId, stream)?.feed;
    if (!feed) throw new Error(`${cameraId} ${stream} is not live`);
    return (await feed.getStats()).inBitrate / 1000;
  }

  before(async () => {
    sim = await Simulator.start({ config: SIM as never });
    t = await startTestApp(
      {
        media: { workers: 1 },
        bandwidth: { sampleMs: 500, upgradeCooldownMs: 0, replaceGraceMs: 1000 },
        lowTier: { max: 1, width: 320, height: 180, kbps: LOW_KBPS, fps: 10 },
        cameras: [
          { id: 'st-s', name: 'With a substream', url: sim.url('st-s'), substreamUrl: sim.url('st-s-sub') },
          { id: 'st-n', name: 'Main only', url: sim.url('st-n') },
          { id: 'st-m', name: 'Main only too', url: sim.url('st-m') },
        ],
      },
      {
        adjust: (loaded) => {
          // Kept to set the supervisors' cap from the streams' measured rates below (read on each new session).
          config = structuredClone(loaded) as Config;
          return config;
        },
      },
    );
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
  });

  it('gives each tile the smallest stream that covers it, the main stream full screen, and learns the substream size from its SPS', async () => {
    const { socket, transportId, rtpCapabilities } = await viewer('operator');
    const consume = (tile?: { width: number; height: number; fullscreen?: boolean }, stream?: 'main' | 'sub') =>
      ok(socket, 'consume', { transportId, cameraId: 'st-s', rtpCapabilities, ...(tile && { tile }), ...(stream && { stream }) });

    // Before the substream ever ran it is assumed 640x360: a 320x180 tile gets it.
    const small = await consume({ width: 320, height: 180 });
    expect(small.stream).to.include({ name: 'sub', reason: 'tile_size' });
    // Its real size, 480x270, came from its SPS, and is stored in the catalog.
    expect((await t.app.cameras.streams('st-s')).sub).to.deep.equal({ width: 480, height: 270 });
    await waitFor(async () => (await t.app.catalog.repository.findByCode('st-s'))?.streamSizes?.sub?.width === 480, 5000, 'the substream size stored');

    const big = await consume({ width: 1280, height: 720 });
    expect(big.stream).to.include({ name: 'main', reason: 'tile_size' });
    expect((await t.app.cameras.streams('st-s')).main).to.deep.equal({ width: 960, height: 540 });
    // 600x338 is more than 10% over the substream's 480x270 now that it is known: the main stream.
    expect((await consume({ width: 600, height: 338 })).stream.name).to.equal('main');
    expect((await consume({ width: 500, height: 400 })).stream).to.include({ name: 'sub', width: 480, height: 270 });
    expect((await consume({ width: 200, height: 100, fullscreen: true })).stream).to.include({ name: 'main', reason: 'fullscreen' });
    expect((await consume()).stream).to.include({ name: 'main', reason: 'default' });
    expect((await consume({ width: 1920, height: 1080 }, 'sub')).stream).to.include({ name: 'sub', reason: 'requested' });

    // A resized tile is told which stream it should have now.
    const resized = await ok(socket, 'tileResized', { consumerId: small.consumer.id, tile: { width: 1600, height: 900 } });
    expect(resized).to.deep.include({ switch: true });
    expect(resized.stream.name).to.equal('main');
    expect(await ok(socket, 'tileResized', { consumerId: big.consumer.id, tile: { width: 1600, height: 900 } })).to.deep.include({ switch: false });

    // A camera without a substream: asking for one is a clear error.
    const noSub = await request(socket, 'consume', { transportId, cameraId: 'st-n', rtpCapabilities, stream: 'sub' });
    expect(noSub.error).to.include({ code: 'not_found' });
    expect(noSub.error!.message).to.match(/st-n has no substream/);
  });

  it("holds a supervisor's session to the cap: the substream first, then the low tier (no second RTSP session), then a refusal; one low tier per node", async () => {
    // An uncapped operator keeps every main stream and the substream live, so their rates are measured.
    const operator = await viewer('operator');
    for (const [cameraId, stream] of [['st-s', 'main'], ['st-s', 'sub'], ['st-n', 'main'], ['st-m', 'main']] as const) {
      await ok(operator.socket, 'consume', { transportId: operator.transportId, cameraId, rtpCapabilities: operator.rtpCapabilities, stream });
    }
    await waitFor(async () => (await producerKbps('st-s', 'main')) > 300 && (await producerKbps('st-s', 'sub')) > 50 && (await producerKbps('st-n', 'main')) > 300, 10_000, 'measured producer rates');
    const sub = await producerKbps('st-s', 'sub');
    const mainS = await producerKbps('st-s', 'main');
    // The cap fits the substream and a low tier with room to spare, but no main stream beside them:
    // halfway between the substream plus the low tier and the substream plus a main stream.
    expect(mainS, 'the simulator main stream must be heavier than the substream and the low tier together').to.be.greaterThan(sub + LOW_KBPS + 100);
    const cap = Math.round(sub + LOW_KBPS + (mainS - sub - LOW_KBPS) / 2);
    config.bandwidth.capKbps.supervisor = cap;

    const supervisor = await viewer('supervisor');
    const consume = (cameraId: string, extra: object = {}): Promise<{ error?: { code: string; message: string }; stream?: { name: string }; consumer?: { id: string } }> =>
      request(supervisor.socket, 'consume', { transportId: supervisor.transportId, cameraId, rtpCapabilities: supervisor.rtpCapabilities, tile: { width: 1280, height: 720 }, ...extra });

    const s = await consume('st-s');
    expect(s.error, JSON.stringify(s.error)).to.equal(undefined);
    expect(s.stream).to.include({ name: 'sub', reason: 'bandwidth_cap' });

    const clientsBefore = (await sim.status()).cameras.find((c) => c.id === 'st-n')!;
    const n = await consume('st-n');
    expect(n.error, JSON.stringify(n.error)).to.equal(undefined);
    expect(n.stream).to.include({ name: 'low', reason: 'bandwidth_cap', width: 320, height: 180 });
    expect(t.app.cameras.status('st-n', 'low')?.state).to.equal('live');
    // The low tier is fed from the camera's own producer: the simulator still serves one session to st-n.
    const clientsAfter = (await sim.status()).cameras.find((c) => c.id === 'st-n')!;
    expect(clientsAfter.clients).to.equal(clientsBefore.clients);
    expect(clientsAfter.clients).to.equal(1);

    // The node's low-tier slots in the metrics, and the low tier's own camera series.
    await t.app.metrics.sample();
    const metrics = await t.app.metrics.registry.metrics();
    expect(metrics).to.match(/^c5_low_tier_transcodes 1$/m).and.match(/^c5_low_tier_transcodes_limit 1$/m);
    expect(metrics).to.match(/^c5_camera_ingest_state\{camera="st-n~low",state="live"\} 1$/m);

    // st-m: its main stream breaks the cap and the node's one low-tier transcode is taken.
    const m = await consume('st-m');
    expect(m.error).to.include({ code: 'bandwidth_cap' });
    expect(m.error!.message).to.match(/over its cap of \d+ kbit\/s/).and.match(/no low-tier transcode is free/);
    // Even uncapped, a second low tier is refused while the node's one slot is taken.
    const explicit = await request(operator.socket, 'consume', { transportId: operator.transportId, cameraId: 'st-m', rtpCapabilities: operator.rtpCapabilities, stream: 'low' });
    expect(explicit.error).to.include({ code: 'camera_unavailable' });

    // The bandwidth event reports each consumer's stream and the cap.
    const sample = await new Promise<{ capKbps: number | null; consumers: Array<{ consumerId: string; stream: string }> }>((resolve) => supervisor.socket.once('bandwidth', resolve));
    expect(sample.capKbps).to.equal(cap);
    expect(sample.consumers.map((c) => c.stream).sort()).to.deep.equal(['low', 'sub']);

    // The last viewer of the low tier leaves: it stops (its ffmpeg and slot released), and another camera's low tier can start.
    await ok(supervisor.socket, 'closeConsumer', { consumerId: n.consumer!.id });
    await waitFor(() => t.app.cameras.status('st-n', 'low')?.state === 'idle', 15_000, 'the low tier stopped');
    const m2 = await consume('st-m');
    expect(m2.error, JSON.stringify(m2.error)).to.equal(undefined);
    expect(m2.stream).to.include({ name: 'low' });
  });

  it('moves a tile the cap moved down back up to the stream its size asks for once room frees up (streamAdvice)', async () => {
    const operator = await viewer('operator');
    for (const [cameraId, stream] of [['st-s', 'main'], ['st-s', 'sub'], ['st-n', 'main']] as const) {
      await ok(operator.socket, 'consume', { transportId: operator.transportId, cameraId, rtpCapabilities: operator.rtpCapabilities, stream });
    }
    await waitFor(async () => (await producerKbps('st-s', 'main')) > 300 && (await producerKbps('st-n', 'main')) > 300 && (await producerKbps('st-s', 'sub')) > 30, 10_000, 'measured producer rates');
    // No room for st-s's main stream beside st-n's: st-s gets its substream.
    const [mainS, mainN] = [await producerKbps('st-s', 'main'), await producerKbps('st-n', 'main')];
    config.bandwidth.capKbps.supervisor = Math.round(mainN + mainS / 2);
    const operatorConsumers = t.app.media.workers.reduce((sum, w) => sum + w.consumers, 0);
    const supervisor = await viewer('supervisor');
    const big = { width: 1280, height: 720 };
    const n = await ok(supervisor.socket, 'consume', { transportId: supervisor.transportId, cameraId: 'st-n', rtpCapabilities: supervisor.rtpCapabilities, tile: big });
    expect(n.stream.name).to.equal('main');
    const s = await ok(supervisor.socket, 'consume', { transportId: supervisor.transportId, cameraId: 'st-s', rtpCapabilities: supervisor.rtpCapabilities, tile: big });
    expect(s.stream).to.include({ name: 'sub', reason: 'bandwidth_cap' });

    // Room frees up: st-n's tile closes, and the supervisors' cap is raised (read by live sessions too).
    config.bandwidth.capKbps.supervisor = Math.round((mainS + mainN) * 3);
    const advised = new Promise<{ consumerId: string; stream: { name: string; reason: string } }>((resolve) => supervisor.socket.on('streamAdvice', resolve));
    await ok(supervisor.socket, 'closeConsumer', { consumerId: n.consumer.id });
    const advice = await advised;
    expect(advice).to.deep.include({ consumerId: s.consumer.id });
    expect(advice.stream).to.include({ name: 'main', reason: 'tile_size' });
    // Following it: the new consumer is not taken for the user's own pick.
    const up = await ok(supervisor.socket, 'consume', { transportId: supervisor.transportId, cameraId: 'st-s', rtpCapabilities: supervisor.rtpCapabilities, tile: big, stream: 'main', replaces: s.consumer.id });
    expect(up.stream).to.include({ name: 'main', reason: 'tile_size' });
    // This client never closes the consumer it replaced: the server does, after the grace.
    const closed = await new Promise<{ consumerId: string; reason: string }>((resolve) => supervisor.socket.on('consumerClosed', resolve));
    expect(closed).to.include({ consumerId: s.consumer.id, reason: 'replaced' });
    // What is left: the new consumer alone.
    expect(t.app.media.workers.reduce((sum, w) => sum + w.consumers, 0) - operatorConsumers).to.equal(1);
  });

  it('a substream that will not start gives the tile the main stream (reason substream_down)', async () => {
    const { socket, transportId, rtpCapabilities } = await viewer('operator');
    await sim.drop('st-s-sub');
    try {
      const answer = await ok(socket, 'consume', { transportId, cameraId: 'st-s', rtpCapabilities, tile: { width: 320, height: 180 } });
      expect(answer.stream).to.include({ name: 'main', reason: 'substream_down' });
      // Asked for explicitly, it is an error instead: the client chose it.
      const explicit = await request(socket, 'consume', { transportId, cameraId: 'st-s', rtpCapabilities, stream: 'sub' });
      expect(explicit.error).to.include({ code: 'camera_unavailable' });
    } finally {
      await sim.restore('st-s-sub');
    }
  });

  it('leaks nothing: after every viewer leaves, the streams idle-close and no consumer or transport is left', async () => {
    const allIdle = () => t.app.cameras.statuses().every((status) => status.state === 'idle');
    // The earlier tests' sessions close after their sockets do.
    await waitFor(allIdle, 20_000, 'the earlier sessions closed');
    const before = await mediaSnapshot(t.app);
    const { socket, transportId, rtpCapabilities } = await viewer('operator');
    await ok(socket, 'consume', { transportId, cameraId: 'st-s', rtpCapabilities, tile: { width: 320, height: 180 } });
    await ok(socket, 'consume', { transportId, cameraId: 'st-n', rtpCapabilities, stream: 'low' }).catch(() => undefined);
    socket.close();
    sockets.length = 0;
    await waitFor(allIdle, 20_000, 'every stream idle');
    const after = await mediaSnapshot(t.app);
    expect(after).to.deep.equal(before);
  });
});
