import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { Simulator, type SimulatorConfig } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { collectPageErrors, launchChromium, openConsole, sampleVideo, waitForTiles, type LaunchedChromium } from '../support/browser.ts';

// Issue 25 (part 1): the console on a tablet, touch only, portrait (768x1024) then rotated to
// landscape (1024x768) in the same page. Every visible control is a 44x44 px target inside the
// viewport and shown without hover; nothing scrolls sideways; the camera list is a drawer opened
// by a tap that puts the tapped camera in the selected tile; a double tap toggles full screen; a
// two-finger pinch (real touch points through CDP, so real pointer events) zooms the full-screen
// video, a drag pans it, and a double tap or leaving full screen resets the zoom.

const cam = { codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15, bitrateKbps: 250 } as const;
const simConfig: SimulatorConfig = {
  cameras: [
    { id: 'tab-a', tag: 81, ...cam, pattern: 'ball' },
    { id: 'tab-b', tag: 82, ...cam, pattern: 'pinwheel' },
    { id: 'tab-c', tag: 83, ...cam, pattern: 'gradient' },
    { id: 'tab-d', tag: 84, ...cam },
  ],
};
const tagOf: Record<string, number> = { 'tab-a': 81, 'tab-b': 82, 'tab-c': 83, 'tab-d': 84 };
const tile = (index: number): string => `.tile[data-index="${index}"]`;
const SCREENSHOTS = join(tmpdir(), 'c5-screenshots');

/** A visible control that is too small, outside the viewport or shown only on hover. */
interface Geometry {
  checked: string[];
  problems: string[];
  scroll: { page: number; body: number; topbar: number; sidebar: number; viewport: number };
}

/**
 * In-page geometry check. A string, not a function: tsx's keepNames would wrap inner functions in
 * a `__name()` helper the page does not have. A checkbox or radio is measured by its label (the
 * target a finger hits).
 */
const GEOMETRY_SOURCE = String.raw`(() => {
  const vw = document.documentElement.clientWidth;
  const vh = document.documentElement.clientHeight;
  const checked = [];
  const problems = [];
  for (const el of document.querySelectorAll('button, [role="tab"], select, a[href], input, #camera-list > li')) {
    const target = el.matches('input[type="checkbox"], input[type="radio"]') ? (el.closest('label') || el) : el;
    const style = getComputedStyle(target);
    const box = target.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || style.visibility !== 'visible' || target.closest('[hidden]')) continue;
    const name = target.id ? '#' + target.id : target.tagName.toLowerCase() + '.' + (target.getAttribute('class') || '').split(' ')[0] +
      (target.closest('[data-index]') ? '@tile' + target.closest('[data-index]').dataset.index : '') +
      (target.dataset.action ? '[' + target.dataset.action + ']' : '') + (target.dataset.layout ? '[' + target.dataset.layout + ']' : '') +
      (target.dataset.cameraId ? '[' + target.dataset.cameraId + ']' : '');
    checked.push(name);
    const size = Math.round(box.width) + 'x' + Math.round(box.height);
    if (box.width < 44 - 0.01 || box.height < 44 - 0.01) problems.push(name + ' is ' + size);
    // In a list that scrolls vertically, a row below the fold is reached by scrolling: the list itself must fit.
    let scroller = target.parentElement;
    while (scroller && !/(auto|scroll)/.test(getComputedStyle(scroller).overflowY)) scroller = scroller.parentElement;
    const frame = scroller ? scroller.getBoundingClientRect() : null;
    const top = frame ? Math.max(frame.top, box.top) : box.top;
    const bottom = frame ? Math.min(frame.bottom, box.bottom) : box.bottom;
    if (frame && (frame.top < -0.5 || frame.bottom > vh + 0.5)) problems.push(name + ': its scrolling list is outside ' + vw + 'x' + vh);
    if (box.left < -0.5 || top < -0.5 || box.right > vw + 0.5 || bottom > vh + 0.5) problems.push(name + ' ' + size + ' at ' + Math.round(box.left) + ',' + Math.round(box.top) + ' is outside ' + vw + 'x' + vh);
    let opacity = 1;
    for (let node = target; node; node = node.parentElement) opacity *= Number(getComputedStyle(node).opacity);
    if (opacity < 0.5) problems.push(name + ' is not shown (opacity ' + opacity + ')');
  }
  const over = (selector) => { const el = document.querySelector(selector); return el ? el.scrollWidth - el.clientWidth : 0; };
  return {
    checked,
    problems,
    scroll: { page: document.documentElement.scrollWidth - vw, body: document.body.scrollWidth - document.body.clientWidth, topbar: over('.topbar'), sidebar: over('.sidebar'), viewport: vw },
  };
})()`;

