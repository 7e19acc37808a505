import { expect } from 'chai';
import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { AlarmConsole, api, signIn, sleep, waitFor, type SignedIn } from '../support/alarmConsole.ts';
import { Dc09Panel, panelDecodeAnswer, panelFrame, type Dc09Event, type Dc09PanelOptions, type Dc09SendOptions, type Dc09SendResult } from '../support/Dc09Panel.ts';
import { SecretsScan } from '../support/SecretsScan.ts';
import { Dc09Intake, type Dc09Outcome, type Dc09Source } from '../../server/alarms/dc09/Dc09Intake.ts';
import { RefusalLog } from '../../server/alarms/RefusalLog.ts';
import type { Dc09Encryption } from '../../server/alarms/AlarmRecord.ts';
import type { AlarmView } from '../../server/signalling/protocol.ts';

/**
 * The SIA DC-09 receiver (issue 23) end to end: the test panel (test/support/Dc09Panel.ts, an
 * encoder independent of the server's codec) sends real frames over TCP and UDP to an App.
 *
 * - Panic events (Contact ID 1120, SIA PA), clear and AES-128/AES-256 encrypted, over TCP and UDP:
 *   ACK (an encrypted *ACK the panel decrypts, for encrypted frames) and an alarm from source
 *   'dc09' announced to an operator, with the device's linked camera. Restores (3120), previously
 *   reported (6120), other codes (1130, BA), old SIA blocks and — by default — medical (100, MA):
 *   ACK, no alarm, an `alarm_device.event` on the device's timeline. Medical codes configured as
 *   alarm codes (a second App) raise alarms.
 * - Retransmissions (same sequence and content, re-encrypted with new padding): ACK again, one alarm.
 * - Stale timestamps: NAK with the receiver's time, never encrypted; the panel's corrected resend
 *   is accepted. The +20/-40 s window at its edges: over the network with whole-second slack, and
 *   exactly (a Dc09Intake of the App's services with the clock injected).
 * - Refusals (DUH: unknown account, clear frame from a device requiring encryption, wrong key,
 *   encrypted frame to a device without a key, unsupported token, unreadable data, suspended and
 *   retired devices; no answer: bad CRC, wrong length, garbage) change nothing.
 * - TCP: trickled bytes, a CR that never comes, garbage before a frame, two frames in one chunk,
 *   oversize frames, connections bounded per address and counted back to zero, per-address rate
 *   limit (sources 127.0.0.x: Linux routes the whole 127/8 to loopback).
 * - NULL keeps a supervised device online and brings an offline one back.
 * - No DC-09 key in logs, audit, or any answer but the one that issued it; closing the App frees
 *   its port (TCP and UDP).
 */

type Json = any;

const PLACE = { lat: 19.4326, lng: -99.1332 };
const CAMERA = 'DC09-CAM-1';
const PANIC_CID: Dc09Event = { token: 'ADM-CID', data: '1120 01 015' };
const PANIC_SIA: Dc09Event = { token: 'SIA-DCS', data: 'Nri1/PA501' };

interface Outcome extends Dc09Outcome {
  address: string;
  transport: 'tcp' | 'udp';
}

interface Device {
  id: string;
  code: string;
  account: string;
  key?: string;
}

