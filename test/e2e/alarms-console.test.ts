import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { buildClient } from '../../client/build.ts';
import { signedHeaders } from '../../server/alarms/AlarmSignature.ts';
import type { CameraCreate } from '../../server/catalog/cameraSchemas.ts';
import { CHROMIUM_ARGS, collectPageErrors, consoleTiles, launchChromium, openConsole, sampleVideoTimed, waitForTiles, type ConsoleTile, type LaunchedChromium } from '../support/browser.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { Simulator, type SimulatorConfig } from '../support/simulator.ts';
import { Dc09Panel, type Dc09Event } from '../support/Dc09Panel.ts';

/**
 * The panic buttons in the console (issue 22), in headless Chromium at 1024x768 WITHOUT any
 * autoplay flag, against the real server and camera simulator: two operators covering the device's
 * area and municipality. The sound waits for a click (prompt), then rings; a signed press reaches
 * both banners (place, owner, linked and nearby cameras); "Show cameras" and the auto-switch put
 * the alarm's cameras on the wall, playing; one operator acknowledges, the other sees who; closing
 * as a false alarm empties both banners and closes the incident; a device with no camera around
 * says so; a reloaded console gets the open alarm back. Then alarm panels over SIA DC-09 (issue 23):
 * the test panel's panic event, encrypted (AES-128) over TCP and clear over UDP, reaches both
 * banners and puts its cameras on the walls, playing (B by the auto-switch, A by "Show cameras").
 */

const ZOCALO = { lat: 19.4326, lng: -99.1332 };
const north = (metres: number) => ({ lat: ZOCALO.lat + metres / 1000 / 111.32, lng: ZOCALO.lng });
const cam = { codec: 'h264', width: 320, height: 180, fps: 15, gop: 15, bitrateKbps: 300, profile: 'baseline' } as const;
/**
 * Four fillers 5 km off (registered first: the console fills its 4-tile wall with them), the
 * device's linked camera 400 m off (beyond the radius: attached because linked), a camera 150 m
 * from the device (within alarms.radiusM, 300 m by default) and one 1 km off (not attached).
 */
const CAMERAS: Array<{ code: string; metres: number }> = [
  { code: 'a-fill-1', metres: 5000 },
  { code: 'a-fill-2', metres: 5000 },
  { code: 'a-fill-3', metres: 5000 },
  { code: 'a-fill-4', metres: 5000 },
  { code: 'z-alarm-link', metres: 400 },
  { code: 'z-alarm-near', metres: 150 },
  { code: 'z-alarm-far', metres: 1000 },
];
const ALARM_CAMERAS = ['z-alarm-link', 'z-alarm-near'];
const simConfig: SimulatorConfig = { cameras: CAMERAS.map((c, i) => ({ id: c.code, tag: i + 1, ...cam })) };

interface AlarmSummary {
  id: string;
  status: string;
  presses: number;
  acknowledgedBy?: string;
  cameras: string[];
  bannerShownAt?: number;
}
interface SoundSummary {
  state: string;
  prompt: boolean;
  ringing: boolean;
  beeps: number;
}

const alarmsOf = (page: Page) => page.evaluate('window.c5.alarms()') as Promise<AlarmSummary[]>;
const soundOf = (page: Page) => page.evaluate('window.c5.alarmSound()') as Promise<SoundSummary>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const onWall = (tiles: ConsoleTile[]) => tiles.map((x) => x.cameraId).filter((id): id is string => id !== undefined);
const playing = (tiles: ConsoleTile[], codes: string[]) => codes.every((code) => tiles.some((x) => x.cameraId === code && x.state === 'live' && x.videoWidth > 0));
const noHorizontalScroll = (page: Page) =>
  page.evaluate(() => {
    const root = document.documentElement;
    const sidebar = document.querySelector('.sidebar')!;
    return root.scrollWidth <= root.clientWidth && sidebar.scrollWidth <= sidebar.clientWidth;
  });

