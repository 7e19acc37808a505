import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { configSchema } from '../../server/config/schema.ts';
import { TurnCredentials } from '../../server/media/TurnCredentials.ts';
import { consoleTiles, openConsole, sampleVideo, type ConsoleTile } from '../support/browser.ts';
import { Coturn } from '../support/Coturn.ts';
import { NetnsBrowser } from '../support/NetnsBrowser.ts';
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
/** The lead's "TURN servers for consoles" adds `turn` to the config; until then the console part of (ii) is skipped. */
const turnWired = 'turn' in configSchema.shape;

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
      ...(turnWired && { turn: { urls: turn!.urls.filter((url) => url.startsWith('turns:')), secret: TURN_SECRET, ttlS: 600 } }),
    } as Parameters<typeof startTestApp>[0]);
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

  async function newPage(): Promise<Page> {
    const page = await nb.newPage();
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
      const result = (await page.evaluate(`(async (server) => {
        const pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
        const candidates = []; const errors = [];
        pc.onicecandidate = (e) => { if (e.candidate && e.candidate.candidate) candidates.push(e.candidate.candidate); };
        pc.onicecandidateerror = (e) => errors.push(e.errorCode + ' ' + e.errorText);
        pc.createDataChannel('probe');
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise((resolve) => { pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve(); setTimeout(resolve, 8000); });
        pc.close();
        return { candidates, errors };
      })(${JSON.stringify(server)})`)) as { candidates: string[]; errors: string[] };
      results[url] = { ms: Date.now() - started, ...result };
      expect(result.candidates.some((c) => / typ relay /.test(c) && c.includes(nb.hostAddress)), `${url}: ${JSON.stringify(result)}`).to.equal(true);
    }
    // A wrong secret is refused (the credential is really checked).
    const [forged] = new TurnCredentials({ urls: [turn!.urls[0]!], secret: 'not-the-secret', ttlS: 600 }).iceServers('network-test');
    const refused = (await page.evaluate(`(async (server) => {
      const pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
      const candidates = []; const errors = [];
      pc.onicecandidate = (e) => { if (e.candidate && e.candidate.candidate) candidates.push(e.candidate.candidate); };
      pc.onicecandidateerror = (e) => errors.push(e.errorCode + ' ' + e.errorText);
      pc.createDataChannel('probe');
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((resolve) => { pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve(); setTimeout(resolve, 8000); });
      pc.close();
      return { candidates, errors };
    })(${JSON.stringify(forged)})`)) as { candidates: string[]; errors: string[] };
    console.log(`      ${JSON.stringify({ turnAllocation: results, wrongSecret: refused })}`);
    expect(refused.candidates.filter((c) => / typ relay /.test(c))).to.deep.equal([]);
  });

  it('(ii) only TCP 443 and the console port open: every tile plays through TURN (?transport=relay)', async function () {
    if (!turnWired) {
      console.log('      (the config has no turn settings yet: skipped until "TURN servers for consoles" lands)');
      this.skip();
    }
    const page = await newPage();
    const url = (await t.consoleLink('operator')).replace('/#', '/?transport=relay#');
    // The built console (dist/client) must be one that knows ?transport=relay (window.c5.media).
    await openConsole(page, url);
    if ((await page.evaluate('typeof window.c5.media')) !== 'function') {
      console.log('      (the built console has no TURN support yet, window.c5.media missing: npm run build after "TURN servers for consoles")');
      this.skip();
    }
    await page.goto('about:blank');
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
    for (const id of cameras) {
      expect(relayed.tiles.find((x) => x.cameraId === id)?.state, id).to.equal('live');
      expect(relayed.liveMs[id], id).to.be.lessThan(15_000);
    }
  });
});
