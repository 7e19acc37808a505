import { expect } from 'chai';
import type { BrowserContext, Page } from 'playwright-core';
import type { Config } from '../../server/config/schema.ts';
import { Simulator, type SimulatorConfig } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { collectPageErrors, launchChromium, openConsole, sampleVideo, type ConsoleTile, type LaunchedChromium } from '../support/browser.ts';

// Issue 24 in a real console (headless Chromium), a real server and real simulator cameras: the
// stream each tile gets for its size in device pixels (substream in small tiles, main stream in a
// large tile, at DPR 2 and full screen), stream switches with no gap in the picture (the new
// consumer plays hidden until its first frame; only then is the old one closed), a supervisor's
// 2x2 wall held under the role's cap with substreams and the low tier, measured on what Chromium
// really receives, and a tile refused for the cap saying so.

const h264 = { codec: 'h264', profile: 'baseline', fps: 15, gop: 15 } as const;
const simConfig: SimulatorConfig = {
  cameras: [
    // A and B: a main stream and a substream (a second mount, as a camera's second profile).
    { id: 'sw-a', tag: 71, ...h264, width: 960, height: 540, bitrateKbps: 1200, pattern: 'ball' },
    { id: 'sw-a-sub', tag: 72, ...h264, width: 480, height: 270, bitrateKbps: 250, pattern: 'ball' },
    { id: 'sw-b', tag: 73, ...h264, width: 960, height: 540, bitrateKbps: 1200 },
    { id: 'sw-b-sub', tag: 74, ...h264, width: 480, height: 270, bitrateKbps: 250 },
    // C, D, E: main streams only.
    { id: 'sw-c', tag: 75, ...h264, width: 960, height: 540, bitrateKbps: 1200, pattern: 'pinwheel' },
    { id: 'sw-d', tag: 76, ...h264, width: 960, height: 540, bitrateKbps: 1200, pattern: 'gradient' },
    { id: 'sw-e', tag: 77, ...h264, width: 640, height: 360, bitrateKbps: 600 },
  ],
};

/**
 * The supervisors' cap: two substreams (~250 kbit/s) and two low tiers (150 kbit/s) fit with room
 * to spare; no main stream (~1200 kbit/s) fits even alone.
 */
const CAP_KBPS = 1000;
const LOW = { max: 2, width: 320, height: 180, kbps: 150, fps: 10 } as const;
/** The longest a switch may leave the picture without a new frame (the camera sends one every 67 ms). */
const MAX_GAP_MS = 1000;

const tile = (cameraId: string): string => `.tile[data-camera-id="${cameraId}"]`;
const shownVideo = (cameraId: string): string => `${tile(cameraId)} video:not(.standby)`;

/** window.c5.tiles() with the stream fields of #24. */
interface StreamTile extends Omit<ConsoleTile, 'state'> {
  state: ConsoleTile['state'] | 'capped';
  stream: 'main' | 'sub' | 'low' | undefined;
  streamWidth: number | undefined;
  streamHeight: number | undefined;
  streamReason: string | undefined;
  streamChoice: string;
  kbps: number | undefined;
  switching: boolean;
}

interface Viewer {
  page: Page;
  errors: string[];
}

/** One presented frame of one of a tile's two <video> elements, and whether that one was shown. */
interface MonitorFrame {
  at: number;
  video: number;
  shown: boolean;
  width: number;
}

/** The tile's state every 50 ms. */
interface MonitorPoll {
  at: number;
  state: string | undefined;
  switching: boolean;
  stream: string | undefined;
  shownVideo: number;
}

/**
 * In-page monitor of one tile during a switch: every frame either <video> presents
 * (requestVideoFrameCallback) with whether it was the visible one then, and the tile's attributes
 * every 50 ms. A string (not a function): tsx's keepNames would wrap a function in a `__name()`
 * helper the page does not have.
 */
