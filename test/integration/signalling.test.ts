import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { TokenService } from '../../server/auth/TokenService.ts';
import { Simulator } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { mediaSnapshot } from '../support/dumps.ts';
import { connectClient, ok, request, type ClientSocket } from '../support/signallingClient.ts';
import { waitFor } from '../support/processes.ts';

const fakeDtls = {
  role: 'client' as const,
  fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }],
};

describe('signalling (Socket.IO)', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let t: TestApp;
  let baseUrl: string;
  const sockets: ClientSocket[] = [];
  const token = () => t.token('operator');
  const open = async (tok?: string) => {
    const socket = await connectClient(baseUrl, tok ?? (await token()));
    sockets.push(socket);
    return socket;
  };
  const dumps = () => Promise.all(t.app.media.workers.map(async (w) => ({ router: await w.router.dump(), server: await w.webRtcServer.dump() })));

  before(async () => {
    sim = await Simulator.start({ config: { cameras: [{ id: 'cam-a', tag: 31, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 25, gop: 25 }] } });
    t = await startTestApp({ cameras: [{ id: 'cam-a', name: 'Camera A', url: sim.url('cam-a') }] });
    baseUrl = t.app.consoleUrl;
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
  });

  it('rejects a handshake without a valid token', async () => {
    for (const bad of ['', 'not-a-jwt', `${await token()}x`]) {
      let error: (Error & { data?: { code?: string } }) | undefined;
      try {
        await open(bad);
      } catch (caught) {
        error = caught as Error & { data?: { code?: string } };
      }
      expect(error?.data?.code, bad).to.equal('unauthenticated');
    }
  });

  it('serves every request on its happy path', async () => {
    const userId = await t.user('operator');
    const socket = await open(t.app.tokens.issue({ userId, role: 'operator', authTime: Math.floor(Date.now() / 1000) }).token);
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    expect(rtpCapabilities.codecs?.some((c) => c.mimeType === 'video/H264')).to.equal(true);
    const { cameras } = await ok(socket, 'listCameras', {});
    expect(cameras.map((c) => c.id)).to.deep.equal(['cam-a']);
    expect(JSON.stringify(cameras)).to.not.contain('rtsp://');
    const { transport } = await ok(socket, 'createTransport', {});
    expect(transport.iceCandidates.length).to.be.greaterThan(0);
    const states: string[] = [];
    socket.on('cameraState', (status) => status.cameraId === 'cam-a' && states.push(status.state));
    const { consumer } = await ok(socket, 'consume', { transportId: transport.id, cameraId: 'cam-a', rtpCapabilities });
    expect(consumer.cameraId).to.equal('cam-a');
    expect(consumer.kind).to.equal('video');
    await ok(socket, 'connectTransport', { transportId: transport.id, dtlsParameters: fakeDtls });
    await ok(socket, 'resumeConsumer', { consumerId: consumer.id });
    await ok(socket, 'pauseConsumer', { consumerId: consumer.id });
    const dump = await Promise.all(t.app.media.workers.map((w) => w.router.dump()));
    const consumerIds = dump.flatMap((d) => Object.keys(d.mapConsumerIdProducerId));
    expect(consumerIds).to.include(consumer.id);
    await ok(socket, 'closeConsumer', { consumerId: consumer.id });
    const refreshed = await ok(socket, 'refreshToken', {});
    expect(refreshed.expiresAt).to.be.greaterThan(Date.now());
    expect(t.app.tokens.verify(refreshed.token).userId).to.equal(userId);
    await ok(socket, 'closeTransport', { transportId: transport.id });
    await waitFor(() => t.app.cameras.status('cam-a')?.state === 'idle', 10_000, 'camera idle after its only viewer left');
    expect(states).to.include('live');
  });

  it('answers bad requests with a clear error and changes nothing', async () => {
    const socket = await open();
    const other = await open(await token());
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    const { transport: otherTransport } = await ok(other, 'createTransport', {});
    const before = await dumps();
    const cases: Array<[string, Parameters<typeof request>[1], unknown, string, RegExp?]> = [
      ['missing fields', 'consume', { transportId: transport.id }, 'invalid_request', /cameraId/],
      ['wrong types', 'consume', { transportId: 42, cameraId: ['x'], rtpCapabilities: 'all' }, 'invalid_request', /transportId/],
      ['unknown keys', 'resumeConsumer', { consumerId: 'x', extra: 1 }, 'invalid_request'],
      ['no payload', 'pauseConsumer', undefined, 'invalid_request'],
      ['unknown camera', 'consume', { transportId: transport.id, cameraId: 'nope', rtpCapabilities }, 'not_found'],
      ['bad camera id', 'consume', { transportId: transport.id, cameraId: '../etc', rtpCapabilities }, 'invalid_request'],
      ["another socket's transport", 'consume', { transportId: otherTransport.id, cameraId: 'cam-a', rtpCapabilities }, 'not_found'],
      ["another socket's transport (connect)", 'connectTransport', { transportId: otherTransport.id, dtlsParameters: fakeDtls }, 'not_found'],
      ['resume of a consumer that does not exist', 'resumeConsumer', { consumerId: 'nope' }, 'not_found'],
      ['close of a consumer that does not exist', 'closeConsumer', { consumerId: 'nope' }, 'not_found'],
      ['bad DTLS parameters', 'connectTransport', { transportId: transport.id, dtlsParameters: { fingerprints: [] } }, 'invalid_request'],
      ['a second transport', 'createTransport', {}, 'invalid_state'],
    ];
    for (const [what, name, payload, code, message] of cases) {
      const answer = await request(socket, name, payload);
      expect(answer.error?.code, what).to.equal(code);
      expect(answer.error?.message, what).to.be.a('string').and.not.be.empty;
      if (message) expect(answer.error?.message, what).to.match(message);
    }
    await ok(socket, 'closeTransport', { transportId: transport.id });
    const closed = await request(socket, 'consume', { transportId: transport.id, cameraId: 'cam-a', rtpCapabilities });
    expect(closed.error?.code, 'a closed transport').to.equal('not_found');
    await ok(other, 'closeTransport', { transportId: otherTransport.id });
    const after = await dumps();
    // Only the two transports created above are gone; nothing else changed.
    expect(after.map((d) => d.router.transportIds.length)).to.deep.equal(before.map((d) => d.router.transportIds.length - (d.router.transportIds.includes(transport.id) ? 1 : 0) - (d.router.transportIds.includes(otherTransport.id) ? 1 : 0)));
    expect(after.flatMap((d) => Object.keys(d.router.mapProducerIdConsumerIds))).to.deep.equal(before.flatMap((d) => Object.keys(d.router.mapProducerIdConsumerIds)));
    expect(t.app.cameras.status('cam-a')?.state ?? 'idle').to.be.oneOf(['idle', 'closing']);
  });

  it('closes a disconnecting socket\'s transports and consumers at once', async () => {
    const before = await mediaSnapshot(t.app);
    const socket = await open();
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    await ok(socket, 'consume', { transportId: transport.id, cameraId: 'cam-a', rtpCapabilities });
    socket.close();
    await waitFor(async () => t.app.signalling.connectionCount === 0, 5_000, 'server to notice the disconnect');
    await waitFor(() => t.app.cameras.status('cam-a')?.state === 'idle', 10_000, 'camera idle');
    expect(await mediaSnapshot(t.app)).to.deep.equal(before);
  });

  it('disconnects a socket whose token expired, and keeps one that refreshed', async () => {
    const secret = readFileSync(join(t.app.config.dataDir, 'secrets', 'jwt-secret'), 'utf8').trim();
    const shortLived = new TokenService(secret, 2, 3600);
    const now = Math.floor(Date.now() / 1000);
    const expiringToken = shortLived.issue({ userId: await t.user(), role: 'operator', authTime: now }).token;
    const expiring = await open(expiringToken);
    const refreshing = await open(shortLived.issue({ userId: await t.user(), role: 'operator', authTime: now }).token);
    const disconnected = new Promise<string>((resolve) => expiring.once('disconnect', resolve));
    let refreshingDropped = false;
    refreshing.once('disconnect', () => (refreshingDropped = true));
    await ok(refreshing, 'refreshToken', {});
    expect(await disconnected).to.equal('io server disconnect');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(refreshingDropped).to.equal(false);
    expect(refreshing.connected).to.equal(true);
    // An expired token cannot connect again.
    let error: (Error & { data?: { message?: string } }) | undefined;
    try {
      await open(expiringToken);
    } catch (caught) {
      error = caught as Error & { data?: { message?: string } };
    }
    expect(error?.data?.message).to.equal('the token has expired');
  });

  it('tells the viewers of a camera about its state changes; a relayed camera keeps their consumer across a drop', async () => {
    const socket = await open();
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    const { consumer } = await ok(socket, 'consume', { transportId: transport.id, cameraId: 'cam-a', rtpCapabilities });
    const states: string[] = [];
    const closed: string[] = [];
    socket.on('cameraState', (status) => states.push(status.state));
    socket.on('consumerClosed', (event) => closed.push(event.reason));
    await sim.drop('cam-a');
    await waitFor(() => states.includes('backoff'), 15_000, 'backoff state pushed');
    await sim.restore('cam-a');
    await waitFor(() => states.at(-1) === 'live', 20_000, 'live state pushed');
    expect(closed, 'no consumerClosed across the drop').to.deep.equal([]);
    // The same consumer still answers.
    const resumed = await ok(socket, 'resumeConsumer', { consumerId: consumer.id });
    expect(resumed).to.not.have.property('error');
  });
});
