import { expect } from 'chai';
import { Simulator } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { connectClient, ok, request, type ClientSocket } from '../support/signallingClient.ts';
import type { Role } from '../../server/auth/Identity.ts';
import type { CameraArea } from '../../server/catalog/CameraRecord.ts';

/** The cameras of the matrix (all approved). */
const CAMERAS = [
  { code: 'A1', area: 'agency', municipality: 'Norte' },
  { code: 'A2', area: 'agency', municipality: 'Sur' },
  { code: 'C1', area: 'citizen', municipality: 'Norte', sharing: 'live' },
  { code: 'C2', area: 'citizen', municipality: 'Norte', sharing: 'incident-only' },
  { code: 'C3', area: 'citizen', municipality: 'Sur', sharing: 'live' },
] as const;

/**
 * The authorization matrix, written out by hand (not computed by the policy under test):
 * who may see (list, get, consume) which camera, and who may administer.
 */
const MATRIX: Array<{ name: string; role: Role; areas: CameraArea[]; municipalities: string[]; sees: string[]; admin: boolean }> = [
  { name: 'admin', role: 'admin', areas: [], municipalities: [], sees: ['A1', 'A2', 'C1', 'C2', 'C3'], admin: true },
  { name: 'operator, both areas, all municipalities', role: 'operator', areas: ['agency', 'citizen'], municipalities: [], sees: ['A1', 'A2', 'C1', 'C3'], admin: false },
  { name: 'operator, agency, Norte', role: 'operator', areas: ['agency'], municipalities: ['Norte'], sees: ['A1'], admin: false },
  { name: 'operator, citizen, Sur', role: 'operator', areas: ['citizen'], municipalities: ['Sur'], sees: ['C3'], admin: false },
  { name: 'supervisor, citizen, all municipalities', role: 'supervisor', areas: ['citizen'], municipalities: [], sees: ['C1', 'C3'], admin: false },
  { name: 'supervisor, both areas, Norte', role: 'supervisor', areas: ['agency', 'citizen'], municipalities: ['Norte'], sees: ['A1', 'C1'], admin: false },
  { name: 'supervisor, no areas', role: 'supervisor', areas: [], municipalities: [], sees: [], admin: false },
  { name: 'investigator, both areas', role: 'investigator', areas: ['agency', 'citizen'], municipalities: [], sees: [], admin: false },
];