const MONITOR_SOURCE = String.raw`(selector) => {
  const el = document.querySelector(selector);
  if (!el) throw new Error('no tile ' + selector);
  const videos = Array.from(el.querySelectorAll('video'));
  const mon = { frames: [], polls: [], stopped: false, timer: 0 };
  window.__switchMonitor = mon;
  videos.forEach((video, index) => {
    const onFrame = (now, metadata) => {
      if (mon.stopped) return;
      // When the frame was presented (epoch ms), not when this callback ran: the console's own
      // callback for the same frame may run first and close the old consumer before this one.
      mon.frames.push({ at: performance.timeOrigin + (metadata.presentationTime || now), video: index, shown: !video.classList.contains('standby'), width: metadata.width });
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });
  const poll = () => {
    mon.polls.push({
      at: Date.now(),
      state: el.dataset.state,
      switching: el.dataset.switching === 'true',
      stream: el.dataset.stream,
      shownVideo: videos.findIndex((video) => !video.classList.contains('standby')),
    });
  };
  poll();
  mon.timer = setInterval(poll, 50);
  return videos.length;
}`;

const STOP_MONITOR_SOURCE = String.raw`(() => {
  const mon = window.__switchMonitor;
  mon.stopped = true;
  clearInterval(mon.timer);
  return { frames: mon.frames, polls: mon.polls };
})()`;

