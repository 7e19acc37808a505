import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';

describe('HTTP API', function () {
  this.timeout(30_000);
  let t: TestApp;
  let base: string;
  before(async () => {
    t = await startTestApp({});
    base = t.app.consoleUrl;
  });
  after(async () => t?.close());

  const post = (path: string, body: string, type = 'application/json') =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': type }, body });

  it('signs in once with a login code, and never again with the same code', async () => {
    const userId = await t.user('operator');
    const code = t.app.loginCodes.issue({ userId, role: 'operator' });
    const first = await post('/api/auth/code', JSON.stringify({ code }));
    expect(first.status).to.equal(200);
    const token = (await first.json()) as { token: string; expiresAt: number };
    expect(t.app.tokens.verify(token.token)).to.include({ userId, role: 'operator' });
    const second = await post('/api/auth/code', JSON.stringify({ code }));
    expect(second.status).to.equal(401);
    expect(((await second.json()) as { error: { code: string } }).error.code).to.equal('unauthenticated');
  });

  it('answers bad bodies with 400 and a stable code', async () => {
    for (const [body, type] of [['{nope', 'application/json'], [JSON.stringify({ code: 5 }), 'application/json'], [JSON.stringify({ code: 'abcdefghijk', more: 1 }), 'application/json'], ['code=abc', 'text/plain']]) {
      const res = await post('/api/auth/code', body!, type);
      expect(res.status, body).to.equal(400);
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(json.error.code, body).to.equal('invalid_request');
    }
  });

  it('serves the console, health and readiness; unknown API paths are 404 JSON', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.contain('app.js');
    expect((await fetch(`${base}/healthz`)).status).to.equal(200);
    expect((await fetch(`${base}/readyz`)).status).to.equal(200);
    const missing = await fetch(`${base}/api/nothing`);
    expect(missing.status).to.equal(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).to.equal('not_found');
  });
});