/** The shown video's CSS transform as scale and translation (identity when none). */
const TRANSFORM_SOURCE = (index: number): string => String.raw`(() => {
  const video = document.querySelector('${tile(index)} video:not(.standby)');
  const m = new DOMMatrixReadOnly(getComputedStyle(video).transform === 'none' ? undefined : getComputedStyle(video).transform);
  return { scale: m.a, x: m.e, y: m.f, zoom: Number(video.closest('.tile').dataset.zoom) };
})()`;

const FULLSCREEN_SOURCE = (index: number): string =>
  `(() => { const el = document.querySelector('${tile(index)}'); return document.fullscreenElement === el || el.classList.contains('maximised'); })()`;

describe('touch console on a tablet (headless Chromium with touch emulation)', function () {
  this.timeout(120_000);
  let sim: Simulator;
  let t: TestApp;
  let chromium: LaunchedChromium;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let errors: string[];

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    sim = await Simulator.start({ config: simConfig });
    t = await startTestApp({ cameras: simConfig.cameras.map((c) => ({ id: (c as { id: string }).id, name: (c as { id: string }).id, url: sim.url((c as { id: string }).id) })) });
    chromium = await launchChromium();
    context = await chromium.browser.newContext({ viewport: { width: 768, height: 1024 }, hasTouch: true, isMobile: false, deviceScaleFactor: 1 });
    // The fourth tile starts empty: it is filled from the drawer by touch.
    await context.addInitScript(`localStorage.setItem('c5.wall', ${JSON.stringify(JSON.stringify({ layout: 4, cameras: ['tab-a', 'tab-b', 'tab-c', null] }))});`);
    page = await context.newPage();
    errors = collectPageErrors(page);
    cdp = await context.newCDPSession(page);
    await openConsole(page, await t.consoleLink('operator'));
    console.log(`      screenshots in ${SCREENSHOTS}`);
  });

  after(async () => {
    await chromium?.close();
    await t?.close();
    await sim?.stop();
  });

  async function geometry(): Promise<Geometry> {
    return (await page.evaluate(GEOMETRY_SOURCE)) as Geometry;
  }

  /** Every visible control is a 44x44 target inside the viewport and shown without hover; no sideways scroll. */
  async function expectTouchGeometry(what: string, mustInclude: string[]): Promise<void> {
    const found = await geometry();
    expect(found.problems, `${what}: controls`).to.deep.equal([]);
    for (const name of mustInclude) expect(found.checked, `${what}: ${name} checked`).to.include(name);
    expect(found.scroll, `${what}: sideways overflow`).to.deep.equal({ page: 0, body: 0, topbar: 0, sidebar: 0, viewport: found.scroll.viewport });
  }

  /** Each tile's shown video presents frames of its own camera (told apart by the tag the simulator draws). */
  async function expectFrames(cameras: string[]): Promise<void> {
    const samples = await Promise.all(cameras.map((_, index) => sampleVideo(page, tile(index), { durationMs: 1000 })));
    samples.forEach((frames, index) => {
      const cameraId = cameras[index]!;
      expect(frames.length, `tile ${index} (${cameraId}): frames in 1 s`).to.be.at.least(5);
      expect([...new Set(frames.map((s) => s.tag))], `tile ${index} shows ${cameraId}`).to.deep.equal([tagOf[cameraId]]);
    });
  }

  async function tapCentre(selector: string): Promise<{ x: number; y: number }> {
    const box = (await page.locator(selector).boundingBox())!;
    const point = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    await page.touchscreen.tap(point.x, point.y);
    return point;
  }

  /** Two taps in quick succession at the same point. */
  async function doubleTap(point: { x: number; y: number }): Promise<void> {
    await page.touchscreen.tap(point.x, point.y);
    await page.touchscreen.tap(point.x, point.y);
  }

  async function touch(type: 'touchStart' | 'touchMove' | 'touchEnd', points: Array<{ x: number; y: number }>): Promise<void> {
    await cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map((p, id) => ({ x: p.x, y: p.y, id, radiusX: 2, radiusY: 2, force: 1 })) });
  }

  /** Two fingers from `gap` px apart to `gap * spread` around `centre`, in steps. */
  async function pinch(centre: { x: number; y: number }, gap: number, spread: number): Promise<void> {
    const at = (d: number) => [{ x: centre.x - d / 2, y: centre.y }, { x: centre.x + d / 2, y: centre.y }];
    await touch('touchStart', at(gap));
    const steps = 8;
    for (let i = 1; i <= steps; i++) await touch('touchMove', at(gap + ((spread - 1) * gap * i) / steps));
    await touch('touchEnd', []);
  }

  async function drag(from: { x: number; y: number }, dx: number, dy: number): Promise<void> {
    await touch('touchStart', [from]);
    const steps = 6;
    for (let i = 1; i <= steps; i++) await touch('touchMove', [{ x: from.x + (dx * i) / steps, y: from.y + (dy * i) / steps }]);
    await touch('touchEnd', []);
  }

  async function transform(index: number): Promise<{ scale: number; x: number; y: number; zoom: number }> {
    return (await page.evaluate(TRANSFORM_SOURCE(index))) as { scale: number; x: number; y: number; zoom: number };
  }

  async function waitFullscreen(index: number, expected: boolean): Promise<void> {
    await page.waitForFunction(`${FULLSCREEN_SOURCE(index)} === ${expected}`, undefined, { timeout: 5_000, polling: 50 });
  }

  /** The drawer finished sliding (open: at the left edge; closed: hidden). */
  async function waitDrawer(open: boolean): Promise<void> {
    await page.waitForFunction(
      open
        ? `document.querySelector('#console').dataset.drawer === 'open' && document.querySelector('#sidebar').getBoundingClientRect().left === 0`
        : `document.querySelector('#console').dataset.drawer === undefined && getComputedStyle(document.querySelector('#sidebar')).visibility === 'hidden'`,
      undefined,
      { timeout: 5_000, polling: 50 },
    );
  }

  it('portrait 768x1024: touch-sized controls, the drawer fills the selected tile, double tap, pinch and pan', async () => {
    expect(await page.evaluate('matchMedia("(pointer: coarse)").matches')).to.equal(true);
    await waitForTiles(page, (tiles) => tiles.slice(0, 3).every((x) => x.state === 'live') && tiles[3]?.state === 'empty');
    // The sidebar is a closed drawer: the wall takes the whole width.
    expect(await page.isVisible('#drawer-toggle')).to.equal(true);
    expect(await page.isVisible('#filter-q')).to.equal(false);
    const wallBox = (await page.locator('#wall').boundingBox())!;
    expect(wallBox.width).to.equal(768);
    await expectTouchGeometry('portrait wall', ['#drawer-toggle', '#sign-out', 'button.tile-button@tile0[fullscreen]', 'button.tile-button@tile0[close]', 'select.tile-stream-select@tile2[stream]']);
    const layoutButtons = (await geometry()).checked.filter((name) => name.startsWith('button.') && /\[(1|4|9|16)\]$/.test(name));
    expect(layoutButtons).to.have.length(4);

    // Tap the empty tile to select it, open the drawer by tap, tap a camera: it plays in that tile.
    await tapCentre(tile(3));
    await page.waitForSelector(`${tile(3)}.selected`, { timeout: 2_000 });
    await page.locator('#drawer-toggle').tap();
    await waitDrawer(true);
    expect(await page.getAttribute('#drawer-toggle', 'aria-expanded')).to.equal('true');
    await page.screenshot({ path: join(SCREENSHOTS, 'touch-768x1024-drawer.png') });
    await expectTouchGeometry('portrait drawer', ['#filter-q', 'li.camera[tab-d]', 'button.camera-button']);
    await page.locator('#camera-list [data-camera-id="tab-d"] button').tap();
    await waitDrawer(false);
    await waitForTiles(page, (tiles) => tiles[3]?.cameraId === 'tab-d' && tiles.every((x) => x.state === 'live'));
    await expectFrames(['tab-a', 'tab-b', 'tab-c', 'tab-d']);
    await page.screenshot({ path: join(SCREENSHOTS, 'touch-768x1024.png') });

    // A tap on the dimmed wall closes the drawer too, and selects no tile.
    await page.locator('#drawer-toggle').tap();
    await waitDrawer(true);
    await page.touchscreen.tap(700, 600);
    await waitDrawer(false);

    // Double tap: full screen; pinch: zoom; drag: pan; double tap: zoom reset; double tap: back on the wall.
    const centre = await tapCentre(tile(1));
    await page.waitForTimeout(400);
    await doubleTap(centre);
    await waitFullscreen(1, true);
    await page.waitForTimeout(150);
    const fullBox = (await page.locator(tile(1)).boundingBox())!;
    expect(fullBox.width, 'full-screen tile width').to.equal(768);
    const middle = { x: fullBox.x + fullBox.width / 2, y: fullBox.y + fullBox.height / 2 };
    await pinch(middle, 100, 2.6);
    const zoomed = await transform(1);
    expect(zoomed.scale, 'scale after the pinch').to.be.greaterThan(1.5).and.at.most(4);
    expect(zoomed.zoom).to.be.closeTo(zoomed.scale, 0.01);
    await drag(middle, -120, -90);
    const panned = await transform(1);
    expect(panned.scale).to.equal(zoomed.scale);
    expect(Math.hypot(panned.x - zoomed.x, panned.y - zoomed.y), 'pan distance').to.be.greaterThan(50);
    await expectFrames(['tab-a', 'tab-b']);
    await page.screenshot({ path: join(SCREENSHOTS, 'touch-768x1024-zoomed.png') });
    await doubleTap(middle);
    await page.waitForFunction(`${TRANSFORM_SOURCE(1)}.zoom === 1`, undefined, { timeout: 2_000, polling: 50 });
    expect(await transform(1)).to.deep.equal({ scale: 1, x: 0, y: 0, zoom: 1 });
    expect(await page.evaluate(FULLSCREEN_SOURCE(1)), 'still full screen after the reset').to.equal(true);
    await page.waitForTimeout(400);
    await doubleTap(middle);
    await waitFullscreen(1, false);
    expect(await page.isVisible(`${tile(1)}.selected`), 'the double-tapped tile is selected').to.equal(true);
  });

  it('landscape 1024x768 (rotated): the same checks, and leaving full screen resets the zoom', async () => {
    await page.setViewportSize({ width: 1024, height: 768 });
    await page.waitForTimeout(300);
    await waitForTiles(page, (tiles) => tiles.every((x) => x.state === 'live'));
    expect(await page.isVisible('#drawer-toggle')).to.equal(true);
    await expectTouchGeometry('landscape wall', ['#drawer-toggle', '#sign-out', 'button.tile-button@tile3[fullscreen]']);
    await expectFrames(['tab-a', 'tab-b', 'tab-c', 'tab-d']);
    await page.screenshot({ path: join(SCREENSHOTS, 'touch-1024x768.png') });

    await page.locator('#drawer-toggle').tap();
    await waitDrawer(true);
    await expectTouchGeometry('landscape drawer', ['#filter-q', 'li.camera[tab-a]']);
    await page.screenshot({ path: join(SCREENSHOTS, 'touch-1024x768-drawer.png') });
    await page.locator('#drawer-toggle').tap();
    await waitDrawer(false);

    const centre = await tapCentre(tile(2));
    await page.waitForTimeout(400);
    await doubleTap(centre);
    await waitFullscreen(2, true);
    await page.waitForTimeout(150);
    const fullBox = (await page.locator(tile(2)).boundingBox())!;
    expect(fullBox.width).to.equal(1024);
    await pinch({ x: 512, y: 384 }, 120, 2.2);
    expect((await transform(2)).scale).to.be.greaterThan(1.5);
    // The tile's own full-screen button, tapped: back on the wall, zoom reset.
    await page.locator(`${tile(2)} [data-action="fullscreen"]`).tap();
    await waitFullscreen(2, false);
    expect(await transform(2)).to.deep.equal({ scale: 1, x: 0, y: 0, zoom: 1 });
    expect(errors.filter((e) => !/favicon/.test(e)), 'page errors').to.deep.equal([]);
  });
});
