import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';

/**
 * GET /api/grants/mine (issue 21) lists, per live grant, "the cameras the grant lets the investigator
 * watch now" (OpenAPI): the same cameras the camera list gives them, not a suspended or retired one
 * still attached to the incident (the console fills the wall with that list).
 */
describe('my grants: the cameras they let me watch now (issue 21)', function () {
  this.timeout(60_000);
  let t: TestApp;

  before(async () => {
    t = await startTestApp({ ingest: { workers: 0 }, media: { workers: 1 } } as never);
  });
  after(() => t.close());

  it('leaves out an attached camera that was suspended or retired since, as GET /api/cameras does', async () => {
    for (const code of ['M1', 'M2', 'M3']) {
      await t.app.catalog.create(
        { code, name: code, area: 'agency', owner: { kind: 'organisation', name: 'O' }, category: 'street', municipality: 'Norte', location: { lat: 25, lng: -100 }, mainUrl: 'rtsp://127.0.0.1:1/x', transport: 'tcp', alwaysOn: false, tags: [] } as never,
        { status: 'approved' },
      );
    }
    const admin = await t.token('admin');
    const investigatorId = await t.user('investigator', {});
    const investigator = t.app.tokens.issue({ userId: investigatorId, role: 'investigator', authTime: Math.floor(Date.now() / 1000) }).token;
    const api = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${t.app.consoleUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
      expect(res.status, `${method} ${path}`).to.be.oneOf([200, 201]);
      return (await res.json()) as any;
    };
    const incident = await api(admin, 'POST', '/api/incidents', { title: 'Robbery', kind: 'robbery', location: { lat: 25, lng: -100 }, municipality: 'Norte', autoAttach: false });
    await api(admin, 'POST', `/api/incidents/${incident.id}/cameras`, { cameras: ['M1', 'M2', 'M3'] });
    await api(admin, 'POST', `/api/incidents/${incident.id}/grants`, { investigator: investigatorId, scope: 'all' });
    await api(admin, 'POST', '/api/cameras/M2/suspend', { reason: 'maintenance' });
    await api(admin, 'DELETE', '/api/cameras/M3');
    const listed = (await api(investigator, 'GET', '/api/cameras')).items.map((camera: { code: string }) => camera.code);
    const mine = (await api(investigator, 'GET', '/api/grants/mine')).items;
    expect(listed).to.deep.equal(['M1']);
    expect(mine.map((item: { cameras: string[] }) => item.cameras)).to.deep.equal([listed]);
  });
});
