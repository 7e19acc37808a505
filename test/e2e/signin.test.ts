/**
 * Sign-in with username and password in the console (headless Chromium): the form when there is
 * no session, the server's refusal, the signed-in user in the top bar and on window.c5.user(), a
 * reload keeping the session, Sign out, the rate limit's message, a disabled account ending the
 * session in the page, and a rights change turning a wall tile to "not allowed".
 *
 * No simulator: the app starts with no camera. The last test adds one at a closed local port
 * (its tile cannot play; it is about the tile's state, not video).
 */
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { collectPageErrors, launchChromium, type LaunchedChromium } from '../support/browser.ts';

const PASSWORD = 'correct horse battery staple';

interface PageState {
  formVisible: boolean;
  reason: string;
  error: string;
  signedIn: boolean;
  ready: boolean;
  connection: string;
  user: { username: string; role: string } | undefined;
}

/** A string, not a function: tsx's keepNames would add a __name() helper the page does not have. */
const READ_STATE = `(() => {
  const form = document.querySelector('#signin-form');
  const visible = (el) => !!el && el.getClientRects().length > 0;
  const text = (sel) => { const el = document.querySelector(sel); return el && visible(el) ? el.textContent.trim() : ''; };
  return {
    formVisible: visible(form),
    reason: text('#signed-out-reason'),
    error: text('#signin-error'),
    signedIn: window.c5 ? window.c5.signedIn : false,
    ready: window.c5 ? window.c5.ready : false,
    connection: window.c5 ? window.c5.connection : 'none',
    user: window.c5 ? window.c5.user() : undefined,
  };
})()`;

const readState = (page: Page) => page.evaluate(READ_STATE) as Promise<PageState>;

