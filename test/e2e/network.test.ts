import { expect } from 'chai';
import type { Page } from 'playwright-core';
import type { types } from 'mediasoup';
import { TurnCredentials } from '../../server/media/TurnCredentials.ts';
import { consoleTiles, openConsole, sampleVideo, waitForTiles, type ConsoleTile } from '../support/browser.ts';
import { Coturn } from '../support/Coturn.ts';
import { NetnsBrowser } from '../support/NetnsBrowser.ts';
import { FRAME_COUNTS, recoveryOf, type FrameSample, type Recovery } from '../support/frameRecovery.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { Simulator, type SimulatorConfig } from '../support/simulator.ts';

// Chromium runs in its own network namespace (test/support/NetnsBrowser.ts) behind a veth; the
// server listens on the veth's root side (HTTP and the WebRtcServers' UDP and TCP candidates), and
// coturn on the same address, port 443 (TURN over TCP and over TLS with a certificate the browser
// trusts through its own NSS database). nftables in the namespace then drops UDP, or everything but
// TCP to 443 and the console's port.
const cameras = ['cam-n1', 'cam-n2', 'cam-n3', 'cam-n4'];
const simConfig: SimulatorConfig = {
  cameras: cameras.map((id, i) => ({ id, tag: 61 + i, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15, bitrateKbps: 200 })),
};
const TURN_SECRET = 'network-test-turn-secret';

/**
 * In-page hook (a string: tsx's keepNames helper does not exist in the page): every
 * RTCPeerConnection the page makes is kept in window.__pcs with the time it reached 'connected'
 * (performance.now()), so the test can read the selected candidate pair itself, independently of
 * the console's own window.c5 report.
 */
const PC_HOOK = `(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    // A network without TURN (the app offers its TURN server to every console): ICE's own fallback alone.
    if (window.__withoutTurn && args[0]) args[0] = { ...args[0], iceServers: [] };
    const pc = new Native(...args);
    const entry = { pc, createdAt: performance.now(), connectedAt: null, config: args[0] ?? {} };
    window.__pcs.push(entry);
    pc.addEventListener('connectionstatechange', () => { if (pc.connectionState === 'connected' && entry.connectedAt === null) entry.connectedAt = performance.now(); });
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Native);
})()`;

/**
 * The selected candidate pair of each connected RTCPeerConnection of the page (local side: type,
 * protocol, relayProtocol). mediasoup-client's Device makes one more, never connected, to read the
 * browser's capabilities: left out.
 */
const SELECTED_PAIRS = `(async () => Promise.all(window.__pcs.filter((e) => e.connectedAt !== null).map(async (e) => {
  const stats = new Map();
  (await e.pc.getStats()).forEach((v, k) => stats.set(k, v));
  let pair;
  for (const s of stats.values()) if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  const local = pair ? stats.get(pair.localCandidateId) : undefined;
  const remote = pair ? stats.get(pair.remoteCandidateId) : undefined;
  return {
    connectedAfterMs: e.connectedAt === null ? null : Math.round(e.connectedAt - e.createdAt),
    iceTransportPolicy: e.config.iceTransportPolicy ?? 'all',
    iceServers: (e.config.iceServers ?? []).flatMap((s) => [].concat(s.urls)),
    local: local && { type: local.candidateType, protocol: local.protocol, relayProtocol: local.relayProtocol ?? null, address: local.address },
    remote: remote && { type: remote.candidateType, protocol: remote.protocol, address: remote.address, port: remote.port },
  };
})))()`;

interface SelectedPair {
  connectedAfterMs: number | null;
  iceTransportPolicy: string;
  iceServers: string[];
  local?: { type: string; protocol: string; relayProtocol: string | null; address: string };
  remote?: { type: string; protocol: string; address: string; port: number };
}

/**
 * Opens the console and polls window.c5.tiles() every 50 ms until every camera's tile is live with
 * a picture; returns when each went live, in ms from the start of page.goto().
 */