/** A UDP socket bound to another loopback address (127.0.0.x): a second source. */
async function udpFrom(localAddress: string): Promise<{ send(frame: string | Buffer, port: number): Promise<void>; answers: string[]; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  const answers: string[] = [];
  socket.on('message', (message) => answers.push(message.toString('latin1')));
  await new Promise<void>((resolve) => socket.bind(0, localAddress, () => resolve()));
  return {
    answers,
    send: (frame, port) => new Promise<void>((resolve, reject) => socket.send(typeof frame === 'string' ? Buffer.from(frame, 'latin1') : frame, port, '127.0.0.1', (error) => (error ? reject(error) : resolve()))),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A raw TCP connection (optionally from another loopback address) that records what it receives and when it closes. */
async function tcpFrom(port: number, localAddress?: string): Promise<{ socket: net.Socket; received: string[]; closedAt: () => number | undefined; openedAt: number }> {
  const received: string[] = [];
  let closed: number | undefined;
  const socket = net.connect({ host: '127.0.0.1', port, ...(localAddress && { localAddress }) });
  socket.on('data', (chunk) => received.push(chunk.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = Date.now();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received, closedAt: () => closed, openedAt: Date.now() };
}

/** What one App under test offers: devices over REST, panels, the receiver's outcomes, the state to compare. */
function harness(get: () => TestApp, prefix: number) {
  let serial = 0;
  const h = {
    admin: undefined as unknown as SignedIn,
    console: undefined as unknown as AlarmConsole,
    outcomes: [] as Outcome[],
    panels: [] as Dc09Panel[],
    /** Every DC-09 key issued (for the secrets scan). */
    keys: [] as string[],
    devices: [] as Device[],

    async init(): Promise<void> {
      const t = get();
      h.admin = await signIn(t, 'admin');
      const operator = await signIn(t, 'operator');
      h.console = await AlarmConsole.open(t.app.consoleUrl, operator.token);
      t.app.dc09!.onOutcome = (outcome: Dc09Outcome, source: Dc09Source) => h.outcomes.push({ ...outcome, ...source });
      await t.app.catalog.create(
        { code: CAMERA, name: 'Camera at the bank', area: 'agency', owner: { kind: 'organisation', name: 'Owner' }, category: 'street', municipality: 'Norte', location: PLACE, mainUrl: 'rtsp://127.0.0.1:9/dc09', transport: 'tcp', alwaysOn: false, tags: [] } as never,
        { status: 'approved' },
      );
    },

    get port(): number {
      return get().app.dc09!.port;
    },

    /** A panel registered over REST as admin; its DC-09 key when it has encryption. */
    async device(options: { encryption?: Dc09Encryption; encryptionRequired?: boolean; status?: 'suspended' | 'retired'; lowerCase?: boolean } = {}): Promise<Device> {
      serial++;
      const account = (prefix * 0x1000 + serial).toString(16).toUpperCase();
      const code = `PANEL-${process.pid}-${prefix}-${serial}`;
      const res = await api(get(), h.admin.token, 'POST', '/api/alarm-devices', {
        code,
        name: `Bank panel ${serial}`,
        kind: 'alarm_panel',
        owner: { name: 'Banco del Centro', phone: '+52 55 1111 2222' },
        location: PLACE,
        area: 'agency',
        municipality: 'Norte',
        cameras: [CAMERA],
        dc09: { account: options.lowerCase ? account.toLowerCase() : account, encryption: options.encryption ?? 'aes128', ...(options.encryptionRequired !== undefined && { encryptionRequired: options.encryptionRequired }) },
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.device.dc09).to.deep.equal({ account, encryption: options.encryption ?? 'aes128', encryptionRequired: options.encryptionRequired ?? (options.encryption ?? 'aes128') !== 'none' });
      const key: string | undefined = res.body.dc09Key;
      if ((options.encryption ?? 'aes128') === 'none') expect(key).to.equal(undefined);
      else h.keys.push(key!);
      if (options.status) expect((await api(get(), h.admin.token, 'PATCH', `/api/alarm-devices/${res.body.device.id}`, { status: options.status })).status).to.equal(200);
      const device = { id: res.body.device.id as string, code, account, ...(key && { key }) };
      h.devices.push(device);
      return device;
    },

    panel(device: Pick<Device, 'account' | 'key'>, transport: 'tcp' | 'udp', options: Partial<Dc09PanelOptions> = {}): Dc09Panel {
      const panel = new Dc09Panel({ host: '127.0.0.1', port: h.port, transport, account: device.account, ...(device.key && { keyHex: device.key }), ackTimeoutMs: 1500, retries: 1, ...options });
      h.panels.push(panel);
      return panel;
    },

    /** Sends one event and returns the panel's result and the receiver's outcomes for it. */
    async send(panel: Dc09Panel, event: Dc09Event, options: Dc09SendOptions = {}): Promise<{ result: Dc09SendResult; outcomes: Outcome[] }> {
      const before = h.outcomes.length;
      const result = await panel.send(event, options);
      return { result, outcomes: h.outcomes.slice(before) };
    },

    async closePanels(): Promise<void> {
      await Promise.all(h.panels.splice(0).map((panel) => panel.close()));
    },

    /** The alarm an accepted frame raised, as the operator's console received it. */
    async raised(alarmId: string): Promise<AlarmView> {
      return waitFor(() => h.console.raised(alarmId)[0], `alarmRaised ${alarmId} on the operator's console`);
    },

    async audit(query: Record<string, string>): Promise<Json[]> {
      const res = await api(get(), h.admin.token, 'GET', `/api/audit?${new URLSearchParams({ limit: '500', ...query })}`);
      expect(res.status).to.equal(200);
      return res.body.items;
    },

    /** Everything a refused frame must leave as it was (alarm.refuse entries aside: that is the refusal's own trail). */
    async state(deviceId?: string): Promise<Json> {
      await sleep(30);
      const t = get();
      const entries = (await t.app.audit.query({}, { offset: 0, limit: 100_000 })).items;
      return {
        alarms: (await api(t, h.admin.token, 'GET', '/api/alarms?status=open,acknowledged,closed&limit=1')).body.total,
        incidents: (await api(t, h.admin.token, 'GET', '/api/incidents?limit=1')).body.total,
        trail: entries.filter((entry) => entry.action !== 'alarm.refuse').length,
        raised: h.console.heard.filter((heard) => heard.event === 'alarmRaised').length,
        ...(deviceId && { device: await t.app.alarmDevices.repository.findById(deviceId) }),
      };
    },

    /** Waits for `count` more outcomes than `from`. */
    async outcomesAfter(from: number, count: number): Promise<Outcome[]> {
      await waitFor(() => h.outcomes.length >= from + count, `${count} outcome(s)`);
      return h.outcomes.slice(from);
    },
  };
  return h;
}

describe('SIA DC-09 receiver (issue 23)', function () {
  this.timeout(60_000);

  describe('one App with default codes', () => {
    let t: TestApp;
    const h = harness(() => t, 0xc5);

    before(async () => {
      t = await startTestApp({
        ingest: { workers: 0 },
        media: { workers: 1 },
        alarms: { reannounceS: 3600, supervisionGraceS: 0, supervisionCheckMs: 100 },
        dc09: { frameTimeoutMs: 3000, ratePerAddressPerMinute: 100_000 },
      } as never);
      await h.init();
    });
    afterEach(async () => {
      await h.closePanels();
    });
    after(async () => {
      h.console?.close();
      await t?.close();
    });

    describe('panic events', () => {
      for (const [name, event] of [['Contact ID 1120', PANIC_CID], ['SIA PA', PANIC_SIA]] as const) {
        for (const encryption of ['none', 'aes128', 'aes256'] as const) {
          for (const transport of ['tcp', 'udp'] as const) {
            it(`${name}, ${encryption === 'none' ? 'clear' : encryption}, over ${transport.toUpperCase()}: ACK and an alarm (source dc09) on the operator's console with the linked camera`, async () => {
              const device = await h.device({ encryption });
              const panel = h.panel(device, transport);
              const before = Date.now();
              const { result, outcomes } = await h.send(panel, event);
              expect(result.answer, JSON.stringify(result.answers)).to.equal('ACK');
              expect(result.attempts).to.equal(1);
              const [answer] = result.answers;
              expect(answer).to.include({ valid: true, kind: 'ACK', sequence: result.sequence, account: device.account, linePrefix: '0' });
              if (encryption === 'none') {
                expect(answer!.encrypted, 'a clear ACK to a clear frame').to.equal(false);
              } else {
                expect(answer!.encrypted, 'an encrypted *ACK').to.equal(true);
                expect(answer!.raw).to.match(/^\n[0-9A-F]{8}"\*ACK"/);
                // The panel decrypted it: padding, then `]` and the receiver's time.
                expect(answer!.plaintext).to.match(/\]_\d\d:\d\d:\d\d,\d\d-\d\d-\d{4}$/);
                expect(result.ackTimestamp!.getTime()).to.be.closeTo(before, 5000);
              }
              expect(outcomes.map((o) => [o.answer, o.reason, o.transport])).to.deep.equal([['ACK', 'accepted', transport]]);
              const alarmId = outcomes[0]!.alarmId!;
              expect(alarmId).to.be.a('string');
              const alarm = await h.raised(alarmId);
              expect(alarm).to.deep.include({ source: 'dc09', status: 'open', presses: 1, area: 'agency', municipality: 'Norte', positionSource: 'device' });
              expect(alarm.device).to.include({ id: device.id, code: device.code, kind: 'alarm_panel' });
              expect(alarm.cameras[0]).to.include({ code: CAMERA, linked: true });
              expect(alarm.note).to.include(event.token);
              const incident = await t.app.incidents.findRecord(alarm.incidentId);
              expect(incident).to.include({ kind: 'panic_alarm', status: 'open' });
              // Audited like any alarm, with its source.
              const received = (await t.app.audit.query({ action: 'alarm.receive' }, { offset: 0, limit: 500 })).items.filter((entry) => entry.details?.device === device.code);
              expect(received).to.have.length(1);
              expect(received[0]!.details).to.include({ source: 'dc09', joined: false, ip: '127.0.0.1' });
            });
          }
        }
      }

      it('the account is case-insensitive (registered lower-case, sent upper-case)', async () => {
        const device = await h.device({ encryption: 'none', lowerCase: true });
        const { result, outcomes } = await h.send(h.panel(device, 'udp'), PANIC_SIA);
        expect(result.answer).to.equal('ACK');
        await h.raised(outcomes[0]!.alarmId!);
      });
    });

    describe('events that are not alarms: the device timeline', () => {
      it('restore (3120), previously reported (6120), burglary (1130, BA), restore PH, old SIA block, medical (100, MA by default): ACK, no alarm, an alarm_device.event each', async () => {
        const device = await h.device({ encryption: 'aes192' });
        const panel = h.panel(device, 'tcp');
        const before = await h.state();
        const events: Dc09Event[] = [
          { token: 'ADM-CID', data: '3120 01 015' },
          { token: 'ADM-CID', data: '6120 01 015' },
          { token: 'ADM-CID', data: '1130 01 015' },
          { token: 'ADM-CID', data: '1100 01 001' },
          { token: 'SIA-DCS', data: 'Nri1/BA501' },
          { token: 'SIA-DCS', data: 'Nri1/PH501' },
          { token: 'SIA-DCS', data: 'Nri1/MA1' },
          { token: 'SIA-DCS', data: 'Ori1/PA501' },
        ];
        for (const event of events) {
          const { result, outcomes } = await h.send(panel, event);
          expect(result.answer, `${event.data}: ${JSON.stringify(result.answers)}`).to.equal('ACK');
          expect(result.answers[0]!.encrypted).to.equal(true);
          expect(outcomes, event.data).to.have.length(1);
          expect(outcomes[0]).to.deep.include({ answer: 'ACK', reason: 'accepted' });
          expect(outcomes[0]).to.not.have.property('alarmId');
        }
        const after = await h.state();
        expect(after.alarms, 'no alarm').to.equal(before.alarms);
        expect(after.incidents, 'no incident').to.equal(before.incidents);
        expect(after.raised, 'nothing rang').to.equal(before.raised);
        // GET /api/audit?device=<id>: the device's timeline, newest first.
        const timeline = await h.audit({ device: device.id });
        expect(timeline.every((entry) => entry.deviceId === device.id)).to.equal(true);
        const eventsSeen = timeline.filter((entry) => entry.action === 'alarm_device.event').reverse();
        expect(eventsSeen.map((entry) => [entry.details.token, entry.details.code, entry.details.qualifier ?? null])).to.deep.equal([
          ['ADM-CID', '120', '3'],
          ['ADM-CID', '120', '6'],
          ['ADM-CID', '130', '1'],
          ['ADM-CID', '100', '1'],
          ['SIA-DCS', 'BA', null],
          ['SIA-DCS', 'PH', null],
          ['SIA-DCS', 'MA', null],
          ['SIA-DCS', 'PA', null],
        ]);
        expect(eventsSeen[0].details).to.include({ device: device.code, format: 'contact_id', partition: '01', zone: '015', transport: 'tcp' });
        expect(eventsSeen[7].details).to.include({ format: 'sia', number: '501', old: true });
        expect(eventsSeen[0].ip).to.equal('127.0.0.1');
        expect(timeline.at(-1).action, 'the timeline starts with the creation').to.equal('alarm_device.create');
        // The device was heard.
        const view = (await api(t, h.admin.token, 'GET', `/api/alarm-devices/${device.id}`)).body;
        expect(Date.parse(view.lastSeenAt)).to.be.closeTo(Date.now(), 10_000);
      });
    });

    describe('retransmissions', () => {
      it('the same sequence and content again (clear, TCP): ACK again, one alarm with one press', async () => {
        const device = await h.device({ encryption: 'none' });
        const panel = h.panel(device, 'tcp');
        const first = await h.send(panel, PANIC_CID);
        expect(first.result.answer).to.equal('ACK');
        const alarmId = first.outcomes[0]!.alarmId!;
        await h.raised(alarmId);
        const before = await h.state();
        const again = await h.send(panel, PANIC_CID, { sequence: first.result.sequence });
        expect(again.result.answer).to.equal('ACK');
        expect(again.result.answers[0]).to.include({ sequence: first.result.sequence });
        expect(again.outcomes.map((o) => o.reason)).to.deep.equal(['retransmission']);
        expect(await h.state()).to.deep.equal(before);
        expect((await api(t, h.admin.token, 'GET', `/api/alarms/${alarmId}`)).body).to.include({ presses: 1 });
        expect(h.console.raised(alarmId)).to.have.length(1);
      });

      it('an encrypted frame re-encrypted with new padding (AES-256, UDP): ACK again, one alarm; another content under the same sequence is new', async () => {
        const device = await h.device({ encryption: 'aes256' });
        const panel = h.panel(device, 'udp');
        const first = await h.send(panel, PANIC_SIA);
        expect(first.result.answer).to.equal('ACK');
        const alarmId = first.outcomes[0]!.alarmId!;
        await h.raised(alarmId);
        const before = await h.state();
        const again = await h.send(panel, PANIC_SIA, { sequence: first.result.sequence });
        expect(again.result.answer).to.equal('ACK');
        expect(again.result.answers[0]!.encrypted).to.equal(true);
        expect(again.result.frames[0], 'new padding: another ciphertext').to.not.equal(first.result.frames[0]);
        expect(again.outcomes.map((o) => o.reason)).to.deep.equal(['retransmission']);
        expect(await h.state()).to.deep.equal(before);
        expect((await api(t, h.admin.token, 'GET', `/api/alarms/${alarmId}`)).body).to.include({ presses: 1 });
        // Same sequence, another event: not a retransmission (a restore, on the timeline).
        const other = await h.send(panel, { token: 'SIA-DCS', data: 'Nri1/PH501' }, { sequence: first.result.sequence });
        expect(other.outcomes.map((o) => o.reason)).to.deep.equal(['accepted']);
        expect((await h.audit({ device: device.id, action: 'alarm_device.event' })).map((entry) => entry.details.code)).to.deep.equal(['PH']);
      });

      it('the same frame twice at once (UDP; and on two TCP connections, a panel reconnecting): one accepted, the other a retransmission, one press', async () => {
        for (const transport of ['udp', 'tcp'] as const) {
          const device = await h.device({ encryption: 'aes128' });
          const panels = transport === 'udp' ? [h.panel(device, 'udp')] : [h.panel(device, 'tcp'), h.panel(device, 'tcp')];
          const { text, sequence } = panels[0]!.buildFrame(PANIC_CID);
          const from = h.outcomes.length;
          await Promise.all([panels[0]!.raw(text), panels.at(-1)!.raw(text)]);
          const outcomes = await h.outcomesAfter(from, 2);
          expect(outcomes.map((o) => [o.answer, o.reason]).sort(), transport).to.deep.equal([
            ['ACK', 'accepted'],
            ['ACK', 'retransmission'],
          ]);
          const alarmId = outcomes.find((o) => o.alarmId)!.alarmId!;
          await h.raised(alarmId);
          await waitFor(() => panels.reduce((n, panel) => n + panel.received.length, 0) >= 2, 'both ACKs');
          for (const raw of panels.flatMap((panel) => panel.received)) expect(panelDecodeAnswer(raw, device.key)).to.include({ valid: true, kind: 'ACK', sequence });
          expect((await api(t, h.admin.token, 'GET', `/api/alarms/${alarmId}`)).body, transport).to.include({ presses: 1 });
          expect((await t.app.audit.query({ action: 'alarm.receive' }, { offset: 0, limit: 500 })).items.filter((entry) => entry.details?.device === device.code), transport).to.have.length(1);
        }
      });
    });

    describe('timestamps', () => {
      for (const [offsetS, transport, encryption] of [[-120, 'tcp', 'aes128'], [60, 'udp', 'none']] as const) {
        it(`a panel clock ${offsetS > 0 ? '+' : ''}${offsetS} s (${transport.toUpperCase()}, ${encryption}): NAK with the receiver's time (clear), the corrected resend gets ACK and the alarm`, async () => {
          const device = await h.device({ encryption });
          const panel = h.panel(device, transport, { clockOffsetMs: offsetS * 1000 });
          const { result, outcomes } = await h.send(panel, PANIC_CID);
          expect(result.answer, JSON.stringify(result.answers)).to.equal('ACK');
          expect(result.attempts, 'the stale frame and the corrected resend').to.equal(2);
          const nak = result.answers[0]!;
          expect(nak).to.include({ valid: true, kind: 'NAK', encrypted: false });
          expect(nak.raw).to.match(/"NAK"0000R0L0A0\[\]_\d\d:\d\d:\d\d,\d\d-\d\d-\d{4}\r$/);
          expect(nak.timestamp!.getTime(), "the receiver's clock").to.be.closeTo(Date.now(), 5000);
          expect(Math.abs(panel.clockOffsetMs), 'the panel corrected its clock').to.be.below(3000);
          expect(outcomes.map((o) => [o.answer, o.reason])).to.deep.equal([
            ['NAK', 'stale_timestamp'],
            ['ACK', 'accepted'],
          ]);
          const alarm = await h.raised(outcomes[1]!.alarmId!);
          expect(alarm.presses).to.equal(1);
        });
      }

      it('a stale frame not resent creates nothing', async () => {
        const device = await h.device({ encryption: 'none' });
        const before = await h.state(device.id);
        const { result, outcomes } = await h.send(h.panel(device, 'udp', { clockOffsetMs: -300_000 }), PANIC_SIA, { resendAfterNak: false });
        expect(result.answer).to.equal('NAK');
        expect(outcomes.map((o) => o.reason)).to.deep.equal(['stale_timestamp']);
        expect(await h.state(device.id)).to.deep.equal(before);
      });

      it('the window over the network, whole seconds: +20 s and -39 s accepted, +22 s and -42 s refused (NAK)', async () => {
        const device = await h.device({ encryption: 'none' });
        const answers: Record<string, string> = {};
        for (const offsetS of [20, 22, -39, -42]) {
          // Start right after a whole second: the panel's timestamp drops milliseconds, so it lags its clock by little.
          for (;;) {
            const ms = Date.now() % 1000;
            if (ms >= 10 && ms <= 200) break;
            await sleep(ms < 10 ? 10 - ms : 1010 - ms);
          }
          const panel = h.panel(device, 'udp', { clockOffsetMs: offsetS * 1000, retries: 0 });
          answers[offsetS] = (await panel.send({ token: 'NULL' }, { resendAfterNak: false })).answer;
        }
        expect(answers).to.deep.equal({ 20: 'ACK', 22: 'NAK', '-39': 'ACK', '-42': 'NAK' });
      });

      it('the window exactly (the clock injected): +20 000 ms and -40 000 ms accepted, one millisecond more refused', async () => {
        const device = await h.device({ encryption: 'none' });
        const refusals = new RefusalLog(t.app.audit, t.app.logger);
        const intake = new Dc09Intake(t.app.alarmDevices, t.app.alarms, t.app.audit, refusals, t.app.config.dc09, t.app.logger);
        const stamp = Math.floor(Date.now() / 1000) * 1000;
        const source: Dc09Source = { address: '127.0.0.9', transport: 'udp' };
        const cases: Array<[number, string]> = [
          [stamp - 20_000, 'ACK'], // the frame 20 s ahead
          [stamp - 20_001, 'NAK'],
          [stamp + 40_000, 'ACK'], // the frame 40 s behind
          [stamp + 40_001, 'NAK'],
        ];
        try {
          let sequence = 100;
          for (const [now, expected] of cases) {
            const frame = panelFrame({ token: 'NULL', sequence: ++sequence, account: device.account, timestamp: new Date(stamp) });
            const { answer, outcome } = await intake.handle(Buffer.from(frame, 'latin1'), source, new Date(now));
            expect(outcome.answer, `skew ${stamp - now} ms`).to.equal(expected);
            const decoded = panelDecodeAnswer(answer!.toString('latin1'));
            expect(decoded).to.include({ valid: true, kind: expected });
            if (expected === 'NAK') expect(decoded.timestamp!.getTime(), 'the NAK carries the receiver clock').to.equal(Math.floor(now / 1000) * 1000);
          }
        } finally {
          refusals.close();
        }
      });
    });

    describe('refusals: DUH or no answer, and nothing created', () => {
      /** Runs one refused send and checks its answer, the receiver's reason, and that nothing changed. */
      const refused = async (device: Device | undefined, send: () => Promise<{ result?: Dc09SendResult; outcomes: Outcome[] }>, answer: 'DUH' | 'none', reason: string | undefined) => {
        const before = await h.state(device?.id);
        const { result, outcomes } = await send();
        if (result) {
          expect(result.answer, JSON.stringify(result.answers)).to.equal(answer);
          if (answer === 'DUH') {
            const duh = result.answers.find((a) => a.kind === 'DUH')!;
            expect(duh).to.include({ valid: true, encrypted: false, sequence: result.sequence });
            if (device) expect(duh.account).to.equal(device.account);
          } else {
            expect(result.raw, 'no answer at all').to.deep.equal([]);
          }
        }
        if (reason === undefined) expect(outcomes, 'no frame read').to.deep.equal([]);
        else expect(outcomes.map((o) => [o.answer, o.reason])).to.deep.include([answer, reason]);
        expect(outcomes.some((o) => o.alarmId), 'no alarm').to.equal(false);
        expect(await h.state(device?.id), 'nothing changed').to.deep.equal(before);
      };

      it('unknown account: DUH', async () => {
        const stranger = { account: 'ABCDEF0123' };
        let result!: Dc09SendResult;
        await refused(undefined, async () => {
          const sent = await h.send(h.panel(stranger, 'tcp'), PANIC_CID);
          result = sent.result;
          return sent;
        }, 'DUH', 'unknown_account');
        expect(result.answers[0]!.account).to.equal('ABCDEF0123');
      });

      it('a clear frame from a device that requires encryption: DUH, audited as alarm.refuse dc09_clear_frame_refused', async () => {
        const device = await h.device({ encryption: 'aes128' });
        await refused(device, () => h.send(h.panel({ account: device.account }, 'udp'), PANIC_CID), 'DUH', 'clear_frame_refused');
        // From a source of its own (refusals are audited once per source per minute, the first at once).
        const other = await udpFrom('127.0.0.3');
        try {
          const frame = panelFrame({ token: 'ADM-CID', sequence: 42, account: device.account, data: '1120 01 015', timestamp: new Date() });
          await other.send(frame, h.port);
          await waitFor(() => other.answers.length > 0, 'the DUH');
          expect(panelDecodeAnswer(other.answers[0]!)).to.include({ valid: true, kind: 'DUH', sequence: 42 });
          const entry = await waitFor(async () => (await h.audit({ action: 'alarm.refuse' })).find((e) => e.details?.source === '127.0.0.3'), 'the refusal audited');
          expect(entry.details.reasons).to.deep.equal({ dc09_clear_frame_refused: 1 });
          expect(entry.details.devices).to.deep.equal([device.code]);
        } finally {
          await other.close();
        }
      });

      it('an encrypted frame with the wrong key (same size, and another size): DUH', async () => {
        const device = await h.device({ encryption: 'aes128' });
        await refused(device, () => h.send(h.panel({ account: device.account, key: randomBytes(16).toString('hex').toUpperCase() }, 'tcp'), PANIC_CID), 'DUH', 'decrypt');
        await refused(device, () => h.send(h.panel({ account: device.account, key: randomBytes(32).toString('hex') }, 'udp'), PANIC_SIA), 'DUH', 'decrypt');
      });

      it('an encrypted frame to a device without encryption: DUH', async () => {
        const device = await h.device({ encryption: 'none' });
        await refused(device, () => h.send(h.panel({ account: device.account, key: randomBytes(16).toString('hex') }, 'udp'), PANIC_CID), 'DUH', 'no_key');
      });

      it('an unsupported token: DUH', async () => {
        const device = await h.device({ encryption: 'none' });
        const panel = h.panel(device, 'tcp');
        await refused(device, async () => {
          const from = h.outcomes.length;
          await panel.raw(panelFrame({ token: 'ADM-XYZ' as never, sequence: 7, account: device.account, data: '1120 01 015', timestamp: new Date() }));
          const outcomes = await h.outcomesAfter(from, 1);
          const [answer] = await panel.collectAnswers(300);
          expect(panelDecodeAnswer(answer!)).to.include({ valid: true, kind: 'DUH', sequence: 7, account: device.account });
          return { outcomes };
        }, 'DUH', 'unsupported_token');
      });

      it('unreadable Contact ID and SIA data: DUH', async () => {
        const device = await h.device({ encryption: 'aes256' });
        const panel = h.panel(device, 'udp');
        for (const event of [
          { token: 'ADM-CID', data: '5120 01 015' },
          { token: 'ADM-CID', data: '1120-01-015' },
          { token: 'ADM-CID', data: 'panic!' },
          { token: 'SIA-DCS', data: 'Xri1/PA501' },
          { token: 'SIA-DCS', data: 'N//' },
        ] as Dc09Event[]) {
          await refused(device, () => h.send(panel, event), 'DUH', 'unsupported_data');
        }
      });

      it('suspended and retired devices: DUH', async () => {
        for (const status of ['suspended', 'retired'] as const) {
          const device = await h.device({ encryption: 'aes128', status });
          await refused(device, () => h.send(h.panel(device, 'tcp'), PANIC_CID), 'DUH', `device_${status}`);
        }
      });

      it('bad CRC, wrong length: no answer (the panel retries); garbage bytes: no answer', async () => {
        const device = await h.device({ encryption: 'none' });
        for (const transport of ['tcp', 'udp'] as const) {
          const panel = h.panel(device, transport, { retries: 1, ackTimeoutMs: 200 });
          for (const corrupt of ['crc', 'length'] as const) {
            let result!: Dc09SendResult;
            await refused(device, async () => {
              const sent = await h.send(panel, PANIC_CID, { corrupt });
              result = sent.result;
              return sent;
            }, 'none', `frame_${corrupt}`);
            expect(result.attempts, 'retransmitted').to.equal(2);
          }
        }
        // Garbage: a UDP datagram is read as a frame and dropped; over TCP, bytes without LF are no frame at all.
        const udp = h.panel(device, 'udp');
        await refused(device, async () => {
          const from = h.outcomes.length;
          await udp.raw(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
          await udp.raw(randomBytes(300));
          const outcomes = await h.outcomesAfter(from, 2);
          expect(await udp.collectAnswers(200)).to.deep.equal([]);
          return { outcomes };
        }, 'none', 'frame_syntax');
        const tcp = h.panel(device, 'tcp');
        await refused(device, async () => {
          await tcp.raw(Buffer.from('\x00\x01\x02 garbage without a line feed \xff\r'));
          expect(await tcp.collectAnswers(300)).to.deep.equal([]);
          return { outcomes: [] };
        }, 'none', undefined);
        // The connection still works.
        const { result } = await h.send(tcp, { token: 'NULL' });
        expect(result.answer).to.equal('ACK');
      });
    });

    describe('TCP streams', () => {
      it('bytes trickled one per 50 ms, whole within frameTimeoutMs: ACK', async () => {
        const device = await h.device({ encryption: 'none' });
        const panel = h.panel(device, 'tcp', { timestamps: false });
        const { text, sequence } = panel.buildFrame({ token: 'NULL' });
        for (const char of text) {
          await panel.raw(char);
          await sleep(50);
        }
        const answers = await waitFor(() => panel.received.length > 0 && panel.received, 'the ACK');
        expect(answers.map((raw) => panelDecodeAnswer(raw))).to.have.length(1);
        expect(panelDecodeAnswer(answers[0]!)).to.include({ valid: true, kind: 'ACK', sequence });
        expect(panel.connections, 'one connection throughout').to.equal(1);
      });

      it('garbage (and a false start) before a valid frame is skipped', async () => {
        const device = await h.device({ encryption: 'aes128' });
        const panel = h.panel(device, 'tcp');
        const { text, sequence } = panel.buildFrame(PANIC_CID);
        const from = h.outcomes.length;
        await panel.raw(`\x00\x7fnoise before\n0000`);
        await panel.raw(`more noise\r${text}`);
        const [raw] = await waitFor(() => panel.received.length > 0 && panel.received, 'the ACK');
        expect(panelDecodeAnswer(raw!, device.key)).to.include({ valid: true, kind: 'ACK', encrypted: true, sequence });
        const outcomes = await h.outcomesAfter(from, 1);
        // The false start `\n0000more noise\r` is a frame that fails to read, unanswered.
        expect(outcomes.map((o) => [o.answer, o.reason])).to.deep.equal([
          ['none', 'frame_syntax'],
          ['ACK', 'accepted'],
        ]);
        await h.raised(outcomes[1]!.alarmId!);
      });

      it('two frames in one chunk are both answered, in order', async () => {
        const device = await h.device({ encryption: 'aes256' });
        const panel = h.panel(device, 'tcp');
        const first = panel.buildFrame({ token: 'ADM-CID', data: '3120 01 015' });
        const second = panel.buildFrame({ token: 'NULL' });
        const third = panel.buildFrame({ token: 'SIA-DCS', data: 'Nri1/BA501' });
        await panel.raw(first.text + second.text + third.text);
        const answers = await waitFor(() => panel.received.length >= 3 && panel.received, 'three answers');
        expect(answers.map((raw) => panelDecodeAnswer(raw, device.key)).map((a) => [a.valid, a.kind, a.sequence])).to.deep.equal([
          [true, 'ACK', first.sequence],
          [true, 'ACK', second.sequence],
          [true, 'ACK', third.sequence],
        ]);
      });

      it('a frame over the maximum size is dropped, with or without its CR; the next frame is answered', async () => {
        const device = await h.device({ encryption: 'none' });
        const panel = h.panel(device, 'tcp');
        const from = h.outcomes.length;
        const one = panel.buildFrame({ token: 'NULL' });
        await panel.raw(`\n${'A'.repeat(5000)}\r${one.text}`);
        const two = panel.buildFrame({ token: 'NULL' });
        await panel.raw(`\n${'B'.repeat(4200)}`);
        await panel.raw(`${'B'.repeat(4200)}${two.text}`);
        const answers = await waitFor(() => panel.received.length >= 2 && panel.received, 'two answers');
        expect(answers.map((raw) => panelDecodeAnswer(raw)).map((a) => [a.kind, a.sequence])).to.deep.equal([
          ['ACK', one.sequence],
          ['ACK', two.sequence],
        ]);
        expect(h.outcomes.slice(from).map((o) => o.reason), 'the oversize frames never reached the intake').to.deep.equal(['accepted', 'accepted']);
      });

      it('connections are counted back to zero once the panels close', async () => {
        const device = await h.device({ encryption: 'none' });
        const panels = [h.panel(device, 'tcp'), h.panel(device, 'tcp'), h.panel(device, 'tcp')];
        for (const panel of panels) expect((await panel.send({ token: 'NULL' })).answer).to.equal('ACK');
        expect(t.app.dc09!.connections).to.be.at.least(3);
        await h.closePanels();
        await waitFor(() => t.app.dc09!.connections === 0, 'no connection left');
      });
    });

    describe('supervision', () => {
      it('NULL keeps a supervised device online, and brings an offline one back online', async () => {
        // Through the service: a supervision interval of 1 s (the API's minimum is 60 s).
        const { device, dc09Key } = await t.app.alarmDevices.create(undefined, {
          code: `PANEL-SUP-${process.pid}`,
          name: 'Supervised panel',
          kind: 'alarm_panel',
          owner: { name: 'Joyería' },
          location: PLACE,
          area: 'agency',
          municipality: 'Norte',
          cameras: [],
          supervisionIntervalS: 1,
          status: 'active',
          dc09: { account: 'D0D0', encryption: 'aes128' },
        });
        h.keys.push(dc09Key!);
        try {
          const offline = await waitFor(() => h.console.deviceStatus(device.id).find((event) => !event.online), 'the device offline', 5000);
          expect(offline.code).to.equal(device.code);
          const panel = h.panel({ account: 'D0D0', key: dc09Key }, 'udp');
          expect((await panel.send({ token: 'NULL' })).answer).to.equal('ACK');
          await waitFor(() => h.console.deviceStatus(device.id).at(-1)?.online === true, 'the device back online');
          // Link tests every 300 ms keep it online (interval 1 s, grace 0).
          const heard = h.console.deviceStatus(device.id).length;
          for (let i = 0; i < 6; i++) {
            expect((await panel.send({ token: 'NULL' })).answer).to.equal('ACK');
            await sleep(300);
          }
          expect(h.console.deviceStatus(device.id).length, 'no status change while NULLs come').to.equal(heard);
          const view = (await api(t, h.admin.token, 'GET', `/api/alarm-devices/${device.id}`)).body;
          expect(view.online).to.equal(true);
          const audited = await h.audit({ device: device.id });
          expect(audited.map((entry) => entry.action)).to.include.members(['alarm_device.offline', 'alarm_device.online']);
        } finally {
          // Not supervised any more: no offline entries during later tests.
          await t.app.alarmDevices.update(undefined, device.id, { status: 'suspended' });
        }
      });
    });

    describe('at the end', () => {
      it('no DC-09 key appears in logs, audit entries, /metrics or answers other than the one that issued it', async () => {
        expect(h.keys.length).to.be.at.least(10);
        const scan = new SecretsScan().registerApp(t.app).watchLog(t.log);
        h.keys.forEach((key, i) => {
          scan.register(`DC-09 key #${i + 1}`, key);
          scan.register(`DC-09 key #${i + 1} (lower-case)`, key.toLowerCase());
          scan.register(`DC-09 key #${i + 1} (bytes, base64)`, Buffer.from(key, 'hex').toString('base64').replace(/=+$/, ''));
          scan.register(`DC-09 key #${i + 1} (bytes, base64url)`, Buffer.from(key, 'hex').toString('base64url'));
        });
        const get = (path: string) => scan.fetch(`${t.app.consoleUrl}${path}`, { headers: { authorization: `Bearer ${h.admin.token}` } });
        expect((await get('/api/alarm-devices?limit=500')).status).to.equal(200);
        for (const device of h.devices) {
          expect((await get(`/api/alarm-devices/${device.id}`)).status).to.equal(200);
          expect((await get(`/api/audit?device=${device.id}&limit=500`)).status).to.equal(200);
        }
        expect((await get('/api/audit?limit=500')).status).to.equal(200);
        expect((await get('/api/alarms?status=open,acknowledged,closed&limit=200')).status).to.equal(200);
        await scan.collectApp(t.app);
        // Stored only sealed.
        for (const device of (await t.app.alarmDevices.repository.list({}, { offset: 0, limit: 1000 })).items) scan.add(`stored device ${device.code}`, JSON.stringify(device));
        scan.add('the operator console', JSON.stringify(h.console.heard));
        expect(scan.counts.logLines).to.be.greaterThan(0);
        expect(t.log.text).to.include('DC-09');
        scan.assertClean();
      });
    });
  });

  describe('a second App: configured codes and limits', () => {
    let t: TestApp;
    const h = harness(() => t, 0xb7);
    let closed = false;

    before(async () => {
      t = await startTestApp({
        ingest: { workers: 0 },
        media: { workers: 1 },
        alarms: { reannounceS: 3600 },
        dc09: {
          frameTimeoutMs: 500,
          maxConnectionsPerAddress: 2,
          ratePerAddressPerMinute: 5,
          alarmContactIdCodes: ['120', '100'],
          alarmSiaCodes: ['PA', 'MA'],
        },
      } as never);
      await h.init();
    });
    afterEach(async () => {
      await h.closePanels();
    });
    after(async () => {
      h.console?.close();
      if (!closed) await t?.close();
    });

    it('medical Contact ID 100 and SIA MA raise alarms when configured (dc09.alarmContactIdCodes, alarmSiaCodes); HA, no longer listed, does not', async () => {
      // Three frames from 127.0.0.1 (the address's budget is 5 a minute).
      for (const event of [{ token: 'ADM-CID', data: '1100 01 001' }, { token: 'SIA-DCS', data: 'Nri1/MA1' }] as Dc09Event[]) {
        const device = await h.device({ encryption: 'aes128' });
        const { result, outcomes } = await h.send(h.panel(device, 'udp'), event);
        expect(result.answer).to.equal('ACK');
        const alarm = await h.raised(outcomes[0]!.alarmId!);
        expect(alarm).to.deep.include({ source: 'dc09' });
        expect(alarm.device.id).to.equal(device.id);
      }
      const device = await h.device({ encryption: 'aes128' });
      const { result, outcomes } = await h.send(h.panel(device, 'udp'), { token: 'SIA-DCS', data: 'Nri1/HA1' });
      expect(result.answer).to.equal('ACK');
      expect(outcomes[0]).to.not.have.property('alarmId');
    });

    it('a flood from one address beyond ratePerAddressPerMinute is dropped unanswered; another address is still answered', async () => {
      const device = await h.device({ encryption: 'none' });
      const flood = await udpFrom('127.0.0.2');
      const other = await udpFrom('127.0.0.4');
      try {
        const from = h.outcomes.length;
        for (let sequence = 1; sequence <= 8; sequence++) {
          await flood.send(panelFrame({ token: 'NULL', sequence, account: device.account, timestamp: new Date() }), h.port);
        }
        const outcomes = (await h.outcomesAfter(from, 8)).filter((o) => o.address === '127.0.0.2');
        // Drops finish first (no store write): compare as sets.
        expect(outcomes.map((o) => o.reason).sort()).to.deep.equal([...Array(5).fill('accepted'), ...Array(3).fill('rate_limited')]);
        await sleep(200);
        expect(flood.answers.map((raw) => panelDecodeAnswer(raw).sequence).sort(), 'only the first five answered').to.deep.equal([1, 2, 3, 4, 5]);
        // TCP from the same address shares the budget.
        const tcp = await tcpFrom(h.port, '127.0.0.2');
        tcp.socket.write(panelFrame({ token: 'NULL', sequence: 9, account: device.account, timestamp: new Date() }));
        await waitFor(() => h.outcomes.some((o) => o.address === '127.0.0.2' && o.transport === 'tcp'), 'the TCP frame read');
        expect(h.outcomes.filter((o) => o.address === '127.0.0.2' && o.transport === 'tcp').map((o) => o.reason)).to.deep.equal(['rate_limited']);
        expect(tcp.received).to.deep.equal([]);
        tcp.socket.destroy();
        // Another source is served.
        await other.send(panelFrame({ token: 'NULL', sequence: 1, account: device.account, timestamp: new Date() }), h.port);
        await waitFor(() => other.answers.length > 0, 'the ACK to another address');
        expect(panelDecodeAnswer(other.answers[0]!)).to.include({ valid: true, kind: 'ACK', sequence: 1 });
      } finally {
        await flood.close();
        await other.close();
      }
    });

    it('a client that never sends the CR (or trickles without end) is disconnected after frameTimeoutMs', async () => {
      const silent = await tcpFrom(h.port);
      silent.socket.write('\n0000003A"NULL"0001L0#1234[');
      const trickler = await tcpFrom(h.port);
      let stop = false;
      void (async () => {
        for (let i = 0; !stop && !trickler.closedAt(); i++) {
          trickler.socket.write(i === 0 ? '\n' : 'A');
          await sleep(50);
        }
      })();
      try {
        for (const client of [silent, trickler]) {
          const closedAt = await waitFor(() => client.closedAt(), 'the connection closed', 5000);
          // frameTimeoutMs 500 from the first byte; wide slack for a loaded machine.
          expect(closedAt - client.openedAt).to.be.within(400, 4000);
          expect(client.received).to.deep.equal([]);
        }
      } finally {
        stop = true;
      }
      await waitFor(() => t.app.dc09!.connections === 0, 'no connection left');
    });

    it('connections per address are bounded (2): the third is closed at once, another address still connects; the count returns to zero', async () => {
      const first = await tcpFrom(h.port);
      const second = await tcpFrom(h.port);
      await waitFor(() => t.app.dc09!.connections === 2, 'two connections');
      const third = await tcpFrom(h.port).catch(() => undefined);
      if (third) await waitFor(() => third.closedAt(), 'the third connection closed', 3000);
      const elsewhere = await tcpFrom(h.port, '127.0.0.5');
      await sleep(150);
      expect(first.closedAt()).to.equal(undefined);
      expect(second.closedAt()).to.equal(undefined);
      expect(elsewhere.closedAt()).to.equal(undefined);
      expect(t.app.dc09!.connections).to.equal(3);
      for (const client of [first, second, elsewhere]) client.socket.end();
      await waitFor(() => t.app.dc09!.connections === 0, 'the count back to zero');
      // Counted back: 127.0.0.1 may open two again.
      const again = [await tcpFrom(h.port), await tcpFrom(h.port)];
      await sleep(150);
      expect(again.map((client) => client.closedAt())).to.deep.equal([undefined, undefined]);
      for (const client of again) client.socket.destroy();
      await waitFor(() => t.app.dc09!.connections === 0, 'the count back to zero');
    });

    it('closing the App ends every connection and frees the port (TCP and UDP)', async () => {
      const port = h.port;
      const open = await tcpFrom(port);
      await waitFor(() => t.app.dc09!.connections === 1, 'one connection');
      h.console.close();
      await t.close();
      closed = true;
      await waitFor(() => open.closedAt(), 'the panel connection ended by the close', 3000);
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '0.0.0.0', () => resolve());
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const udp = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, '0.0.0.0', () => resolve());
      });
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    });
  });
});
