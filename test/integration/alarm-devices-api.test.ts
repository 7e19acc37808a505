import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { SecretsScan } from '../support/SecretsScan.ts';
import { SecretVault } from '../../server/auth/SecretVault.ts';
import { signedHeaders } from '../../server/alarms/AlarmSignature.ts';
import type { Role } from '../../server/auth/Identity.ts';

/**
 * Alarm devices over REST (issue 22), admins only: registration issues an HTTP key shown once
 * (never in a listing, a read, the audit trail, the logs, /metrics or the stored record, which holds
 * it sealed as `keyId:iv:tag:ct` under the app's credential key); the key signs intake requests;
 * rotation retires the old key at once; status changes reach the intake (suspended: 403); retired
 * is final (409); linked cameras must be registered (422); codes are unique (409); CSV import
 * reports bad rows by line, re-sending a file changes nothing and issues no key. Every refusal has
 * its stable code, is listed in the OpenAPI document for its operation, and changes nothing.
 */

type Json = any;

const CREDENTIAL_KEY = 'alarm-devices-test-credential-key-0123456789';
const PLACE = { lat: 19.4326, lng: -99.1332 };
const CSV_HEADER = 'code,name,kind,owner_name,owner_phone,owner_email,lat,lng,address,area,municipality,cameras,supervision_interval_s,status';

