import { expect } from 'chai';
import { Simulator } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { mediaSnapshot } from '../support/dumps.ts';
import { connectClient, ok, type ClientSocket } from '../support/signallingClient.ts';
import { ffmpegProcesses, isAlive, waitFor } from '../support/processes.ts';

const cameras = ['cam-f1', 'cam-f2', 'cam-f3'];

describe('fan-out across media workers', function () {
  this.timeout(120_000);
  let sim: Simulator;
  let t: TestApp;
  const sockets: ClientSocket[] = [];
  let operatorToken: string;
  const dumps = () => Promise.all(t.app.media.workers.map(async (w) => ({ router: await w.router.dump(), server: await w.webRtcServer.dump() })));

  before(async () => {
    sim = await Simulator.start({
      config: { cameras: cameras.map((id, i) => ({ id, tag: 40 + i, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15, bitrateKbps: 200 })) },
    });
    t = await startTestApp({ media: { workers: 2 }, cameras: cameras.map((id) => ({ id, name: id, url: sim.url(id) })) });
    operatorToken = await t.token('operator');
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
  });

  it('spreads 40 viewers of 3 cameras over both workers, ingests each camera once, pipes each once per router, and leaks nothing', async () => {
    const before = await mediaSnapshot(t.app);
    const consumed: Array<{ producerId: string; cameraId: string }> = [];
    for (let i = 0; i < 40; i++) {
      const socket = await connectClient(t.app.consoleUrl, operatorToken);
      sockets.push(socket);
      const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
      const { transport } = await ok(socket, 'createTransport', {});
      const cameraId = cameras[i % cameras.length]!;
      const { consumer } = await ok(socket, 'consume', { transportId: transport.id, cameraId, rtpCapabilities });
      consumed.push({ producerId: consumer.producerId, cameraId });
    }
    const during = await dumps();
    const consumersPerRouter = during.map((d) => Object.keys(d.router.mapConsumerIdProducerId).length);
    // Each router's consumers: the viewers' consumers plus the pipe consumers it feeds to the other router.
    const webRtcPerServer = during.map((d) => d.server.webRtcTransportIds.length);
    console.log(`      viewer transports per worker: ${webRtcPerServer.join(' / ')}; consumers per router: ${consumersPerRouter.join(' / ')}`);
    expect(webRtcPerServer.every((n) => n >= 10), 'both workers carry viewers').to.equal(true);
    expect(webRtcPerServer.reduce((a, b) => a + b, 0)).to.equal(40);

    const simulated = (await sim.status()).cameras;
    for (const cameraId of cameras) {
      // Relayed (the default for H.264): one RTSP session at the camera, no process.
      expect(simulated.find((c) => c.id === cameraId)?.clients, `${cameraId} ingested once`).to.equal(1);
      expect(ffmpegProcesses(`/${cameraId}`), `${cameraId}: no ffmpeg`).to.deep.equal([]);
      const producerId = consumed.find((c) => c.cameraId === cameraId)!.producerId;
      // The producer exists on both routers (the original and one pipe producer), never twice on one.
      const routersWithIt = during.filter((d) => producerId in d.router.mapProducerIdConsumerIds).length;
      expect(routersWithIt, `${cameraId} on both routers`).to.equal(2);
    }
    // One PipeTransport pair between the two routers, whatever the number of cameras piped: each
    // router holds its viewers' WebRtcTransports, the camera PlainTransports it hosts, and one pipe.
    const hosted = t.app.media.workers.map((w) => w.hostedCameras);
    during.forEach((d, i) => {
      expect(d.router.transportIds.length, `router ${i} transports`).to.equal(webRtcPerServer[i]! + hosted[i]! + 1);
    });

    for (const socket of sockets.splice(0)) socket.close();
    await waitFor(() => t.app.signalling.connectionCount === 0, 10_000, 'all viewers gone');
    await waitFor(() => cameras.every((id) => t.app.cameras.status(id)?.state === 'idle'), 15_000, 'cameras idle');
    await waitFor(() => cameras.every((id) => ffmpegProcesses(`/${id}`).length === 0), 5_000, 'no ffmpeg');
    expect(await mediaSnapshot(t.app)).to.deep.equal(before);
  });

  it('survives the death of the worker hosting a camera: replaced, camera re-attached, viewers told to re-subscribe', async function () {
    const socket = await connectClient(t.app.consoleUrl, operatorToken);
    sockets.push(socket);
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    let { transport } = await ok(socket, 'createTransport', {});
    await ok(socket, 'consume', { transportId: transport.id, cameraId: 'cam-f1', rtpCapabilities });
    const session = t.app.cameras.session('cam-f1')!;
    const host = session.feed!.host;
    const deadPid = host.pid;
    const events: string[] = [];
    socket.on('transportClosed', () => events.push('transportClosed'));
    socket.on('consumerClosed', () => events.push('consumerClosed'));
    socket.on('cameraState', (s) => s.cameraId === 'cam-f1' && events.push(`state:${s.state}`));
    const killedAt = Date.now();
    process.kill(deadPid, 'SIGKILL');
    await waitFor(() => !isAlive(deadPid), 5_000, 'worker dead');
    await waitFor(() => t.app.media.workers[host.index]!.pid !== deadPid && !t.app.media.workers[host.index]!.closed, 10_000, 'worker replaced');
    await waitFor(() => events.includes('state:live'), 20_000, 'camera live again');
    const liveAgainMs = Date.now() - killedAt;
    expect(events).to.include('consumerClosed');
    if (events.includes('transportClosed')) ({ transport } = await ok(socket, 'createTransport', {}));
    const { consumer } = await ok(socket, 'consume', { transportId: transport.id, cameraId: 'cam-f1', rtpCapabilities });
    expect(consumer.cameraId).to.equal('cam-f1');
    console.log(`      camera live again ${liveAgainMs} ms after its worker was killed; events: ${events.join(', ')}`);
    expect(session.feed!.host.closed).to.equal(false);
    expect(t.app.media.workers.map((w) => w.closed)).to.deep.equal([false, false]);
  });
});
