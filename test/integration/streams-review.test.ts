import { expect } from 'chai';
import { Simulator } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { connectClient, ok, request, type ClientSocket } from '../support/signallingClient.ts';
import { waitFor } from '../support/processes.ts';
import { ProducerFfmpeg } from '../../server/media/ProducerFfmpeg.ts';
import { ffmpegPath } from '../../server/toolchain.ts';

// Review of #24: defects found in the streams-per-camera change, each proven here.

const SIM = {
  cameras: [
    { id: 'rv-s', tag: 71, codec: 'h264', profile: 'baseline', width: 960, height: 540, fps: 15, gop: 15, bitrateKbps: 800 },
    { id: 'rv-s-sub', tag: 72, codec: 'h264', profile: 'baseline', width: 480, height: 270, fps: 15, gop: 15, bitrateKbps: 150 },
    { id: 'rv-s-sub2', tag: 73, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15, bitrateKbps: 100 },
    { id: 'rv-w', tag: 74, codec: 'h264', profile: 'baseline', width: 960, height: 540, fps: 15, gop: 15, bitrateKbps: 800 },
    { id: 'rv-w-sub', tag: 75, codec: 'h264', profile: 'baseline', width: 480, height: 270, fps: 15, gop: 15, bitrateKbps: 150 },
    { id: 'rv-n', tag: 76, codec: 'h264', profile: 'baseline', width: 960, height: 540, fps: 15, gop: 15, bitrateKbps: 800 },
  ],
} as const;

describe('streams review (#24)', function () {
  this.timeout(90_000);
  let sim: Simulator;
  let t: TestApp;
  const sockets: ClientSocket[] = [];

  async function viewer(role: 'operator' | 'supervisor' = 'operator'): Promise<{ socket: ClientSocket; transportId: string; rtpCapabilities: Record<string, unknown> }> {
    const socket = await connectClient(t.app.consoleUrl, await t.token(role));
    sockets.push(socket);
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    return { socket, transportId: transport.id, rtpCapabilities: rtpCapabilities as unknown as Record<string, unknown> };
  }
  const clients = async (mount: string): Promise<number> => (await sim.status()).cameras.find((camera) => camera.id === mount)!.clients;

  before(async () => {
    sim = await Simulator.start({ config: SIM as never });
    t = await startTestApp({
      media: { workers: 1 },
      lowTier: { max: 0 },
      cameras: [
        { id: 'rv-s', name: 'Substream URL changes', url: sim.url('rv-s'), substreamUrl: sim.url('rv-s-sub') },
        { id: 'rv-w', name: 'Withdrawn while on its substream', url: sim.url('rv-w'), substreamUrl: sim.url('rv-w-sub') },
        { id: 'rv-n', name: 'Main only', url: sim.url('rv-n') },
      ],
    });
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
  });

  it('a camera withdrawn while only its substream runs is closed in its viewers\' tiles as withdrawn', async () => {
    const { socket, transportId, rtpCapabilities } = await viewer();
    const small = await ok(socket, 'consume', { transportId, cameraId: 'rv-w', rtpCapabilities, tile: { width: 320, height: 180 } });
    expect(small.stream.name).to.equal('sub');
    expect(t.app.cameras.session('rv-w'), 'the main stream never started').to.equal(undefined);
    const closed = new Promise<{ consumerId: string; reason: string }>((resolve) => socket.on('consumerClosed', resolve));
    const camera = (await t.app.catalog.repository.findByCode('rv-w'))!;
    await t.app.catalog.changeStatus(camera.id, 'suspend', 'review test');
    const event = await closed;
    expect(event).to.include({ consumerId: small.consumer.id, reason: 'camera_withdrawn' });
  });

  it('a substream URL changed in the catalog takes effect on a running substream', async () => {
    const { socket, transportId, rtpCapabilities } = await viewer();
    const small = await ok(socket, 'consume', { transportId, cameraId: 'rv-s', rtpCapabilities, tile: { width: 320, height: 180 } });
    expect(small.stream.name).to.equal('sub');
    expect(await clients('rv-s-sub')).to.equal(1);
    const camera = (await t.app.catalog.repository.findByCode('rv-s'))!;
    await t.app.catalog.update(camera.id, { substreamUrl: sim.url('rv-s-sub2') });
    // The old substream's RTSP session ends; the tile, consuming again, gets the new one.
    await waitFor(async () => (await clients('rv-s-sub')) === 0, 10_000, 'the old substream stopped');
    const again = await ok(socket, 'consume', { transportId, cameraId: 'rv-s', rtpCapabilities, tile: { width: 320, height: 180 } });
    expect(again.stream.name).to.equal('sub');
    expect(await clients('rv-s-sub2')).to.equal(1);
    expect(await clients('rv-s-sub')).to.equal(0);
  });

  it('a failed consume of a camera does not break another consume of it in flight', async () => {
    const { socket, transportId, rtpCapabilities } = await viewer();
    await waitFor(() => t.app.cameras.session('rv-n') === undefined || t.app.cameras.session('rv-n')!.state === 'idle', 20_000, 'rv-n idle');
    // The first waits for the camera to start; the second fails at once (no substream).
    const good = request(socket, 'consume', { transportId, cameraId: 'rv-n', rtpCapabilities, tile: { width: 1280, height: 720 } });
    const bad = request(socket, 'consume', { transportId, cameraId: 'rv-n', rtpCapabilities, stream: 'sub' });
    expect((await bad).error).to.include({ code: 'not_found' });
    const answer = await good;
    expect(answer.error, JSON.stringify(answer.error)).to.equal(undefined);
    expect((answer as { stream: { name: string } }).stream).to.include({ name: 'main' });
  });

  it('an ffmpeg fed from a producer that dies while starting is not handed out as running', async () => {
    const lease = await t.app.cameras.acquire('rv-n');
    try {
      const feed = lease.feed!;
      const ledger = new Set<number>();
      // An option ffmpeg rejects at once: it exits within the start's settling time.
      const outcome = await ProducerFfmpeg.start({
        router: feed.host.router,
        producer: feed.producer,
        ffmpegPath: ffmpegPath(),
        outputArgs: ['-no-such-option', '-f', 'null', '-'],
        ledger: { add: (pid) => ledger.add(pid), remove: (pid) => ledger.delete(pid) },
      }).then(
        (ffmpeg) =>
          // Started: its end must still be observable by the caller ('exit'), or the caller waits forever.
          new Promise<string>((resolve) => {
            const timer = setTimeout(() => resolve(`started, closed=${ffmpeg.closed}, and no exit event within 3 s`), 3000);
            ffmpeg.on('exit', () => {
              clearTimeout(timer);
              resolve('exit seen');
            });
          }),
        (error: Error) => `rejected: ${error.message}`,
      );
      expect(outcome).to.match(/^rejected: |^exit seen$/);
      expect(ledger.size).to.equal(0);
    } finally {
      lease.release();
    }
  });
});