describe('streams per tile size, no-gap switches and the bandwidth cap in the console (#24, end to end)', function () {
  this.timeout(90_000);
  let sim: Simulator;
  let t: TestApp;
  let config: Config;
  let chromium: LaunchedChromium;
  const contexts: BrowserContext[] = [];
  /** The supervisor's console of the 2x2 case, reused by the refusal case. */
  let supervisorConsole: Viewer | undefined;

  /** A console of a new user with this role, in its own browser context, its wall preset (layout, cameras). */
  async function openViewer(role: 'operator' | 'supervisor', options: { viewport: { width: number; height: number }; deviceScaleFactor?: number; wall: { layout: number; cameras: Array<string | null> } }): Promise<Viewer> {
    const context = await chromium.browser.newContext({ viewport: options.viewport, deviceScaleFactor: options.deviceScaleFactor ?? 1 });
    contexts.push(context);
    await context.addInitScript(`localStorage.setItem('c5.wall', ${JSON.stringify(JSON.stringify(options.wall))});`);
    const page = await context.newPage();
    const viewer = { page, errors: collectPageErrors(page) };
    await openConsole(page, await t.consoleLink(role));
    return viewer;
  }

  async function closeViewer(viewer: Viewer): Promise<void> {
    expect(viewer.errors.filter((e) => !/favicon/.test(e)), 'page errors').to.deep.equal([]);
    await viewer.page.context().close();
  }

  async function tilesOf(page: Page): Promise<StreamTile[]> {
    return (await page.evaluate('window.c5.tiles()')) as StreamTile[];
  }

  /** Polls the console's tiles until `predicate` holds for the camera's tile; returns it then. */
  async function waitForTile(page: Page, cameraId: string, predicate: (tile: StreamTile) => boolean, what: string, timeoutMs = 20_000): Promise<StreamTile> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await tilesOf(page)).find((x) => x.cameraId === cameraId);
      if (found && predicate(found)) return found;
      if (Date.now() >= deadline) throw new Error(`${cameraId}: ${what} not reached in ${timeoutMs} ms: ${JSON.stringify(found)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The frames the tile's shown video presents over `durationMs`: some, all of the expected width. */
  async function expectFrames(page: Page, cameraId: string, width: number, options: { durationMs?: number; min?: number } = {}): Promise<number> {
    const samples = await sampleVideo(page, shownVideo(cameraId), { durationMs: options.durationMs ?? 1000 });
    expect(samples.length, `${cameraId}: frames presented in ${options.durationMs ?? 1000} ms`).to.be.at.least(options.min ?? 5);
    expect([...new Set(samples.map((s) => s.width))], `${cameraId}: decoded width`).to.deep.equal([width]);
    return samples.length;
  }

  /** Viewer consumers on the server (every media worker): sampled synchronously from Node. */
  const viewerConsumers = (): number => t.app.media.workers.reduce((sum, worker) => sum + worker.consumers, 0);

  /**
   * Runs `act` (something that switches the tile's stream), and records in the page which video
   * presented which frame and the tile's attributes, and in Node the server's viewer consumers, from
   * 500 ms before until `settleMs` after `done` holds. Returns the longest time the shown picture
   * went without a new frame, and what was recorded.
   */
  async function recordSwitch(page: Page, cameraId: string, act: () => Promise<void>, done: (tile: StreamTile) => boolean, what: string, settleMs = 1000) {
    expect(await page.evaluate(`(${MONITOR_SOURCE})(${JSON.stringify(tile(cameraId))})`)).to.equal(2);
    const counts: Array<{ at: number; count: number }> = [];
    const counter = setInterval(() => counts.push({ at: Date.now(), count: viewerConsumers() }), 10);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const actedAt = Date.now();
      await act();
      const after = await waitForTile(page, cameraId, (x) => done(x) && !x.switching, what, 20_000);
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const { frames, polls } = (await page.evaluate(STOP_MONITOR_SOURCE)) as { frames: MonitorFrame[]; polls: MonitorPoll[] };
      const endAt = Date.now();
      const shown = frames.filter((f) => f.shown).map((f) => f.at);
      expect(shown.length, 'frames shown while recording').to.be.greaterThan(10);
      let longestGap = 0;
      let gapEndsAt = 0;
      for (let i = 1; i < shown.length; i++) {
        if (shown[i]! - shown[i - 1]! > longestGap) [longestGap, gapEndsAt] = [shown[i]! - shown[i - 1]!, shown[i]!];
      }
      if (endAt - shown[shown.length - 1]! > longestGap) [longestGap, gapEndsAt] = [endAt - shown[shown.length - 1]!, endAt];
      // The video shown before and after: the switch played the new stream in the other element.
      const firstPoll = polls[0]!;
      const lastPoll = polls[polls.length - 1]!;
      // The first frame of the new stream (the other video, after the action).
      const newFirstFrame = frames.find((f) => f.video === lastPoll.shownVideo && f.at >= actedAt);
      return { after, frames, polls, counts, longestGap, gapEndsAt, actedAt, firstPoll, lastPoll, newFirstFrame };
    } finally {
      clearInterval(counter);
    }
  }

  before(async () => {
    sim = await Simulator.start({ config: simConfig });
    const cameras = [
      { id: 'sw-a', name: 'A with a substream', url: sim.url('sw-a'), substreamUrl: sim.url('sw-a-sub') },
      { id: 'sw-b', name: 'B with a substream', url: sim.url('sw-b'), substreamUrl: sim.url('sw-b-sub') },
      { id: 'sw-c', name: 'C main only', url: sim.url('sw-c') },
      { id: 'sw-d', name: 'D main only', url: sim.url('sw-d') },
      { id: 'sw-e', name: 'E main only', url: sim.url('sw-e') },
    ];
    t = await startTestApp(
      { media: { workers: 1 }, lowTier: LOW, cameras },
      {
        adjust: (loaded) => {
          config = structuredClone(loaded) as Config;
          // Measured every second; a substream nobody received yet counts as 300 kbit/s, not the default 1000.
          config.bandwidth.sampleMs = 1000;
          config.bandwidth.assumedSubKbps = 300;
          // No moving back up here: the simulator's main streams send far less than their nominal
          // rate, so room for one would often be found (test/integration/streams.test.ts covers that).
          config.bandwidth.upgradeCooldownMs = 3_600_000;
          config.bandwidth.capKbps.supervisor = CAP_KBPS;
          return config;
        },
      },
    );
    chromium = await launchChromium();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await chromium?.close();
    await t?.close();
    await sim?.stop();
  });

  it('gives a small tile the substream and a large one (1 tile, DPR 2) the main stream; a switch to full screen and back has no gap', async () => {
    // 1024x768 at DPR 1: a 2x2 tile is well under 528x297 device px, which the 480x270 substream covers.
    const operator = await openViewer('operator', { viewport: { width: 1024, height: 768 }, wall: { layout: 4, cameras: ['sw-a', null, null, null] } });
    const { page } = operator;
    const small = await waitForTile(page, 'sw-a', (x) => x.state === 'live' && x.stream !== undefined, 'live', 30_000);
    expect(small, JSON.stringify(small)).to.include({ stream: 'sub', streamReason: 'tile_size', streamWidth: 480, streamHeight: 270, streamChoice: 'auto', switching: false });
    expect(await page.getAttribute(tile('sw-a'), 'data-stream')).to.equal('sub');
    await expectFrames(page, 'sw-a', 480);
    // The measured bit rate shows on the tile (no cap for operators).
    const rated = await waitForTile(page, 'sw-a', (x) => (x.kbps ?? 0) > 0, 'a measured bit rate', 10_000);
    expect(Number(await page.getAttribute(tile('sw-a'), 'data-kbps'))).to.be.greaterThan(0);
    console.log(`      2x2 tile at 1024x768: sub ${rated.streamWidth}x${rated.streamHeight}, ${rated.kbps} kbit/s`);
    expect(viewerConsumers()).to.equal(1);

    // Full screen: the main stream, switched without a gap.
    const enter = await recordSwitch(
      page,
      'sw-a',
      () => page.click(`${tile('sw-a')} [data-action="fullscreen"]`),
      (x) => x.stream === 'main',
      'the main stream full screen',
    );
    expect(enter.after).to.include({ state: 'live', stream: 'main', streamReason: 'fullscreen', streamWidth: 960, streamHeight: 540 });
    await expectFrames(page, 'sw-a', 960);
    reportSwitch('sub -> main (full screen)', enter);
    expectNoGap(enter);

    // Out of full screen: back to the substream, again without a gap.
    const leave = await recordSwitch(
      page,
      'sw-a',
      () => page.click(`${tile('sw-a')} [data-action="fullscreen"]`),
      (x) => x.stream === 'sub',
      'the substream again out of full screen',
    );
    expect(leave.after).to.include({ state: 'live', stream: 'sub', streamReason: 'tile_size' });
    await expectFrames(page, 'sw-a', 480);
    reportSwitch('main -> sub (out of full screen)', leave);
    expectNoGap(leave);

    // The operator picks Main in the tile's menu, then Auto: back to what the tile's size calls for.
    const menu = `${tile('sw-a')} select[data-action="stream"]`;
    await page.selectOption(menu, 'main');
    const picked = await waitForTile(page, 'sw-a', (x) => x.stream === 'main' && !x.switching, 'the main stream picked in the menu');
    expect(picked).to.include({ state: 'live', streamReason: 'requested', streamChoice: 'main' });
    expect(await page.getAttribute(tile('sw-a'), 'data-stream-choice')).to.equal('main');
    await page.selectOption(menu, 'auto');
    const auto = await waitForTile(page, 'sw-a', (x) => x.stream === 'sub' && !x.switching, 'the substream again with Auto');
    expect(auto).to.include({ state: 'live', streamReason: 'tile_size', streamChoice: 'auto' });
    await expectFrames(page, 'sw-a', 480);

    // The 1-tile layout: the tile is larger than the substream covers, so the main stream.
    await page.click('#layouts button[data-layout="1"]');
    const large = await waitForTile(page, 'sw-a', (x) => x.stream === 'main' && !x.switching && x.state === 'live', 'the main stream in the 1-tile layout');
    expect(large).to.include({ streamReason: 'tile_size', streamWidth: 960, streamHeight: 540 });
    await expectFrames(page, 'sw-a', 960);
    await closeViewer(operator);

    // The same 2x2 layout and viewport at DPR 2: twice the device pixels, the main stream.
    const retina = await openViewer('operator', { viewport: { width: 1024, height: 768 }, deviceScaleFactor: 2, wall: { layout: 4, cameras: ['sw-a', null, null, null] } });
    const sharp = await waitForTile(retina.page, 'sw-a', (x) => x.state === 'live' && x.stream !== undefined, 'live at DPR 2', 30_000);
    expect(sharp, JSON.stringify(sharp)).to.include({ stream: 'main', streamReason: 'tile_size', streamWidth: 960 });
    await expectFrames(retina.page, 'sw-a', 960);
    await closeViewer(retina);
  });

  function reportSwitch(label: string, run: Awaited<ReturnType<typeof recordSwitch>>): void {
    const counts = run.counts.map((c) => c.count);
    const switchingPolls = run.polls.filter((p) => p.switching);
    const switchMs = switchingPolls.length > 0 ? switchingPolls[switchingPolls.length - 1]!.at - switchingPolls[0]!.at : 0;
    console.log(
      `      ${label}: longest time without a new frame ${run.longestGap} ms; switching for ~${switchMs} ms; ` +
        `server consumers min ${Math.min(...counts)} max ${Math.max(...counts)}; ${run.frames.filter((f) => f.shown).length} frames shown`,
    );
  }

  function expectNoGap(run: Awaited<ReturnType<typeof recordSwitch>>): void {
    expect(run.longestGap, `longest time without a new frame (ending ${run.gapEndsAt - run.actedAt} ms after the click)`).to.be.lessThan(MAX_GAP_MS);
    // The tile never left 'live', and went through a switch: switching, then done.
    expect([...new Set(run.polls.map((p) => p.state))], 'tile states during the switch').to.deep.equal(['live']);
    const firstSwitching = run.polls.findIndex((p) => p.switching);
    expect(firstSwitching, 'data-switching seen').to.be.greaterThan(-1);
    expect(run.lastPoll.switching).to.equal(false);
    // The other <video> is shown now: the new stream played in the hidden one first.
    expect(run.lastPoll.shownVideo).to.not.equal(run.firstPoll.shownVideo);
    expect(run.newFirstFrame, 'a frame of the new stream').to.not.equal(undefined);
    // On the server: both consumers at once during the switch, never none, one at the end.
    const counts = run.counts.map((c) => c.count);
    expect(Math.min(...counts), 'viewer consumers never drop to 0').to.be.at.least(1);
    expect(Math.max(...counts), 'old and new consumers at once').to.equal(2);
    expect(counts[counts.length - 1]).to.equal(1);
    // The old consumer closed only after the new stream's first frame was presented.
    let lastTwo = run.counts.length - 1;
    while (lastTwo >= 0 && run.counts[lastTwo]!.count !== 2) lastTwo--;
    const closedAt = run.counts[lastTwo + 1]!.at;
    expect(closedAt, 'old consumer closed after the new first frame').to.be.at.least(run.newFirstFrame!.at);
  }

  it("holds a supervisor's 2x2 wall under the cap, on what Chromium receives: substreams where there are, the low tier elsewhere", async () => {
    supervisorConsole = await openViewer('supervisor', { viewport: { width: 1280, height: 800 }, wall: { layout: 4, cameras: ['sw-a', 'sw-b', 'sw-c', 'sw-d'] } });
    const { page } = supervisorConsole;
    const ids = ['sw-a', 'sw-b', 'sw-c', 'sw-d'];
    const deadline = Date.now() + 40_000;
    let tiles: StreamTile[] = [];
    for (;;) {
      tiles = await tilesOf(page);
      if (ids.every((id) => tiles.find((x) => x.cameraId === id)?.state === 'live')) break;
      if (Date.now() > deadline) throw new Error(`not all four tiles live: ${JSON.stringify(tiles)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Settled: no switch under way, and a bit rate measured for every tile.
    for (const id of ids) await waitForTile(page, id, (x) => !x.switching && x.kbps !== undefined && x.state === 'live', 'a measured rate', 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const readings: Array<{ total: number; cap: number; tiles: Record<string, { stream: string | null; kbps: number; state: string | null }> }> = [];
    for (let i = 0; i < 6; i++) {
      const reading = (await page.evaluate(`(() => {
        const bar = document.querySelector('#bandwidth');
        const tiles = {};
        for (const el of document.querySelectorAll('.tile[data-camera-id]')) {
          tiles[el.dataset.cameraId] = { stream: el.dataset.stream ?? null, kbps: Number(el.dataset.kbps), state: el.dataset.state ?? null };
        }
        return { total: Number(bar.dataset.totalKbps), cap: Number(bar.dataset.capKbps), tiles };
      })()`)) as (typeof readings)[number];
      readings.push(reading);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const totals = readings.map((r) => r.total);
    const perTile = Object.fromEntries(ids.map((id) => [id, readings.map((r) => r.tiles[id]?.kbps)]));
    console.log(`      supervisor 2x2 at 1280x800, cap ${CAP_KBPS} kbit/s: total ${totals.join(', ')} kbit/s`);
    for (const id of ids) console.log(`        ${id} ${readings[readings.length - 1]!.tiles[id]?.stream}: ${perTile[id]!.join(', ')} kbit/s`);

    for (const reading of readings) {
      expect(reading.cap).to.equal(CAP_KBPS);
      expect(reading.total, JSON.stringify(reading)).to.be.greaterThan(0).and.at.most(CAP_KBPS * 1.05);
      // The session's total is its tiles' sum (each tile's rate from the same sample).
      const sum = ids.reduce((s, id) => s + (reading.tiles[id]?.kbps ?? 0), 0);
      expect(Math.abs(sum - reading.total), `tiles' sum ${sum} vs total ${reading.total}`).to.be.at.most(4);
      for (const id of ids) {
        expect(reading.tiles[id], id).to.include({ state: 'live' });
        expect(reading.tiles[id]!.kbps, `${id} kbit/s`).to.be.greaterThan(0);
      }
      // With a substream: the substream. Without: no main stream fits under the cap even alone, so the low tier.
      expect(reading.tiles['sw-a']!.stream).to.equal('sub');
      expect(reading.tiles['sw-b']!.stream).to.equal('sub');
      expect(reading.tiles['sw-c']!.stream).to.equal('low');
      expect(reading.tiles['sw-d']!.stream).to.equal('low');
    }
    const final = await tilesOf(page);
    for (const id of ['sw-c', 'sw-d']) expect(final.find((x) => x.cameraId === id), id).to.include({ streamReason: 'bandwidth_cap', streamWidth: 320, streamHeight: 180 });
    expect(final.find((x) => x.cameraId === 'sw-a')).to.include({ streamWidth: 480, streamHeight: 270 });
    expect(asBandwidth(await page.evaluate('window.c5.bandwidth()'))).to.include({ capKbps: CAP_KBPS });
    // Every tile's picture moves.
    const counts = await Promise.all([
      expectFrames(page, 'sw-a', 480, { durationMs: 1500 }),
      expectFrames(page, 'sw-b', 480, { durationMs: 1500 }),
      expectFrames(page, 'sw-c', 320, { durationMs: 1500, min: 3 }),
      expectFrames(page, 'sw-d', 320, { durationMs: 1500, min: 3 }),
    ]);
    console.log(`        frames in 1.5 s: ${ids.map((id, i) => `${id} ${counts[i]}`).join(', ')}`);
    // The two low tiers took the node's two transcode slots; one RTSP session per camera.
    expect(t.app.cameras.status('sw-c', 'low')?.state).to.equal('live');
    expect(t.app.cameras.status('sw-d', 'low')?.state).to.equal('live');
    const simCameras = (await sim.status()).cameras;
    for (const id of ['sw-c', 'sw-d', 'sw-a-sub', 'sw-b-sub']) expect(simCameras.find((c) => c.id === id)?.clients, `${id} RTSP sessions`).to.equal(1);
  });

  it('refuses a fifth tile over the cap and says so on the tile, the others playing on', async () => {
    const supervisor = supervisorConsole;
    if (!supervisor) throw new Error("the supervisor's 2x2 case did not open its console");
    const { page } = supervisor;
    await page.click('#layouts button[data-layout="9"]');
    await page.waitForFunction(() => document.querySelector('#wall')?.getAttribute('data-layout') === '9');
    await page.click('#camera-list [data-camera-id="sw-e"]');
    const refused = await waitForTile(page, 'sw-e', (x) => x.state === 'capped', 'refused for the cap', 15_000);
    const message = (await page.textContent(`${tile('sw-e')} .tile-message`)) ?? '';
    console.log(`      refused tile: "${message}"`);
    expect(message).to.match(/^Bandwidth limit: /).and.match(new RegExp(`over its cap of ${CAP_KBPS} kbit/s`)).and.match(/no low-tier transcode is free/);
    expect(refused.stream).to.equal(undefined);
    expect(await page.getAttribute(tile('sw-e'), 'data-state')).to.equal('capped');
    expect(await page.isVisible(`${tile('sw-e')} .tile-message`)).to.equal(true);
    // The four others still play, and the session stays under its cap.
    const tiles = await tilesOf(page);
    for (const id of ['sw-a', 'sw-b', 'sw-c', 'sw-d']) expect(tiles.find((x) => x.cameraId === id)?.state, id).to.equal('live');
    await expectFrames(page, 'sw-c', 320, { min: 3 });
    const total = Number(await page.getAttribute('#bandwidth', 'data-total-kbps'));
    expect(total).to.be.greaterThan(0).and.at.most(CAP_KBPS * 1.05);
    expect(t.app.cameras.status('sw-e')?.state ?? 'idle', 'the refused camera was not started').to.not.equal('live');
    await closeViewer(supervisor);
  });
});

function asBandwidth(value: unknown): { totalKbps: number; capKbps: number | null } {
  expect(value).to.be.an('object');
  return value as { totalKbps: number; capKbps: number | null };
}
