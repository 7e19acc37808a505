import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { deviceCreateSchema } from '../../server/alarms/alarmSchemas.ts';
import { newDeviceKey, signatureHeaders, signedHeaders } from '../../server/alarms/AlarmSignature.ts';
import { RefusalLog } from '../../server/alarms/RefusalLog.ts';
import type { AlarmDeviceKind, AlarmDeviceStatus } from '../../server/alarms/AlarmRecord.ts';
import type { AuditEntry } from '../../server/audit/AuditRecord.ts';

/**
 * The signed HTTP intake of panic buttons (issue 22), POST /api/alarms: a valid press opens an alarm
 * and its incident; every refusal reason answers its exact status and stable code (listed in the
 * OpenAPI document for the operation) and changes nothing (no alarm, no incident, no alarm.receive,
 * the device record reads back the same); the +/-60 s window at its edges; replays; suspended,
 * retired and test-mode devices; an app's own position; heartbeats; bodies that are not JSON or too
 * large; refusals audited once per source per period with a count; rate limits per device and per
 * source address (a second App: every request here comes from 127.0.0.1).
 */

type Json = any;

const PLACE = { lat: 19.4326, lng: -99.1332 };
const WINDOW_S = 60;

/** Sleeps until the middle of a rounding second: Math.round(now / 1000) then holds for ~800 ms. */
async function steadySecond(): Promise<number> {
  for (;;) {
    const ms = Date.now() % 1000;
    if (ms >= 550 && ms <= 700) return Math.round(Date.now() / 1000);
    await new Promise((resolve) => setTimeout(resolve, ms < 550 ? 550 - ms : 1550 - ms));
  }
}

