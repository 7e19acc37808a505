import { expect } from 'chai';
import { io } from 'socket.io-client';
import type { types } from 'mediasoup';
import { Simulator } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { ok, request, type ClientSocket } from '../support/signallingClient.ts';
import { waitFor } from '../support/processes.ts';
import type { SessionInfo } from '../../server/signalling/protocol.ts';

// Sessions that survive a network change (#25): a console whose socket drops keeps its transport,
// consumers and views for SESSION_RESUME_GRACE_MS, for its own user's reconnecting socket only.

const GRACE_MS = 2500;
const SIM = {
  cameras: [
    { id: 'rs-a', tag: 81, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15, bitrateKbps: 200 },
    { id: 'rs-b', tag: 82, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15, bitrateKbps: 200 },
  ],
} as const;

interface Connected {
  socket: ClientSocket;
  session: SessionInfo;
}

describe('session resume after a dropped socket (#25)', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let t: TestApp;
  const sockets: ClientSocket[] = [];
  /** Every mediasoup consumer the app creates (for its closed and paused state). */
  const consumers = new Map<string, types.Consumer>();

  /** A Socket.IO client that resolves with the server's session event (or rejects with the connect error's data). */
  function connect(token: string, resume?: string, extra: Record<string, unknown> = {}): Promise<Connected> {
    const socket: ClientSocket = io(t.app.consoleUrl, { path: '/socket.io', auth: { token, ...(resume && { resume }) }, transports: ['websocket'], reconnection: false, forceNew: true, ...extra });
    sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('session', (session) => resolve({ socket, session }));
      socket.once('connect_error', (error: Error & { data?: unknown }) => {
        socket.close();
        reject(Object.assign(new Error(error.message), { data: error.data }));
      });
    });
  }

  /** The network goes away under the socket: the engine closes without a Socket.IO disconnect packet. */
  async function dropNetwork(socket: ClientSocket): Promise<number> {
    const before = t.app.signalling.detachedCount;
    (socket.io.engine as unknown as { close(): void }).close();
    await waitFor(() => t.app.signalling.detachedCount === before + 1, 5000, 'the server keeps the session');
    return Date.now();
  }

  async function watch(socket: ClientSocket, cameraId: string): Promise<{ transportId: string; consumerId: string; rtpCapabilities: Record<string, unknown> }> {
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    const { consumer } = await ok(socket, 'consume', { transportId: transport.id, cameraId, rtpCapabilities: rtpCapabilities as never });
    await ok(socket, 'resumeConsumer', { consumerId: consumer.id });
    return { transportId: transport.id, consumerId: consumer.id, rtpCapabilities: rtpCapabilities as unknown as Record<string, unknown> };
  }

  const restores: Array<() => void> = [];
  /** The camera's streams start `ms` late (a camera slow to answer), for the rest of the test. */
  function slowStart(cameraId: string, ms: number): void {
    const cameras = t.app.cameras as unknown as { acquire: (id: string, stream?: string) => Promise<unknown> };
    const original = cameras.acquire;
    cameras.acquire = async function (this: unknown, id: string, stream?: string) {
      if (id === cameraId) await new Promise((resolve) => setTimeout(resolve, ms));
      return original.call(this, id, stream);
    };
    restores.push(() => {
      cameras.acquire = original;
    });
  }

  const viewsOf = async (cameraId: string) => (await t.app.audit.query({ action: 'view' }, { offset: 0, limit: 500 })).items.filter((e) => e.cameraId === cameraId).sort((a, b) => a.seq - b.seq);

  before(async () => {
    sim = await Simulator.start({ config: SIM as never });
    t = await startTestApp({
      media: { workers: 1 },
      signalling: { resumeGraceMs: GRACE_MS },
      cameras: SIM.cameras.map((camera) => ({ id: camera.id, name: camera.id, url: sim.url(camera.id) })),
    });
    for (const worker of t.app.media.workers) {
      worker.router.observer.on('newtransport', (transport) => transport.observer.on('newconsumer', (consumer) => consumers.set(consumer.id, consumer)));
    }
  });
  afterEach(async () => {
    for (const restore of restores.splice(0)) restore();
    for (const socket of sockets.splice(0)) socket.close();
    await waitFor(() => t.app.signalling.connectionCount === 0 && t.app.signalling.detachedCount === 0, GRACE_MS + 5000, 'every session closed');
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
  });

  it('keeps a dropped session and hands its transport, consumers and view to the same user\'s reconnecting socket', async () => {
    const token = await t.token('operator');
    const first = await connect(token);
    expect(first.session.resumeToken).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(first.session.resumeGraceMs).to.equal(GRACE_MS);
    expect(first.session.resumed).to.equal(undefined);
    const { transportId, consumerId } = await watch(first.socket, 'rs-a');

    await dropNetwork(first.socket);
    // Nothing closed or paused: the consumer, the camera's lease and the view stay.
    // (A Node client has no ICE/DTLS, so bytes flowing are measured in Chromium: test/e2e/network.test.ts.)
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(consumers.get(consumerId)!.closed).to.equal(false);
    expect(consumers.get(consumerId)!.paused).to.equal(false);
    expect(t.app.cameras.session('rs-a')?.viewers).to.equal(1);
    expect((await viewsOf('rs-a')).map((e) => e.action)).to.deep.equal(['view.start']);

    const second = await connect(token, first.session.resumeToken);
    expect(second.session.resumed).to.deep.include({ transportId });
    expect(second.session.resumed!.consumers).to.deep.equal([{ consumerId, cameraId: 'rs-a', stream: 'main' }]);
    expect(second.session.resumed!.detachedMs).to.be.within(0, GRACE_MS);
    expect(second.session.resumeToken, 'a new token at each connection').to.not.equal(first.session.resumeToken);
    expect(t.app.signalling.connectionCount).to.equal(1);
    expect(t.app.signalling.detachedCount).to.equal(0);
    // The new socket drives the old session: an ICE restart gives new credentials, the consumer answers.
    const before = (await t.app.media.workers[0]!.router.dump()) as unknown as { transportIds: string[] };
    expect(before.transportIds).to.include(transportId);
    const { iceParameters } = await ok(second.socket, 'restartIce', { transportId });
    expect(iceParameters.usernameFragment).to.be.a('string').with.length.greaterThan(0);
    await ok(second.socket, 'pauseConsumer', { consumerId });
    expect(consumers.get(consumerId)!.paused).to.equal(true);
    // The old token no longer works: a third socket presenting it starts afresh.
    const third = await connect(token, first.session.resumeToken);
    expect(third.session.resumeExpired).to.equal(true);
    expect(third.session.resumed).to.equal(undefined);
    third.socket.close();
    // Still one view, never stopped while the socket was away.
    expect((await viewsOf('rs-a')).map((e) => e.action)).to.deep.equal(['view.start']);
    second.socket.close();
    await waitFor(async () => (await viewsOf('rs-a')).length === 2, 5000, 'the view stops when the session closes');
  });

  it('takes a session over from a socket that has not noticed its network is gone', async () => {
    const token = await t.token('operator');
    const first = await connect(token);
    const { consumerId } = await watch(first.socket, 'rs-a');
    const oldGone = new Promise<string>((resolve) => first.socket.once('disconnect', resolve));
    const second = await connect(token, first.session.resumeToken);
    expect(second.session.resumed!.consumers.map((c) => c.consumerId)).to.deep.equal([consumerId]);
    expect(await oldGone).to.equal('io server disconnect');
    expect(t.app.signalling.connectionCount).to.equal(1);
    expect(consumers.get(consumerId)!.closed).to.equal(false);
  });

  it('closes a session not taken back within its grace, ending its view\'s record at the disconnect, and tells the late socket it expired', async () => {
    const token = await t.token('operator');
    const first = await connect(token);
    const { consumerId } = await watch(first.socket, 'rs-b');
    const droppedAt = await dropNetwork(first.socket);
    await waitFor(() => consumers.get(consumerId)!.closed, GRACE_MS + 5000, 'the consumer closes after the grace');
    const closedAt = Date.now();
    expect(closedAt - droppedAt).to.be.at.least(GRACE_MS - 200);
    expect(t.app.signalling.detachedCount).to.equal(0);
    expect(t.app.signalling.connectionCount).to.equal(0);
    const stop = (await viewsOf('rs-b')).find((e) => e.action === 'view.stop');
    expect(stop, 'the view was audited as stopped').to.not.equal(undefined);
    const details = stop!.details as { reason: string; endedAt: string; durationMs: number; startedAt: string };
    expect(details.reason).to.equal('disconnected');
    // The record ends when the socket dropped, not when the grace ran out.
    expect(Date.parse(details.endedAt)).to.be.within(droppedAt - 1000, droppedAt + 200);
    expect(Date.parse(details.startedAt) + details.durationMs).to.equal(Date.parse(details.endedAt));
    const late = await connect(token, first.session.resumeToken);
    expect(late.session.resumeExpired).to.equal(true);
    // A fresh session: it can create a transport of its own.
    await ok(late.socket, 'createTransport', {});
    const metrics = await t.app.metrics.registry.metrics();
    expect(metrics).to.match(/c5_signalling_resumes_total\{result="expired"\} [1-9]/);
    expect(metrics).to.match(/c5_signalling_detached_sessions 0/);
  });

  it('refuses another user\'s resume token and leaves that session to its owner', async () => {
    const ownerToken = await t.token('operator');
    const owner = await connect(ownerToken);
    const { consumerId } = await watch(owner.socket, 'rs-a');
    await dropNetwork(owner.socket);
    const intruderToken = await t.token('supervisor');
    const refused = await connect(intruderToken, owner.session.resumeToken).then(
      () => undefined,
      (error: Error & { data?: { code?: string } }) => error,
    );
    expect(refused?.data?.code).to.equal('resume_refused');
    expect(consumers.get(consumerId)!.closed).to.equal(false);
    // A malformed token is a clear error too, not a silent fresh session.
    const malformed = await connect(intruderToken, 'not-a-token').then(
      () => undefined,
      (error: Error & { data?: { code?: string } }) => error,
    );
    expect(malformed?.data?.code).to.equal('invalid_request');
    const back = await connect(ownerToken, owner.session.resumeToken);
    expect(back.session.resumed!.consumers.map((c) => c.consumerId)).to.deep.equal([consumerId]);
    expect(await t.app.metrics.registry.metrics()).to.match(/c5_signalling_resumes_total\{result="refused"\} [1-9]/);
  });

  it('tells the resuming socket which consumers closed while it was away', async () => {
    const token = await t.token('operator');
    const first = await connect(token);
    const { consumerId } = await watch(first.socket, 'rs-b');
    await dropNetwork(first.socket);
    const camera = (await t.app.catalog.repository.findByCode('rs-b'))!;
    await t.app.catalog.changeStatus(camera.id, 'suspend', 'resume test');
    await waitFor(() => consumers.get(consumerId)!.closed, 5000, 'the withdrawn camera\'s consumer closed');
    const socket: ClientSocket = io(t.app.consoleUrl, { path: '/socket.io', auth: { token, resume: first.session.resumeToken }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(socket);
    const closed = new Promise<{ consumerId: string; reason: string }>((resolve) => socket.once('consumerClosed', resolve));
    const session = await new Promise<SessionInfo>((resolve) => socket.once('session', resolve));
    expect(session.resumed!.consumers).to.deep.equal([]);
    expect(await closed).to.include({ consumerId, reason: 'camera_withdrawn' });
    await t.app.catalog.changeStatus(camera.id, 'reinstate', 'resume test over');
  });

  it('tells the resuming socket that the user\'s rights changed while it was away', async () => {
    const userId = await t.user('operator');
    const token = t.app.tokens.issue({ userId, role: 'operator', authTime: Math.floor(Date.now() / 1000) }).token;
    const first = await connect(token);
    await watch(first.socket, 'rs-a');
    await dropNetwork(first.socket);
    t.app.signalling.userChanged({ id: userId, disabled: false, role: 'operator', areas: ['agency'], municipalities: ['Centro'] });
    const socket: ClientSocket = io(t.app.consoleUrl, { path: '/socket.io', auth: { token, resume: first.session.resumeToken }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(socket);
    const changed = new Promise<{ areas: string[]; municipalities: string[] }>((resolve) => socket.once('rightsChanged', resolve));
    const session = await new Promise<SessionInfo>((resolve) => socket.once('session', resolve));
    expect(session.resumed).to.not.equal(undefined);
    expect(await changed).to.deep.include({ areas: ['agency'], municipalities: ['Centro'] });
  });

  it('pauses a hidden page\'s consumers on the server and resumes them when it is shown', async () => {
    // Bytes stopping and the first frame after showing are measured in Chromium (test/e2e/network.test.ts).
    const { socket } = await connect(await t.token('operator'));
    const { consumerId } = await watch(socket, 'rs-a');
    expect(await ok(socket, 'pageVisibility', { visible: false })).to.deep.equal({ consumers: 1 });
    expect(consumers.get(consumerId)!.paused).to.equal(true);
    // A tile resumed while hidden stays paused; one the client paused itself stays paused when shown.
    await ok(socket, 'resumeConsumer', { consumerId });
    expect(consumers.get(consumerId)!.paused).to.equal(true);
    expect(await ok(socket, 'pageVisibility', { visible: true })).to.deep.equal({ consumers: 1 });
    expect(consumers.get(consumerId)!.paused).to.equal(false);
    await ok(socket, 'pauseConsumer', { consumerId });
    await ok(socket, 'pageVisibility', { visible: false });
    expect(await ok(socket, 'pageVisibility', { visible: true })).to.deep.equal({ consumers: 0 });
    expect(consumers.get(consumerId)!.paused).to.equal(true);
    const answer = await request(socket, 'pageVisibility', { visible: 'no' });
    expect(answer.error?.code).to.equal('invalid_request');
  });

  // Found by review: races and the audit of a resumed session.
  for (const how of ['after its socket dropped', 'from a socket still connected'] as const) {
    it(`closes a consumer whose consume was answered after the session was taken back ${how} (nobody can own it)`, async () => {
      const token = await t.token('operator');
      const first = await connect(token);
      const { rtpCapabilities } = await ok(first.socket, 'getRouterRtpCapabilities', {});
      const { transport } = await ok(first.socket, 'createTransport', {});
      slowStart('rs-a', 1200);
      const known = new Set(consumers.keys());
      // The consume is on its way when the network goes: its answer is lost with the socket.
      first.socket.emit('consume', { transportId: transport.id, cameraId: 'rs-a', rtpCapabilities: rtpCapabilities as never }, () => undefined);
      await new Promise((resolve) => setTimeout(resolve, 150));
      if (how === 'after its socket dropped') await dropNetwork(first.socket);
      const second = await connect(token, first.session.resumeToken);
      expect(second.session.resumed, 'the session was taken back').to.not.equal(undefined);
      expect(second.session.resumed!.consumers, 'nothing open yet').to.deep.equal([]);
      // The consume completes on the server after the client learnt what the session holds.
      await waitFor(() => [...consumers.keys()].some((id) => !known.has(id)), 10_000, 'the late consumer was created');
      const late = consumers.get([...consumers.keys()].find((id) => !known.has(id))!)!;
      await waitFor(() => late.closed, 3000, 'the consumer nobody knows of is closed').catch(() => undefined);
      expect(late.closed, 'a consumer the resumed client was never told of must not stay open').to.equal(true);
      await waitFor(() => (t.app.cameras.session('rs-a')?.viewers ?? 0) === 0, 3000, 'the camera is let go').catch(() => undefined);
      expect(t.app.cameras.session('rs-a')?.viewers ?? 0, 'no lease held for it').to.equal(0);
      // The view record (if any) is not left open.
      const actions = (await viewsOf('rs-a')).map((e) => e.action);
      expect(actions.filter((a) => a === 'view.start').length).to.equal(actions.filter((a) => a !== 'view.start').length);
    });
  }

  it('audits the views a resumed session starts with the address of its new socket', async () => {
    const token = await t.token('operator');
    const first = await connect(token, undefined, { localAddress: '127.0.0.1' });
    const { rtpCapabilities } = await ok(first.socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(first.socket, 'createTransport', {});
    const a = await ok(first.socket, 'consume', { transportId: transport.id, cameraId: 'rs-a', rtpCapabilities: rtpCapabilities as never });
    await dropNetwork(first.socket);
    // The console comes back from another network (another address).
    const second = await connect(token, first.session.resumeToken, { localAddress: '127.0.0.2' });
    expect(second.session.resumed!.consumers.map((c) => c.consumerId)).to.deep.equal([a.consumer.id]);
    await ok(second.socket, 'consume', { transportId: transport.id, cameraId: 'rs-b', rtpCapabilities: rtpCapabilities as never });
    const startA = (await viewsOf('rs-a')).filter((e) => e.action === 'view.start').at(-1)!;
    const startB = (await viewsOf('rs-b')).filter((e) => e.action === 'view.start').at(-1)!;
    expect(JSON.stringify(startA)).to.contain('127.0.0.1');
    expect(JSON.stringify(startB), 'the view started from the new network names its address').to.contain('127.0.0.2');
    expect(JSON.stringify(startB)).to.not.contain('127.0.0.1');
  });
});