async function openAndTime(page: Page, url: string, timeoutMs: number): Promise<{ liveMs: Record<string, number>; tiles: ConsoleTile[] }> {
  const started = Date.now();
  await openConsole(page, url, timeoutMs);
  const liveMs: Record<string, number> = {};
  for (;;) {
    const tiles = await consoleTiles(page);
    for (const tile of tiles) {
      if (tile.cameraId && tile.state === 'live' && tile.videoWidth > 0 && liveMs[tile.cameraId] === undefined) liveMs[tile.cameraId] = Date.now() - started;
    }
    if (cameras.every((id) => liveMs[id] !== undefined)) return { liveMs, tiles };
    if (Date.now() - started > timeoutMs) throw new Error(`not every tile went live in ${timeoutMs} ms: ${JSON.stringify(tiles)} (live: ${JSON.stringify(liveMs)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('networks: UDP dropped, a changed address, only 443', function () {
  this.timeout(120_000);
  let nb: NetnsBrowser;
  let turn: Coturn | undefined;
  let sim: Simulator;
  let t: TestApp;
  let httpPort: number;
  const pages: Page[] = [];
  /** The app's mediasoup transports and consumers (server side), for what a session holds and sends. */
  const transports = new Map<string, types.WebRtcTransport>();
  const consumers = new Map<string, types.Consumer>();

  before(async () => {
    const started = Date.now();
    [nb, sim] = await Promise.all([
      NetnsBrowser.create({
        // coturn needs the veth's root address for its certificate, and Chromium must trust that
        // certificate when it starts: the harness calls this before launching the browser.
        trustCertificates: async (hostAddress) => {
          turn = await Coturn.start({ address: hostAddress, secret: TURN_SECRET, port: 443, tls: true });
          return [turn.certificate!];
        },
      }),
      Simulator.start({ config: simConfig }),
    ]);
    t = await startTestApp({
      http: { host: nb.hostAddress },
      media: { listenIp: nb.hostAddress },
      // The warm-up viewer leaves before the measured ones come: keep the cameras' ingests running.
      ingest: { idleCloseMs: 60_000 },
      cameras: cameras.map((id) => ({ id, name: id, url: sim.url(id) })),
      // turns: only (TLS on 443), so (ii) proves TURN over TLS end to end (with turn: too, Chromium
      // prefers the plain TCP relay: its candidates rank above TLS ones).
      turn: { urls: turn!.urls.filter((url) => url.startsWith('turns:')), secret: TURN_SECRET, ttlS: 600 },
    });
    for (const worker of t.app.media.workers) {
      worker.router.observer.on('newtransport', (transport) => {
        // Viewers' receive transports only (not the pipes between the workers' routers).
        if (!('iceParameters' in transport)) return;
        transports.set(transport.id, transport as types.WebRtcTransport);
        transport.observer.on('newconsumer', (consumer) => consumers.set(consumer.id, consumer));
      });
    }
    httpPort = Number(new URL(t.app.consoleUrl).port);
    // Warm-up (UDP allowed): every camera's ingest runs, so what is measured next is the network's part.
    const page = await nb.newPage();
    const warm = await openAndTime(page, await t.consoleLink('operator'), 40_000);
    await page.context().close();
    console.log(`      set-up ${Date.now() - started} ms; warm-up console, UDP allowed (ingests starting): ${JSON.stringify(warm.liveMs)}`);
  });
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.context().close().catch(() => undefined);
    await nb?.allowAll();
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
    await turn?.stop();
    await nb?.close();
  });

  async function newPage(options: { viewport?: { width: number; height: number }; hasTouch?: boolean } = {}): Promise<Page> {
    const page = await nb.newPage(options.viewport, { hasTouch: options.hasTouch });
    pages.push(page);
    await page.addInitScript(PC_HOOK);
    return page;
  }

  it('(i) UDP dropped: every tile plays over ICE-TCP by itself (UDP and TCP candidates offered) and says so', async () => {
    // Baseline on the same network with UDP, cameras already running.
    const base = await newPage();
    const baseline = await openAndTime(base, await t.consoleLink('operator'), 20_000);
    const basePairs = (await base.evaluate(SELECTED_PAIRS)) as SelectedPair[];
    await base.context().close();

    await nb.dropUdp();
    const page = await newPage();
    // This app also offers its TURN server, which Chromium may pick instead: left out here, so what
    // is measured is ICE falling back to the server's own TCP candidate.
    await page.addInitScript('window.__withoutTurn = true');
    // The normal console URL: the server offers its UDP and its TCP candidate; UDP just never arrives.
    const dropped = await openAndTime(page, await t.consoleLink('operator'), 30_000);
    const pairs = (await page.evaluate(SELECTED_PAIRS)) as SelectedPair[];
    // The pictures are the cameras' own (their tags), all four tiles at once.
    const samples = await Promise.all(cameras.map((id) => sampleVideo(page, `.tile[data-camera-id="${id}"]`, { durationMs: 1000 })));
    const report = {
      udpAllowed: { liveMs: baseline.liveMs, transports: baseline.tiles.map((x) => x.transport), iceConnectedAfterMs: basePairs.map((p) => p.connectedAfterMs), local: basePairs.map((p) => p.local) },
      udpDropped: { liveMs: dropped.liveMs, framesIn1s: samples.map((x) => x.length), transports: dropped.tiles.map((x) => x.transport), iceConnectedAfterMs: pairs.map((p) => p.connectedAfterMs), local: pairs.map((p) => p.local), remote: pairs.map((p) => p.remote) },
    };
    console.log(`      ${JSON.stringify(report)}`);
    expect(basePairs.every((p) => p.local?.protocol === 'udp'), 'with UDP allowed the pair is UDP').to.equal(true);
    expect(pairs.length).to.be.greaterThan(0);
    for (const pair of pairs) {
      expect(pair.local?.protocol).to.equal('tcp');
      expect(pair.remote?.protocol).to.equal('tcp');
    }
    for (const [i, id] of cameras.entries()) {
      expect(dropped.tiles.find((x) => x.cameraId === id)?.transport, id).to.equal('tcp');
      expect(dropped.liveMs[id], id).to.be.lessThan(15_000);
      expect(samples[i]!.length, `${id} frames in 1 s`).to.be.greaterThan(5);
      expect(new Set(samples[i]!.map((x) => x.tag)), id).to.deep.equal(new Set([61 + i]));
    }
  });

  it('(ii) only TCP 443 open: TURN over TLS on 443 (self-signed certificate the browser trusts) and over TCP give relay candidates', async () => {
    await nb.allowOnlyTcpPorts([443]);
    const page = await newPage();
    await page.goto('about:blank');
    const results: Record<string, unknown> = {};
    for (const url of turn!.urls) {
      const [server] = new TurnCredentials({ urls: [url], secret: TURN_SECRET, ttlS: 600 }).iceServers('network-test');
      const started = Date.now();
      const result = (await page.evaluate(allocateRelay(server))) as { candidates: string[]; errors: string[] };
      results[url] = { ms: Date.now() - started, ...result };
      expect(result.candidates.some((c) => / typ relay /.test(c) && c.includes(nb.hostAddress)), `${url}: ${JSON.stringify(result)}`).to.equal(true);
    }
    // A wrong secret is refused (the credential is really checked).
    const [forged] = new TurnCredentials({ urls: [turn!.urls[0]!], secret: 'not-the-secret', ttlS: 600 }).iceServers('network-test');
    const refused = (await page.evaluate(allocateRelay(forged))) as { candidates: string[]; errors: string[] };
    console.log(`      ${JSON.stringify({ turnAllocation: results, wrongSecret: refused })}`);
    expect(refused.candidates.filter((c) => / typ relay /.test(c))).to.deep.equal([]);
  });

  it('(ii) only TCP 443 and the console port open: every tile plays through TURN (?transport=relay)', async () => {
    const page = await newPage();
    await nb.allowOnlyTcpPorts([443, httpPort]);
    const relayed = await openAndTime(page, (await t.consoleLink('operator')).replace('/#', '/?transport=relay#'), 30_000).catch(async (error: Error) => {
      const pcs = await page.evaluate(`window.__pcs.map((e) => ({ state: e.pc.connectionState, ice: e.pc.iceConnectionState, config: e.config }))`).catch(() => undefined);
      const media = await page.evaluate('window.c5.media()').catch(() => undefined);
      throw new Error(`${error.message}\npeer connections: ${JSON.stringify(pcs)}\nc5.media: ${JSON.stringify(media)}\ncoturn log:\n${turn!.log.split('\n').slice(-25).join('\n')}`);
    });
    const pairs = (await page.evaluate(SELECTED_PAIRS)) as SelectedPair[];
    const media = await page.evaluate('window.c5.media()');
    console.log(`      ${JSON.stringify({ onlyTcp443: { liveMs: relayed.liveMs, c5Transports: relayed.tiles.map((x) => x.transport), c5Media: media, pairs } })}`);
    expect(pairs.length).to.be.greaterThan(0);
    for (const pair of pairs) {
      expect(pair.iceTransportPolicy).to.equal('relay');
      expect(pair.local?.type).to.equal('relay');
      expect(pair.local?.relayProtocol).to.equal('tls');
      expect(pair.local?.address).to.equal(nb.hostAddress);
    }
    expect((media as { relayed: boolean }).relayed, 'the console knows it is relayed').to.equal(true);
    expect(await page.locator('.tile[data-transport="TURN"]').count(), 'every tile says TURN').to.equal(cameras.length);
    for (const id of cameras) {
      expect(relayed.tiles.find((x) => x.cameraId === id)?.state, id).to.equal('live');
      expect(relayed.liveMs[id], id).to.be.lessThan(15_000);
    }
  });

  it('(iii) a supervisor\'s tablet on a link that drops UDP keeps its four tiles when its address changes: the session is taken back and ICE restarts', async () => {
    await nb.dropUdp();
    const page = await newPage({ viewport: { width: 768, height: 1024 }, hasTouch: true });
    const earlier = new Set([...consumers.keys(), ...transports.keys()]);
    await openAndTime(page, await t.consoleLink('supervisor'), 30_000);
    // With UDP gone the media comes over ICE-TCP, or through the TURN server this app also offers
    // (TLS on 443): whichever pair Chromium's ICE nominates first. Never UDP straight to the server.
    const saying = async (): Promise<string[]> => page.locator('.tile[data-camera-id]').evaluateAll((tiles) => tiles.map((tile) => (tile as HTMLElement).dataset.transport ?? ''));
    const before = await saying();
    expect(before.every((label) => label === 'TCP' || label === 'TURN'), `tiles say ${before.join(', ')}`).to.equal(true);
    const held = [...consumers.values()].filter((c) => !c.closed && !earlier.has(c.id)).map((c) => c.id).sort();
    const transportsBefore = [...transports.values()].filter((x) => !x.closed && !earlier.has(x.id)).map((x) => x.id);
    expect(held).to.have.length(cameras.length);

    const changedAt = Date.now();
    const address = await nb.changeAddress();
    const recovery = await framesAfter(page, changedAt, 20_000);
    const media = (await page.evaluate('window.c5.media()')) as { state: string; iceRestarts: number; protocol: string };
    const after = await consoleTiles(page);
    const afterLabels = await saying();
    const timeline = ((await page.evaluate('window.c5.connectionLog()')) as Array<{ at: number; event: string }>).slice(-8);
    const pageNow = (await page.evaluate('performance.now()')) as number;
    const changedInPage = pageNow - (Date.now() - changedAt);
    console.log(`      timeline (ms after the change): ${timeline.filter((e) => e.at >= changedInPage - 50).map((e) => `${Math.round(e.at - changedInPage)} ${e.event}`).join('; ')}`);
    console.log(`      ${JSON.stringify({ addressChange: { to: address, everyTilePlayingAgainMs: recovery.allPlayingMs, perTileMs: recovery.perTileMs, longestGapMs: recovery.longestGapMs, media, before, after: afterLabels } })}`);
    // The session was taken back, not rebuilt: the same consumers on the same transport, ICE restarted.
    expect([...consumers.values()].filter((c) => !c.closed && !earlier.has(c.id)).map((c) => c.id).sort()).to.deep.equal(held);
    expect([...transports.values()].filter((x) => !x.closed && !earlier.has(x.id)).map((x) => x.id)).to.deep.equal(transportsBefore);
    expect(media.iceRestarts).to.be.at.least(1);
    expect(media.state).to.equal('connected');
    expect(after.map((x) => x.state)).to.deep.equal(['live', 'live', 'live', 'live']);
    expect(afterLabels.every((label) => label === 'TCP' || label === 'TURN'), `tiles say ${afterLabels.join(', ')}`).to.equal(true);
    // A generous bound; the target (under 3 s) is reported above and in bench:network.
    expect(recovery.allPlayingMs).to.be.lessThan(15_000);
    const samples = await Promise.all(cameras.map((id) => sampleVideo(page, `.tile[data-camera-id="${id}"]`, { durationMs: 1000 })));
    for (const [i, id] of cameras.entries()) expect(new Set(samples[i]!.map((x) => x.tag)), id).to.deep.equal(new Set([61 + i]));
    expect(t.app.signalling.detachedCount).to.equal(0);
    // The tab closes: its session ends at once (pagehide), it is not kept for a resume.
    await page.context().close();
    await waitUntil(() => consumers.get(held[0]!)!.closed, 5000, 'the closed page\'s consumers closed');
  });

  it('(iv) a hidden page pauses its consumers on the server (no video flows) and shows a frame soon after it is visible again', async () => {
    const page = await newPage();
    await page.addInitScript(VISIBILITY_HOOK);
    const earlier = new Set([...consumers.keys(), ...transports.keys()]);
    await openAndTime(page, await t.consoleLink('operator'), 30_000);
    const mine = [...consumers.values()].filter((c) => !c.closed && !earlier.has(c.id));
    const transport = [...transports.values()].filter((x) => !x.closed && !earlier.has(x.id));
    expect(mine).to.have.length(cameras.length);
    expect(transport).to.have.length(1);
    const sent = async (): Promise<number> => ((await transport[0]!.getStats())[0] as { bytesSent: number }).bytesSent;

    await page.evaluate(`window.__setVisibility('hidden')`);
    await waitUntil(() => mine.every((c) => c.paused), 5000, 'every consumer paused on the server');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const hiddenBytes = await sent();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const hiddenFlow = (await sent()) - hiddenBytes;

    const frames = async (): Promise<number[]> => (await page.evaluate(FRAME_COUNTS)) as number[];
    const before = await frames();
    const shownAt = Date.now();
    await page.evaluate(`window.__setVisibility('visible')`);
    const firstFrameMs: number[] = cameras.map(() => -1);
    while (firstFrameMs.some((ms) => ms < 0) && Date.now() - shownAt < 10_000) {
      const now = await frames();
      now.forEach((count, i) => {
        if (firstFrameMs[i]! < 0 && count > before[i]!) firstFrameMs[i] = Date.now() - shownAt;
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const shownBytes = await sent();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const shownFlow = (await sent()) - shownBytes;
    console.log(`      ${JSON.stringify({ hidden: { bytesSentIn1500ms: hiddenFlow }, shown: { bytesSentIn1000ms: shownFlow, firstFrameMs } })}`);
    expect(mine.every((c) => !c.paused)).to.equal(true);
    // RTCP and ICE keep-alives still flow while hidden; video (4 x 200 kbit/s, ~37 kB in 1.5 s) does not.
    expect(hiddenFlow).to.be.lessThan(4000);
    expect(shownFlow).to.be.greaterThan(20_000);
    for (const ms of firstFrameMs) expect(ms, 'a frame after the page was shown').to.be.within(0, 10_000);
  });

  // Last: the delay it adds to the app's handshakes stays.
  it('(v) a page hidden when its socket dropped and shown before it reconnected resumes its video (found by review)', async () => {
    const page = await newPage();
    await page.addInitScript(VISIBILITY_HOOK);
    const earlier = new Set(consumers.keys());
    await openConsole(page, await t.consoleLink('operator'), 30_000);
    await waitForTiles(page, (tiles) => tiles.filter((tile) => tile.cameraId !== undefined).length > 0 && tiles.filter((tile) => tile.cameraId !== undefined).every((tile) => tile.state === 'live'), 30_000);
    const open = () => [...consumers.values()].filter((c) => !c.closed && !earlier.has(c.id));
    expect(open().length).to.be.greaterThan(0);
    await page.evaluate(`window.__setVisibility('hidden')`);
    await waitUntil(() => open().every((c) => c.paused), 5000, 'the hidden page\'s consumers paused');

    // The next handshakes take a while (a network coming back), and the socket's network goes.
    t.app.signalling.io.use((_socket, next) => void setTimeout(next, 1500));
    for (const socket of t.app.signalling.io.sockets.sockets.values()) {
      (socket.conn as unknown as { transport: { socket: { terminate(): void } } }).transport.socket.terminate();
    }
    await waitUntil(() => t.app.signalling.detachedCount === 1, 5000, 'the server keeps the session');
    // The page is shown while the socket is still down.
    await page.evaluate(`window.__setVisibility('visible')`);
    await page.waitForFunction(`window.c5.connectionLog().some((entry) => entry.event.startsWith('session resumed')) && window.c5.ready`, undefined, { timeout: 15_000, polling: 100 });
    await waitUntil(() => open().length > 0 && open().every((c) => !c.paused), 5000, 'the shown page\'s consumers resumed').catch(() => undefined);
    expect(open().map((c) => c.paused), 'every consumer of the shown page flows again').to.satisfy((paused: boolean[]) => paused.length > 0 && paused.every((p) => !p));
  });
});

/** In-page: one RTCPeerConnection gathering relay candidates through `server` (8 s at most): its candidates and errors. */
function allocateRelay(server: unknown): string {
  return `(async (server) => {
    const pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
    const candidates = []; const errors = [];
    pc.onicecandidate = (e) => { if (e.candidate && e.candidate.candidate) candidates.push(e.candidate.candidate); };
    pc.onicecandidateerror = (e) => errors.push(e.errorCode + ' ' + e.errorText);
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => { pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve(); setTimeout(resolve, 8000); });
    pc.close();
    return { candidates, errors };
  })(${JSON.stringify(server)})`;
}

/** In-page: document.visibilityState / hidden made settable, as a background tab or a screen turned off would set them. */
const VISIBILITY_HOOK = `(() => {
  let state = 'visible';
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' });
  window.__setVisibility = (next) => { state = next; document.dispatchEvent(new Event('visibilitychange')); };
})()`;


async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls every tile's decoded frames every 50 ms from `since` until every tile plays again (test/support/frameRecovery.ts). */
async function framesAfter(page: Page, since: number, timeoutMs: number): Promise<Recovery> {
  const history: FrameSample[] = [];
  for (;;) {
    history.push({ at: Date.now(), counts: (await page.evaluate(FRAME_COUNTS)) as number[] });
    const recovery = recoveryOf(history, since);
    if (recovery.settled) return recovery;
    if (Date.now() - since > timeoutMs) throw new Error(`the tiles did not all play again within ${timeoutMs} ms: ${JSON.stringify({ ...recovery, last: history.at(-1) })}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