/** Audit entries are written in the background (RefusalLog does not wait): give them a moment. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** What one App under test offers this file: devices, signed requests and the state to compare. */
function harness(get: () => TestApp) {
  let serial = 0;
  const h = {
    admin: '',
    doc: undefined as unknown as { paths: Record<string, Record<string, any>> },

    async init(): Promise<void> {
      h.admin = await get().token('admin');
      h.doc = (await (await fetch(`${get().app.consoleUrl}/api/openapi.json`)).json()) as typeof h.doc;
    },

    /** A new device registered through the service; its code and key. */
    async device(options: { kind?: AlarmDeviceKind; status?: AlarmDeviceStatus } = {}): Promise<{ id: string; code: string; key: string }> {
      const code = `BTN-${process.pid}-${++serial}`;
      const input = deviceCreateSchema.parse({
        code,
        name: `Button ${serial}`,
        kind: options.kind ?? 'fixed_button',
        owner: { name: 'Tienda La Esquina', phone: '+52 55 1234 5678' },
        location: PLACE,
        area: 'agency',
        municipality: 'Norte',
        status: options.status === 'test' ? 'test' : 'active',
      });
      const { device, httpKey } = await get().app.alarmDevices.create(undefined, input);
      if (options.status === 'suspended' || options.status === 'retired') await get().app.alarmDevices.update(undefined, device.id, { status: options.status });
      return { id: device.id, code, key: httpKey };
    },

    /** POST to the intake with the given headers and raw body. */
    async send(headers: Record<string, string>, body: string, path = '/api/alarms'): Promise<{ status: number; headers: Headers; json: Json }> {
      const res = await fetch(`${get().app.consoleUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      const text = await res.text();
      let json: Json;
      try {
        json = JSON.parse(text);
      } catch {
        json = { raw: text };
      }
      return { status: res.status, headers: res.headers, json };
    },

    /** A correctly signed request from the device. */
    press(device: { code: string; key: string }, body: unknown = { type: 'alarm' }, options: { timestampS?: number; requestId?: string } = {}) {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      return h.send(signedHeaders({ deviceCode: device.code, keyHex: device.key, body: raw, ...options }), raw);
    },

    async api(method: string, path: string): Promise<Json> {
      const res = await fetch(`${get().app.consoleUrl}${path}`, { method, headers: { authorization: `Bearer ${h.admin}` } });
      expect(res.status, `${method} ${path}`).to.equal(200);
      return res.json();
    },

    async audit(action: string): Promise<AuditEntry[]> {
      await settle();
      return (await get().app.audit.query({ action }, { offset: 0, limit: 1000 })).items;
    },

    /** Everything a refused request must leave as it was. */
    async state(deviceId?: string): Promise<Json> {
      await settle();
      // One read of the whole trail (a refusal's own entry may land at any moment: it is not counted).
      const entries = (await get().app.audit.query({}, { offset: 0, limit: 100_000 })).items;
      return {
        alarms: (await h.api('GET', '/api/alarms?status=open,acknowledged,closed&limit=1')).total,
        incidents: (await h.api('GET', '/api/incidents?limit=1')).total,
        receives: entries.filter((entry) => entry.action === 'alarm.receive').length,
        auditButRefusals: entries.filter((entry) => entry.action !== 'alarm.refuse').length,
        ...(deviceId && { device: await get().app.alarmDevices.repository.findById(deviceId) }),
      };
    },

    /**
     * A refused request: its status, stable code and reason (details.reason), the OpenAPI document
     * lists that code under that status for POST /api/alarms, and nothing changed.
     */
    async refused(request: () => Promise<{ status: number; headers: Headers; json: Json }>, status: number, code: string, reason: string | undefined, deviceId?: string): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
      const before = await h.state(deviceId);
      const res = await request();
      expect(res.status, JSON.stringify(res.json)).to.equal(status);
      expect(res.json.error?.code, 'error code').to.equal(code);
      expect(res.json.error?.message, 'a message').to.be.a('string').that.is.not.empty;
      if (reason !== undefined) expect(res.json.error?.details?.reason, 'details.reason').to.equal(reason);
      const documented = h.doc.paths['/api/alarms']?.post?.responses?.[String(status)];
      expect(documented, `the OpenAPI document lists ${status}`).to.not.equal(undefined);
      expect(documented.content['application/json'].schema.properties.error.properties.code.enum, `${status} lists ${code}`).to.include(code);
      expect(await h.state(deviceId), 'nothing changed').to.deep.equal(before);
      return res.json.error;
    },
  };
  return h;
}

describe('alarm intake over signed HTTP (issue 22)', function () {
  this.timeout(60_000);
  let t: TestApp;
  const h = harness(() => t);

  before(async () => {
    t = await startTestApp({ ingest: { workers: 0 }, media: { workers: 1 }, alarms: { signatureWindowS: WINDOW_S, ratePerDevicePerMinute: 5, ratePerAddressPerMinute: 1000 } } as never);
    await h.init();
  });
  after(async () => {
    await t?.close();
  });

  it('a valid signed press answers 201 and opens an alarm with its incident', async () => {
    const device = await h.device();
    const before = await h.state();
    const res = await h.press(device, { type: 'alarm', note: 'asalto en curso' });
    expect(res.status, JSON.stringify(res.json)).to.equal(201);
    expect(res.json).to.include({ outcome: 'opened', presses: 1 });
    const alarm = await h.api('GET', `/api/alarms/${res.json.alarmId}`);
    expect(alarm).to.deep.include({ id: res.json.alarmId, incidentId: res.json.incidentId, source: 'http', location: PLACE, positionSource: 'device', status: 'open', presses: 1, note: 'asalto en curso', municipality: 'Norte' });
    expect(alarm.device).to.include({ id: device.id, code: device.code });
    const incident = await h.api('GET', `/api/incidents/${res.json.incidentId}`);
    expect(incident.status).to.equal('open');
    const after = await h.state();
    expect({ alarms: after.alarms - before.alarms, incidents: after.incidents - before.incidents, receives: after.receives - before.receives }).to.deep.equal({ alarms: 1, incidents: 1, receives: 1 });
    // A second press within the join window joins the same alarm (200), no new incident.
    const again = await h.press(device);
    expect(again.status).to.equal(200);
    expect(again.json).to.include({ outcome: 'joined', alarmId: res.json.alarmId, incidentId: res.json.incidentId, presses: 2 });
    expect((await h.state()).incidents).to.equal(after.incidents);
  });

  describe('refusals: exact status and code, nothing changed', () => {
    let device: { id: string; code: string; key: string };
    const body = JSON.stringify({ type: 'alarm' });
    before(async () => {
      device = await h.device();
    });

    it('missing or malformed headers: 401 unauthenticated', async () => {
      await h.refused(() => h.send({}, body), 401, 'unauthenticated', 'missing_headers', device.id);
      const signed = signedHeaders({ deviceCode: device.code, keyHex: device.key, body });
      for (const name of Object.values(signatureHeaders)) {
        const { [name]: _dropped, ...rest } = signed;
        const error = await h.refused(() => h.send(rest, body), 401, 'unauthenticated', 'missing_headers', device.id);
        expect(error.message, name).to.include(name);
      }
      // Malformed: a request id too short, a timestamp in milliseconds or with a sign, a device code with a space.
      await h.refused(() => h.send(signedHeaders({ deviceCode: device.code, keyHex: device.key, body, requestId: 'short' }), body), 401, 'unauthenticated', 'missing_headers', device.id);
      await h.refused(() => h.send({ ...signed, [signatureHeaders.timestamp]: String(Date.now()) }, body), 401, 'unauthenticated', 'missing_headers', device.id);
      await h.refused(() => h.send({ ...signed, [signatureHeaders.timestamp]: `-${signed[signatureHeaders.timestamp]}` }, body), 401, 'unauthenticated', 'missing_headers', device.id);
      await h.refused(() => h.send({ ...signed, [signatureHeaders.device]: 'BTN 1' }, body), 401, 'unauthenticated', 'missing_headers', device.id);
    });

    it('an unknown device answers exactly as a wrong signature (401, same message and reason)', async () => {
      const unknown = await h.refused(() => h.send(signedHeaders({ deviceCode: 'NO-SUCH-DEVICE', keyHex: newDeviceKey(), body }), body), 401, 'unauthenticated', 'bad_signature');
      const wrongKey = await h.refused(() => h.send(signedHeaders({ deviceCode: device.code, keyHex: newDeviceKey(), body }), body), 401, 'unauthenticated', 'bad_signature', device.id);
      expect(unknown).to.deep.equal(wrongKey);
    });

    it('a wrong signature: another key, a garbage or truncated signature: 401', async () => {
      await h.refused(() => h.send(signedHeaders({ deviceCode: device.code, keyHex: newDeviceKey(), body }), body), 401, 'unauthenticated', 'bad_signature', device.id);
      const signed = signedHeaders({ deviceCode: device.code, keyHex: device.key, body });
      await h.refused(() => h.send({ ...signed, [signatureHeaders.signature]: 'f'.repeat(64) }, body), 401, 'unauthenticated', 'bad_signature', device.id);
      await h.refused(() => h.send({ ...signed, [signatureHeaders.signature]: signed[signatureHeaders.signature]!.slice(0, 63) }, body), 401, 'unauthenticated', 'bad_signature', device.id);
      await h.refused(() => h.send({ ...signed, [signatureHeaders.signature]: 'Zz'.repeat(32) }, body), 401, 'unauthenticated', 'bad_signature', device.id);
    });

    it('the body altered after signing: 401', async () => {
      const signed = signedHeaders({ deviceCode: device.code, keyHex: device.key, body });
      await h.refused(() => h.send(signed, JSON.stringify({ type: 'heartbeat' })), 401, 'unauthenticated', 'bad_signature', device.id);
      await h.refused(() => h.send(signed, `${body} `), 401, 'unauthenticated', 'bad_signature', device.id);
    });

    it('a path or method signed differently from the request: 401', async () => {
      await h.refused(() => h.send(signedHeaders({ deviceCode: device.code, keyHex: device.key, body, path: '/api/alarm' }), body), 401, 'unauthenticated', 'bad_signature', device.id);
      await h.refused(() => h.send(signedHeaders({ deviceCode: device.code, keyHex: device.key, body, path: '/api/alarms/' }), body), 401, 'unauthenticated', 'bad_signature', device.id);
      await h.refused(() => h.send(signedHeaders({ deviceCode: device.code, keyHex: device.key, body, method: 'PUT' }), body), 401, 'unauthenticated', 'bad_signature', device.id);
      await h.refused(() => h.send(signedHeaders({ deviceCode: device.code, keyHex: device.key, body, method: 'GET' }), body), 401, 'unauthenticated', 'bad_signature', device.id);
    });

    it('clock skew: +61 s and -61 s are refused (401), with the server time to help fix the clock', async () => {
      for (const offset of [WINDOW_S + 1, -(WINDOW_S + 1)]) {
        const now = await steadySecond();
        const error = await h.refused(() => h.press(device, { type: 'alarm' }, { timestampS: now + offset }), 401, 'unauthenticated', 'stale_timestamp', device.id);
        expect(error.message, String(offset)).to.include(offset > 0 ? 'ahead of' : 'behind');
        expect(error.details?.serverTime, String(offset)).to.be.a('number').within(now - 1, now + 1);
      }
    });

    it('clock skew: exactly +60 s and -60 s are accepted', async () => {
      const ahead = await h.device();
      const behind = await h.device();
      let now = await steadySecond();
      const first = await h.press(ahead, { type: 'alarm' }, { timestampS: now + WINDOW_S });
      expect(first.status, JSON.stringify(first.json)).to.equal(201);
      now = await steadySecond();
      const second = await h.press(behind, { type: 'alarm' }, { timestampS: now - WINDOW_S });
      expect(second.status, JSON.stringify(second.json)).to.equal(201);
    });

    it('a replayed request id: 401, the same request and the same id re-signed over another body and time', async () => {
      const replayed = await h.device();
      const raw = JSON.stringify({ type: 'alarm' });
      const headers = signedHeaders({ deviceCode: replayed.code, keyHex: replayed.key, body: raw });
      const first = await h.send(headers, raw);
      expect(first.status, JSON.stringify(first.json)).to.equal(201);
      await h.refused(() => h.send(headers, raw), 401, 'unauthenticated', 'replayed', replayed.id);
      const requestId = headers[signatureHeaders.requestId]!;
      const now = await steadySecond();
      await h.refused(() => h.press(replayed, { type: 'alarm', note: 'again' }, { requestId, timestampS: now - 5 }), 401, 'unauthenticated', 'replayed', replayed.id);
      await h.refused(() => h.press(replayed, { type: 'heartbeat' }, { requestId }), 401, 'unauthenticated', 'replayed', replayed.id);
      // Ids are per device: another device may use the same id.
      const other = await h.device();
      expect((await h.press(other, { type: 'alarm' }, { requestId })).status).to.equal(201);
      // A refused (badly signed) request does not burn its id: the device can still use it.
      const fresh = `fresh-${randomBytes(6).toString('hex')}`;
      const third = await h.device();
      await h.refused(() => h.send(signedHeaders({ deviceCode: third.code, keyHex: newDeviceKey(), body: raw, requestId: fresh }), raw), 401, 'unauthenticated', 'bad_signature', third.id);
      expect((await h.press(third, { type: 'alarm' }, { requestId: fresh })).status).to.equal(201);
    });

    it('a suspended device: 403 forbidden; a retired one: 403 forbidden', async () => {
      const suspended = await h.device({ status: 'suspended' });
      const retired = await h.device({ status: 'retired' });
      const s = await h.refused(() => h.press(suspended), 403, 'forbidden', 'device_suspended', suspended.id);
      expect(s.message).to.include('suspended');
      const r = await h.refused(() => h.press(retired), 403, 'forbidden', 'device_retired', retired.id);
      expect(r.message).to.include('retired');
      // A bad signature for a suspended device is still 401: status is told only to the device itself.
      await h.refused(() => h.send(signedHeaders({ deviceCode: suspended.code, keyHex: newDeviceKey(), body }), body), 401, 'unauthenticated', 'bad_signature', suspended.id);
    });

    it('a body that is not JSON, or not an alarm, correctly signed: 400 invalid_request', async () => {
      const fresh = await h.device();
      const notJson = await h.refused(() => h.press(fresh, 'this is not json'), 400, 'invalid_request', undefined, fresh.id);
      expect(notJson.message).to.match(/JSON/);
      await h.refused(() => h.press(fresh, { type: 'fire' }), 400, 'invalid_request', undefined, fresh.id);
      await h.refused(() => h.press(fresh, { type: 'alarm', extra: 1 }), 400, 'invalid_request', undefined, fresh.id);
      await h.refused(() => h.press(fresh, { type: 'alarm', position: { lat: 91, lng: 0 } }), 400, 'invalid_request', undefined, fresh.id);
    });

    it('a body over 8 KB: 413 payload_too_large, even correctly signed', async () => {
      const fresh = await h.device();
      const big = JSON.stringify({ type: 'alarm', note: 'x'.repeat(9000) });
      await h.refused(() => h.press(fresh, big), 413, 'payload_too_large', undefined, fresh.id);
    });

    it('the refusals from this address were audited once (count 1), the rest wait for the period to end', async () => {
      // (Not the documentation addresses the RefusalLog tests below use.)
      const entries = (await h.audit('alarm.refuse')).filter((entry) => !/^(203\.0\.113|198\.51\.100)\./.test(String(entry.details?.source)));
      expect(entries, JSON.stringify(entries.map((entry) => entry.details))).to.have.length(1);
      const [entry] = entries;
      expect(entry!.details).to.include({ count: 1, periodS: 60 });
      expect(entry!.details!.source).to.equal(entry!.ip);
      expect(entry!.details!.reasons).to.deep.equal({ missing_headers: 1 });
    });
  });

  describe('refusals audited once per source per period (RefusalLog over the app\'s audit, a short period)', () => {
    const PERIOD_MS = 300;

    const entriesOf = async (source: string) => {
      await settle();
      return (await t.app.audit.query({ action: 'alarm.refuse' }, { offset: 0, limit: 1000 })).items.filter((entry) => entry.details?.source === source).reverse();
    };

    it('N refusals within a period: one entry at once (count 1), the other N-1 in one entry when the period ends', async () => {
      const log = new RefusalLog(t.app.audit, t.log.logger, PERIOD_MS);
      const source = '203.0.113.7';
      log.refused(source, 'bad_signature', 'BTN-A');
      log.refused(source, 'bad_signature', 'BTN-A');
      log.refused(source, 'unknown_device', 'NOPE');
      log.refused(source, 'replayed', 'BTN-A');
      log.refused(source, 'stale_timestamp', undefined);
      // Another source has its own entries.
      log.refused('198.51.100.9', 'missing_headers', undefined);
      const first = await entriesOf(source);
      expect(first.map((entry) => entry.details)).to.deep.equal([{ source, count: 1, reasons: { bad_signature: 1 }, devices: ['BTN-A'], periodS: PERIOD_MS / 1000 }]);
      expect(first[0]!.ip).to.equal(source);
      await new Promise((resolve) => setTimeout(resolve, PERIOD_MS + 150));
      const second = await entriesOf(source);
      expect(second.map((entry) => entry.details)).to.deep.equal([
        { source, count: 1, reasons: { bad_signature: 1 }, devices: ['BTN-A'], periodS: PERIOD_MS / 1000 },
        { source, count: 4, reasons: { bad_signature: 1, unknown_device: 1, replayed: 1, stale_timestamp: 1 }, devices: ['BTN-A', 'NOPE'], periodS: PERIOD_MS / 1000 },
      ]);
      expect((await entriesOf('198.51.100.9')).map((entry) => entry.details?.count)).to.deep.equal([1]);
      // A quiet period writes nothing; a refusal in the next period is counted, not written at once.
      await new Promise((resolve) => setTimeout(resolve, PERIOD_MS + 150));
      expect(await entriesOf(source)).to.have.length(2);
      log.close();
    });

    it('close() writes what is pending; nothing is counted after it', async () => {
      const log = new RefusalLog(t.app.audit, t.log.logger, 60_000);
      const source = '203.0.113.8';
      for (let i = 0; i < 7; i++) log.refused(source, 'bad_signature', undefined);
      expect((await entriesOf(source)).map((entry) => entry.details?.count)).to.deep.equal([1]);
      log.close();
      log.refused(source, 'bad_signature', undefined);
      expect((await entriesOf(source)).map((entry) => entry.details)).to.deep.equal([
        { source, count: 1, reasons: { bad_signature: 1 }, periodS: 60 },
        { source, count: 6, reasons: { bad_signature: 6 }, periodS: 60 },
      ]);
    });
  });

  it('a device in test mode: 200 outcome test, audited as alarm.test, and no alarm nor incident', async () => {
    const device = await h.device({ status: 'test' });
    const before = await h.state();
    const testsBefore = (await h.audit('alarm.test')).length;
    const res = await h.press(device, { type: 'alarm', note: 'installer test' });
    expect(res.status, JSON.stringify(res.json)).to.equal(200);
    expect(res.json.outcome).to.equal('test');
    expect(res.json).to.not.have.property('alarmId');
    expect(res.json).to.not.have.property('incidentId');
    const after = await h.state();
    expect({ alarms: after.alarms, incidents: after.incidents, receives: after.receives }).to.deep.equal({ alarms: before.alarms, incidents: before.incidents, receives: before.receives });
    const tests = await h.audit('alarm.test');
    expect(tests).to.have.length(testsBefore + 1);
    expect(tests[0]!.details).to.include({ device: device.code, note: 'installer test' });
  });

  it("a mobile app's own position takes precedence; a fixed button's sent position is ignored", async () => {
    const app = await h.device({ kind: 'mobile_app' });
    const button = await h.device({ kind: 'fixed_button' });
    const where = { lat: 19.4412, lng: -99.1501, accuracyM: 12 };
    const fromApp = await h.press(app, { type: 'alarm', position: where });
    expect(fromApp.status, JSON.stringify(fromApp.json)).to.equal(201);
    const appAlarm = await h.api('GET', `/api/alarms/${fromApp.json.alarmId}`);
    expect(appAlarm).to.deep.include({ location: { lat: where.lat, lng: where.lng }, positionSource: 'app', accuracyM: 12 });
    const incident = await h.api('GET', `/api/incidents/${fromApp.json.incidentId}`);
    expect(incident.location).to.deep.equal({ lat: where.lat, lng: where.lng });

    const fromButton = await h.press(button, { type: 'alarm', position: where });
    expect(fromButton.status, JSON.stringify(fromButton.json)).to.equal(201);
    const buttonAlarm = await h.api('GET', `/api/alarms/${fromButton.json.alarmId}`);
    expect(buttonAlarm).to.deep.include({ location: PLACE, positionSource: 'device' });
    expect(buttonAlarm).to.not.have.property('accuracyM');

    // An app without a position: its registered place.
    const app2 = await h.device({ kind: 'mobile_app' });
    const noPosition = await h.press(app2, { type: 'alarm' });
    expect(await h.api('GET', `/api/alarms/${noPosition.json.alarmId}`)).to.deep.include({ location: PLACE, positionSource: 'device' });
  });

  it('a heartbeat: 200 outcome heartbeat, the device seen, no alarm', async () => {
    const device = await h.device();
    expect((await h.api('GET', `/api/alarm-devices/${device.id}`)).lastSeenAt).to.equal(undefined);
    const before = await h.state();
    const start = Date.now();
    const res = await h.press(device, { type: 'heartbeat' });
    expect(res.status, JSON.stringify(res.json)).to.equal(200);
    expect(res.json).to.deep.equal({ outcome: 'heartbeat' });
    const after = await h.state();
    expect({ alarms: after.alarms, incidents: after.incidents, receives: after.receives }).to.deep.equal({ alarms: before.alarms, incidents: before.incidents, receives: before.receives });
    const seen = (await h.api('GET', `/api/alarm-devices/${device.id}`)).lastSeenAt;
    expect(seen).to.be.a('string');
    expect(Date.parse(seen)).to.be.within(start - 1000, Date.now() + 1000);
    // An empty body is a press (type defaults to alarm).
    expect((await h.press(device, '')).json.outcome).to.equal('opened');
  });
});

describe('alarm intake rate limits (issue 22)', function () {
  this.timeout(60_000);
  let t: TestApp;
  const h = harness(() => t);
  const PER_DEVICE = 2;
  const PER_ADDRESS = 6;

  before(async () => {
    t = await startTestApp({ ingest: { workers: 0 }, media: { workers: 1 }, alarms: { ratePerDevicePerMinute: PER_DEVICE, ratePerAddressPerMinute: PER_ADDRESS } } as never);
    await h.init();
  });
  after(async () => {
    await t?.close();
  });

  it('per device: past its limit a correctly signed request is 429 rate_limited with Retry-After; per address: 429 even with a bad signature', async () => {
    const device = await h.device();
    const other = await h.device();
    // Address requests 1-2: accepted (the device's limit is 2).
    const first = await h.press(device);
    expect(first.status, JSON.stringify(first.json)).to.equal(201);
    expect((await h.press(device)).json).to.include({ outcome: 'joined', presses: 2 });
    // 3: the device's limit.
    let retryAfter = '';
    const deviceLimited = await h.refused(
      async () => {
        const res = await h.press(device);
        retryAfter = res.headers.get('retry-after') ?? '';
        return res;
      },
      429,
      'rate_limited',
      'rate_limited_device',
      device.id,
    );
    expect(Number(retryAfter)).to.be.within(1, 60);
    expect(deviceLimited.details?.retryAfterSeconds).to.equal(Number(retryAfter));
    expect((await h.api('GET', `/api/alarms/${first.json.alarmId}`)).presses).to.equal(2);
    // 4: another device is not limited by the first one's limit.
    expect((await h.press(other)).status).to.equal(201);
    // 5-6: bad signatures, refused as such while the address has points left.
    const body = JSON.stringify({ type: 'alarm' });
    for (let i = 0; i < PER_ADDRESS - 4; i++) {
      await h.refused(() => h.send(signedHeaders({ deviceCode: other.code, keyHex: newDeviceKey(), body }), body), 401, 'unauthenticated', 'bad_signature', other.id);
    }
    // 7 and on: the address's limit, signed or not, before anything else is checked.
    const addressLimited = await h.refused(
      async () => {
        const res = await h.send(signedHeaders({ deviceCode: other.code, keyHex: newDeviceKey(), body }), body);
        retryAfter = res.headers.get('retry-after') ?? '';
        return res;
      },
      429,
      'rate_limited',
      'rate_limited_address',
      other.id,
    );
    expect(Number(retryAfter)).to.be.within(1, 60);
    expect(addressLimited.details?.retryAfterSeconds).to.equal(Number(retryAfter));
    await h.refused(() => h.send({}, body), 429, 'rate_limited', 'rate_limited_address');
    await h.refused(() => h.press(other), 429, 'rate_limited', 'rate_limited_address', other.id);
    // The refusals: the first written at once, the rest counted for the end of the minute.
    const entries = await h.audit('alarm.refuse');
    expect(entries.map((entry) => entry.details)).to.have.length(1);
    expect(entries[0]!.details).to.deep.include({ count: 1, reasons: { rate_limited_device: 1 }, devices: [device.code] });
  });
});
