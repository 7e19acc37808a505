/**
 * Hand check of JanusPeer: stamped simulated camera -> Janus streaming plugin -> headless Chromium,
 * glass-to-glass latency over 10 s (first second dropped).
 *
 *   node scripts/with-env.mjs tsx scripts/bench/janus/try.ts [--verbose]
 */
import { Simulator } from '../../camsim/Simulator.ts';
import { launchChromium, latencyStats, sampleVideo, type LaunchedChromium } from '../../../test/support/browser.ts';
import { commandLine } from '../host.ts';
import { JanusPeer } from '../JanusPeer.ts';

const verbose = commandLine({ verbose: { type: 'boolean', default: false } }, (flags) => flags.values.verbose);
let sim: Simulator | undefined;
let janus: JanusPeer | undefined;
let chromium: LaunchedChromium | undefined;
try {
  sim = await Simulator.start({
    config: {
      cameras: [{ id: 'cam-stamped', tag: 1, codec: 'h264', profile: 'baseline', width: 640, height: 360, fps: 25, gop: 25, bitrateKbps: 800, stamped: true }],
    },
  });
  const t0 = Date.now();
  janus = await JanusPeer.start({ rtspUrl: sim.url('cam-stamped'), logTo: verbose ? (l) => console.error(`[janus] ${l}`) : undefined });
  console.error(`janus up in ${Date.now() - t0} ms, page ${janus.pageUrl}`);
  chromium = await launchChromium();
  const page = await chromium.newPage();
  page.on('console', (m) => (verbose || m.type() === 'error') && console.error(`[page ${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => console.error(`[pageerror] ${e.message}`));
  const nav = Date.now();
  await page.goto(janus.pageUrl, { waitUntil: 'domcontentloaded' });
  try {
    await page.waitForFunction('window.janusReady === true || String(window.janusState).startsWith("failed")', undefined, { timeout: 30_000, polling: 20 });
  } catch {
    /* reported below */
  }
  const state = await page.evaluate('window.janusState');
  const firstFrameMs = Date.now() - nav;
  console.error(`page state ${String(state)} after ${firstFrameMs} ms`);
  if (state !== 'playing') throw new Error(`janus page did not play: ${String(state)}`);
  const samples = await sampleVideo(page, '#janus-video', { durationMs: 10_000 });
  const stats = latencyStats(samples, { dropFirstMs: 1000 });
  const tags = new Set(samples.map((s) => s.tag));
  console.log(JSON.stringify({ firstFrameMs, frames: samples.length, tags: [...tags], ...stats }, null, 2));
} finally {
  await chromium?.close().catch(() => undefined);
  await janus?.close().catch((e) => console.error('janus close', e));
  await sim?.stop().catch(() => undefined);
}
