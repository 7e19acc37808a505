import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { buildClient } from '../../client/build.ts';
import type { CameraCreate } from '../../server/catalog/cameraSchemas.ts';
import { collectPageErrors, consoleTiles, launchChromium, openConsole, waitForTiles, type LaunchedChromium } from '../support/browser.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { Simulator, type SimulatorConfig } from '../support/simulator.ts';

/**
 * The console's incidents (issue 21) in headless Chromium at 1024x768, against the real server:
 * an operator opens an incident from the form (the cameras around it attach), puts a camera on the
 * wall with the keyboard, grants an investigator; the investigator's "My incidents" learns of it
 * live, fills the wall, warns in the last 10 minutes; the operator revokes (the tile shows the
 * server's reason) and closes the incident from the panel; break-glass puts its camera on the wall.
 */

const ZOCALO = { lat: 19.4326, lng: -99.1332 };
const north = (metres: number) => ({ lat: ZOCALO.lat + metres / 1000 / 111.32, lng: ZOCALO.lng });
const cam = { codec: 'h264', width: 320, height: 180, fps: 15, gop: 15, bitrateKbps: 300, profile: 'baseline' } as const;
const simConfig: SimulatorConfig = {
  cameras: [
    { id: 'inc-a', tag: 1, ...cam },
    { id: 'inc-c', tag: 2, ...cam },
    { id: 'far-a', tag: 3, ...cam },
    { id: 'bg-c', tag: 4, ...cam },
  ],
};
/** inc-a 100 m and inc-c 200 m from the incident (inc-c citizen, incident-only), far-a and bg-c 5 km off. */
const CAMERAS: Array<{ code: string; metres: number; citizen?: boolean }> = [
  { code: 'inc-a', metres: 100 },
  { code: 'inc-c', metres: 200, citizen: true },
  { code: 'far-a', metres: 5000 },
  { code: 'bg-c', metres: 5000, citizen: true },
];

const tile = (page: Page, cameraId: string) => consoleTiles(page).then((tiles) => tiles.find((t) => t.cameraId === cameraId));
const noHorizontalScroll = (page: Page) =>
  page.evaluate(() => {
    const root = document.documentElement;
    const sidebar = document.querySelector('.sidebar')!;
    return root.scrollWidth <= root.clientWidth && sidebar.scrollWidth <= sidebar.clientWidth;
  });

