import { expect } from 'chai';
import { io } from 'socket.io-client';
import type { types } from 'mediasoup';
import { Simulator } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { ok, type ClientSocket } from '../support/signallingClient.ts';
import { waitFor } from '../support/processes.ts';
import type { SessionInfo } from '../../server/signalling/protocol.ts';
import { launchChromium, openConsole, waitForTiles, type LaunchedChromium } from '../support/browser.ts';

// Review of #25 (sessions that survive a network change): races and audit of a resumed session.

const GRACE_MS = 2500;
const SIM = {
  cameras: [
    { id: 'rv-a', tag: 91, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15, bitrateKbps: 200 },
    { id: 'rv-b', tag: 92, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15, bitrateKbps: 200 },
  ],
} as const;

interface Connected {
  socket: ClientSocket;
  session: SessionInfo;
}

describe('session resume review (#25)', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let t: TestApp;
  const sockets: ClientSocket[] = [];
  const consumers = new Map<string, types.Consumer>();
  const restores: Array<() => void> = [];

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

  async function dropNetwork(socket: ClientSocket): Promise<void> {
    const before = t.app.signalling.detachedCount;
    (socket.io.engine as unknown as { close(): void }).close();
    await waitFor(() => t.app.signalling.detachedCount === before + 1, 5000, 'the server keeps the session');
  }

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

  for (const how of ['after its socket dropped', 'from a socket still connected'] as const) {
    it(`closes a consumer whose consume was answered after the session was taken back ${how} (nobody can own it)`, async () => {
      const token = await t.token('operator');
      const first = await connect(token);
      const { rtpCapabilities } = await ok(first.socket, 'getRouterRtpCapabilities', {});
      const { transport } = await ok(first.socket, 'createTransport', {});
      slowStart('rv-a', 1200);
      const known = new Set(consumers.keys());
      // The consume is on its way when the network goes: its answer is lost with the socket.
      first.socket.emit('consume', { transportId: transport.id, cameraId: 'rv-a', rtpCapabilities: rtpCapabilities as never }, () => undefined);
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
      await waitFor(() => (t.app.cameras.session('rv-a')?.viewers ?? 0) === 0, 3000, 'the camera is let go').catch(() => undefined);
      expect(t.app.cameras.session('rv-a')?.viewers ?? 0, 'no lease held for it').to.equal(0);
      // The view record (if any) is not left open.
      const actions = (await viewsOf('rv-a')).map((e) => e.action);
      expect(actions.filter((a) => a === 'view.start').length).to.equal(actions.filter((a) => a !== 'view.start').length);
    });
  }

  it('audits the views a resumed session starts with the address of its new socket', async () => {
    const token = await t.token('operator');
    const first = await connect(token, undefined, { localAddress: '127.0.0.1' });
    const { rtpCapabilities } = await ok(first.socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(first.socket, 'createTransport', {});
    const a = await ok(first.socket, 'consume', { transportId: transport.id, cameraId: 'rv-a', rtpCapabilities: rtpCapabilities as never });
    await dropNetwork(first.socket);
    // The console comes back from another network (another address).
    const second = await connect(token, first.session.resumeToken, { localAddress: '127.0.0.2' });
    expect(second.session.resumed!.consumers.map((c) => c.consumerId)).to.deep.equal([a.consumer.id]);
    await ok(second.socket, 'consume', { transportId: transport.id, cameraId: 'rv-b', rtpCapabilities: rtpCapabilities as never });
    const startA = (await viewsOf('rv-a')).filter((e) => e.action === 'view.start').at(-1)!;
    const startB = (await viewsOf('rv-b')).filter((e) => e.action === 'view.start').at(-1)!;
    expect(JSON.stringify(startA)).to.contain('127.0.0.1');
    expect(JSON.stringify(startB), 'the view started from the new network names its address').to.contain('127.0.0.2');
    expect(JSON.stringify(startB)).to.not.contain('127.0.0.1');
  });
});

/** In-page: document.visibilityState / hidden made settable, as a background tab or a screen turned off would set them. */
const VISIBILITY_HOOK = `(() => {
  let state = 'visible';
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' });
  window.__setVisibility = (next) => { state = next; document.dispatchEvent(new Event('visibilitychange')); };
})()`;

describe('session resume review (#25): the console in Chromium', function () {
  this.timeout(120_000);
  let sim: Simulator;
  let t: TestApp;
  let chromium: LaunchedChromium;
  const consumers = new Map<string, types.Consumer>();

  before(async () => {
    sim = await Simulator.start({ config: SIM as never });
    t = await startTestApp({
      media: { workers: 1 },
      signalling: { resumeGraceMs: 20_000 },
      cameras: SIM.cameras.map((camera) => ({ id: camera.id, name: camera.id, url: sim.url(camera.id) })),
    });
    for (const worker of t.app.media.workers) {
      worker.router.observer.on('newtransport', (transport) => transport.observer.on('newconsumer', (consumer) => consumers.set(consumer.id, consumer)));
    }
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await t?.close();
    await sim?.stop();
  });

  it('resumes the video of a page hidden when its socket dropped and shown again before it reconnected', async () => {
    const page = await chromium.newPage();
    await page.addInitScript(VISIBILITY_HOOK);
    await openConsole(page, await t.consoleLink('operator'), 30_000);
    await waitForTiles(page, (tiles) => tiles.filter((tile) => tile.cameraId !== undefined).length > 0 && tiles.filter((tile) => tile.cameraId !== undefined).every((tile) => tile.state === 'live'), 30_000);
    const open = () => [...consumers.values()].filter((c) => !c.closed);
    expect(open().length).to.be.greaterThan(0);
    await page.evaluate(`window.__setVisibility('hidden')`);
    await waitFor(() => open().every((c) => c.paused), 5000, 'the hidden page\'s consumers paused');

    // The next handshakes take a while (a network coming back), and the socket's network goes.
    t.app.signalling.io.use((_socket, next) => void setTimeout(next, 1500));
    for (const socket of t.app.signalling.io.sockets.sockets.values()) {
      (socket.conn as unknown as { transport: { socket: { terminate(): void } } }).transport.socket.terminate();
    }
    await waitFor(() => t.app.signalling.detachedCount === 1, 5000, 'the server keeps the session');
    // The page is shown while the socket is still down.
    await page.evaluate(`window.__setVisibility('visible')`);
    await page.waitForFunction(`window.c5.connectionLog().some((entry) => entry.event.startsWith('session resumed')) && window.c5.ready`, undefined, { timeout: 15_000, polling: 100 });
    await waitFor(() => open().length > 0 && open().every((c) => !c.paused), 5000, 'the shown page\'s consumers resumed').catch(() => undefined);
    expect(open().map((c) => c.paused), 'every consumer of the shown page flows again').to.satisfy((paused: boolean[]) => paused.length > 0 && paused.every((p) => !p));
    await page.close();
  });
});