describe('authorization: roles, areas, municipalities, sharing', function () {
  this.timeout(180_000);
  let sim: Simulator;
  let t: TestApp;
  /** Database ids by code: only to check that the deprecated id alias follows the same visibility. */
  const ids: Record<string, string> = {};
  const sockets: ClientSocket[] = [];

  const rest = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.app.consoleUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, json: (await res.json()) as any };
  };
  const login = (username: string, password: string, ip = '127.0.0.1') =>
    fetch(`${t.app.consoleUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify({ username, password }) });

  before(async () => {
    sim = await Simulator.start({
      config: { cameras: CAMERAS.map((c, i) => ({ id: c.code.toLowerCase(), tag: 90 + i, codec: 'h264' as const, profile: 'baseline' as const, width: 320, height: 180, fps: 15, gop: 15 })) },
    });
    t = await startTestApp({ ingest: { idleCloseMs: 60_000 } });
    for (const c of CAMERAS) {
      const created = await t.app.catalog.create(
        {
          code: c.code,
          name: `Camera ${c.code}`,
          area: c.area,
          owner: { kind: 'organisation', name: 'Owner', ...(c.area === 'citizen' && { agreementRef: 'AG', enrolledBy: 'op' }) },
          category: 'street',
          municipality: c.municipality,
          mainUrl: sim.url(c.code.toLowerCase()),
          transport: 'tcp',
          ...('sharing' in c && { sharing: c.sharing }),
          alwaysOn: false,
          tags: [],
        },
        { status: 'approved' },
      );
      ids[c.code] = created.id;
    }
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
  });

  for (const row of MATRIX) {
    it(`${row.name}: sees ${row.sees.join(', ') || 'nothing'} over REST and the socket; ${row.admin ? 'may' : 'may not'} administer`, async () => {
      const userId = await t.user(row.role, { areas: row.areas, municipalities: row.municipalities });
      const token = t.app.tokens.issue({ userId, role: row.role, authTime: Math.floor(Date.now() / 1000) }).token;
      // REST list and get.
      const listed = await rest(token, 'GET', '/api/cameras?limit=50');
      expect(listed.json.items.map((c: { code: string }) => c.code), 'REST list').to.deep.equal(row.sees);
      for (const c of CAMERAS) {
        const got = await rest(token, 'GET', `/api/cameras/${encodeURIComponent(c.code)}`);
        expect(got.status, `REST get ${c.code}`).to.equal(row.sees.includes(c.code) ? 200 : 404);
        // The deprecated id alias: the same answer; the path by code only to those who may see it.
        const byId = await rest(token, 'GET', `/api/cameras/${ids[c.code]}`);
        expect(byId.status, `REST get ${c.code} by id`).to.equal(got.status);
        expect(byId.headers.get('link'), `REST get ${c.code} by id: Link`).to.equal(row.sees.includes(c.code) ? `</api/cameras/${c.code}>; rel="successor-version"` : null);
      }
      // Socket list and consume.
      const socket = await connectClient(t.app.consoleUrl, token);
      sockets.push(socket);
      const page = await ok(socket, 'listCameras', {});
      expect(page.cameras.map((c) => c.id), 'socket list').to.deep.equal(row.sees);
      const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
      const { transport } = await ok(socket, 'createTransport', {});
      for (const c of CAMERAS) {
        const answer = await request(socket, 'consume', { transportId: transport.id, cameraId: c.code, rtpCapabilities });
        if (row.sees.includes(c.code)) expect(answer.error, `consume ${c.code}`).to.equal(undefined);
        else expect(answer.error?.code, `consume ${c.code}`).to.equal('forbidden');
      }
      // Administration.
      const adminStatus = row.admin ? 200 : 403;
      expect((await rest(token, 'GET', '/api/users')).status, 'list users').to.equal(adminStatus);
      expect((await rest(token, 'PATCH', '/api/cameras/A1', { name: 'Camera A1' })).status, 'edit camera').to.equal(adminStatus);
      expect((await rest(token, 'POST', '/api/cameras/A2/suspend', { reason: 'matrix' })).status, 'suspend').to.equal(adminStatus);
      if (row.admin) expect((await rest(token, 'POST', '/api/cameras/A2/reinstate', { reason: 'matrix' })).status).to.equal(200);
      expect((await rest(token, 'POST', '/api/cameras/import', [])).status, 'import').to.equal(row.admin ? 200 : 403);
    });
  }

  async function watching(assignments: { areas: CameraArea[]; municipalities: string[] }, cameraId: string) {
    const userId = await t.user('operator', assignments);
    const token = t.app.tokens.issue({ userId, role: 'operator', authTime: Math.floor(Date.now() / 1000) }).token;
    const socket = await connectClient(t.app.consoleUrl, token);
    sockets.push(socket);
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    await ok(socket, 'consume', { transportId: transport.id, cameraId, rtpCapabilities });
    return { userId, socket };
  }

  it('ends a live view at once when the user is disabled', async () => {
    const { userId, socket } = await watching({ areas: ['agency'], municipalities: [] }, 'A1');
    const ended = new Promise<string>((resolve) => socket.once('sessionEnded', ({ reason }) => resolve(reason)));
    const gone = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
    const started = Date.now();
    await t.app.users.updateUser(userId, { disabled: true });
    expect(await ended).to.match(/disabled/);
    await gone;
    console.log(`      disabled user's view ended in ${Date.now() - started} ms`);
    expect(Date.now() - started).to.be.lessThan(5000);
    const refused = await login('nobody', 'x');
    expect(refused.status).to.equal(401);
  });

  it('ends a live view when the role or the municipalities change, and tells the socket its new rights', async () => {
    const changes: Array<[{ role?: Role; municipalities?: string[] }, string]> = [
      [{ role: 'investigator' }, 'A1'],
      [{ municipalities: ['Sur'] }, 'C1'],
    ];
    for (const [change, camera] of changes) {
      const { userId, socket } = await watching({ areas: ['agency', 'citizen'], municipalities: [] }, camera);
      const closed = new Promise<{ reason: string; cameraId: string }>((resolve) => socket.once('consumerClosed', resolve));
      const rights = new Promise<{ role: string }>((resolve) => socket.once('rightsChanged', resolve));
      const started = Date.now();
      await t.app.users.updateUser(userId, change);
      const event = await closed;
      console.log(`      ${Object.keys(change)[0]} change ended the view in ${Date.now() - started} ms`);
      expect(Date.now() - started).to.be.lessThan(5000);
      expect(event).to.include({ reason: 'camera_forbidden', cameraId: camera });
      expect((await rights).role).to.equal('role' in change ? 'investigator' : 'operator');
      const page = await ok(socket, 'listCameras', {});
      expect(page.cameras.map((c) => c.id)).to.not.include(camera);
    }
  });

  it('ends the views of a citizen camera whose sharing stops being live, for operators only', async () => {
    const { socket } = await watching({ areas: ['citizen'], municipalities: [] }, 'C3');
    const closed = new Promise<{ reason: string }>((resolve) => socket.once('consumerClosed', resolve));
    const adminToken = await t.token('admin');
    const started = Date.now();
    expect((await rest(adminToken, 'PATCH', '/api/cameras/C3', { sharing: 'incident-only' })).status).to.equal(200);
    expect((await closed).reason).to.equal('camera_forbidden');
    console.log(`      sharing change ended the view in ${Date.now() - started} ms`);
    await rest(adminToken, 'PATCH', '/api/cameras/C3', { sharing: 'live' });
  });

  it('answers a wrong password, an unknown user and a disabled user the same way', async () => {
    const userId = await t.user('operator');
    const user = t.app.users.get(userId);
    const disabledId = await t.user('operator');
    const disabled = t.app.users.get(disabledId);
    await t.app.users.updateUser(disabledId, { disabled: true });
    const answers = [];
    for (const [username, password] of [[user.username, 'wrong-password!'], ['no-such-user', 'whatever-pass'], [disabled.username, 'a-long-test-password']]) {
      const res = await login(username!, password!, `10.0.0.${answers.length + 1}`);
      answers.push({ status: res.status, body: await res.json() });
    }
    expect(answers[0]).to.deep.equal({ status: 401, body: { error: { code: 'unauthenticated', message: 'wrong username or password' } } });
    expect(answers[1]).to.deep.equal(answers[0]);
    expect(answers[2]).to.deep.equal(answers[0]);
    const good = await login(user.username, 'a-long-test-password', '10.0.1.1');
    expect(good.status).to.equal(200);
    const me = await rest(((await good.json()) as { token: string }).token, 'GET', '/api/me');
    expect(me.json).to.include({ username: user.username, role: 'operator' });
    expect(me.json).to.not.have.property('passwordHash');
  });

  it('rate-limits sign-in attempts per user and per address', async () => {
    const userId = await t.user('operator');
    const { username } = t.app.users.get(userId);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await login(username, 'wrong-password!', `10.1.0.${i}`)).status);
    expect(statuses).to.deep.equal([401, 401, 401, 401, 401, 429]);
    const limited = await login(username, 'a-long-test-password', '10.1.1.1');
    expect(limited.status, 'even the right password waits').to.equal(429);
    expect(Number(limited.headers.get('retry-after'))).to.be.greaterThan(0);
    const perIp = [];
    for (let i = 0; i < 31; i++) perIp.push((await login(`someone-${i}`, 'wrong-password!', '10.2.0.1')).status);
    expect(perIp.slice(0, 30).every((s) => s === 401)).to.equal(true);
    expect(perIp[30]).to.equal(429);
  });
});
