import { expect } from 'chai';
import { Simulator, type SimulatorConfig } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { isAlive, waitFor } from '../support/processes.ts';
import { launchChromium, openConsole, sampleVideo, waitForTiles, type LaunchedChromium } from '../support/browser.ts';

const simConfig: SimulatorConfig = {
  cameras: [
    { id: 'cam-r1', tag: 51, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 25, gop: 25, bitrateKbps: 300 },
    { id: 'cam-r2', tag: 52, codec: 'h264', profile: 'main', width: 320, height: 180, fps: 25, gop: 25, bitrateKbps: 300 },
  ],
};
const liveTile = (cameraId: string) => (tiles: Array<{ cameraId: string | undefined; state: string }>) => tiles.find((x) => x.cameraId === cameraId)?.state === 'live';

describe('resilience in headless Chromium: dead media worker', function () {
  this.timeout(120_000);
  let sim: Simulator;
  let t: TestApp;
  const browsers: LaunchedChromium[] = [];
  const link = () => t.consoleLink('operator');

  before(async () => {
    sim = await Simulator.start({ config: simConfig });
    t = await startTestApp({ media: { workers: 2 }, cameras: ['cam-r1', 'cam-r2'].map((id) => ({ id, name: id, url: sim.url(id) })) });
  });
  afterEach(async () => {
    for (const browser of browsers.splice(0)) await browser.close();
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
  });

  it('plays again without a reload after the worker hosting the camera is SIGKILLed', async () => {
    const chromium = await launchChromium();
    browsers.push(chromium);
    const page = await chromium.newPage();
    await openConsole(page, await link());
    await waitForTiles(page, (tiles) => liveTile('cam-r1')(tiles) && liveTile('cam-r2')(tiles), 30_000);
    await page.evaluate('window.__noReload = true');
    const host = t.app.cameras.session('cam-r1')!.feed!.host;
    const deadPid = host.pid;
    const killedAt = Date.now();
    process.kill(deadPid, 'SIGKILL');
    await waitFor(() => !isAlive(deadPid), 5_000, 'worker dead');
    await waitForTiles(page, (tiles) => tiles.find((x) => x.cameraId === 'cam-r1')?.state !== 'live', 10_000);
    await waitForTiles(page, liveTile('cam-r1'), 45_000);
    const samples = await sampleVideo(page, '.tile[data-camera-id="cam-r1"]', { durationMs: 1000, maxFrames: 5 });
    const recoveredMs = (samples[0]?.receivedAt ?? Date.now()) - killedAt;
    console.log(`      kill of the hosting worker to first frame again: ${recoveredMs} ms`);
    expect(samples.length).to.be.greaterThan(0);
    expect(samples[0]?.tag).to.equal(51);
    expect(recoveredMs).to.be.lessThan(30_000);
    expect(await page.evaluate('window.__noReload')).to.equal(true);
    expect(t.app.media.workers[host.index]!.pid).to.not.equal(deadPid);
  });
});
