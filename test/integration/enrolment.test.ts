import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { Simulator } from '../support/simulator.ts';
import { ScriptedCamera } from '../support/ScriptedCamera.ts';
import { connectClient, ok, request, type ClientSocket } from '../support/signallingClient.ts';
import { SecretsScan } from '../support/SecretsScan.ts';

/**
 * Issue 26 over REST and Socket.IO, against simulator cameras: a stranger's submission (checked at
 * once, refused addresses, limits, validation), the admins' review (queue, duplicates, review views,
 * approve, reject), the owner's status link (consent, URL, withdrawal, reissue), what operators
 * see, and the erasure of personal data.
 */
describe('citizen program: enrolment, review and the owner link (issue 26)', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let t: TestApp;
  let scan: SecretsScan;
  let admin: string;
  const sockets: ClientSocket[] = [];
  const cameras: ScriptedCamera[] = [];
  const CAMERA_PASSWORD = 'patio-Secret-77';
  const EMAIL = 'maria.lopez@example.org';
  const PHONE = '+52 55 1234 5678';
  const ADDRESS = 'Av. Juárez 123, Col. Centro';
  let xff = 0;
  /** Status tokens issued: shown once to their owner, never anywhere else. */
  const tokens: string[] = [];
  /** A camera the guard lets through (127.0.0.1 is allowed here) that redirects inside. */
  let front: ScriptedCamera;
  /** Each test's submissions come from their own address (X-Forwarded-For from the loopback proxy is trusted). */
  const source = () => `203.0.113.${++xff}`;

  const call = async (method: string, path: string, options: { body?: unknown; token?: string; status?: string; from?: string } = {}) => {
    const res = await scan.fetch(`${t.app.consoleUrl}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        'x-forwarded-for': options.from ?? '198.18.0.1',
        ...(options.token && { authorization: `Bearer ${options.token}` }),
        ...(options.status && { 'x-status-token': options.status }),
      },
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    });
    const text = res.text;
    return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : undefined) as any };
  };

  const submission = (overrides: Record<string, unknown> = {}, camera: Record<string, unknown> = {}) => ({
    language: 'es-MX',
    owner: { kind: 'person', name: 'María López' },
    contact: { email: EMAIL, phone: PHONE },
    address: ADDRESS,
    location: { lat: 19.4326, lng: -99.1332 },
    camera: { name: 'Entrada principal', url: sim.url('cit-secure'), credentials: { username: 'vecino', password: CAMERA_PASSWORD }, category: 'home', ...camera },
    sharing: 'live',
    agreement: { version: '2026-12', accepted: true },
    ...overrides,
  });

  const enrol = async (overrides: Record<string, unknown> = {}, camera: Record<string, unknown> = {}) => {
    const res = await call('POST', '/api/enrolment', { body: submission({ contact: { email: `owner${xff + 1}@example.org` }, ...overrides }, camera), from: source() });
    expect(res.status, JSON.stringify(res.json)).to.equal(201);
    return res.json as { reference: string; statusToken: string; statusPath: string; check: { result: string } };
  };

  const operator = async (areas: Array<'agency' | 'citizen'> = ['citizen']) => {
    const userId = await t.user('operator', { areas, municipalities: ['Cuauhtémoc'] });
    return t.app.tokens.issue({ userId, role: 'operator', authTime: Math.floor(Date.now() / 1000) }).token;
  };

  const watch = async (token: string, cameraId: string, review?: true) => {
    const socket = await connectClient(t.app.consoleUrl, token);
    sockets.push(socket);
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    const answer = await request(socket, 'consume', { transportId: transport.id, cameraId, rtpCapabilities, ...(review && { review }) });
    return { socket, answer };
  };

  const auditEntries = (): Array<{ action: string; cameraId?: string; ip?: string; details?: Record<string, unknown> }> =>
    readFileSync(join(t.app.config.dataDir, 'audit', 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));

  before(async () => {
    sim = await Simulator.start({
      config: {
        cameras: [
          { id: 'cit-secure', tag: 61, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15, auth: { user: 'vecino', password: CAMERA_PASSWORD, method: 'digest' } },
          { id: 'cit-open', tag: 62, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15 },
        ],
      },
    });
    front = await ScriptedCamera.start({ redirects: { '/to-private': 'rtsp://10.0.0.1:554/stream', '/to-loopback': `rtsp://127.0.0.3:${sim.rtspPort}/cit-open` } });
    cameras.push(front);
    t = await startTestApp({
      enrolment: { allowedPorts: [554, sim.rtspPort, front.port], allowNetworks: ['127.0.0.1/32'], perSourcePerHour: 3, perContactPerHour: 3, checkTimeoutMs: 3000 },
      cameras: [{ id: 'AG-DUP', name: 'Registered duplicate', url: sim.url('cit-open'), area: 'agency' }],
    });
    scan = new SecretsScan().registerApp(t.app).watchLog(t.log);
    scan.register('camera password', CAMERA_PASSWORD);
    admin = await t.token('admin');
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });

  after(async () => {
    for (const camera of cameras) await camera.stop();
    await t?.close();
    await sim?.stop();
  });

  it('serves the agreement in force in Spanish and English', async () => {
    const es = await call('GET', '/api/enrolment/agreement');
    expect(es.status).to.equal(200);
    expect(es.json).to.include({ version: '2026-12', language: 'es-MX' });
    expect(es.json.text).to.match(/modalidad/);
    const en = await call('GET', '/api/enrolment/agreement?lang=en');
    expect(en.json).to.include({ version: '2026-12', language: 'en' });
    expect(en.json.text).to.match(/incident-only/);
    expect((await call('GET', '/api/enrolment/agreement?lang=fr')).status).to.equal(400);
  });

  it('checks the camera at once: a wrong password is said and nothing is stored; the right one makes a pending citizen camera', async () => {
    const from = source();
    const before = (await call('GET', '/api/enrolments', { token: admin })).json.total;
    const wrong = await call('POST', '/api/enrolment', { body: submission({}, { credentials: { username: 'vecino', password: 'typo' } }), from });
    expect(wrong.status).to.equal(422);
    expect(wrong.json.error).to.deep.include({ code: 'unprocessable' });
    expect(wrong.json.error.details).to.deep.include({ check: 'unauthorized', field: 'camera.credentials' });
    expect((await call('GET', '/api/enrolments', { token: admin })).json.total).to.equal(before);

    const started = Date.now();
    const right = await call('POST', '/api/enrolment', { body: submission(), from });
    console.log(`      submission with its RTSP check answered in ${Date.now() - started} ms`);
    expect(right.status, JSON.stringify(right.json)).to.equal(201);
    const receipt = right.json;
    expect(receipt.reference).to.match(/^ENR-[0-9A-HJKMNP-TV-Z]{8}$/);
    expect(receipt.statusToken).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(receipt.statusPath).to.equal(`/enrol/status#t=${receipt.statusToken}`);
    expect(receipt).to.deep.include({ check: { result: 'reachable' }, status: 'pending' });
    tokens.push(receipt.statusToken);

    const item = (await call('GET', `/api/enrolments/${receipt.reference}`, { token: admin })).json;
    expect(item).to.deep.include({ reference: receipt.reference, status: 'pending', ownerKind: 'person', cameraStatus: 'pending', municipality: 'unassigned', sharing: 'live', agreementVersion: '2026-12' });
    expect(item.personal).to.deep.equal({ ownerName: 'María López', email: EMAIL, phone: PHONE, address: ADDRESS });
    expect(item.check).to.deep.include({ result: 'reachable', video: { codec: 'h264', width: 320, height: 180 } });
    expect(item.url).to.equal(`rtsp://***@127.0.0.1:${sim.rtspPort}/cit-secure`);
    const camera = (await call('GET', `/api/cameras/${item.cameraCode}`, { token: admin })).json;
    expect(camera).to.deep.include({ area: 'citizen', status: 'pending', sharing: 'live', hasCredentials: true });
    expect(camera.owner).to.deep.include({ kind: 'person', agreementRef: receipt.reference });
    expect(JSON.stringify(camera)).to.not.include('López').and.not.include(EMAIL);

    // The owner's link shows the status; anything else is refused.
    const status = await call('GET', '/api/enrolment/status', { status: receipt.statusToken });
    expect(status.status).to.equal(200);
    expect(status.headers.get('cache-control')).to.equal('no-store');
    expect(status.json).to.deep.include({ reference: receipt.reference, status: 'pending', sharing: 'live', cameraName: 'Entrada principal' });
    expect(JSON.stringify(status.json)).to.not.include(CAMERA_PASSWORD);
    expect((await call('GET', '/api/enrolment/status', { status: 'A'.repeat(43) })).status).to.equal(401);
    expect((await call('GET', '/api/enrolment/status')).status).to.equal(401);
    // Only admins review.
    expect((await call('GET', '/api/enrolments', { token: await operator() })).status).to.equal(403);
    expect((await call('GET', '/api/enrolments')).status).to.equal(401);

    const actions = auditEntries().filter((entry) => entry.action.startsWith('enrolment.'));
    expect(actions.map((entry) => [entry.action, entry.details?.result ?? entry.details?.check])).to.deep.include.members([
      ['enrolment.checked', 'unauthorized'],
      ['enrolment.checked', 'reachable'],
      ['enrolment.submitted', 'reachable'],
    ]);
    expect(actions.find((entry) => entry.action === 'enrolment.submitted')).to.deep.include({ cameraId: item.cameraCode, ip: from });
  });

  it('never opens a door into the server network: non-public addresses, other ports, a redirect to them', async () => {
    const refusals: Array<[string, string]> = [
      ['rtsp://10.0.0.1:554/stream', 'address'],
      ['rtsp://127.0.0.2:554/stream', 'address'],
      ['rtsp://169.254.169.254:554/latest', 'address'],
      ['rtsp://[::1]:554/stream', 'address'],
      [`rtsp://127.0.0.1:9/stream`, 'port'],
    ];
    for (const [url, reason] of refusals) {
      const res = await call('POST', '/api/enrolment', { body: submission({ contact: { email: `door${xff}@example.org` } }, { url, credentials: undefined }), from: source() });
      expect(res.status, url).to.equal(422);
      expect(res.json.error.details, url).to.deep.include({ reason, field: 'camera.url' });
      expect(res.json.error.message, url).to.not.match(/ECONNREFUSED|EHOSTUNREACH|socket/i);
    }
    // A camera the guard lets through that redirects inside: refused (the RTSP client's own test
    // proves the inside address is never dialled: test/integration/rtsp-address-guard.test.ts).
    for (const [path, inside] of [['/to-private', 'rtsp://10.0.0.1:554/stream'], ['/to-loopback', `rtsp://127.0.0.3:${sim.rtspPort}/cit-open`]] as const) {
      const res = await call('POST', '/api/enrolment', { body: submission({ contact: { email: `redirect${xff}@example.org` } }, { url: front.url(path), credentials: undefined }), from: source() });
      expect(res.status, inside).to.equal(422);
      expect(res.json.error.details, inside).to.deep.include({ reason: 'address', field: 'camera.url' });
      expect(res.json.error.message).to.match(/not public/);
    }
    expect(front.requests.length).to.be.at.least(2);
  });

  it('validates every field: a clear error, nothing stored', async () => {
    const before = (await call('GET', '/api/enrolments?status=pending,approved,rejected,withdrawn', { token: admin })).json.total;
    const bad: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      ['http scheme', {}, { url: 'http://example.org/stream' }],
      ['shell metacharacters', {}, { url: 'rtsp://example.org/$(reboot)' }],
      ['backticks in the name', {}, { name: 'cam`id`' }],
      ['latitude out of range', { location: { lat: 91, lng: 0 } }, {}],
      ['longitude out of range', { location: { lat: 0, lng: -181 } }, {}],
      ['a bad e-mail', { contact: { email: 'not-an-email' } }, {}],
      ['agreement not accepted', { agreement: { version: '2026-12', accepted: false } }, {}],
      ['an unknown field', { extra: 1 }, {}],
      ['a name too long', { owner: { kind: 'person', name: 'x'.repeat(121) } }, {}],
    ];
    for (const [label, overrides, camera] of bad) {
      const res = await call('POST', '/api/enrolment', { body: submission(overrides, camera), from: source() });
      expect(res.status, label).to.equal(400);
      expect(res.json.error.code, label).to.equal('invalid_request');
    }
    const noContact = await call('POST', '/api/enrolment', { body: submission({ contact: {} }), from: source() });
    expect(noContact.status).to.equal(422);
    expect(noContact.json.error.message).to.match(/contact: an e-mail address or a phone number/);
    const outdated = await call('POST', '/api/enrolment', { body: submission({ agreement: { version: '2020-01', accepted: true } }), from: source() });
    expect(outdated.status).to.equal(400);
    expect(outdated.json.error.message).to.match(/agreement in force is 2026-12/);
    expect((await call('GET', '/api/enrolments?status=pending,approved,rejected,withdrawn', { token: admin })).json.total).to.equal(before);
  });

  it('limits submissions per source address and per contact, per hour', async () => {
    const from = source();
    const door = (email: string) => submission({ contact: { email } }, { url: 'rtsp://10.9.9.9:554/x', credentials: undefined });
    for (let i = 0; i < 3; i++) expect((await call('POST', '/api/enrolment', { body: door(`limit${i}@example.org`), from })).status).to.equal(422);
    const limited = await call('POST', '/api/enrolment', { body: door('limit9@example.org'), from });
    expect(limited.status).to.equal(429);
    expect(limited.json.error.details).to.deep.include({ limit: 'source' });
    expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 3600);
    // The same contact from other addresses: refused attempts cost it nothing (a typo fixed is free),
    // three enrolments stored per hour, then refused before any check (the phone's digits are the key).
    const phone = (format: string) => submission({ contact: { phone: format } }, { url: sim.url('cit-open'), credentials: undefined });
    expect((await call('POST', '/api/enrolment', { body: submission({ contact: { phone: '+52 (81) 5555-0000' } }, { url: 'rtsp://10.9.9.9:554/x', credentials: undefined }), from: source() })).status).to.equal(422);
    for (let i = 0; i < 3; i++) expect((await call('POST', '/api/enrolment', { body: phone('+52 (81) 5555-0000'), from: source() })).status).to.equal(201);
    const contact = await call('POST', '/api/enrolment', { body: phone('528155550000'), from: source() });
    expect(contact.status).to.equal(429);
    expect(contact.json.error.details).to.deep.include({ limit: 'contact' });
  });

  it('review: oldest first, duplicates flagged, a review view audited, approval shows a live camera to operators and incident-only hides it', async () => {
    const first = await enrol({ sharing: 'live' }, { url: sim.url('cit-open'), credentials: undefined, name: 'Tienda esquina' });
    const second = await enrol({ sharing: 'incident-only', owner: { kind: 'organisation', name: 'Farmacia Centro' } }, { url: sim.url('cit-open'), credentials: undefined, name: 'Farmacia' });
    const queue = (await call('GET', '/api/enrolments?limit=200', { token: admin })).json;
    const references = queue.items.map((item: { reference: string }) => item.reference);
    expect(references.indexOf(first.reference)).to.be.lessThan(references.indexOf(second.reference));
    const secondItem = queue.items.find((item: { reference: string }) => item.reference === second.reference);
    expect(secondItem.duplicates).to.deep.include({ cameraCode: 'AG-DUP', source: 'registered', status: 'approved' });
    expect(secondItem.duplicates.some((d: { reference?: string; source: string }) => d.source === 'enrolment' && d.reference === first.reference)).to.equal(true);
    const firstItem = queue.items.find((item: { reference: string }) => item.reference === first.reference);

    // Admins may watch a pending camera for review (audited as such); nobody else, and not without asking for a review.
    const reviewer = await watch(admin, firstItem.cameraCode, true);
    expect(reviewer.answer.error, JSON.stringify(reviewer.answer.error)).to.equal(undefined);
    const plain = await watch(admin, secondItem.cameraCode);
    expect(plain.answer.error?.code).to.equal('forbidden');
    const op = await operator();
    expect((await watch(op, firstItem.cameraCode, true)).answer.error?.code).to.equal('forbidden');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const reviewView = auditEntries().find((entry) => entry.action === 'view.start' && entry.cameraId === firstItem.cameraCode);
    expect(reviewView?.details).to.deep.include({ purpose: 'review' });

    // A console already open hears that the catalog changed, and lists its cameras again.
    const listening = await connectClient(t.app.consoleUrl, op);
    sockets.push(listening);
    const told = new Promise<number>((resolve) => listening.once('camerasChanged', () => resolve(Date.now())));
    const started = Date.now();
    const approved = await call('POST', `/api/enrolments/${first.reference}/approve`, { token: admin, body: { municipality: 'Cuauhtémoc' } });
    expect(approved.status).to.equal(200);
    expect(approved.json).to.deep.include({ status: 'approved', cameraStatus: 'approved', municipality: 'Cuauhtémoc' });
    expect((await call('POST', `/api/enrolments/${second.reference}/approve`, { token: admin, body: { municipality: 'Cuauhtémoc' } })).status).to.equal(200);
    console.log(`      approval answered in ${Date.now() - started} ms; an open console was told ${(await told) - started} ms after the request`);
    expect((await ok(listening, 'listCameras', {})).cameras.map((c) => c.id)).to.include(firstItem.cameraCode);
    // The reviewer's view goes on, now as an ordinary view.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = auditEntries().filter((entry) => entry.cameraId === firstItem.cameraCode && entry.action.startsWith('view.'));
    expect(after.map((entry) => [entry.action, entry.details?.purpose ?? null])).to.deep.equal([
      ['view.start', 'review'],
      ['view.stop', 'review'],
      ['view.start', null],
    ]);
    expect(auditEntries().find((entry) => entry.action === 'enrolment.approved' && entry.details?.reference === first.reference)?.details).to.deep.include({ municipality: 'Cuauhtémoc' });

    // An operator of the municipality sees the live one, not the incident-only one.
    const listed = (await call('GET', '/api/cameras?area=citizen&limit=500', { token: op })).json.items.map((c: { code: string }) => c.code);
    expect(listed).to.include(firstItem.cameraCode);
    expect(listed).to.not.include(secondItem.cameraCode);
    const operatorView = await watch(op, secondItem.cameraCode);
    expect(operatorView.answer.error?.code).to.equal('forbidden');
    // The camera routes leave an enrolled camera's decision to the review queue.
    const direct = await call('POST', `/api/cameras/${secondItem.cameraCode}/reject`, { token: admin, body: { reason: 'straight' } });
    expect(direct.status).to.equal(409);
    expect(direct.json.error.message).to.match(/review queue/);
    // Approved or not pending any more: no second decision.
    expect((await call('POST', `/api/enrolments/${first.reference}/reject`, { token: admin, body: { reason: 'late' } })).status).to.equal(409);
  });

  it('the owner changes consent (live views end), changes the URL (back to review), and withdraws (views end with the reason)', async () => {
    const receipt = await enrol({ sharing: 'live' }, { url: sim.url('cit-open'), credentials: undefined, name: 'Portón' });
    const code = (await call('GET', `/api/enrolments/${receipt.reference}`, { token: admin })).json.cameraCode as string;
    await call('POST', `/api/enrolments/${receipt.reference}/approve`, { token: admin, body: { municipality: 'Cuauhtémoc' } });
    const op = await operator();

    // Consent to incident-only: the operator's live view ends.
    let view = await watch(op, code);
    expect(view.answer.error, JSON.stringify(view.answer.error)).to.equal(undefined);
    let closed = new Promise<{ reason: string; message?: string }>((resolve) => view.socket.once('consumerClosed', resolve));
    let started = Date.now();
    const consent = await call('PATCH', '/api/enrolment/status', { status: receipt.statusToken, body: { sharing: 'incident-only' } });
    expect(consent.status).to.equal(200);
    expect(consent.json.sharing).to.equal('incident-only');
    expect((await closed).reason).to.equal('camera_forbidden');
    console.log(`      consent change ended the live view in ${Date.now() - started} ms`);
    expect(auditEntries().find((entry) => entry.action === 'enrolment.consent_changed' && entry.cameraId === code)?.details).to.deep.include({ before: 'live', after: 'incident-only' });
    await call('PATCH', '/api/enrolment/status', { status: receipt.statusToken, body: { sharing: 'live' } });

    // A new URL: checked, and back to review (the camera is pending again).
    const moved = await call('PATCH', '/api/enrolment/status', { status: receipt.statusToken, body: { url: sim.url('cit-secure'), credentials: { username: 'vecino', password: CAMERA_PASSWORD } } });
    expect(moved.status, JSON.stringify(moved.json)).to.equal(200);
    expect(moved.json).to.deep.include({ status: 'pending', cameraStatus: 'pending' });
    const wrong = await call('PATCH', '/api/enrolment/status', { status: receipt.statusToken, body: { credentials: { username: 'vecino', password: 'nope' } } });
    expect(wrong.status).to.equal(422);
    expect(wrong.json.error.details).to.deep.include({ check: 'unauthorized' });
    await call('POST', `/api/enrolments/${receipt.reference}/approve`, { token: admin, body: { municipality: 'Cuauhtémoc' } });

    // Withdrawal: revoked at once, the view ends with the reason; the link then only shows the status.
    view = await watch(op, code);
    expect(view.answer.error, JSON.stringify(view.answer.error)).to.equal(undefined);
    closed = new Promise((resolve) => view.socket.once('consumerClosed', resolve));
    started = Date.now();
    const withdrawn = await call('POST', '/api/enrolment/withdraw', { status: receipt.statusToken, body: { reason: 'Cerramos el negocio' } });
    expect(withdrawn.status).to.equal(200);
    expect(withdrawn.json).to.deep.include({ status: 'withdrawn', cameraStatus: 'revoked' });
    const event = await closed;
    console.log(`      withdrawal ended the live view in ${Date.now() - started} ms`);
    expect(event.reason).to.equal('camera_withdrawn');
    expect(event.message).to.match(/withdrawn by its owner/);
    expect((await call('PATCH', '/api/enrolment/status', { status: receipt.statusToken, body: { sharing: 'live' } })).status).to.equal(409);
    expect((await call('GET', '/api/enrolment/status', { status: receipt.statusToken })).json.status).to.equal('withdrawn');
    expect(auditEntries().some((entry) => entry.action === 'enrolment.withdrawn' && entry.cameraId === code)).to.equal(true);
  });

  it('reissuing the link voids the old one; rejection shows the reason; personal data is erased after the retention, the audit keeps the reference', async () => {
    const receipt = await enrol({}, { url: sim.url('cit-open'), credentials: undefined });
    const link = await call('POST', `/api/enrolments/${receipt.reference}/status-link`, { token: admin });
    expect(link.status).to.equal(200);
    expect(link.json.statusToken).to.not.equal(receipt.statusToken);
    tokens.push(link.json.statusToken);
    expect((await call('GET', '/api/enrolment/status', { status: receipt.statusToken })).status).to.equal(401);
    expect((await call('GET', '/api/enrolment/status', { status: link.json.statusToken })).status).to.equal(200);

    const rejected = await call('POST', `/api/enrolments/${receipt.reference}/reject`, { token: admin, body: { reason: 'La cámara enfoca el interior de una vivienda' } });
    expect(rejected.json).to.deep.include({ status: 'rejected', cameraStatus: 'rejected' });
    const owner = (await call('GET', '/api/enrolment/status', { status: link.json.statusToken })).json;
    expect(owner).to.deep.include({ status: 'rejected', statusReason: 'La cámara enfoca el interior de una vivienda' });

    expect(await t.app.enrolments!.eraseExpired(Date.now())).to.equal(0);
    const erased = await t.app.enrolments!.eraseExpired(Date.now() + 31 * 86_400_000);
    expect(erased).to.be.at.least(1);
    const item = (await call('GET', `/api/enrolments/${receipt.reference}`, { token: admin })).json;
    expect(item.personal).to.equal(undefined);
    expect(item.erasedAt).to.be.a('string');
    expect(auditEntries().some((entry) => entry.action === 'enrolment.erased' && entry.details?.reference === receipt.reference)).to.equal(true);
  });

  it('keeps contact details, tokens and credentials out of logs, metrics and the audit trail', async () => {
    // The camera's password: nowhere (responses, logs, metrics, audit).
    await scan.collectApp(t.app);
    scan.assertClean();
    // Contact details (admins see them in the review answers) and status tokens (shown once in their
    // receipt): never in the audit trail, the logs or the metrics.
    const audit = readFileSync(join(t.app.config.dataDir, 'audit', 'audit.jsonl'), 'utf8');
    const logs = t.log.lines.join('\n');
    const metrics = await (await fetch(`${t.app.consoleUrl}/metrics`)).text();
    expect(tokens.length).to.be.at.least(2);
    for (const secret of [EMAIL, PHONE, ADDRESS, 'María López', ...tokens]) {
      expect(audit, secret).to.not.include(secret);
      expect(logs, secret).to.not.include(secret);
      expect(metrics, secret).to.not.include(secret);
    }
  });
});