describe('panic alarms in the console, headless Chromium at 1024x768 without an autoplay flag (issue 22)', function () {
  this.timeout(180_000);
  let sim: Simulator;
  let t: TestApp;
  let chromium: LaunchedChromium;
  let consoleDir: string;
  let adminToken: string;
  /** Operator A clicks (sound enabled), shows cameras, acknowledges, closes; B never gets a gesture and has the auto-switch on. */
  let a: Page;
  let b: Page;
  let aName: string;
  let errors: string[];
  let device: { code: string; key: string };
  let alarmId: string;
  let incidentId: string;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.app.consoleUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  /** What a device sends: a signed POST /api/alarms. */
  const press = async (from: { code: string; key: string }) => {
    const body = JSON.stringify({ type: 'alarm' });
    const res = await fetch(`${t.app.consoleUrl}/api/alarms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signedHeaders({ deviceCode: from.code, keyHex: from.key, body }) },
      body,
    });
    return { status: res.status, body: (await res.json()) as { outcome: string; alarmId: string; incidentId: string; cameras: number } };
  };
  const card = (id: string) => `li.alarm[data-alarm-id="${id}"]`;

  before(async () => {
    // The shared launch flags must stay free of any autoplay policy: the sound has to wait for a gesture here.
    expect(CHROMIUM_ARGS.filter((arg) => /autoplay/i.test(arg))).to.deep.equal([]);
    consoleDir = mkdtempSync(join(tmpdir(), 'c5-console-'));
    await buildClient(consoleDir);
    sim = await Simulator.start({ config: simConfig });
    // Re-announcements (30 s by default) would ring again mid-test; pushed out of the way.
    t = await startTestApp({ http: { consoleDir }, alarms: { reannounceS: 600 } });
    for (const c of CAMERAS) {
      const input: CameraCreate = {
        code: c.code,
        name: `Camera ${c.code}`,
        area: 'agency',
        owner: { kind: 'organisation', name: 'Owner' },
        category: 'street',
        municipality: 'Norte',
        location: north(c.metres),
        mainUrl: sim.url(c.code),
        transport: 'tcp',
        alwaysOn: false,
        tags: [],
      };
      await t.app.catalog.create(input, { status: 'approved' });
    }
    adminToken = await t.token('admin');
    const created = await api('POST', '/api/alarm-devices', {
      code: 'BTN-MERCADO-1',
      name: 'Market stall button',
      kind: 'fixed_button',
      owner: { name: 'Tienda La Esquina', phone: '+52 55 1234 5678' },
      location: ZOCALO,
      address: 'Calle 5 de Mayo 12',
      area: 'agency',
      municipality: 'Norte',
      cameras: ['z-alarm-link'],
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    device = { code: created.body.device.code, key: created.body.httpKey };

    chromium = await launchChromium({ viewport: { width: 1024, height: 768 } });
    a = await chromium.newPage();
    b = await chromium.newPage();
    errors = [...collectPageErrors(a), ...collectPageErrors(b)];
    const scope = { areas: ['agency' as const], municipalities: ['Norte'] };
    const aId = await t.user('operator', scope);
    const bId = await t.user('operator', scope);
    aName = t.app.users.get(aId).username;
    await openConsole(a, `${t.app.consoleUrl}/#code=${t.app.loginCodes.issue({ userId: aId, role: 'operator' })}`);
    await openConsole(b, `${t.app.consoleUrl}/#code=${t.app.loginCodes.issue({ userId: bId, role: 'operator' })}`);
  });

  after(async () => {
    await chromium?.close();
    await t?.close();
    await sim?.stop();
    if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
  });

  it('before any gesture the sound is suspended and both consoles ask for a click; a click on the prompt enables it', async () => {
    for (const page of [a, b]) {
      await page.waitForSelector('#alarm-banner:not([hidden])');
      expect(await soundOf(page)).to.deep.include({ state: 'suspended', prompt: true, ringing: false, beeps: 0 });
      expect(await page.isVisible('#alarm-sound-enable')).to.equal(true);
      expect(await page.textContent('#alarm-sound-enable')).to.equal('Click to enable alarm sound');
    }
    await a.click('#alarm-sound-enable');
    await a.waitForFunction("window.c5.alarmSound().state === 'running'", undefined, { timeout: 5000 });
    await a.waitForSelector('#alarm-sound-enable', { state: 'hidden' });
    expect(await soundOf(a)).to.deep.include({ state: 'running', prompt: false, ringing: false });
    // B was never clicked: still suspended, still asking.
    expect(await soundOf(b)).to.deep.include({ state: 'suspended', prompt: true });
  });

  it("a signed press reaches both banners; A rings, B shows the prompt; B's wall switches by itself to the alarm's cameras, playing", async () => {
    // B wants the wall switched automatically (set without a gesture); A does not.
    await b.evaluate('window.c5.setAutoSwitch(true)');
    expect(await b.isChecked('#alarm-auto-switch')).to.equal(true);
    expect(await a.isChecked('#alarm-auto-switch')).to.equal(false);
    // Both walls start with the fillers (first cameras of the list), none of the alarm's.
    for (const page of [a, b]) {
      const tiles = await waitForTiles(page, (all) => onWall(all).length === 4, 20_000);
      expect(onWall(tiles).filter((code) => ALARM_CAMERAS.includes(code))).to.deep.equal([]);
    }
    const aWallBefore = onWall(await consoleTiles(a));

    const pressedAt = Date.now();
    const pressed = await press(device);
    expect(pressed.status).to.equal(201);
    expect(pressed.body).to.include({ outcome: 'opened', cameras: 2 });
    ({ alarmId, incidentId } = pressed.body);
    // B's auto-switch is timed from now, while the banners are checked.
    const bPlaying = waitForTiles(b, (all) => playing(all, ALARM_CAMERAS), 15_000).then((tiles) => ({ tiles, at: Date.now() }));
    bPlaying.catch(() => undefined);

    for (const [name, page] of [['A', a], ['B', b]] as const) {
      await page.waitForSelector(card(alarmId), { timeout: 10_000 });
      const [alarm] = await alarmsOf(page);
      expect(alarm).to.deep.include({ id: alarmId, status: 'open', presses: 1, cameras: ALARM_CAMERAS });
      console.log(`      press (signed POST) -> operator ${name}'s banner: ${Math.round(alarm!.bannerShownAt! - pressedAt)} ms`);
      const li = card(alarmId);
      expect(await page.getAttribute(li, 'data-status')).to.equal('open');
      expect(await page.textContent(`${li} .alarm-status`)).to.equal('Open');
      expect(await page.textContent(`${li} .alarm-place`)).to.equal('Calle 5 de Mayo 12 · Norte');
      expect(await page.textContent(`${li} .alarm-device`)).to.match(/^Market stall button \(/);
      expect(await page.textContent(`${li} .alarm-owner`)).to.contain('Tienda La Esquina');
      expect(await page.getAttribute(`${li} .alarm-owner a.alarm-phone`, 'href')).to.equal('tel:+525512345678');
      expect(await page.textContent(`${li} .alarm-presses`)).to.equal('pressed once');
      expect(await page.getAttribute(`${li} .alarm-camera[data-code="z-alarm-link"]`, 'data-linked')).to.equal('true');
      expect(await page.getAttribute(`${li} .alarm-camera[data-code="z-alarm-near"]`, 'data-linked')).to.equal('false');
      expect(await page.textContent(`${li} .alarm-camera[data-code="z-alarm-near"]`)).to.match(/\d+\s*m/);
      expect(await page.$(`${li} .alarm-camera[data-code="z-alarm-far"]`)).to.equal(null);
      expect(await page.getAttribute('#alarm-banner', 'data-ringing')).to.equal('true');
      expect(await page.isVisible(`${li} [data-action="acknowledge"]`)).to.equal(true);
      expect(await noHorizontalScroll(page), `operator ${name}: no horizontal scroll at 1024x768 with the banner`).to.equal(true);
    }

    // A's audio runs: it rings and beeps keep being scheduled.
    await a.waitForFunction('window.c5.alarmSound().ringing && window.c5.alarmSound().beeps > 0', undefined, { timeout: 5000 });
    const beepsBefore = (await soundOf(a)).beeps;
    await sleep(2000);
    const soundA = await soundOf(a);
    expect(soundA).to.deep.include({ state: 'running', ringing: true, prompt: false });
    expect(soundA.beeps, 'beeps scheduled over 2 s').to.be.greaterThan(beepsBefore);
    // B was never clicked: it would ring but its audio is suspended, so it asks for the click.
    const soundB = await soundOf(b);
    expect(soundB).to.deep.include({ state: 'suspended', ringing: true, prompt: true, beeps: 0 });
    expect(await b.isVisible('#alarm-sound-enable')).to.equal(true);

    // B's auto-switch put the alarm's cameras on its wall, and they play.
    const { tiles: bTiles, at: bPlayingAt } = await bPlaying;
    console.log(`      press -> operator B's wall (auto-switch) playing the alarm's cameras: ${bPlayingAt - pressedAt} ms`);
    expect(onWall(bTiles)).to.include.members(ALARM_CAMERAS);
    // A did not ask for it: its wall did not move.
    expect(onWall(await consoleTiles(a))).to.deep.equal(aWallBefore);
  });

  it('"Show cameras" on A: the wall switches to the alarm\'s cameras and they play (frames advance)', async () => {
    // A empties its wall first (clicks: the gesture is no longer needed, the sound runs already).
    for (;;) {
      const close = await a.$('.tile[data-camera-id] [data-action="close"]');
      if (!close) break;
      await close.click({ force: true });
    }
    expect(onWall(await consoleTiles(a))).to.deep.equal([]);

    const clickedAt = Date.now();
    await a.click(`${card(alarmId)} [data-action="show-cameras"]`);
    const tiles = await waitForTiles(a, (all) => playing(all, ALARM_CAMERAS), 15_000);
    console.log(`      "Show cameras" click -> operator A's wall playing the alarm's cameras: ${Date.now() - clickedAt} ms`);
    expect(onWall(tiles).sort()).to.deep.equal([...ALARM_CAMERAS].sort());
    // Frames keep coming on both walls: presented frames and media time advance (15 fps cameras).
    // Every tile of both walls is sampled over the same 1.5 s (one sampler per video, at once).
    const walls = [['A', a], ['B', b]] as const;
    const sampled = await Promise.all(walls.flatMap(([, page]) => ALARM_CAMERAS.map((code) => sampleVideoTimed(page, `.tile[data-camera-id="${code}"]`, { durationMs: 1500 }))));
    for (const [wall, [name]] of walls.entries()) {
      for (const [index, code] of ALARM_CAMERAS.entries()) {
        const samples = sampled[wall * ALARM_CAMERAS.length + index]!;
        expect(samples.length, `${name}, ${code}: frames presented in 1.5 s`).to.be.greaterThan(5);
        expect(samples.every((s) => s.width === 320 && s.height === 180)).to.equal(true);
        const first = samples[0]!;
        const last = samples[samples.length - 1]!;
        expect(last.mediaTime, `${name}, ${code}: media time advances`).to.be.greaterThan(first.mediaTime + 0.5);
        expect(last.presentedFrames).to.be.greaterThan(first.presentedFrames);
      }
    }
  });

  it("a reloaded console (B reconnects) gets the open alarm back in its banner", async () => {
    await b.reload();
    await b.waitForFunction('window.c5 !== undefined && window.c5.ready === true', undefined, { timeout: 20_000, polling: 100 });
    await b.waitForSelector(card(alarmId), { timeout: 10_000 });
    expect(await alarmsOf(b)).to.have.length(1);
    expect((await alarmsOf(b))[0]).to.deep.include({ id: alarmId, status: 'open' });
    expect(await b.getAttribute('#alarm-banner', 'data-ringing')).to.equal('true');
    expect(await soundOf(b)).to.deep.include({ state: 'suspended', ringing: true, prompt: true });
    // The auto-switch setting is remembered for the user.
    expect(await b.isChecked('#alarm-auto-switch')).to.equal(true);
  });

  it('A acknowledges: B sees who took it and the ringing stops on both', async () => {
    const clickedAt = Date.now();
    await a.click(`${card(alarmId)} [data-action="acknowledge"]`);
    await b.waitForSelector(`${card(alarmId)}[data-status="acknowledged"]`, { timeout: 10_000 });
    console.log(`      acknowledge click on A -> "Acknowledged by" on B: ${Date.now() - clickedAt} ms`);
    expect(await b.textContent(`${card(alarmId)} .alarm-status`)).to.equal(`Acknowledged by ${aName}`);
    await a.waitForSelector(`${card(alarmId)}[data-status="acknowledged"]`);
    expect(await a.textContent(`${card(alarmId)} .alarm-status`)).to.equal(`Acknowledged by ${aName}`);
    for (const page of [a, b]) {
      expect((await alarmsOf(page))[0]).to.deep.include({ status: 'acknowledged', acknowledgedBy: aName });
      await page.waitForFunction('window.c5.alarmSound().ringing === false', undefined, { timeout: 5000 });
      expect(await page.getAttribute('#alarm-banner', 'data-ringing')).to.equal('false');
      expect(await page.isVisible(`${card(alarmId)} [data-action="acknowledge"]`)).to.equal(false);
    }
    // No beep is scheduled any more on A.
    const beeps = (await soundOf(a)).beeps;
    await sleep(1000);
    expect((await soundOf(a)).beeps).to.equal(beeps);
  });

  it("A closes it as a false alarm: both banners empty, and the alarm's incident is closed", async () => {
    const li = card(alarmId);
    await a.click(`${li} [data-action="close"]`);
    await a.click(`${li} [data-action="close-alarm"]`);
    // Nothing sent without a disposition.
    expect(await a.textContent(`${li} .alarm-close-form .form-status`)).to.equal('Choose what the alarm was');
    await a.selectOption(`${li} select[data-field="disposition"]`, 'false');
    await a.fill(`${li} textarea[data-field="note"]`, 'customer pressed it by mistake');
    const clickedAt = Date.now();
    await a.click(`${li} [data-action="close-alarm"]`);
    for (const page of [a, b]) {
      await page.waitForFunction('window.c5.alarms().length === 0', undefined, { timeout: 10_000 });
      expect(await page.$(li)).to.equal(null);
      expect(await page.textContent('#alarm-summary')).to.equal('No alarm');
      expect(await page.getAttribute('#alarm-banner', 'data-ringing')).to.equal('false');
    }
    console.log(`      close click on A -> both banners empty: ${Date.now() - clickedAt} ms`);
    const incident = await api('GET', `/api/incidents/${incidentId}`);
    expect(incident.status).to.equal(200);
    expect(incident.body.status).to.equal('closed');
  });

  it('a device with no camera around: the banner says so (and Show cameras is off)', async () => {
    const created = await api('POST', '/api/alarm-devices', {
      code: 'BTN-CAMPO-2',
      name: 'Farm gate button',
      kind: 'fixed_button',
      owner: { name: 'Rancho Norte' },
      location: north(20_000),
      area: 'agency',
      municipality: 'Norte',
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const pressed = await press({ code: created.body.device.code, key: created.body.httpKey });
    expect(pressed.status).to.equal(201);
    expect(pressed.body).to.include({ outcome: 'opened', cameras: 0 });
    for (const page of [a, b]) {
      const li = card(pressed.body.alarmId);
      await page.waitForSelector(li, { timeout: 10_000 });
      expect(await page.textContent(`${li} .alarm-no-camera`)).to.equal('no camera nearby');
      expect(await page.$(`${li} .alarm-camera`)).to.equal(null);
      expect(await page.isDisabled(`${li} [data-action="show-cameras"]`)).to.equal(true);
      expect(await noHorizontalScroll(page), 'no horizontal scroll at 1024x768 with the banner').to.equal(true);
    }
    // B's auto-switch had nothing to show: the alarm's cameras from before stay.
    expect(onWall(await consoleTiles(b))).to.include.members(ALARM_CAMERAS);
    const closed = await api('POST', `/api/alarms/${pressed.body.alarmId}/close`, { disposition: 'test' });
    expect(closed.status).to.equal(200);
    for (const page of [a, b]) await page.waitForFunction('window.c5.alarms().length === 0', undefined, { timeout: 10_000 });
    expect(errors, 'page errors').to.deep.equal([]);
  });

  it('a panic event from the SIA DC-09 test panel, encrypted over TCP and clear over UDP, reaches both consoles with its cameras playing (issue 23)', async () => {
    const port = t.app.dc09!.port;
    /**
     * Two panels: one at the far camera (1 km north), linked to a filler camera, requiring AES-128
     * (its cameras: the filler, linked, and the far one, 0 m off); one at the Zócalo sending clear
     * frames, linked like the button (its cameras: the button's two).
     */
    const panels = [
      {
        name: 'encrypted ADM-CID 1120 over TCP',
        device: { code: 'PANEL-FARMACIA-3', name: 'Pharmacy alarm panel', location: north(1000), address: 'Av. Juárez 40', cameras: ['a-fill-1'], dc09: { account: '1234', encryption: 'aes128' } },
        transport: 'tcp' as const,
        event: { token: 'ADM-CID', data: '1120 01 015' } satisfies Dc09Event,
        expected: ['a-fill-1', 'z-alarm-far'],
      },
      {
        name: 'clear SIA PA over UDP',
        device: { code: 'PANEL-JOYERIA-4', name: 'Jewellery alarm panel', location: ZOCALO, address: 'Calle Madero 8', cameras: ['z-alarm-link'], dc09: { account: '5678', encryption: 'none' } },
        transport: 'udp' as const,
        event: { token: 'SIA-DCS', data: 'Nri1/PA501' } satisfies Dc09Event,
        expected: ALARM_CAMERAS,
      },
    ];
    for (const { name, device, transport, event, expected } of panels) {
      const created = await api('POST', '/api/alarm-devices', { ...device, kind: 'alarm_panel', owner: { name: `Owner of ${device.code}` }, area: 'agency', municipality: 'Norte' });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      const keyHex = created.body.dc09Key as string | undefined;
      expect(Boolean(keyHex), 'a key is issued for an encrypted panel only').to.equal(device.dc09.encryption !== 'none');
      const panel = new Dc09Panel({ host: '127.0.0.1', port, transport, account: device.dc09.account, ...(keyHex && { keyHex }), ackTimeoutMs: 1500 });
      try {
        // The wall of neither operator holds these cameras all playing now: what follows is their switch, not a leftover.
        for (const page of [a, b]) expect(playing(await consoleTiles(page), expected)).to.equal(false);
        const pressedAt = Date.now();
        const sent = await panel.send(event);
        expect(sent.answer, `${name}: ${JSON.stringify(sent.raw)}`).to.equal('ACK');
        expect(sent.answers.at(-1)!.encrypted, 'the ACK is encrypted like the frame').to.equal(keyHex !== undefined);
        const bPlaying = waitForTiles(b, (all) => playing(all, expected), 15_000).then((tiles) => ({ tiles, at: Date.now() }));
        bPlaying.catch(() => undefined);

        let alarmId = '';
        for (const [who, page] of [['A', a], ['B', b]] as const) {
          await page.waitForFunction(`window.c5.alarms().some((x) => x.cameras.includes(${JSON.stringify(expected[0])}) && x.status === 'open')`, undefined, { timeout: 10_000, polling: 20 });
          const alarm = (await alarmsOf(page)).find((x) => x.cameras.includes(expected[0]!) && x.status === 'open')!;
          alarmId = alarm.id;
          expect([...alarm.cameras].sort()).to.deep.equal([...expected].sort());
          await page.waitForSelector(card(alarmId), { timeout: 10_000 });
          expect(await page.textContent(`${card(alarmId)} .alarm-device`)).to.match(new RegExp(`^${device.name} \\(`));
          expect(await page.textContent(`${card(alarmId)} .alarm-place`)).to.equal(`${device.address} · Norte`);
          console.log(`      DC-09 ${name}: press -> operator ${who}'s banner ${Math.round(alarm.bannerShownAt! - pressedAt)} ms (panel ACK after ${Math.round(sent.rttMs)} ms)`);
        }
        const stored = await api('GET', `/api/alarms/${alarmId}`);
        expect(stored.status).to.equal(200);
        expect(stored.body.source ?? stored.body.alarm?.source).to.equal('dc09');

        // B: the auto-switch; A: "Show cameras".
        const { tiles: bTiles, at: bAt } = await bPlaying;
        console.log(`      DC-09 ${name}: press -> operator B's wall (auto-switch) playing ${bAt - pressedAt} ms`);
        expect(onWall(bTiles)).to.include.members(expected);
        const clickedAt = Date.now();
        await a.click(`${card(alarmId)} [data-action="show-cameras"]`);
        const aTiles = await waitForTiles(a, (all) => playing(all, expected), 15_000);
        const aAt = Date.now();
        console.log(`      DC-09 ${name}: "Show cameras" click -> operator A's wall playing ${aAt - clickedAt} ms (press -> playing ${aAt - pressedAt} ms, clicked ${clickedAt - pressedAt} ms after the press)`);
        expect(onWall(aTiles).sort()).to.deep.equal([...expected].sort());

        const closed = await api('POST', `/api/alarms/${alarmId}/close`, { disposition: 'test' });
        expect(closed.status).to.equal(200);
        for (const page of [a, b]) await page.waitForFunction('window.c5.alarms().length === 0', undefined, { timeout: 10_000 });
      } finally {
        await panel.close();
      }
    }
    expect(errors, 'page errors').to.deep.equal([]);
  });
});
