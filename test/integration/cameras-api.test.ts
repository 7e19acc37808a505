import { expect } from 'chai';
import { Simulator } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { connectClient, ok, request } from '../support/signallingClient.ts';
import { ffmpegProcesses, waitFor } from '../support/processes.ts';

const PASSWORD = 'Zq9-Secret!xyz';
const USER = 'camadmin';

describe('camera catalog over REST', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let t: TestApp;
  let base: string;
  const bodies: string[] = [];
  const tokens: Record<string, string> = {};
  const token = (role: 'admin' | 'operator' = 'admin') => tokens[role]!;

  async function api(method: string, path: string, body?: unknown, role: 'admin' | 'operator' | null = 'admin') {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(role && { authorization: `Bearer ${token(role)}` }) },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, any>) : {} };
  }
  /** The path of a camera (or of one of its actions) by code, as every caller builds it. */
  const at = (code: string, action?: string) => `/api/cameras/${encodeURIComponent(code)}${action ? `/${action}` : ''}`;

  const agency = (code: string, extra: Record<string, unknown> = {}) => ({
    code,
    name: `Cámara ${code}`,
    area: 'agency',
    owner: { kind: 'organisation', name: 'SSC CDMX', contact: 'c5@example.org' },
    category: 'street',
    municipality: 'Cuauhtémoc',
    location: { lat: 19.4326, lng: -99.1332 },
    mainUrl: 'rtsp://10.20.30.40:554/Streaming/Channels/101',
    ...extra,
  });

  before(async () => {
    sim = await Simulator.start({ config: { cameras: [{ id: 'cam-w', tag: 71, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 25, gop: 25 }] } });
    t = await startTestApp({ cameras: [{ id: 'cam-w', name: 'Watched', url: sim.url('cam-w') }] });
    tokens.admin = await t.token('admin');
    tokens.operator = await t.token('operator');
    base = t.app.consoleUrl;
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
  });

  it('registers a camera pending approval and returns only a masked URL', async () => {
    const created = await api('POST', '/api/cameras', agency('CDMX-0001', { credentials: { username: USER, password: PASSWORD }, tags: ['centro'] }));
    expect(created.status).to.equal(201);
    expect(created.json.status).to.equal('pending');
    expect(created.json.mainUrl).to.equal('rtsp://***@10.20.30.40:554/Streaming/Channels/101');
    expect(created.json.hasCredentials).to.equal(true);
    expect(created.json.location).to.deep.equal({ lat: 19.4326, lng: -99.1332 });
    expect(created.headers.get('location')).to.equal('/api/cameras/CDMX-0001');
    const fetched = await api('GET', at('CDMX-0001'));
    expect(fetched.json.code).to.equal('CDMX-0001');
  });

  it('validates every field: 400 for malformed requests, 422 for broken rules, naming the field', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{}, 400, /body\.code/],
      [agency('x'), 400, /body\.code/],
      [agency('BAD CODE'), 400, /body\.code/],
      [agency('CDMX-0100', { area: 'police' }), 400, /body\.area/],
      [agency('CDMX-0101', { location: { lat: 91, lng: 0 } }), 400, /body\.location\.lat/],
      [agency('CDMX-0102', { category: 'casino' }), 400, /body\.category/],
      [agency('CDMX-0103', { extra: true }), 400, /extra/],
      [agency('CDMX-0104', { name: 42 }), 400, /body\.name/],
      [agency('CDMX-0105', { sharing: 'live' }), 422, /body\.sharing/],
      [{ ...agency('CDMX-0106'), area: 'citizen', category: 'bank' }, 422, /agreementRef/],
      ['{not json', 400, /JSON/],
    ];
    for (const [body, status, message] of cases) {
      const res = await api('POST', '/api/cameras', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).to.equal(status);
      expect(res.json.error.code).to.equal(status === 400 ? 'invalid_request' : 'unprocessable');
      expect(res.json.error.message).to.match(message);
    }
    expect((await api('GET', '/api/cameras?limit=0')).status).to.equal(400);
    expect((await api('GET', '/api/cameras?near=19,-99')).json.error.message).to.match(/near/);
    expect((await api('GET', '/api/cameras?status=lost')).status).to.equal(400);
    expect((await api('GET', '/api/cameras?colour=red')).status).to.equal(400);
  });

  it('refuses hostile URLs and spawns nothing for them', async () => {
    const hostile = ['rtsp://10.9.9.9/a;reboot', 'rtsp://10.9.9.9/$(id)', 'file:///etc/passwd', 'http://10.9.9.9/x', 'rtsp://10.9.9.9/a\nX: y', 'rtsp://10.9.9.9/`x`'];
    for (const [i, mainUrl] of hostile.entries()) {
      const res = await api('POST', '/api/cameras', agency(`HOST-${i}`, { mainUrl }));
      expect(res.status, mainUrl).to.equal(400);
      expect(res.json.error.message).to.match(/^body\.mainUrl|^mainUrl/);
    }
    expect(ffmpegProcesses('10.9.9.9')).to.deep.equal([]);
    expect((await api('GET', '/api/cameras?q=HOST-')).json.total).to.equal(0);
  });

  it('needs a token for everything and the admin role for changes', async () => {
    expect((await api('GET', '/api/cameras', undefined, null)).status).to.equal(401);
    const operator = await api('POST', '/api/cameras', agency('CDMX-0200'), 'operator');
    expect(operator.status).to.equal(403);
    expect(operator.json.error.code).to.equal('forbidden');
    const res = await fetch(`${base}/api/cameras`, { headers: { authorization: 'Bearer not.a.jwt' } });
    expect(res.status).to.equal(401);
  });

  it('filters, searches, pages and finds cameras near a point', async () => {
    await api('POST', '/api/cameras', agency('CDMX-0301', { municipality: 'Tlalpan', name: 'Banco (Tlalpan)', location: { lat: 19.2, lng: -99.1 } }));
    await api('POST', '/api/cameras', { ...agency('CDMX-0302', { municipality: 'Tlalpan' }), area: 'citizen', category: 'home', owner: { kind: 'person', name: 'Ana', agreementRef: 'AG-1', enrolledBy: 'operator-7' } });
    const tlalpan = await api('GET', '/api/cameras?municipality=Tlalpan');
    expect(tlalpan.json.items.map((c: { code: string }) => c.code)).to.deep.equal(['CDMX-0301', 'CDMX-0302']);
    expect((await api('GET', '/api/cameras?area=citizen')).json.items[0].sharing).to.equal('incident-only');
    expect((await api('GET', '/api/cameras?q=banco%20(tlal')).json.items.map((c: { code: string }) => c.code)).to.deep.equal(['CDMX-0301']);
    const near = await api('GET', '/api/cameras?near=19.4326,-99.1332,2');
    expect(near.json.items.map((c: { code: string }) => c.code)).to.include('CDMX-0001').and.not.include('CDMX-0301');
    const paged = await api('GET', '/api/cameras?limit=1&offset=1');
    expect(paged.json.items).to.have.length(1);
    expect(paged.json.total).to.be.greaterThan(2);
    // Operators see only approved cameras.
    const asOperator = await api('GET', '/api/cameras', undefined, 'operator');
    expect(asOperator.json.items.every((c: { status: string }) => c.status === 'approved')).to.equal(true);
  });

  it('stores every health status with its details (locked_out, busy, stream, redirect) and shows them in the view, the filter, the counts and the console list', async () => {
    const stream = { codec: 'h264', width: 1280, height: 720, profileLevelId: '4d001f', fps: 25 };
    const redirectedTo = 'rtsp://***@10.20.30.99:554/Streaming/Channels/101';
    const since = new Date('2026-03-04T05:06:07.000Z');
    const plan = [
      { code: 'XOCH-0001', health: { status: 'busy', since, lastSeenAt: since, message: 'refused the session: too many sessions (453 Not Enough Bandwidth)', stream, redirectedTo } },
      { code: 'XOCH-0002', health: { status: 'locked_out', since, message: 'locked our login out (403 after 401)' } },
      { code: 'XOCH-0003', health: { status: 'locked_out', since } },
      { code: 'XOCH-0004', health: { status: 'reachable', since, lastSeenAt: since, stream: { codec: 'h265', width: 1920, height: 1080 } } },
      { code: 'XOCH-0005', health: { status: 'unauthorized', since, message: 'refused the credentials (401)' } },
      { code: 'XOCH-0006', health: { status: 'unreachable', since, message: 'connection refused' } },
      { code: 'XOCH-0007', health: undefined },
    ] as const;
    for (const { code, health } of plan) {
      const { json: created } = await api('POST', '/api/cameras', agency(code, { municipality: 'Xochimilco', location: { lat: 19.26, lng: -99.1 } }));
      expect((await api('POST', at(code, 'approve'), { reason: 'site visit done' })).json.status).to.equal('approved');
      if (health) expect(await t.app.catalog.repository.setHealth(created.id as string, health)).to.have.property('health');
    }

    // Read back from the store through the REST view: every stored detail, dates as ISO strings.
    const busy = await api('GET', at('XOCH-0001'));
    expect(busy.json.health).to.deep.equal({ status: 'busy', since: since.toISOString(), lastSeenAt: since.toISOString(), message: plan[0].health.message, stream, redirectedTo });
    expect((await api('GET', at('XOCH-0002'))).json.health).to.deep.equal({ status: 'locked_out', since: since.toISOString(), message: 'locked our login out (403 after 401)' });
    expect((await api('GET', at('XOCH-0003'))).json.health).to.deep.equal({ status: 'locked_out', since: since.toISOString() });
    expect((await api('GET', at('XOCH-0007'))).json).to.not.have.property('health');

    // The REST health filter takes the new statuses.
    const codesOf = (res: { json: Record<string, any> }) => (res.json.items as Array<{ code: string }>).map((c) => c.code);
    expect(codesOf(await api('GET', '/api/cameras?municipality=Xochimilco&health=busy'))).to.deep.equal(['XOCH-0001']);
    expect(codesOf(await api('GET', '/api/cameras?municipality=Xochimilco&health=locked_out'))).to.deep.equal(['XOCH-0002', 'XOCH-0003']);
    expect((await api('GET', '/api/cameras?health=sleepy')).status).to.equal(400);

    // The fleet page counts every status (and unknown), over the scope whatever the filter.
    const page = await t.app.catalog.fleetPage({ health: 'busy', offset: 0, limit: 10 }, { municipalities: ['Xochimilco'] });
    expect(page.items.map((c) => c.code)).to.deep.equal(['XOCH-0001']);
    expect(page.healthCounts).to.deep.equal({ reachable: 1, unauthorized: 1, locked_out: 2, busy: 1, unreachable: 1, unknown: 1 });

    // The console's list: the health with its reason and stream, and the same counts.
    const socket = await connectClient(base, await t.token('operator', { municipalities: ['Xochimilco'] }));
    try {
      const listed = await ok(socket, 'listCameras', { health: 'busy' });
      expect(listed.healthCounts).to.deep.equal({ reachable: 1, unauthorized: 1, locked_out: 2, busy: 1, unreachable: 1, unknown: 1 });
      expect(listed.cameras.map((c) => c.health)).to.deep.equal([{ status: 'busy', since: since.getTime(), lastSeenAt: since.getTime(), message: plan[0].health.message, stream }]);
      const locked = await ok(socket, 'listCameras', { health: 'locked_out' });
      expect(locked.cameras.map((c) => c.id)).to.deep.equal(['XOCH-0002', 'XOCH-0003']);
      expect(locked.cameras[0]!.health).to.deep.equal({ status: 'locked_out', since: since.getTime(), message: 'locked our login out (403 after 401)' });
      expect((await ok(socket, 'listCameras', { health: 'reachable' })).cameras[0]!.health.stream).to.deep.equal({ codec: 'h265', width: 1920, height: 1080 });
    } finally {
      socket.close();
    }

    // The OpenAPI document describes them (generated from the same schemas).
    const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, any> };
    const view = doc.paths['/api/cameras/{code}'].get.responses['200'].content['application/json'].schema;
    const health = view.properties.health;
    expect(health.properties.status.enum).to.deep.equal(['reachable', 'unauthorized', 'locked_out', 'busy', 'unreachable']);
    expect(health.properties).to.include.keys(['message', 'stream', 'redirectedTo']);
    expect(health.properties.stream.properties).to.include.keys(['codec', 'width', 'height', 'profileLevelId', 'fps']);
    const filter = (doc.paths['/api/cameras'].get.parameters as Array<{ name: string; schema: { enum?: string[] } }>).find((p) => p.name === 'health');
    expect(filter?.schema.enum).to.deep.equal(['reachable', 'unauthorized', 'locked_out', 'busy', 'unreachable', 'unknown']);
  });

  it('applies status transitions and refuses the others; a revoked code is never reused', async () => {
    const { json: cam } = await api('POST', '/api/cameras', agency('CDMX-0400'));
    const act = (action: string, reason?: string) => api('POST', at(cam.code, action), reason === undefined ? {} : { reason });
    expect((await act('approve')).status, 'reason required').to.equal(400);
    expect((await act('suspend', 'x')).status, 'pending cannot be suspended').to.equal(409);
    expect((await act('reinstate', 'x')).status).to.equal(409);
    expect((await act('approve', 'site visit done')).json.status).to.equal('approved');
    expect((await act('approve', 'again')).status).to.equal(409);
    expect((await act('reject', 'late')).status).to.equal(409);
    expect((await act('suspend', 'maintenance')).json.status).to.equal('suspended');
    const reinstated = await act('reinstate', 'back');
    expect(reinstated.json.status).to.equal('approved');
    expect(reinstated.json.statusReason).to.equal('back');
    expect((await act('revoke', 'owner withdrew consent')).json.status).to.equal('revoked');
    expect((await act('revoke', 'again')).status).to.equal(409);
    expect((await act('approve', 'undo')).status).to.equal(409);
    expect((await api('POST', '/api/cameras', agency('CDMX-0400'))).status).to.equal(409);
    expect((await api('POST', at(cam.code, 'explode'), { reason: 'x' })).status).to.equal(400);
  });

  it('edits, and deletes by retiring (kept, code never reused)', async () => {
    const { json: cam } = await api('POST', '/api/cameras', agency('CDMX-0500'));
    const patched = await api('PATCH', at(cam.code), { name: 'Nuevo nombre', location: null, credentials: { username: USER, password: PASSWORD } });
    expect(patched.status).to.equal(200);
    expect(patched.json.name).to.equal('Nuevo nombre');
    expect(patched.json).to.not.have.property('location');
    expect(patched.json.mainUrl).to.equal('rtsp://***@10.20.30.40:554/Streaming/Channels/101');
    expect((await api('PATCH', at(cam.code), {})).status).to.equal(422);
    expect((await api('PATCH', at(cam.code), { code: 'NEW' })).status).to.equal(400);
    const deleted = await api('DELETE', at(cam.code));
    expect(deleted.json.retiredAt).to.be.a('string');
    expect((await api('GET', at(cam.code), undefined, 'operator')).status).to.equal(404);
    expect((await api('GET', '/api/cameras?q=CDMX-0500')).json.total).to.equal(0);
    expect((await api('GET', '/api/cameras?q=CDMX-0500&includeRetired=true')).json.total).to.equal(1);
    expect((await api('POST', '/api/cameras', agency('CDMX-0500'))).status).to.equal(409);
    const retired = await api('GET', at(cam.code));
    expect(retired.status, 'admins still open a retired camera by its code').to.equal(200);
    expect(retired.json.retiredAt).to.equal(deleted.json.retiredAt);
    expect((await api('PATCH', at(cam.code), { name: 'x' })).status, 'but cannot change it').to.equal(404);
    expect((await api('DELETE', at(cam.code))).status).to.equal(404);
    expect((await api('GET', '/api/cameras/doesnotexist')).status).to.equal(404);
  });

  it('chooses the ingest engine per camera: auto by default, set on create and patch, shown in the view and the OpenAPI document', async () => {
    const plain = await api('POST', '/api/cameras', agency('ENG-0001'));
    expect(plain.status).to.equal(201);
    expect(plain.json.engine, 'absent means auto').to.equal('auto');
    const relay = await api('POST', '/api/cameras', agency('ENG-0002', { engine: 'relay' }));
    expect(relay.status).to.equal(201);
    expect(relay.json.engine).to.equal('relay');
    expect((await api('GET', at('ENG-0002'))).json.engine).to.equal('relay');
    expect((await api('GET', '/api/cameras?q=ENG-000')).json.items.map((c: { engine: string }) => c.engine)).to.deep.equal(['auto', 'relay']);

    // A change of engine restarts a running ingest, like a change of transport; a rename does not.
    const changes: Array<{ restart: boolean }> = [];
    const onChanged = (event: { restart: boolean }) => changes.push(event);
    t.app.catalog.on('changed', onChanged);
    try {
      const patched = await api('PATCH', at('ENG-0002'), { engine: 'ffmpeg' });
      expect(patched.status).to.equal(200);
      expect(patched.json.engine).to.equal('ffmpeg');
      expect((await api('GET', at('ENG-0002'))).json.engine).to.equal('ffmpeg');
      await api('PATCH', at('ENG-0002'), { name: 'Renamed' });
      expect((await api('PATCH', at('ENG-0002'), { engine: 'auto' })).json.engine).to.equal('auto');
    } finally {
      t.app.catalog.off('changed', onChanged);
    }
    expect(changes.map((c) => c.restart)).to.deep.equal([true, false, true]);

    for (const [method, path, body] of [
      ['POST', '/api/cameras', agency('ENG-0003', { engine: 'gstreamer' })],
      ['PATCH', at('ENG-0001'), { engine: 'gstreamer' }],
      ['PATCH', at('ENG-0001'), { engine: null }],
    ] as const) {
      const res = await api(method, path, body);
      expect(res.status, `${method} ${JSON.stringify(body).slice(0, 60)}`).to.equal(400);
      expect(res.json.error.code).to.equal('invalid_request');
      expect(res.json.error.message).to.match(/body\.engine/);
    }
    expect((await api('GET', at('ENG-0001'))).json.engine).to.equal('auto');

    const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, any> };
    const engines = ['auto', 'relay', 'ffmpeg'];
    expect(doc.paths['/api/cameras'].post.requestBody.content['application/json'].schema.properties.engine.enum).to.deep.equal(engines);
    expect(doc.paths['/api/cameras/{code}'].patch.requestBody.content['application/json'].schema.properties.engine.enum).to.deep.equal(engines);
    const view = doc.paths['/api/cameras/{code}'].get.responses['200'].content['application/json'].schema;
    expect(view.properties.engine.enum).to.deep.equal(engines);
    expect(view.required).to.include('engine');
  });

  it('registers a configured camera with its engine, brings the engine up to date, and hands it to the ingest', async () => {
    const configured = { id: 'ENG-CFG', name: 'Configured engine', url: 'rtsp://10.20.30.41:554/live', transport: 'tcp' as const, alwaysOn: false, area: 'agency' as const };
    const created = await t.app.catalog.ensureConfigured({ ...configured, engine: 'relay' });
    expect(created.engine).to.equal('relay');
    expect((await t.app.catalog.asDirectory().get('ENG-CFG'))?.engine, 'the ingest source').to.equal('relay');
    const same = await t.app.catalog.ensureConfigured({ ...configured, engine: 'relay' });
    expect(same.updatedAt.getTime(), 'unchanged: not written again').to.equal(created.updatedAt.getTime());
    expect((await t.app.catalog.ensureConfigured({ ...configured, engine: 'ffmpeg' })).engine).to.equal('ffmpeg');
    const back = await t.app.catalog.ensureConfigured(configured);
    expect(t.app.catalog.view(back).engine, 'no engine in the configuration: auto').to.equal('auto');
    expect((await t.app.catalog.asDirectory().get('ENG-CFG'))?.engine, "'auto': the server's default engine applies").to.equal(undefined);
    const again = await t.app.catalog.ensureConfigured({ ...configured, engine: 'auto' });
    expect(again.updatedAt.getTime(), "'auto' and absent are the same").to.equal(back.updatedAt.getTime());
    const listed = (await t.app.catalog.asDirectory().list()).find((camera) => camera.id === 'cam-w');
    expect(listed, 'a camera without one').to.not.have.property('engine');
  });

  // Cameras are named by code; the database id is a deprecated alias for one release.
  const deprecation = (res: { headers: Headers }) => ({ deprecation: res.headers.get('deprecation'), link: res.headers.get('link') });
  const none = { deprecation: null, link: null };
  const expectAlias = (res: { headers: Headers }, successor: string) => {
    expect(res.headers.get('deprecation'), 'Deprecation (RFC 9745)').to.match(/^@\d{10}$/);
    expect(res.headers.get('link')).to.equal(`<${successor}>; rel="successor-version"`);
  };

  it('serves every route by code, without deprecation headers', async () => {
    const { json: cam } = await api('POST', '/api/cameras', agency('CDMX-0600'));
    const got = await api('GET', at('CDMX-0600'));
    expect(got.status).to.equal(200);
    expect(got.json).to.deep.equal(cam);
    expect(deprecation(got)).to.deep.equal(none);
    const patched = await api('PATCH', at('CDMX-0600'), { name: 'Por código' });
    expect([patched.status, patched.json.name]).to.deep.equal([200, 'Por código']);
    expect(deprecation(patched)).to.deep.equal(none);
    for (const [action, status] of [['approve', 'approved'], ['suspend', 'suspended'], ['reinstate', 'approved'], ['revoke', 'revoked']] as const) {
      const res = await api('POST', at('CDMX-0600', action), { reason: `by code: ${action}` });
      expect([res.status, res.json.status], action).to.deep.equal([200, status]);
      expect(deprecation(res), action).to.deep.equal(none);
    }
    const { json: other } = await api('POST', '/api/cameras', agency('CDMX-0601'));
    expect((await api('POST', at(other.code, 'reject'), { reason: 'by code' })).json.status).to.equal('rejected');
    const deleted = await api('DELETE', at('CDMX-0600'));
    expect([deleted.status, typeof deleted.json.retiredAt]).to.deep.equal([200, 'string']);
    expect(deprecation(deleted)).to.deep.equal(none);
  });

  it('still answers by database id, the same answer marked deprecated with the path by code', async () => {
    const { json: cam } = await api('POST', '/api/cameras', agency('CDMX-0610'));
    expect(cam.id).to.not.equal(cam.code);
    const byId = await api('GET', at(cam.id));
    expect(byId.status).to.equal(200);
    expect(byId.json).to.deep.equal((await api('GET', at(cam.code))).json);
    expectAlias(byId, '/api/cameras/CDMX-0610');
    const approved = await api('POST', at(cam.id, 'approve'), { reason: 'by id' });
    expect(approved.json.status).to.equal('approved');
    expectAlias(approved, '/api/cameras/CDMX-0610/approve');
    const patched = await api('PATCH', at(cam.id), { tags: ['alias'] });
    expect(patched.json.tags).to.deep.equal(['alias']);
    expectAlias(patched, '/api/cameras/CDMX-0610');
    // Operators who may watch it get the same; the audit keeps naming the camera by its code.
    expectAlias(await api('GET', at(cam.id), undefined, 'operator'), '/api/cameras/CDMX-0610');
    const audited = (await api('GET', '/api/audit?camera=CDMX-0610')).json.items as Array<{ action: string; cameraId: string }>;
    expect(audited.map((entry) => entry.action)).to.include.members(['camera.create', 'camera.approve', 'camera.update']);
    expect(audited.every((entry) => entry.cameraId === 'CDMX-0610')).to.equal(true);
    const retired = await api('DELETE', at(cam.id));
    expectAlias(retired, '/api/cameras/CDMX-0610');
    expectAlias(await api('GET', at(cam.id)), '/api/cameras/CDMX-0610');
    // A camera the caller may not see: 404, and no Link that would tell its code.
    const hidden = await api('GET', at(cam.id), undefined, 'operator');
    expect([hidden.status, hidden.json.error.code]).to.deep.equal([404, 'not_found']);
    expect(deprecation(hidden)).to.deep.equal(none);
    expect(JSON.stringify(hidden.json)).to.not.contain('CDMX-0610');
  });

  it('answers an unknown code with 404 not_found and a malformed one with 400', async () => {
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await api(method, at('NOPE-404'), method === 'PATCH' ? { name: 'x' } : undefined);
      expect([res.status, res.json.error.code], method).to.deep.equal([404, 'not_found']);
    }
    const action = await api('POST', at('NOPE-404', 'approve'), { reason: 'x' });
    expect([action.status, action.json.error.code]).to.deep.equal([404, 'not_found']);
    const malformed = await api('GET', at('BAD CODE'));
    expect([malformed.status, malformed.json.error.code]).to.deep.equal([400, 'invalid_request']);
    expect(malformed.json.error.message).to.match(/^path\.code/);
  });

  it('resolves a code that looks like a database id as the code first', async () => {
    const { json: first } = await api('POST', '/api/cameras', agency('CDMX-0620'));
    const { json: lookalike } = await api('POST', '/api/cameras', agency(first.id));
    expect(lookalike.code).to.equal(first.id);
    const got = await api('GET', at(first.id));
    expect(got.json.id, 'the camera whose code it is').to.equal(lookalike.id);
    expect(deprecation(got)).to.deep.equal(none);
    const approved = await api('POST', at(first.id, 'approve'), { reason: 'the lookalike' });
    expect([approved.json.code, approved.json.status]).to.deep.equal([first.id, 'approved']);
    expect((await api('GET', at('CDMX-0620'))).json.status, 'the other camera is untouched').to.equal('pending');
    // The lookalike's own id is still an alias of it, and the first camera's code still names it.
    expectAlias(await api('GET', at(lookalike.id)), `/api/cameras/${encodeURIComponent(first.id)}`);
    expect((await api('GET', at('CDMX-0620'))).json.id).to.equal(first.id);
  });

  it('takes codes with dots and underscores, URL-encoded or not', async () => {
    const code = 'cam.lobby_01-a';
    const created = await api('POST', '/api/cameras', agency(code));
    expect(created.headers.get('location')).to.equal(`/api/cameras/${encodeURIComponent(code)}`);
    expect((await api('GET', at(code))).json.code).to.equal(code);
    expect((await api('GET', `/api/cameras/${code.replace('.', '%2E')}`)).json.code).to.equal(code);
    expect((await api('POST', at(code, 'approve'), { reason: 'dots' })).json.status).to.equal('approved');
  });

  it('publishes an OpenAPI document generated from the same schemas', async () => {
    const res = await fetch(`${base}/api/openapi.json`);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, any> };
    expect(doc.openapi).to.equal('3.1.0');
    expect(Object.keys(doc.paths)).to.include.members(['/api/cameras', '/api/cameras/{code}', '/api/cameras/{code}/suspend', '/api/auth/code']);
    expect(Object.keys(doc.paths).filter((path) => path.startsWith('/api/cameras/{id}'))).to.deep.equal([]);
    for (const path of ['/api/cameras/{code}', '/api/cameras/{code}/approve']) {
      const [parameter] = doc.paths[path].parameters as Array<{ name: string; in: string; description: string; schema: { pattern: string } }>;
      expect(parameter).to.include({ name: 'code', in: 'path' });
      expect(parameter!.schema.pattern).to.be.a('string');
      expect(parameter!.description).to.match(/Deprecated: the camera's database id/);
    }
    const notFound = doc.paths['/api/cameras/{code}'].get.responses['404'].content['application/json'].schema;
    expect(notFound.properties.error.properties.code.enum).to.deep.equal(['not_found']);
    expect(doc.paths['/api/cameras/{code}/revoke'].post.responses['409'].content['application/json'].schema.properties.error.properties.code.enum).to.include('invalid_state');
    expect(doc.paths['/api/cameras/{code}'].get.responses['200'].headers).to.have.keys(['Deprecation', 'Link']);
    const create = doc.paths['/api/cameras'].post.requestBody.content['application/json'].schema;
    expect(create.properties.code.pattern).to.be.a('string');
    expect(create.required).to.include.members(['code', 'name', 'area', 'mainUrl']);
  });

  it('stops a watched camera promptly when it is suspended, telling the viewer why', async () => {
    const socket = await connectClient(base, token('operator'));
    try {
      const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
      const { transport } = await ok(socket, 'createTransport', {});
      await ok(socket, 'consume', { transportId: transport.id, cameraId: 'cam-w', rtpCapabilities });
      const closed = new Promise<{ reason: string; message?: string }>((resolve) => socket.once('consumerClosed', resolve));
      const camera = (await api('GET', '/api/cameras?q=cam-w')).json.items[0] as { code: string };
      const started = Date.now();
      expect((await api('POST', at(camera.code, 'suspend'), { reason: 'court order 12/2026' })).status).to.equal(200);
      const event = await closed;
      const tookMs = Date.now() - started;
      console.log(`      suspension to viewer told: ${tookMs} ms`);
      expect(tookMs).to.be.lessThan(5000);
      expect(event.reason).to.equal('camera_withdrawn');
      expect(event.message).to.contain('court order');
      await waitFor(() => ffmpegProcesses('/cam-w').length === 0, 5000, 'ingest stopped');
      const again = await request(socket, 'consume', { transportId: transport.id, cameraId: 'cam-w', rtpCapabilities });
      expect(again.error?.code).to.equal('forbidden');
      const { cameras } = await ok(socket, 'listCameras', {});
      expect(cameras.map((c) => c.id)).to.not.include('cam-w');
      await api('POST', at(camera.code, 'reinstate'), { reason: 'lifted' });
      const back = await ok(socket, 'consume', { transportId: transport.id, cameraId: 'cam-w', rtpCapabilities });
      expect(back.consumer.cameraId).to.equal('cam-w');
    } finally {
      socket.close();
    }
  });

  it('never lets the stored credential out: API bodies, errors, logs and /metrics', async () => {
    const forms = [PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(`${USER}:${PASSWORD}`).toString('base64')];
    await t.app.metrics.sample();
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).to.contain('c5_cameras_by_health');
    const everything = bodies.join('\n') + t.log.text + metrics;
    for (const form of forms) expect(everything, form).to.not.contain(form);
    expect(bodies.length).to.be.greaterThan(40);
  });
});
