import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { Simulator, type SimulatorConfig } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { consoleTiles, collectPageErrors, latencyStats, launchChromium, openConsole, sampleVideo, waitForTiles, type LaunchedChromium } from '../support/browser.ts';

const cam = { codec: 'h264', width: 640, height: 360, fps: 25, gop: 25, bitrateKbps: 600 } as const;
const simConfig: SimulatorConfig = {
  cameras: [
    { id: 'cam-stamped', tag: 1, ...cam, profile: 'baseline', stamped: true },
    { id: 'cam-main', tag: 2, ...cam, profile: 'main', pattern: 'ball' },
    { id: 'cam-high', tag: 3, ...cam, profile: 'high', pattern: 'pinwheel' },
    { id: 'cam-drop', tag: 4, ...cam, profile: 'baseline', width: 320, height: 180, pattern: 'gradient' },
  ],
};
const tagOf: Record<string, number> = { 'cam-stamped': 1, 'cam-main': 2, 'cam-high': 3, 'cam-drop': 4 };
const tile = (cameraId: string) => `.tile[data-camera-id="${cameraId}"]`;

describe('operator console in headless Chromium (end to end)', function () {
  this.timeout(120_000);
  let sim: Simulator;
  let t: TestApp;
  let chromium: LaunchedChromium;
  let page: Page;
  let errors: string[];
  let link: string;

  before(async () => {
    sim = await Simulator.start({ config: simConfig });
    t = await startTestApp({
      ingest: { highProfile: 'relabel' },
      cameras: simConfig.cameras.map((c) => ({ id: (c as { id: string }).id, name: (c as { id: string }).id, url: sim.url((c as { id: string }).id) })),
    });
    chromium = await launchChromium();
    page = await chromium.newPage();
    errors = collectPageErrors(page);
    link = await t.consoleLink('operator');
  });

  after(async () => {
    await chromium?.close();
    await t?.close();
    await sim?.stop();
  });

  it('signs in with the console link and plays four different cameras, each told apart by its id', async () => {
    const started = Date.now();
    await openConsole(page, link);
    const tiles = await waitForTiles(page, (all) => all.length >= 4 && all.slice(0, 4).every((x) => x.state === 'live'), 30_000);
    const firstWallMs = Date.now() - started;
    console.log(`      console link to 4 live tiles: ${firstWallMs} ms`);
    expect(page.url()).to.not.contain('code=');
    expect(await page.evaluate('window.c5.handlerName()')).to.equal('Chrome111');
    // The wall fills with the first cameras of the list (sorted by code).
    expect(tiles.slice(0, 4).map((x) => x.cameraId)).to.deep.equal(['cam-drop', 'cam-high', 'cam-main', 'cam-stamped']);
    // The four tiles are sampled over the same 1.5 s (one sampler per video, at once).
    const sampled = await Promise.all(Object.keys(tagOf).map((cameraId) => sampleVideo(page, tile(cameraId), { durationMs: 1500 })));
    for (const [index, cameraId] of Object.keys(tagOf).entries()) {
      const attributes = await page.$eval(`${tile(cameraId)} video`, (video) => ({
        muted: video.hasAttribute('muted') && (video as HTMLVideoElement).muted,
        playsinline: video.hasAttribute('playsinline'),
        autoplay: video.hasAttribute('autoplay'),
      }));
      expect(attributes, cameraId).to.deep.equal({ muted: true, playsinline: true, autoplay: true });
      const samples = sampled[index]!;
      expect(samples.length, `${cameraId} frames in 1.5 s`).to.be.greaterThan(10);
      const tags = new Set(samples.map((s) => s.tag));
      expect([...tags], `${cameraId} shows its own id`).to.deep.equal([tagOf[cameraId]]);
      const expectedWidth = cameraId === 'cam-drop' ? 320 : 640;
      expect(samples.every((s) => s.width === expectedWidth), `${cameraId} width`).to.equal(true);
      const state = (await consoleTiles(page)).find((x) => x.cameraId === cameraId);
      expect(state?.videoWidth).to.equal(expectedWidth);
    }
    // What the browser receives shows in the metrics too.
    await t.app.metrics.sample();
    const metrics = await (await fetch(`${t.app.consoleUrl}/metrics`)).text();
    const sent = Number(/^c5_camera_rtp_sent_bytes\{camera="cam-stamped"\} (\S+)$/m.exec(metrics)?.[1]);
    expect(sent, 'bytes sent to the browser').to.be.greaterThan(10_000);
    // The High-profile camera was forwarded untouched (relabelled), and Chromium decoded it.
    expect(t.app.cameras.status('cam-high')?.transcodeReason).to.equal(undefined);
    // Each camera's row in the list says what carries it: the relay, ffmpeg, or ffmpeg transcoding.
    for (const cameraId of Object.keys(tagOf)) {
      const status = t.app.cameras.status(cameraId);
      const engine = status?.transcodeReason ? 'transcoded' : status?.engine;
      expect(engine, cameraId).to.be.oneOf(['relay', 'ffmpeg', 'transcoded']);
      const detail = `#camera-list [data-camera-id="${cameraId}"] .camera-detail`;
      await page.waitForFunction(([selector, label]) => document.querySelector(selector)?.textContent?.split(' · ').includes(label) ?? false, [detail, engine!] as const, { timeout: 5_000 }).catch(() => undefined);
      expect((await page.textContent(detail))?.split(' · '), cameraId).to.include(engine);
    }
    expect(errors.filter((e) => !/favicon/.test(e))).to.deep.equal([]);
  });

  it('measures glass-to-glass latency of the stamped camera', async () => {
    const samples = await sampleVideo(page, tile('cam-stamped'), { durationMs: 8000 });
    const stats = latencyStats(samples, { dropFirstMs: 1000 });
    const frames = samples.map((s) => s.stamp!).filter((s) => s !== null);
    expect(frames.length).to.be.greaterThan(100);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!).to.be.greaterThan(frames[i - 1]!);
    console.log(`      latency over ${stats.count} frames: p50 ${stats.p50} ms, p95 ${stats.p95} ms, p99 ${stats.p99} ms`);
    expect(stats.p95).to.be.lessThan(1000);
    expect(stats.min).to.be.greaterThan(0);
  });

  it('brings a tile back by itself after the camera drops and returns, without a reload', async () => {
    await page.evaluate('window.__noReload = true');
    await sim.drop('cam-drop');
    const down = await waitForTiles(page, (all) => all.find((x) => x.cameraId === 'cam-drop')?.state === 'reconnecting', 20_000);
    expect(down.find((x) => x.cameraId === 'cam-drop')?.reason).to.be.a('string').and.not.be.empty;
    await sim.restore('cam-drop');
    const restored = Date.now();
    await waitForTiles(page, (all) => all.find((x) => x.cameraId === 'cam-drop')?.state === 'live', 40_000);
    console.log(`      tile live again ${Date.now() - restored} ms after the camera came back`);
    const samples = await sampleVideo(page, tile('cam-drop'), { durationMs: 1000 });
    expect(samples.length).to.be.greaterThan(5);
    expect(new Set(samples.map((s) => s.tag))).to.deep.equal(new Set([4]));
    expect(await page.evaluate('window.__noReload')).to.equal(true);
  });

  it('does not sign in a second time with the same link', async () => {
    const second = await chromium.newPage();
    try {
      await second.goto(link);
      await second.waitForFunction('window.c5 !== undefined && window.c5.connection === "signed-out"', undefined, { timeout: 15_000 });
      expect(await second.evaluate('window.c5.signedIn')).to.equal(false);
      expect(await second.locator('#signed-out').isVisible()).to.equal(true);
    } finally {
      await second.context().close();
    }
  });
});