describe('alarm devices over REST (issue 22)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let doc: { paths: Record<string, Record<string, any>> };
  let scan: SecretsScan;
  const tokens = {} as Record<'admin' | 'operator' | 'supervisor' | 'investigator', string>;
  /** Every key issued: none may appear anywhere after the answer that issued it. */
  const issued: string[] = [];
  let serial = 0;

  const registerKey = (key: string) => {
    issued.push(key);
    scan.register(`device key #${issued.length}`, key);
    scan.register(`device key #${issued.length} (upper-case hex)`, key.toUpperCase());
    scan.register(`device key #${issued.length} (bytes, base64)`, Buffer.from(key, 'hex').toString('base64').replace(/=+$/, ''));
    scan.register(`device key #${issued.length} (bytes, base64url)`, Buffer.from(key, 'hex').toString('base64url'));
  };

  /** A request whose answer is scanned for keys (everything but the answers that issue one). */
  const api = async (token: string | undefined, method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const res = await scan.fetch(`${t.app.consoleUrl}${path}`, {
      method,
      headers: { ...(token && { authorization: `Bearer ${token}` }), 'content-type': contentType },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, json: JSON.parse(res.text) as Json };
  };
  /** A request that issues keys: its answer is not scanned (the key is meant to be there, once). */
  const issuing = async (method: string, path: string, body: unknown, contentType = 'application/json') => {
    const res = await fetch(`${t.app.consoleUrl}${path}`, { method, headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Json };
  };
  const okAs = async (token: string, method: string, path: string, body?: unknown, status = 200): Promise<Json> => {
    const res = await api(token, method, path, body);
    expect(res.status, `${method} ${path}: ${JSON.stringify(res.json)}`).to.equal(status);
    return res.json;
  };
  const deviceInput = (extra: Record<string, unknown> = {}) => ({
    code: `DEV-${process.pid}-${++serial}`,
    name: `Panic button ${serial}`,
    kind: 'fixed_button',
    owner: { name: 'Tienda La Esquina', phone: '+52 55 1234 5678', email: 'tienda@example.org' },
    location: PLACE,
    address: 'Av. Juárez 1',
    area: 'agency',
    municipality: 'Norte',
    ...extra,
  });
  /** Registers a device through the API; its view and key (registered with the scan). */
  const create = async (extra: Record<string, unknown> = {}): Promise<{ device: Json; key: string }> => {
    const res = await issuing('POST', '/api/alarm-devices', deviceInput(extra));
    expect(res.status, JSON.stringify(res.json)).to.equal(201);
    registerKey(res.json.httpKey);
    return { device: res.json.device, key: res.json.httpKey };
  };
  /** A signed press to the intake (answer scanned). */
  const press = async (code: string, key: string, body: unknown = { type: 'alarm' }) => {
    const raw = JSON.stringify(body);
    return scan
      .fetch(`${t.app.consoleUrl}/api/alarms`, { method: 'POST', headers: { 'content-type': 'application/json', ...signedHeaders({ deviceCode: code, keyHex: key, body: raw }) }, body: raw })
      .then((res) => ({ status: res.status, json: JSON.parse(res.text) as Json }));
  };
  const auditTotal = async (): Promise<number> => (await t.app.audit.query({}, { offset: 0, limit: 1 })).total;
  const allDevices = async (): Promise<Json[]> => (await okAs(tokens.admin, 'GET', '/api/alarm-devices?limit=500')).items;

  /**
   * A refused request: status, stable code, a message; the OpenAPI document lists that code under
   * that status for the operation ("METHOD /api/path/{param}"); no audit entry; the devices read back the same.
   */
  const refused = async (op: string, params: Record<string, string>, token: string | undefined, body: unknown, status: number, code: string, contentType?: string) => {
    const [method, template] = op.split(' ') as [string, string];
    const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => params[name]!);
    const before = { audit: await auditTotal(), devices: await allDevices() };
    const res = await api(token, method, path, body, contentType);
    expect(res.status, `${op} ${path}: ${JSON.stringify(res.json)}`).to.equal(status);
    expect(res.json.error?.code, `${op}: error code`).to.equal(code);
    expect(res.json.error?.message, `${op}: a message`).to.be.a('string').that.is.not.empty;
    expect(res.json).to.not.have.nested.property('httpKey');
    const documented = doc.paths[template]?.[method.toLowerCase()]?.responses?.[String(status)];
    expect(documented, `${op}: the OpenAPI document lists ${status}`).to.not.equal(undefined);
    expect(documented.content['application/json'].schema.properties.error.properties.code.enum, `${op}: ${status} lists ${code}`).to.include(code);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect({ audit: await auditTotal(), devices: await allDevices() }, `${op}: nothing changed`).to.deep.equal(before);
    return res.json.error as { code: string; message: string };
  };

  before(async () => {
    t = await startTestApp({ ingest: { workers: 0 }, media: { workers: 1 }, catalog: { credentialKey: CREDENTIAL_KEY }, alarms: { ratePerDevicePerMinute: 100, ratePerAddressPerMinute: 10_000 } } as never);
    scan = new SecretsScan().registerApp(t.app).watchLog(t.log);
    for (const role of ['admin', 'operator', 'supervisor', 'investigator'] as Role[]) tokens[role as keyof typeof tokens] = await t.token(role);
    for (const code of ['CAM-1', 'CAM-2', 'CAM-RET']) {
      const camera = await t.app.catalog.create(
        { code, name: `Camera ${code}`, area: 'agency', owner: { kind: 'organisation', name: 'Owner' }, category: 'street', municipality: 'Norte', location: PLACE, mainUrl: `rtsp://127.0.0.1:9/${code}`, transport: 'tcp', alwaysOn: false, tags: [] } as never,
        { status: 'approved' },
      );
      if (code === 'CAM-RET') await t.app.catalog.retire(camera.id);
    }
    doc = (await (await fetch(`${t.app.consoleUrl}/api/openapi.json`)).json()) as typeof doc;
  });
  after(async () => {
    await t?.close();
  });

  it('creates a device: 201 with its key (64 hex) once; the key is never shown again, and is stored only sealed', async () => {
    const auditBefore = await auditTotal();
    const { device, key } = await create({ cameras: ['CAM-1'], supervisionIntervalS: 300 });
    expect(key).to.match(/^[0-9a-f]{64}$/);
    expect(device).to.include({ kind: 'fixed_button', status: 'active', area: 'agency', municipality: 'Norte', supervisionIntervalS: 300, online: true });
    expect(device.cameras).to.deep.equal(['CAM-1']);
    expect(device).to.not.have.property('httpKey');
    expect(Date.parse(device.keyIssuedAt)).to.be.closeTo(Date.now(), 10_000);

    // Not in a read, a listing, a search, a change.
    const read = await okAs(tokens.admin, 'GET', `/api/alarm-devices/${device.id}`);
    expect(read).to.deep.equal(device);
    const listed = await okAs(tokens.admin, 'GET', `/api/alarm-devices?q=${encodeURIComponent(device.code)}`);
    expect(listed.items).to.deep.equal([device]);
    expect(listed.total).to.equal(1);
    const changed = await okAs(tokens.admin, 'PATCH', `/api/alarm-devices/${device.id}`, { name: 'Renamed button' });
    expect(changed).to.not.have.property('httpKey');
    expect(changed.name).to.equal('Renamed button');

    // Audited, without the key.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const entries = (await t.app.audit.query({ action: 'alarm_device' }, { offset: 0, limit: 10 })).items.filter((entry) => entry.deviceId === device.id);
    expect(entries.map((entry) => entry.action).sort()).to.deep.equal(['alarm_device.create', 'alarm_device.update']);
    expect(await auditTotal()).to.equal(auditBefore + 2);

    // Stored sealed: keyId:iv:tag:ct, the ciphertext not the key in any form, opened only by the app's credential key.
    const record = (await t.app.alarmDevices.repository.findById(device.id))!;
    expect(record.httpKey).to.match(/^[0-9a-f]{8}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/);
    const vault = new SecretVault(CREDENTIAL_KEY);
    expect(record.httpKey.split(':')[0]).to.equal(vault.keyId);
    expect(vault.open(record.httpKey)).to.equal(key);
    expect(() => new SecretVault('another-credential-key-of-the-same-length-xx').open(record.httpKey)).to.throw();
    const [keyId, iv, tag, ct] = record.httpKey.split(':') as [string, string, string, string];
    const tampered = `${keyId}:${iv}:${tag}:${ct.slice(0, -2)}${ct.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(() => vault.open(tampered)).to.throw();
    scan.add('the stored record', JSON.stringify(record));
    // Two devices never share a sealed value, even the same key would not (random IV).
    expect(vault.seal(key)).to.not.equal(record.httpKey);

    // The key signs: the intake accepts it.
    const accepted = await press(device.code, key);
    expect(accepted.status, JSON.stringify(accepted.json)).to.equal(201);
    scan.assertClean();
  });

  it('rotate-key: a new key once; the old one is refused at once (401), the new one works', async () => {
    const { device, key: oldKey } = await create();
    expect((await press(device.code, oldKey, { type: 'heartbeat' })).status).to.equal(200);
    const rotated = await issuing('POST', `/api/alarm-devices/${device.id}/rotate-key`, {});
    expect(rotated.status, JSON.stringify(rotated.json)).to.equal(200);
    const newKey: string = rotated.json.httpKey;
    registerKey(newKey);
    expect(newKey).to.match(/^[0-9a-f]{64}$/).and.not.equal(oldKey);
    expect(rotated.json.device.id).to.equal(device.id);
    expect(Date.parse(rotated.json.device.keyIssuedAt)).to.be.at.least(Date.parse(device.keyIssuedAt));
    const old = await press(device.code, oldKey);
    expect(old.status).to.equal(401);
    expect(old.json.error).to.deep.include({ code: 'unauthenticated' });
    const fresh = await press(device.code, newKey);
    expect(fresh.status, JSON.stringify(fresh.json)).to.equal(201);
    const record = (await t.app.alarmDevices.repository.findById(device.id))!;
    expect(new SecretVault(CREDENTIAL_KEY).open(record.httpKey)).to.equal(newKey);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const entries = (await t.app.audit.query({ action: 'alarm_device.rotate_key' }, { offset: 0, limit: 10 })).items;
    expect(entries.some((entry) => entry.deviceId === device.id)).to.equal(true);
    scan.assertClean();
  });

  it('status: suspended is refused by the intake (403), active again works; retired is final (409) and cannot rotate (409)', async () => {
    const { device, key } = await create();
    expect((await okAs(tokens.admin, 'PATCH', `/api/alarm-devices/${device.id}`, { status: 'suspended' })).status).to.equal('suspended');
    const suspended = await press(device.code, key);
    expect(suspended.status).to.equal(403);
    expect(suspended.json.error.code).to.equal('forbidden');
    expect((await okAs(tokens.admin, 'PATCH', `/api/alarm-devices/${device.id}`, { status: 'active' })).status).to.equal('active');
    expect((await press(device.code, key)).status).to.equal(201);
    const audited = (await t.app.audit.query({ action: 'alarm_device.update' }, { offset: 0, limit: 50 })).items.filter((entry) => entry.deviceId === device.id);
    expect(audited.map((entry) => entry.details?.status)).to.deep.equal([{ from: 'suspended', to: 'active' }, { from: 'active', to: 'suspended' }]);

    expect((await okAs(tokens.admin, 'PATCH', `/api/alarm-devices/${device.id}`, { status: 'retired' })).status).to.equal('retired');
    expect((await press(device.code, key)).status).to.equal(403);
    for (const status of ['active', 'test', 'suspended']) {
      await refused('PATCH /api/alarm-devices/{id}', { id: device.id }, tokens.admin, { status }, 409, 'invalid_state');
    }
    await refused('POST /api/alarm-devices/{id}/rotate-key', { id: device.id }, tokens.admin, {}, 409, 'invalid_state');
    // Other changes of a retired device are still allowed (records), its status stays.
    expect((await okAs(tokens.admin, 'PATCH', `/api/alarm-devices/${device.id}`, { name: 'Retired button' })).status).to.equal('retired');
  });

  it('linked cameras must be registered and not retired (422); duplicates are kept once', async () => {
    await refused('POST /api/alarm-devices', {}, tokens.admin, deviceInput({ cameras: ['NOPE-1'] }), 422, 'unprocessable');
    const retired = await refused('POST /api/alarm-devices', {}, tokens.admin, deviceInput({ cameras: ['CAM-1', 'CAM-RET'] }), 422, 'unprocessable');
    expect(retired.message).to.include('CAM-RET');
    const { device } = await create({ cameras: ['CAM-2', 'CAM-1', 'CAM-2'] });
    expect(device.cameras).to.deep.equal(['CAM-2', 'CAM-1']);
    await refused('PATCH /api/alarm-devices/{id}', { id: device.id }, tokens.admin, { cameras: ['CAM-1', 'NOPE-2'] }, 422, 'unprocessable');
    expect((await okAs(tokens.admin, 'GET', `/api/alarm-devices/${device.id}`)).cameras).to.deep.equal(['CAM-2', 'CAM-1']);
  });

  it('a duplicate code: 409 conflict, and no key issued', async () => {
    const { device } = await create();
    const error = await refused('POST /api/alarm-devices', {}, tokens.admin, deviceInput({ code: device.code }), 409, 'conflict');
    expect(error.message).to.be.a('string');
  });

  it('bad input: 400 invalid_request (an empty change 422); unknown ids: 404 not_found', async () => {
    const { device } = await create();
    await refused('POST /api/alarm-devices', {}, tokens.admin, deviceInput({ kind: 'rocket' }), 400, 'invalid_request');
    await refused('POST /api/alarm-devices', {}, tokens.admin, deviceInput({ code: 'has space' }), 400, 'invalid_request');
    await refused('POST /api/alarm-devices', {}, tokens.admin, deviceInput({ status: 'suspended' }), 400, 'invalid_request');
    await refused('POST /api/alarm-devices', {}, tokens.admin, deviceInput({ httpKey: 'a'.repeat(64) }), 400, 'invalid_request');
    // Well-formed but empty: a rule between fields, 422 (the project's parseOr400 convention).
    await refused('PATCH /api/alarm-devices/{id}', { id: device.id }, tokens.admin, {}, 422, 'unprocessable');
    await refused('PATCH /api/alarm-devices/{id}', { id: device.id }, tokens.admin, { httpKey: 'a'.repeat(64) }, 400, 'invalid_request');
    await refused('POST /api/alarm-devices/{id}/rotate-key', { id: device.id }, tokens.admin, { key: 'x' }, 400, 'invalid_request');
    const res = await api(tokens.admin, 'GET', '/api/alarm-devices?limit=0&status=lost');
    expect(res.status).to.equal(400);
    expect(res.json.error.code).to.equal('invalid_request');
    const missing = 'a'.repeat(24);
    await refused('GET /api/alarm-devices/{id}', { id: missing }, tokens.admin, undefined, 404, 'not_found');
    await refused('PATCH /api/alarm-devices/{id}', { id: missing }, tokens.admin, { name: 'x' }, 404, 'not_found');
    await refused('POST /api/alarm-devices/{id}/rotate-key', { id: missing }, tokens.admin, {}, 404, 'not_found');
  });

  it('only admins: operators, supervisors and investigators get 403, no token 401, on every device operation', async () => {
    const { device } = await create();
    const ops: Array<[string, unknown, string?]> = [
      ['GET /api/alarm-devices', undefined],
      ['POST /api/alarm-devices', deviceInput()],
      ['GET /api/alarm-devices/{id}', undefined],
      ['PATCH /api/alarm-devices/{id}', { status: 'suspended' }],
      ['POST /api/alarm-devices/{id}/rotate-key', {}],
      ['POST /api/alarm-devices/import', `${CSV_HEADER}\nX-1,X,fixed_button,O,,,19,-99,,agency,Norte,,,`, 'text/csv'],
    ];
    for (const [op, body, contentType] of ops) {
      for (const role of ['operator', 'supervisor', 'investigator'] as const) {
        await refused(op, { id: device.id }, tokens[role], body, 403, 'forbidden', contentType);
      }
      await refused(op, { id: device.id }, undefined, body, 401, 'unauthenticated', contentType);
      await refused(op, { id: device.id }, 'not-a-token', body, 401, 'unauthenticated', contentType);
    }
    expect((await okAs(tokens.admin, 'GET', `/api/alarm-devices/${device.id}`)).status).to.equal('active');
  });

  describe('SIA DC-09 settings (issue 23)', () => {
    const vault = () => new SecretVault(CREDENTIAL_KEY);
    /** A DC-09 key is upper-case hex; registered with the scan in both cases. */
    const registerDc09Key = (key: string) => {
      registerKey(key);
      scan.register(`DC-09 key #${issued.length} (lower-case)`, key.toLowerCase());
    };
    let serialAccount = 0;
    const account = () => `DC${(++serialAccount).toString(16).toUpperCase().padStart(4, '0')}`;
    const createPanel = async (dc09: Record<string, unknown>) => {
      const res = await issuing('POST', '/api/alarm-devices', deviceInput({ kind: 'alarm_panel', dc09 }));
      expect(res.status, JSON.stringify(res.json)).to.equal(201);
      registerKey(res.json.httpKey);
      if (res.json.dc09Key) registerDc09Key(res.json.dc09Key);
      return res.json as { device: Json; httpKey: string; dc09Key?: string };
    };

    it('the DC-09 key is shown once: on create (by key size), never in a read, a listing, a change or the audit trail; stored sealed', async () => {
      for (const [encryption, digits] of [['aes128', 32], ['aes192', 48], ['aes256', 64]] as const) {
        const acct = account();
        const created = await createPanel({ account: acct.toLowerCase(), encryption });
        expect(created.dc09Key, encryption).to.match(new RegExp(`^[0-9A-F]{${digits}}$`));
        expect(created.device.dc09).to.deep.equal({ account: acct, encryption, encryptionRequired: true });
        expect(created.device).to.not.have.nested.property('dc09.key');
        const read = await okAs(tokens.admin, 'GET', `/api/alarm-devices/${created.device.id}`);
        expect(read).to.deep.equal(created.device);
        expect((await okAs(tokens.admin, 'GET', `/api/alarm-devices?q=${created.device.code}`)).items).to.deep.equal([created.device]);
        const renamed = await okAs(tokens.admin, 'PATCH', `/api/alarm-devices/${created.device.id}`, { name: 'Renamed panel' });
        expect(renamed).to.not.have.property('dc09Key');
        const record = (await t.app.alarmDevices.repository.findById(created.device.id))!;
        expect(record.dc09!.key).to.match(/^[0-9a-f]{8}:/).and.not.include(created.dc09Key!);
        expect(vault().open(record.dc09!.key!)).to.equal(created.dc09Key);
        scan.add(`stored panel ${record.code}`, JSON.stringify(record));
        const entries = (await okAs(tokens.admin, 'GET', `/api/audit?device=${created.device.id}`)).items;
        expect(entries.map((entry: Json) => entry.action).sort()).to.deep.equal(['alarm_device.create', 'alarm_device.update']);
        expect(entries.find((entry: Json) => entry.action === 'alarm_device.create').details.dc09).to.deep.equal({ account: acct, encryption, encryptionRequired: true });
      }
      // No encryption: no key, clear frames allowed by default.
      const clear = await createPanel({ account: account(), encryption: 'none' });
      expect(clear).to.not.have.property('dc09Key');
      expect(clear.device.dc09.encryptionRequired).to.equal(false);
      expect((await t.app.alarmDevices.repository.findById(clear.device.id))!.dc09).to.not.have.property('key');
      // Encrypted, clear frames allowed too (a migration).
      const lenient = await createPanel({ account: account(), encryption: 'aes128', encryptionRequired: false });
      expect(lenient.dc09Key).to.match(/^[0-9A-F]{32}$/);
      expect(lenient.device.dc09.encryptionRequired).to.equal(false);
      scan.assertClean();
    });

    it('rotate-key {which: dc09}: a new DC-09 key once (the HTTP key stays); a device without encryption cannot rotate it (409)', async () => {
      const created = await createPanel({ account: account(), encryption: 'aes256' });
      const httpBefore = (await t.app.alarmDevices.repository.findById(created.device.id))!.httpKey;
      const rotated = await issuing('POST', `/api/alarm-devices/${created.device.id}/rotate-key`, { which: 'dc09' });
      expect(rotated.status, JSON.stringify(rotated.json)).to.equal(200);
      const key: string = rotated.json.dc09Key;
      registerDc09Key(key);
      expect(key).to.match(/^[0-9A-F]{64}$/).and.not.equal(created.dc09Key);
      expect(rotated.json).to.not.have.property('httpKey');
      expect(rotated.json.device.dc09).to.deep.equal(created.device.dc09);
      const record = (await t.app.alarmDevices.repository.findById(created.device.id))!;
      expect(vault().open(record.dc09!.key!)).to.equal(key);
      expect(record.httpKey, 'the HTTP key is not rotated').to.equal(httpBefore);
      expect(await okAs(tokens.admin, 'GET', `/api/alarm-devices/${created.device.id}`)).to.not.have.property('dc09Key');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const audited = (await okAs(tokens.admin, 'GET', `/api/audit?device=${created.device.id}&action=alarm_device.rotate_key`)).items;
      expect(audited.map((entry: Json) => entry.details.which)).to.deep.equal(['dc09']);

      const clear = await createPanel({ account: account(), encryption: 'none' });
      await refused('POST /api/alarm-devices/{id}/rotate-key', { id: clear.device.id }, tokens.admin, { which: 'dc09' }, 409, 'invalid_state');
      const { device: plain } = await create();
      await refused('POST /api/alarm-devices/{id}/rotate-key', { id: plain.id }, tokens.admin, { which: 'dc09' }, 409, 'invalid_state');
      await refused('POST /api/alarm-devices/{id}/rotate-key', { id: plain.id }, tokens.admin, { which: 'aes' }, 400, 'invalid_request');
      scan.assertClean();
    });

    it('PATCH dc09: a changed encryption issues a key (in that answer only); the same encryption keeps the key; none drops it; null removes the settings', async () => {
      const created = await createPanel({ account: account(), encryption: 'aes128' });
      const id = created.device.id as string;
      const sealed = async () => (await t.app.alarmDevices.repository.findById(id))!.dc09;
      const acct = created.device.dc09.account as string;

      // Same encryption, encryptionRequired changed: no new key, the sealed key kept.
      const before = (await sealed())!.key;
      const lenient = await okAs(tokens.admin, 'PATCH', `/api/alarm-devices/${id}`, { dc09: { account: acct, encryption: 'aes128', encryptionRequired: false } });
      expect(lenient).to.not.have.property('dc09Key');
      expect(lenient.dc09).to.deep.equal({ account: acct, encryption: 'aes128', encryptionRequired: false });
      expect((await sealed())!.key).to.equal(before);

      // Another key size: a new key, once.
      const changed = await issuing('PATCH', `/api/alarm-devices/${id}`, { dc09: { account: acct, encryption: 'aes256' } });
      expect(changed.status, JSON.stringify(changed.json)).to.equal(200);
      const key: string = changed.json.dc09Key;
      registerDc09Key(key);
      expect(key).to.match(/^[0-9A-F]{64}$/);
      // encryptionRequired not given: kept as it was (false) for a panel that stays encrypted.
      expect(changed.json.dc09).to.deep.equal({ account: acct, encryption: 'aes256', encryptionRequired: false });
      expect(vault().open((await sealed())!.key!)).to.equal(key);
      expect(await okAs(tokens.admin, 'GET', `/api/alarm-devices/${id}`)).to.not.have.property('dc09Key');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const updates = (await okAs(tokens.admin, 'GET', `/api/audit?device=${id}&action=alarm_device.update`)).items;
      expect(updates[0].details).to.include({ dc09KeyIssued: true });

      // None: the key is gone; encrypted again later: a fresh key.
      const none = await okAs(tokens.admin, 'PATCH', `/api/alarm-devices/${id}`, { dc09: { account: acct, encryption: 'none' } });
      expect(none).to.not.have.property('dc09Key');
      expect(none.dc09).to.deep.equal({ account: acct, encryption: 'none', encryptionRequired: false });
      expect(await sealed()).to.not.have.property('key');
      const again = await issuing('PATCH', `/api/alarm-devices/${id}`, { dc09: { account: acct, encryption: 'aes192' } });
      registerDc09Key(again.json.dc09Key);
      expect(again.json.dc09Key).to.match(/^[0-9A-F]{48}$/).and.not.equal(key);

      // A device without DC-09 gets it by PATCH (a key); null removes it, and frees the account.
      const { device: plain } = await create();
      const acct2 = account();
      const added = await issuing('PATCH', `/api/alarm-devices/${plain.id}`, { dc09: { account: acct2, encryption: 'aes128' } });
      expect(added.status).to.equal(200);
      registerDc09Key(added.json.dc09Key);
      expect(added.json.dc09Key).to.match(/^[0-9A-F]{32}$/);
      const removed = await okAs(tokens.admin, 'PATCH', `/api/alarm-devices/${plain.id}`, { dc09: null });
      expect(removed).to.not.have.property('dc09');
      expect(await t.app.alarmDevices.repository.findByDc09Account(acct2)).to.equal(undefined);
      const reused = await createPanel({ account: acct2, encryption: 'none' });
      expect(reused.device.dc09.account).to.equal(acct2);
      scan.assertClean();
    });

    it('bad DC-09 settings: encryption none with encryptionRequired 422; an account not 3-16 hex digits 400; a taken account 409', async () => {
      const { device } = await createPanel({ account: account(), encryption: 'aes128' });
      await refused('POST /api/alarm-devices', {}, tokens.admin, deviceInput({ dc09: { account: account(), encryption: 'none', encryptionRequired: true } }), 422, 'unprocessable');
      await refused('PATCH /api/alarm-devices/{id}', { id: device.id }, tokens.admin, { dc09: { account: device.dc09.account, encryption: 'none', encryptionRequired: true } }, 422, 'unprocessable');
      for (const bad of ['12G4', 'XYZ', '12', '1'.repeat(17), '#1234', '12 34', '']) {
        await refused('POST /api/alarm-devices', {}, tokens.admin, deviceInput({ dc09: { account: bad, encryption: 'aes128' } }), 400, 'invalid_request');
        await refused('PATCH /api/alarm-devices/{id}', { id: device.id }, tokens.admin, { dc09: { account: bad, encryption: 'aes128' } }, 400, 'invalid_request');
      }
      await refused('POST /api/alarm-devices', {}, tokens.admin, deviceInput({ dc09: { account: account(), encryption: 'aes512' } }), 400, 'invalid_request');
      await refused('POST /api/alarm-devices', {}, tokens.admin, deviceInput({ dc09: { account: account(), encryption: 'aes128', key: 'A'.repeat(32) } }), 400, 'invalid_request');
      // Taken (in any case): on create, and on another device's change.
      await refused('POST /api/alarm-devices', {}, tokens.admin, deviceInput({ dc09: { account: device.dc09.account.toLowerCase(), encryption: 'none' } }), 409, 'conflict');
      const other = await createPanel({ account: account(), encryption: 'none' });
      await refused('PATCH /api/alarm-devices/{id}', { id: other.device.id }, tokens.admin, { dc09: { account: device.dc09.account, encryption: 'none' } }, 409, 'conflict');
    });

    it('CSV import with dc09 columns: the DC-09 key of each encrypted panel in the report\'s keys, once', async () => {
      const header = `${CSV_HEADER},dc09_account,dc09_encryption,dc09_encryption_required`;
      const stamp = `${process.pid}`;
      const [a1, a2, a3, a4] = [account(), account(), account(), account()];
      const rows = [
        `DCI-${stamp}-1,Panel 1,alarm_panel,Banco,,,19.43,-99.13,,agency,Norte,,,,${a1},aes256,`,
        `DCI-${stamp}-2,Panel 2,alarm_panel,Banco,,,19.43,-99.13,,agency,Norte,,,,${a2.toLowerCase()},none,false`,
        `DCI-${stamp}-3,Panel 3,alarm_panel,Banco,,,19.43,-99.13,,agency,Norte,,,,${a3},,false`,
        `DCI-${stamp}-4,Panel 4,alarm_panel,Banco,,,19.43,-99.13,,agency,Norte,,,,${a4},none,true`,
        `DCI-${stamp}-5,Panel 5,alarm_panel,Banco,,,19.43,-99.13,,agency,Norte,,,,${a1},aes128,`,
        `DCI-${stamp}-6,Panel 6,alarm_panel,Banco,,,19.43,-99.13,,agency,Norte,,,,NOTHEX,aes128,`,
      ];
      const res = await issuing('POST', '/api/alarm-devices/import', `${header}\n${rows.join('\n')}\n`, 'text/csv');
      expect(res.status, JSON.stringify(res.json)).to.equal(200);
      for (const entry of res.json.keys) {
        registerKey(entry.httpKey);
        if (entry.dc09Key) registerDc09Key(entry.dc09Key);
      }
      expect(res.json).to.deep.include({ rows: 6, created: 3, unchanged: 0 });
      expect(res.json.keys.map((entry: Json) => [entry.code, entry.dc09Key?.length ?? null])).to.deep.equal([
        [`DCI-${stamp}-1`, 64],
        [`DCI-${stamp}-2`, null],
        [`DCI-${stamp}-3`, 32],
      ]);
      expect(res.json.errors.map((error: Json) => [error.line, error.code])).to.deep.equal([
        [5, `DCI-${stamp}-4`],
        [6, `DCI-${stamp}-5`],
        [7, `DCI-${stamp}-6`],
      ]);
      const stored = (await t.app.alarmDevices.repository.findByCode(`DCI-${stamp}-1`))!;
      expect(vault().open(stored.dc09!.key!)).to.equal(res.json.keys[0].dc09Key);
      const views = await Promise.all([1, 2, 3].map(async (n) => (await okAs(tokens.admin, 'GET', `/api/alarm-devices?q=DCI-${stamp}-${n}`)).items[0]));
      expect(views.map((view) => view.dc09)).to.deep.equal([
        { account: a1, encryption: 'aes256', encryptionRequired: true },
        { account: a2, encryption: 'none', encryptionRequired: false },
        { account: a3, encryption: 'aes128', encryptionRequired: false },
      ]);
      // Sent again: nothing created, no key.
      const again = await issuing('POST', '/api/alarm-devices/import', `${header}\n${rows.slice(0, 3).join('\n')}\n`, 'text/csv');
      expect(again.json).to.deep.include({ rows: 3, created: 0, unchanged: 3, keys: [] });
      scan.assertClean();
    });
  });

  describe('CSV import', () => {
    const csv = (rows: string[]) => `${CSV_HEADER}\n${rows.join('\n')}\n`;
    const stamp = `${process.pid}`;
    const good1 = `IMP-${stamp}-1,Farmacia Sol,fixed_button,Farmacia Sol SA,+52 55 0000 0001,,19.4301,-99.1301,Calle 1,agency,Norte,CAM-1;CAM-2,,`;
    const good2 = `IMP-${stamp}-2,App vecinal,mobile_app,Juan Pérez,,juan@example.org,19.4402,-99.1402,,citizen,Norte,,300,test`;
    const badKind = `IMP-${stamp}-BAD,Bad,rocket,Someone,,,19.4,-99.1,,agency,Norte,,,`;
    const badCamera = `IMP-${stamp}-3,Tienda,alarm_panel,Tienda,,,19.45,-99.15,,agency,Norte,NOPE-3,,`;
    const file = csv([good1, good2, badKind, badCamera]);
    let first: Json;

    const postCsv = async (text: string) => {
      const res = await issuing('POST', '/api/alarm-devices/import', text, 'text/csv');
      expect(res.status, JSON.stringify(res.json)).to.equal(200);
      for (const { httpKey } of res.json.keys as Array<{ httpKey: string }>) registerKey(httpKey);
      return res.json;
    };

    it('creates the good rows with their keys in the report; each bad row is reported with its line', async () => {
      first = await postCsv(file);
      expect(first).to.deep.include({ rows: 4, created: 2, unchanged: 0 });
      expect(first.keys.map((entry: Json) => entry.code)).to.deep.equal([`IMP-${stamp}-1`, `IMP-${stamp}-2`]);
      for (const { httpKey } of first.keys) expect(httpKey).to.match(/^[0-9a-f]{64}$/);
      expect(first.keys[0].httpKey).to.not.equal(first.keys[1].httpKey);
      // The header is line 1: the bad rows are lines 4 and 5.
      expect(first.errors.map((error: Json) => ({ line: error.line, code: error.code }))).to.deep.equal([
        { line: 4, code: `IMP-${stamp}-BAD` },
        { line: 5, code: `IMP-${stamp}-3` },
      ]);
      expect(first.errors[0].reason).to.include('kind');
      expect(first.errors[1].reason).to.include('NOPE-3');

      const [one] = (await okAs(tokens.admin, 'GET', `/api/alarm-devices?q=IMP-${stamp}-1`)).items;
      expect(one).to.deep.include({ code: `IMP-${stamp}-1`, name: 'Farmacia Sol', kind: 'fixed_button', address: 'Calle 1', status: 'active', cameras: ['CAM-1', 'CAM-2'] });
      expect(one.owner).to.deep.equal({ name: 'Farmacia Sol SA', phone: '+52 55 0000 0001' });
      const [two] = (await okAs(tokens.admin, 'GET', `/api/alarm-devices?q=IMP-${stamp}-2`)).items;
      expect(two).to.deep.include({ kind: 'mobile_app', area: 'citizen', status: 'test', supervisionIntervalS: 300 });
      expect((await okAs(tokens.admin, 'GET', `/api/alarm-devices?q=IMP-${stamp}-BAD`)).total).to.equal(0);
      expect((await okAs(tokens.admin, 'GET', `/api/alarm-devices?q=IMP-${stamp}-3`)).total).to.equal(0);

      // The imported keys sign.
      expect((await press(`IMP-${stamp}-1`, first.keys[0].httpKey)).status).to.equal(201);
      expect((await press(`IMP-${stamp}-2`, first.keys[1].httpKey)).json.outcome).to.equal('test');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const [imported] = (await t.app.audit.query({ action: 'alarm_device.import' }, { offset: 0, limit: 1 })).items;
      expect(imported!.details).to.deep.equal({ rows: 4, created: 2, unchanged: 0, errors: 2 });
      scan.assertClean();
    });

    it('sending the same file again changes nothing and issues no key', async () => {
      const sealedBefore = await Promise.all([1, 2].map(async (n) => (await t.app.alarmDevices.repository.findByCode(`IMP-${stamp}-${n}`))!));
      const again = await postCsv(file);
      expect(again).to.deep.include({ rows: 4, created: 0, unchanged: 2, keys: [] });
      expect(again.errors).to.deep.equal(first.errors);
      const sealedAfter = await Promise.all([1, 2].map(async (n) => (await t.app.alarmDevices.repository.findByCode(`IMP-${stamp}-${n}`))!));
      expect(sealedAfter.map((device) => [device.httpKey, device.keyIssuedAt.toISOString(), device.updatedAt.toISOString()])).to.deep.equal(
        sealedBefore.map((device) => [device.httpKey, device.keyIssuedAt.toISOString(), device.updatedAt.toISOString()]),
      );
      // The keys of the first import still work.
      expect((await press(`IMP-${stamp}-1`, first.keys[0].httpKey)).status).to.equal(200);
    });

    it('a changed row with an existing code is an error row (the device is not changed)', async () => {
      const before = await okAs(tokens.admin, 'GET', `/api/alarm-devices?q=IMP-${stamp}-1`);
      const changed = good1.replace('Farmacia Sol,', 'Farmacia Luna,');
      const newOne = `IMP-${stamp}-4,Nueva,fixed_button,Owner,,,19.46,-99.16,,agency,Norte,,,`;
      const report = await postCsv(csv([newOne, changed]));
      expect(report).to.deep.include({ rows: 2, created: 1, unchanged: 0 });
      expect(report.errors).to.have.length(1);
      expect(report.errors[0]).to.include({ line: 3, code: `IMP-${stamp}-1` });
      expect(report.errors[0].reason).to.include('PATCH');
      expect(report.keys.map((entry: Json) => entry.code)).to.deep.equal([`IMP-${stamp}-4`]);
      expect(await okAs(tokens.admin, 'GET', `/api/alarm-devices?q=IMP-${stamp}-1`)).to.deep.equal(before);
    });

    it('the same code twice in a file, and unknown columns', async () => {
      const twice = `IMP-${stamp}-5,Twice,fixed_button,Owner,,,19.47,-99.17,,agency,Norte,,,`;
      const report = await postCsv(csv([twice, twice]));
      expect(report).to.deep.include({ rows: 2, created: 1 });
      expect(report.errors).to.deep.equal([{ line: 3, code: `IMP-${stamp}-5`, reason: 'the code appears twice in this import' }]);
      await refused('POST /api/alarm-devices/import', {}, tokens.admin, `${CSV_HEADER},secret_key\nIMP-${stamp}-6,X,fixed_button,O,,,19,-99,,agency,Norte,,,,k`, 400, 'invalid_request', 'text/csv');
      await refused('POST /api/alarm-devices/import', {}, tokens.admin, { nothing: true }, 400, 'invalid_request');
    });

    it('JSON import: an array of devices, same report', async () => {
      const res = await issuing('POST', '/api/alarm-devices/import', [deviceInput({ code: `IMPJ-${stamp}-1` }), deviceInput({ code: `IMPJ-${stamp}-2`, kind: 'rocket' })]);
      expect(res.status, JSON.stringify(res.json)).to.equal(200);
      for (const { httpKey } of res.json.keys) registerKey(httpKey);
      expect(res.json).to.deep.include({ rows: 2, created: 1, unchanged: 0 });
      expect(res.json.errors.map((error: Json) => ({ line: error.line, code: error.code }))).to.deep.equal([{ line: 2, code: `IMPJ-${stamp}-2` }]);
    });
  });

  describe('at the end', () => {
    it('no issued key appears in any answer, audit entry, log line, /metrics or the stored devices', async () => {
      expect(issued.length).to.be.at.least(8);
      await scan.collectApp(t.app);
      for (const device of (await t.app.alarmDevices.repository.list({}, { offset: 0, limit: 1000 })).items) scan.add(`stored device ${device.code}`, JSON.stringify(device));
      const file = join(t.app.config.dataDir, 'catalog', 'alarm-devices.db');
      if (existsSync(file)) scan.add(file, readFileSync(file, 'utf8'));
      expect(scan.counts.logLines).to.be.greaterThan(0);
      scan.assertClean();
    });
  });
});