describe('incidents in the console, headless Chromium at 1024x768 (issue 21)', function () {
  this.timeout(180_000);
  let sim: Simulator;
  let t: TestApp;
  let chromium: LaunchedChromium;
  let consoleDir: string;
  let operator: Page;
  let investigator: Page;
  let investigatorId: string;
  let errors: string[];
  let incidentId: string;

  before(async () => {
    consoleDir = mkdtempSync(join(tmpdir(), 'c5-console-'));
    await buildClient(consoleDir);
    sim = await Simulator.start({ config: simConfig });
    t = await startTestApp({ http: { consoleDir }, incidents: { defaultRadiusM: 500 } });
    for (const c of CAMERAS) {
      const input: CameraCreate = {
        code: c.code,
        name: `Camera ${c.code}`,
        area: c.citizen ? 'citizen' : 'agency',
        owner: { kind: 'organisation', name: 'Owner', ...(c.citizen && { agreementRef: 'AG-1', enrolledBy: 'op' }) },
        category: 'street',
        municipality: 'Norte',
        location: north(c.metres),
        mainUrl: sim.url(c.code),
        transport: 'tcp',
        ...(c.citizen && { sharing: 'incident-only' as const }),
        alwaysOn: false,
        tags: [],
      };
      await t.app.catalog.create(input, { status: 'approved' });
    }
    chromium = await launchChromium({ viewport: { width: 1024, height: 768 } });
    operator = await chromium.newPage();
    investigator = await chromium.newPage();
    errors = [...collectPageErrors(operator), ...collectPageErrors(investigator)];
    investigatorId = await t.user('investigator');
  });

  after(async () => {
    await chromium?.close();
    await t?.close();
    await sim?.stop();
    if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
  });

  it('operator: opens an incident from the form, the cameras around it attach, one goes on the wall with the keyboard', async () => {
    await openConsole(operator, await t.consoleLink('operator'));
    await operator.click('#tab-incidents');
    await operator.waitForSelector('.incident-summary[data-ready="true"]');
    await operator.click('[data-action="new-incident"]');
    // The form says what is missing before anything is sent.
    await operator.fill('[data-field="title"]', 'Robbery at the market');
    await operator.click('.open-incident-form button[type="submit"]');
    expect(await operator.textContent('.open-incident-form .form-status')).to.equal('Choose a kind');
    await operator.selectOption('[data-field="kind"]', 'robbery');
    await operator.fill('[data-field="lat"]', `${ZOCALO.lat}, ${ZOCALO.lng}`);
    await operator.fill('[data-field="municipality"]', 'Norte');
    await operator.press('[data-field="municipality"]', 'Enter');
    await operator.waitForFunction('window.c5.incidents().length === 1');
    const [incident] = (await operator.evaluate('window.c5.incidents()')) as Array<{ id: string; title: string; status: string; cameras: string[] }>;
    expect(incident).to.deep.include({ title: 'Robbery at the market', status: 'open', cameras: ['inc-a', 'inc-c'] });
    incidentId = incident!.id;

    // The new incident is expanded: its incident-only citizen camera goes on the wall with Enter.
    await operator.focus(`[data-incident-id="${incidentId}"] button.incident-camera[data-code="inc-c"]`);
    await operator.keyboard.press('Enter');
    await waitForTiles(operator, (tiles) => tiles.some((x) => x.cameraId === 'inc-c' && x.state === 'live'), 30_000);
    expect(await noHorizontalScroll(operator), 'no horizontal scroll at 1024x768').to.equal(true);
  });

  it('investigator: "My incidents" learns of a grant live, fills the wall, warns in the last 10 minutes', async () => {
    await openConsole(investigator, `${t.app.consoleUrl}/#code=${t.app.loginCodes.issue({ userId: investigatorId, role: 'investigator' })}`);
    await investigator.waitForSelector('#tab-incidents[aria-selected="true"]');
    expect(await investigator.textContent('#tab-incidents')).to.equal('My incidents');
    await investigator.waitForSelector('.incident-summary[data-ready="true"]');
    expect(await investigator.evaluate('window.c5.myGrants()')).to.deep.equal([]);

    // The operator grants every camera of the incident for an hour, from the panel.
    const card = `[data-incident-id="${incidentId}"]`;
    await operator.click(`${card} [data-action="grant"]`);
    await operator.waitForSelector(`${card} [data-field="investigator"] option[value="${investigatorId}"]`, { state: 'attached' });
    await operator.selectOption(`${card} [data-field="investigator"]`, investigatorId);
    await operator.selectOption(`${card} [data-field="duration"]`, String(3_600_000));
    await operator.click(`${card} .grant-form button[type="submit"]`);
    await operator.waitForSelector(`${card} .grant[data-status="active"]`);

    await investigator.waitForFunction('window.c5.myGrants().length === 1', undefined, { timeout: 10_000 });
    const [mine] = (await investigator.evaluate('window.c5.myGrants()')) as Array<{ grantId: string; incidentId: string; cameras: string[]; msLeft: number }>;
    expect(mine).to.deep.include({ incidentId, cameras: ['inc-a', 'inc-c'] });
    expect(mine!.msLeft).to.be.within(58 * 60_000, 60 * 60_000);
    expect(await investigator.getAttribute(`.my-grant[data-grant-id="${mine!.grantId}"]`, 'data-urgency')).to.equal('ok');

    await investigator.click('[data-action="fill-wall"]');
    const tiles = await waitForTiles(investigator, (all) => ['inc-a', 'inc-c'].every((id) => all.some((x) => x.cameraId === id && x.state === 'live')), 30_000);
    expect(tiles.map((x) => x.cameraId).filter((id) => id !== undefined).sort()).to.deep.equal(['inc-a', 'inc-c']);

    // A second grant, on inc-a only, ending in 9 minutes: a visible warning.
    const operatorToken = await t.token('operator');
    const res = await fetch(`${t.app.consoleUrl}/api/incidents/${incidentId}/grants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ investigator: investigatorId, scope: 'cameras', cameras: ['inc-a'], endsAt: new Date(Date.now() + 9 * 60_000).toISOString() }),
    });
    expect(res.status).to.equal(201);
    await investigator.waitForFunction('window.c5.myGrants().length === 2', undefined, { timeout: 10_000 });
    await investigator.waitForSelector('.my-grant[data-urgency="warning"]');
    expect(await investigator.isVisible('.grant-alert')).to.equal(true);
    expect(await investigator.textContent('.grant-alert')).to.match(/^Access to "Robbery at the market" ends at /);
    expect(await noHorizontalScroll(investigator), 'no horizontal scroll at 1024x768').to.equal(true);
  });

  it('operator revokes from the panel: the tile shows the server\'s reason; closing the incident ends the rest', async () => {
    const card = `[data-incident-id="${incidentId}"]`;
    const hourGrant = ((await investigator.evaluate('window.c5.myGrants()')) as Array<{ grantId: string; cameras: string[] }>).find((g) => g.cameras.length === 2)!;
    await operator.click(`${card} [data-grant-id="${hourGrant.grantId}"] [data-action="revoke"]`);
    await operator.fill(`${card} [data-grant-id="${hourGrant.grantId}"] input`, 'case handed over');
    const revokedAt = Date.now();
    await operator.keyboard.press('Enter');
    // inc-c was granted only by the revoked grant; inc-a still is, by the short one.
    await waitForTiles(investigator, (all) => all.some((x) => x.cameraId === 'inc-c' && x.state === 'forbidden'), 10_000);
    const stoppedMs = Date.now() - revokedAt;
    console.log(`      revoke (Enter in the operator's panel) -> investigator's tile "not allowed" with the reason: ${stoppedMs} ms`);
    // The bound is a second; a loaded CI machine gets some slack here (the server-side stop is asserted under 1 s elsewhere).
    expect(stoppedMs).to.be.lessThan(3000);
    await operator.waitForSelector(`${card} [data-grant-id="${hourGrant.grantId}"][data-status="revoked"]`);
    expect((await tile(investigator, 'inc-c'))?.reason).to.match(/revoked: case handed over/);
    await investigator.waitForFunction('window.c5.myGrants().length === 1', undefined, { timeout: 10_000 });
    expect((await tile(investigator, 'inc-a'))?.state).to.equal('live');

    // Closing needs a disposition and a note.
    await operator.click(`${card} [data-action="close"]`);
    await operator.click(`${card} .close-form button[type="submit"]`);
    expect(await operator.textContent(`${card} .close-form .form-status`)).to.equal('Choose how the incident ended');
    await operator.selectOption(`${card} [data-field="disposition"]`, 'resolved');
    await operator.fill(`${card} [data-field="note"]`, 'suspect arrested');
    const closedAt = Date.now();
    await operator.click(`${card} .close-form button[type="submit"]`);
    await waitForTiles(investigator, (all) => all.some((x) => x.cameraId === 'inc-a' && x.state === 'forbidden'), 10_000);
    console.log(`      close (click in the operator's panel) -> investigator's last tile "not allowed": ${Date.now() - closedAt} ms`);
    await operator.waitForFunction('window.c5.incidents().length === 0', undefined, { timeout: 10_000 });
    expect((await tile(investigator, 'inc-a'))?.reason).to.match(/closed/);
    await investigator.waitForFunction('window.c5.myGrants().length === 0', undefined, { timeout: 10_000 });
  });

  it('operator: break-glass on an incident-only camera puts it on the wall', async () => {
    await operator.click('[data-action="break-glass"]');
    await operator.fill('[data-field="camera"]', 'bg-c');
    await operator.fill('[data-field="reason"]', 'armed suspect seen near the park');
    await operator.click('.break-glass-form button[type="submit"]');
    await waitForTiles(operator, (tiles) => tiles.some((x) => x.cameraId === 'bg-c' && x.state === 'live'), 30_000);
    expect(await operator.textContent('.break-glass-form .form-status')).to.match(/^Break glass: bg-c may be watched until /);
    expect(errors.filter((e) => !/status of 4\d\d/.test(e)), 'page errors').to.deep.equal([]);
  });

  it("operator: the camera list follows the incidents (an incident's incident-only camera listed while it is open)", async () => {
    const admin = await t.token('admin');
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${t.app.consoleUrl}${path}`, { method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
      expect(res.status, `${method} ${path}`).to.be.oneOf([200, 201]);
      return (await res.json()) as any;
    };
    const listed = '!!document.querySelector(\'li.camera[data-camera-id="inc-c"]\')';
    const incident = await api('POST', '/api/incidents', { title: 'Listed', kind: 'robbery', location: ZOCALO, municipality: 'Norte' });
    expect(incident.cameras.map((camera: { code: string }) => camera.code)).to.include('inc-c');
    await operator.waitForFunction(listed, undefined, { timeout: 3000 });
    await api('POST', `/api/incidents/${incident.id}/close`, { disposition: 'other', note: 'test over' });
    await operator.waitForFunction(`!${listed}`, undefined, { timeout: 3000 });
  });

  it("operator: the incidents panel follows a change of the operator's municipalities at once", async () => {
    const admin = await t.token('admin');
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${t.app.consoleUrl}${path}`, { method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
      expect(res.status, `${method} ${path}`).to.be.oneOf([200, 201]);
      return (await res.json()) as any;
    };
    const sur = await api('POST', '/api/incidents', { title: 'Fire in Sur', kind: 'fire', location: ZOCALO, municipality: 'Sur', autoAttach: false });
    const shown = `window.c5.incidents().some((incident) => incident.id === ${JSON.stringify(sur.id)})`;
    await operator.waitForFunction(shown, undefined, { timeout: 3000 });
    const { username } = (await operator.evaluate('window.c5.user()')) as { username: string };
    const me = (await api('GET', '/api/users')).items.find((user: { username: string }) => user.username === username);
    await api('PATCH', `/api/users/${me.id}`, { municipalities: ['Norte'] });
    // Sur is no longer the operator's: its incident leaves the panel without a reload or a Refresh.
    await operator.waitForFunction(`!${shown}`, undefined, { timeout: 3000 });
    await api('PATCH', `/api/users/${me.id}`, { municipalities: ['Norte', 'Sur'] });
    await operator.waitForFunction(shown, undefined, { timeout: 3000 });
    await api('POST', `/api/incidents/${sur.id}/close`, { disposition: 'other', note: 'test over' });
  });
});