async function waitForState(page: Page, predicate: (state: PageState) => boolean, timeoutMs = 15_000, pollMs = 50): Promise<PageState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await readState(page);
    if (predicate(state)) return state;
    if (Date.now() >= deadline) throw new Error(`page did not reach the expected state in ${timeoutMs} ms: ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function submit(page: Page, username: string, password: string): Promise<void> {
  await page.fill('#signin-username', username);
  await page.fill('#signin-password', password);
  await page.click('#signin-submit');
}

/** Console errors Chromium logs by itself for refused requests: expected here. */
const expectedError = (line: string) => /status of (401|429)/.test(line) || /favicon/.test(line);

describe('console sign-in with username and password (headless Chromium)', function () {
  this.timeout(90_000);
  let t: TestApp;
  let chromium: LaunchedChromium;
  let page: Page;
  let errors: string[];
  let userId: string;
  const username = `signin-${process.pid}`;

  before(async () => {
    t = await startTestApp({ cameras: [] });
    const created = await t.app.users.createUser({
      username,
      displayName: 'Ana Operadora',
      role: 'operator',
      areas: ['agency', 'citizen'],
      municipalities: [],
      password: PASSWORD,
    });
    userId = created.id;
    chromium = await launchChromium();
    page = await chromium.newPage();
    errors = collectPageErrors(page);
  });

  after(async () => {
    await chromium?.close();
    await t?.close();
  });

  it('shows the sign-in form when there is no session', async () => {
    await page.goto(t.app.consoleUrl);
    const state = await waitForState(page, (s) => s.formVisible && s.connection === 'signed-out');
    expect(state.signedIn).to.equal(false);
    expect(state.user).to.equal(undefined);
    expect(await page.getAttribute('#signin-username', 'autocomplete')).to.equal('username');
    expect(await page.getAttribute('#signin-password', 'autocomplete')).to.equal('current-password');
    expect(await page.getAttribute('#signin-password', 'type')).to.equal('password');
    expect(await page.locator('#console').isVisible()).to.equal(false);
    expect(await page.locator('#sign-out').isVisible()).to.equal(false);
    await page.screenshot({ path: '/tmp/c5-signin-form.png' });
  });

  it("shows the server's message for a wrong password", async () => {
    await submit(page, username, 'not the password');
    const state = await waitForState(page, (s) => s.error !== '');
    expect(state.error.toLowerCase()).to.contain('wrong username or password');
    expect(state.signedIn).to.equal(false);
    expect(state.formVisible).to.equal(true);
    expect(await page.inputValue('#signin-password')).to.equal('');
    // An unknown user gets the same answer.
    await submit(page, `nobody-${process.pid}`, PASSWORD);
    await waitForState(page, (s) => s.error.toLowerCase().includes('wrong username or password') && !s.signedIn);
    await page.screenshot({ path: '/tmp/c5-signin-error.png' });
  });

  it('signs in with the right password and shows who is signed in', async () => {
    const started = Date.now();
    await submit(page, username, PASSWORD);
    const state = await waitForState(page, (s) => s.ready && s.user !== undefined, 20_000);
    console.log(`      sign-in to connected console: ${Date.now() - started} ms`);
    expect(state.user).to.deep.equal({ username, role: 'operator' });
    expect(state.formVisible).to.equal(false);
    expect(state.connection).to.equal('connected');
    expect((await page.textContent('#user-name'))?.trim()).to.equal('Ana Operadora');
    expect((await page.textContent('#user-role'))?.trim()).to.equal('operator');
    expect(await page.locator('#sign-out').isVisible()).to.equal(true);
    await page.screenshot({ path: '/tmp/c5-signed-in.png' });
    // Kept like the console link's token: sessionStorage only.
    expect(await page.evaluate('sessionStorage.getItem("c5.session") !== null')).to.equal(true);
    expect(await page.evaluate('localStorage.getItem("c5.session")')).to.equal(null);
  });

  it('keeps the session across a reload', async () => {
    await page.reload();
    const state = await waitForState(page, (s) => s.ready && s.user !== undefined, 20_000);
    expect(state.user).to.deep.equal({ username, role: 'operator' });
    expect(state.formVisible).to.equal(false);
  });

  it('signs out to the form, and signs in again without a reload', async () => {
    await page.evaluate('window.__noReload = true');
    const stored = JSON.parse((await page.evaluate('sessionStorage.getItem("c5.session")')) as string) as { token: string };
    await page.click('#sign-out');
    const out = await waitForState(page, (s) => s.formVisible && !s.signedIn);
    // Signed out on the server too: the token the page held is refused from now on.
    const deadline = Date.now() + 5000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await fetch(`${t.app.consoleUrl}/api/me`, { headers: { authorization: `Bearer ${stored.token}` } })).status;
      if (status === 401) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status, 'the signed-out token on /api/me').to.equal(401);
    expect(out.user).to.equal(undefined);
    expect(out.reason.toLowerCase()).to.contain('you signed out');
    expect(await page.evaluate('sessionStorage.getItem("c5.session")')).to.equal(null);
    await submit(page, username, PASSWORD);
    const back = await waitForState(page, (s) => s.ready && s.user !== undefined, 20_000);
    expect(back.user).to.deep.equal({ username, role: 'operator' });
    expect(await page.evaluate('window.__noReload')).to.equal(true);
  });

  it('ends the session in the page when the account is disabled', async () => {
    const started = Date.now();
    await t.app.users.updateUser(userId, { disabled: true });
    const state = await waitForState(page, (s) => s.formVisible && !s.signedIn, 10_000, 20);
    const elapsed = Date.now() - started;
    console.log(`      account disabled to sign-in form in the page: ${elapsed} ms`);
    expect(state.reason.toLowerCase()).to.contain('this account was disabled');
    expect(state.user).to.equal(undefined);
    expect(elapsed).to.be.lessThan(5000);
    await page.screenshot({ path: '/tmp/c5-signin-disabled.png' });
    // No reconnection with the refused token afterwards: still signed out a moment later.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await readState(page)).formVisible).to.equal(true);
    // A disabled account cannot sign in, and is told the same as a wrong password.
    await submit(page, username, PASSWORD);
    const refused = await waitForState(page, (s) => s.error !== '');
    expect(refused.error.toLowerCase()).to.contain('wrong username or password');
    expect(refused.signedIn).to.equal(false);
  });

  it('shows the rate limit with the time to wait', async () => {
    const other = `limited-${process.pid}`;
    await t.app.users.createUser({ username: other, displayName: 'Limited', role: 'operator', areas: ['agency'], municipalities: [], password: PASSWORD });
    let state: PageState | undefined;
    for (let attempt = 0; attempt < 10; attempt++) {
      await page.evaluate('document.querySelector("#signin-error").hidden = true');
      await submit(page, other, `wrong-${attempt}`);
      state = await waitForState(page, (s) => s.error !== '');
      if (/too many/i.test(state.error)) break;
    }
    console.log(`      rate-limit message: ${state?.error}`);
    expect(state?.error).to.match(/too many sign-in attempts/i);
    expect(state?.error).to.match(/try again in \d+ (s|min)\b/i);
    expect(state?.signedIn).to.equal(false);
  });

  it('turns a wall tile to "not allowed" when the rights change, and back when they return', async () => {
    const rightsUser = `rights-${process.pid}`;
    const created = await t.app.users.createUser({ username: rightsUser, displayName: 'Rights', role: 'operator', areas: ['agency'], municipalities: [], password: PASSWORD });
    // A camera at a closed local port: its tile tries and fails (no simulator needed).
    await t.app.catalog.ensureConfigured({ id: 'cam-closed', name: 'Closed port', url: 'rtsp://127.0.0.1:9/none', transport: 'tcp', alwaysOn: false, area: 'agency' });
    const second = await chromium.newPage();
    const secondErrors = collectPageErrors(second);
    try {
      await second.goto(t.app.consoleUrl);
      await waitForState(second, (s) => s.formVisible);
      await submit(second, rightsUser, PASSWORD);
      await waitForState(second, (s) => s.ready && s.user !== undefined, 20_000);
      const tileState = () => second.evaluate('window.c5.tiles().find((x) => x.cameraId === "cam-closed") || null') as Promise<{ state: string; reason?: string } | null>;
      const waitTile = async (predicate: (tile: { state: string; reason?: string } | null) => boolean, timeoutMs = 15_000) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const tile = await tileState();
          if (predicate(tile)) return tile;
          if (Date.now() >= deadline) throw new Error(`tile: ${JSON.stringify(tile)}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      const before = await waitTile((tile) => tile !== null && tile.state !== 'forbidden');
      expect(before?.state).to.not.equal('forbidden');

      const changed = Date.now();
      await t.app.users.updateUser(created.id, { areas: ['citizen'] });
      const forbidden = await waitTile((tile) => tile?.state === 'forbidden');
      console.log(`      rights changed to tile "not allowed": ${Date.now() - changed} ms (${forbidden?.reason})`);
      expect(forbidden?.reason).to.match(/not allowed/i);
      expect(await second.getAttribute('.tile[data-camera-id="cam-closed"]', 'data-state')).to.equal('forbidden');
      // The sidebar was listed again: the camera is gone from it.
      await second.waitForFunction('document.querySelector("#camera-summary")?.dataset.ready === "true" && !document.querySelector("#camera-list [data-camera-id=\\"cam-closed\\"]")', undefined, { timeout: 10_000 });
      // It stays "not allowed" (no retry every second turning it back to connecting).
      const samples: string[] = [];
      for (let i = 0; i < 20; i++) {
        samples.push((await tileState())?.state ?? 'none');
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      expect(new Set(samples)).to.deep.equal(new Set(['forbidden']));
      await second.screenshot({ path: '/tmp/c5-tile-forbidden.png' });

      const restored = Date.now();
      await t.app.users.updateUser(created.id, { areas: ['agency'] });
      await waitTile((tile) => tile !== null && tile.state !== 'forbidden');
      console.log(`      rights restored to tile trying again: ${Date.now() - restored} ms`);
      expect(secondErrors.filter((line) => !expectedError(line))).to.deep.equal([]);
    } finally {
      await second.context().close();
    }
    expect(errors.filter((line) => !expectedError(line))).to.deep.equal([]);
  });
});
