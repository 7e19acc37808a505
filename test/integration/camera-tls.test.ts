import { expect } from 'chai';
import { ScriptedCamera } from '../support/ScriptedCamera.ts';
import { createSelfSignedCertificate, type SelfSignedCertificate } from '../support/certificates.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import type { CameraCatalogEvents } from '../../server/catalog/CameraCatalog.ts';

/** A camera's certificate policy end to end: a self-signed rtsps camera, pinned through the API, checked by the prober. */
describe('camera certificate pinning (rtsps)', function () {
  this.timeout(60_000);
  let certificate: SelfSignedCertificate;
  let other: SelfSignedCertificate;
  let cam: ScriptedCamera;
  let t: TestApp;
  let base: string;
  let adminToken: string;

  async function api(method: string, path: string, body?: unknown, type = 'application/json') {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': type, authorization: `Bearer ${adminToken}` },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, any>) : {} };
  }
  const agency = (code: string, extra: Record<string, unknown> = {}) => ({
    code,
    name: `Cámara ${code}`,
    area: 'agency',
    owner: { kind: 'organisation', name: 'SSC CDMX' },
    category: 'street',
    municipality: 'Cuauhtémoc',
    mainUrl: 'rtsps://10.20.30.40:322/Streaming/Channels/101',
    ...extra,
  });
  const health = async (code: string) => (await t.app.catalog.repository.findByCode(code))?.health;
  const probe = async (code: string) => {
    const camera = await t.app.catalog.repository.findByCode(code);
    await t.app.prober.checkNow(camera!.id);
    return health(code);
  };

  before(async () => {
    [certificate, other] = await Promise.all([createSelfSignedCertificate('camera.local'), createSelfSignedCertificate('other.local')]);
    cam = await ScriptedCamera.start({ tls: { key: certificate.key, cert: certificate.cert } });
    t = await startTestApp({
      cameras: [{ id: 'cam-tls', name: 'Self-signed', url: cam.url() }],
      health: { concurrency: 2, maxPerSecond: 100, timeoutMs: 3000, intervalMs: 60_000 },
    });
    adminToken = await t.token('admin');
    base = t.app.consoleUrl;
  });
  after(async () => {
    await t?.close();
    await cam?.stop();
  });

  it('an unpinned self-signed camera is unreachable, and the health message names the fingerprint it presented', async () => {
    expect((await api('GET', '/api/cameras/cam-tls')).json).to.not.have.property('tlsFingerprint');
    const verdict = await probe('cam-tls');
    expect(verdict?.status).to.equal('unreachable');
    expect(verdict?.message).to.match(/^tls_mismatch: the camera's certificate is not trusted \(/);
    expect(verdict?.message).to.include(`it presented SHA-256 ${certificate.fingerprint256}`).and.include("pin it as the camera's tlsFingerprint");
    expect((await api('GET', '/api/cameras/cam-tls')).json.health.message).to.include(certificate.fingerprint256);
  });

  it('pinned through the API (any case, no colons), the camera is reachable; the view shows the pin; the ingest restarts', async () => {
    const events: Array<CameraCatalogEvents['changed'][0]> = [];
    const onChanged = (event: CameraCatalogEvents['changed'][0]) => events.push(event);
    t.app.catalog.on('changed', onChanged);
    try {
      const patched = await api('PATCH', '/api/cameras/cam-tls', { tlsFingerprint: certificate.fingerprint256.replace(/:/g, '').toLowerCase() });
      expect(patched.status).to.equal(200);
      expect(patched.json.tlsFingerprint).to.equal(certificate.fingerprint256);
    } finally {
      t.app.catalog.off('changed', onChanged);
    }
    expect(events.map((e) => e.restart)).to.deep.equal([true]);
    expect((await api('GET', '/api/cameras/cam-tls')).json.tlsFingerprint).to.equal(certificate.fingerprint256);
    const source = await t.app.catalog.asDirectory().get('cam-tls');
    expect(source?.tls).to.deep.equal({ verify: true, fingerprint256: certificate.fingerprint256 });
    const verdict = await probe('cam-tls');
    expect(verdict?.status).to.equal('reachable');
  });

  it('a wrong pin is unreachable and names what the camera presented; null removes the pin', async () => {
    expect((await api('PATCH', '/api/cameras/cam-tls', { tlsFingerprint: other.fingerprint256 })).json.tlsFingerprint).to.equal(other.fingerprint256);
    const verdict = await probe('cam-tls');
    expect(verdict?.status).to.equal('unreachable');
    expect(verdict?.message).to.include('does not match the pinned fingerprint').and.include(`it presented SHA-256 ${certificate.fingerprint256}`);
    const removed = await api('PATCH', '/api/cameras/cam-tls', { tlsFingerprint: null });
    expect(removed.status).to.equal(200);
    expect(removed.json).to.not.have.property('tlsFingerprint');
    expect((await t.app.catalog.repository.findByCode('cam-tls'))?.tlsFingerprint).to.equal(undefined);
    expect((await t.app.catalog.asDirectory().get('cam-tls'))?.tls).to.equal(undefined);
  });

  it('validates the fingerprint and refuses it on an rtsp:// camera with a 400 naming the field', async () => {
    const created = await api('POST', '/api/cameras', agency('TLS-0001', { tlsFingerprint: ` ${certificate.fingerprint256.toLowerCase()} ` }));
    expect(created.status).to.equal(201);
    expect(created.json.tlsFingerprint).to.equal(certificate.fingerprint256);
    for (const bad of ['AB:CD', 'zz'.repeat(32), `${certificate.fingerprint256}:00`, 42]) {
      const res = await api('POST', '/api/cameras', agency('TLS-0002', { tlsFingerprint: bad }));
      expect(res.status, String(bad)).to.equal(400);
      expect(res.json.error.code).to.equal('invalid_request');
      expect(res.json.error.message).to.match(/^body\.tlsFingerprint: /);
    }
    const plain = await api('POST', '/api/cameras', agency('TLS-0003', { mainUrl: 'rtsp://10.20.30.41/live', tlsFingerprint: certificate.fingerprint256 }));
    expect(plain.status).to.equal(400);
    expect(plain.json.error.code).to.equal('invalid_request');
    expect(plain.json.error.message).to.match(/^tlsFingerprint: only an rtsps:\/\/ camera/);
    // A pinned camera cannot move to rtsp:// keeping its pin; with the pin removed in the same request, it can.
    const moved = await api('PATCH', '/api/cameras/TLS-0001', { mainUrl: 'rtsp://10.20.30.40/Streaming/Channels/101' });
    expect(moved.status).to.equal(400);
    expect(moved.json.error.message).to.match(/^tlsFingerprint: /);
    const movedWithout = await api('PATCH', '/api/cameras/TLS-0001', { mainUrl: 'rtsp://10.20.30.40/Streaming/Channels/101', tlsFingerprint: null });
    expect(movedWithout.status).to.equal(200);
    const pinPlain = await api('PATCH', '/api/cameras/TLS-0001', { tlsFingerprint: certificate.fingerprint256 });
    expect(pinPlain.status).to.equal(400);
    expect(pinPlain.json.error.message).to.match(/^tlsFingerprint: /);
  });

  it('imports the tls_fingerprint CSV column and the JSON field, idempotently, refusing it on rtsp:// rows', async () => {
    const bare = certificate.fingerprint256.replace(/:/g, '');
    const csv = [
      'code,name,area,owner_kind,owner_name,category,municipality,main_url,tls_fingerprint',
      `TLS-IMP-1,Pinned,agency,organisation,SSC,street,Tlalpan,rtsps://10.1.0.1:322/live,${bare}`,
      'TLS-IMP-2,Unpinned,agency,organisation,SSC,street,Tlalpan,rtsps://10.1.0.2:322/live,',
      `TLS-IMP-3,Plain,agency,organisation,SSC,street,Tlalpan,rtsp://10.1.0.3/live,${bare}`,
      'TLS-IMP-4,Bad,agency,organisation,SSC,street,Tlalpan,rtsps://10.1.0.4:322/live,not-a-fingerprint',
    ].join('\n');
    const first = await api('POST', '/api/cameras/import', csv, 'text/csv');
    expect(first.status).to.equal(200);
    expect(first.json.created).to.equal(2);
    expect(first.json.errors.map((e: { line: number; reason: string }) => [e.line, e.reason.split(':')[0]])).to.deep.equal([
      [4, 'tlsFingerprint'],
      [5, 'tlsFingerprint'],
    ]);
    expect((await t.app.catalog.repository.findByCode('TLS-IMP-1'))?.tlsFingerprint).to.equal(certificate.fingerprint256);
    expect((await t.app.catalog.repository.findByCode('TLS-IMP-2'))?.tlsFingerprint).to.equal(undefined);
    expect((await api('GET', '/api/cameras/TLS-IMP-1')).json.tlsFingerprint).to.equal(certificate.fingerprint256);
    // The same file again changes nothing (the pin given without colons matches the stored form).
    expect((await api('POST', '/api/cameras/import', csv, 'text/csv')).json.unchanged).to.equal(2);
    // A changed pin is a change: refused without update=true, applied with it; dropping the column removes it.
    const json = [{ code: 'TLS-IMP-1', name: 'Pinned', area: 'agency', owner: { kind: 'organisation', name: 'SSC' }, category: 'street', municipality: 'Tlalpan', mainUrl: 'rtsps://10.1.0.1:322/live', tlsFingerprint: other.fingerprint256 }];
    expect((await api('POST', '/api/cameras/import', JSON.stringify(json))).json.errors[0].reason).to.match(/update=true/);
    expect((await api('POST', '/api/cameras/import?update=true', JSON.stringify(json))).json.updated).to.equal(1);
    expect((await t.app.catalog.repository.findByCode('TLS-IMP-1'))?.tlsFingerprint).to.equal(other.fingerprint256);
    const { tlsFingerprint: _dropped, ...unpinned } = json[0]!;
    expect((await api('POST', '/api/cameras/import?update=true', JSON.stringify([unpinned]))).json.updated).to.equal(1);
    expect((await t.app.catalog.repository.findByCode('TLS-IMP-1'))?.tlsFingerprint).to.equal(undefined);
  });

  it('configured cameras: a configured pin replaces the stored one; without one, a pin set through the API is kept', async () => {
    const configured = { id: 'cam-tls', name: 'Self-signed', url: cam.url(), transport: 'tcp' as const, alwaysOn: false, area: 'agency' as const };
    await api('PATCH', '/api/cameras/cam-tls', { tlsFingerprint: certificate.fingerprint256 });
    expect((await t.app.catalog.ensureConfigured(configured)).tlsFingerprint).to.equal(certificate.fingerprint256);
    expect((await t.app.catalog.ensureConfigured({ ...configured, tlsFingerprint: other.fingerprint256 })).tlsFingerprint).to.equal(other.fingerprint256);
    expect((await t.app.catalog.repository.findByCode('cam-tls'))?.tlsFingerprint).to.equal(other.fingerprint256);
    // Moved to rtsp:// in the configuration: the pin no longer applies and goes.
    const plain = await t.app.catalog.ensureConfigured({ ...configured, url: cam.url().replace(/^rtsps:/, 'rtsp:') });
    expect(plain.tlsFingerprint).to.equal(undefined);
    const created = await t.app.catalog.ensureConfigured({ ...configured, id: 'cam-tls-2', tlsFingerprint: certificate.fingerprint256 });
    expect(created.tlsFingerprint).to.equal(certificate.fingerprint256);
    expect(created.status).to.equal('approved');
    expect((await probe('cam-tls-2'))?.status).to.equal('reachable');
  });

  it('documents the field in the OpenAPI document (create, patch, view, CSV columns)', async () => {
    const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, any> };
    const create = doc.paths['/api/cameras']!.post.requestBody.content['application/json'].schema;
    expect(create.properties.tlsFingerprint.type).to.equal('string');
    expect(create.properties.tlsFingerprint.pattern).to.be.a('string');
    expect(create.properties.tlsFingerprint.description).to.match(/SHA-256/);
    const patch = doc.paths['/api/cameras/{code}']!.patch.requestBody.content['application/json'].schema;
    expect(JSON.stringify(patch.properties.tlsFingerprint)).to.include('"null"');
    const view = doc.paths['/api/cameras/{code}']!.get.responses['200'].content['application/json'].schema;
    expect(view.properties.tlsFingerprint.type).to.equal('string');
    expect(JSON.stringify(doc.paths['/api/cameras/import'])).to.include('tls_fingerprint');
  });
});
