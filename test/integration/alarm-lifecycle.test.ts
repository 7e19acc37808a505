import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { AlarmConsole, addDevice, api, auditOf, press, signIn, sleep, waitFor, type SignedIn } from '../support/alarmConsole.ts';
import type { ApprovalStatus, CameraArea } from '../../server/catalog/CameraRecord.ts';
import type { AlarmView } from '../../server/signalling/protocol.ts';

/**
 * The life of an alarm (issue 22): ten presses are one alarm and one incident (a press after the
 * join window is another), the incident gets the device's linked cameras and then the nearest
 * approved ones within the radius, closing with a disposition closes (or not) the incident, a
 * device in test mode opens nothing, every step is audited with the incident, and open alarms
 * survive a restart with their re-announcement re-armed.
 */
describe('alarm lifecycle (issue 22)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let admin: SignedIn;
  const consoles: AlarmConsole[] = [];
  const open = async (token: string) => {
    const console = await AlarmConsole.open(t.app.consoleUrl, token);
    consoles.push(console);
    return console;
  };
  /** An operator of exactly this municipality (agency area) with a console connected: the alarm stays at level 0. */
  const coveringConsole = async (municipality: string) => {
    const user = await signIn(t, 'operator', { areas: ['agency'], municipalities: [municipality] });
    await open(user.token);
    return user;
  };

  const camera = (code: string, lat: number, options: { status?: ApprovalStatus; area?: CameraArea; lng?: number } = {}) => {
    const area = options.area ?? 'agency';
    return t.app.catalog.create(
      {
        code,
        name: `Camera ${code}`,
        area,
        owner: { kind: 'organisation', name: 'Owner', ...(area === 'citizen' && { agreementRef: 'AG', enrolledBy: 'op' }) },
        category: 'street',
        municipality: 'Centro',
        location: { lat, lng: options.lng ?? -100 },
        mainUrl: 'rtsp://127.0.0.1:1/x',
        transport: 'tcp',
        ...(area === 'citizen' && { sharing: 'incident-only' }),
        alwaysOn: false,
        tags: [],
      } as never,
      { status: options.status ?? 'approved' },
    );
  };

  before(async () => {
    // Join window 2 s (schema minimum 0) so a press after it can be tested; no timed re-announcement here.
    t = await startTestApp({ ingest: { workers: 0 }, media: { workers: 1 }, alarms: { joinWindowS: 2, reannounceS: 3600 } } as never);
    admin = await signIn(t, 'admin');
  });
  afterEach(() => {
    for (const console of consoles.splice(0)) console.close();
  });
  after(async () => t?.close());

  describe('de-duplication of repeated presses', () => {
    it('ten presses sent at once are one alarm with 10 presses and one panic_alarm incident', async () => {
      const device = await addDevice(t, { municipality: 'Dedup', location: { lat: 40, lng: -100 } });
      await coveringConsole('Dedup');
      const before = (await t.app.incidents.list(t.app.users.get(admin.id), { offset: 0, limit: 1 })).total;
      const answers = await Promise.all(Array.from({ length: 10 }, () => press(t, device)));
      expect(answers.map((answer) => answer.status).sort(), 'one 201 (opened) and nine 200 (joined)').to.deep.equal([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      expect(answers.filter((answer) => answer.body.outcome === 'opened')).to.have.length(1);
      const alarmIds = new Set(answers.map((answer) => answer.body.alarmId));
      const incidentIds = new Set(answers.map((answer) => answer.body.incidentId));
      expect(alarmIds.size, 'alarms').to.equal(1);
      expect(incidentIds.size, 'incidents').to.equal(1);
      expect(answers.map((answer) => answer.body.presses).sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const [alarmId] = alarmIds;
      const [incidentId] = incidentIds;
      const alarm = (await api(t, admin.token, 'GET', `/api/alarms/${alarmId}`)).body as AlarmView;
      expect(alarm).to.include({ presses: 10, status: 'open', incidentId, announceLevel: 0 });
      const incident = await t.app.incidents.findRecord(incidentId);
      expect(incident).to.include({ kind: 'panic_alarm', status: 'open', municipality: 'Dedup' });
      expect((await t.app.incidents.list(t.app.users.get(admin.id), { offset: 0, limit: 1 })).total - before, 'incidents opened').to.equal(1);
      const received = await auditOf(t, incidentId!, 'alarm.receive');
      expect(received, 'every press audited').to.have.length(10);
      expect(received.filter((entry) => entry.details?.joined === false)).to.have.length(1);
    });

    it('ten presses one after the other join the same alarm; a press after the join window opens a new alarm and incident', async () => {
      const device = await addDevice(t, { municipality: 'Dedup', location: { lat: 40.5, lng: -100 } });
      const covering = await coveringConsole('Dedup');
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await press(t, device));
      expect(answers.map((answer) => answer.body.outcome)).to.deep.equal(['opened', ...Array(9).fill('joined')]);
      expect(new Set(answers.map((answer) => answer.body.alarmId)).size).to.equal(1);
      expect(new Set(answers.map((answer) => answer.body.incidentId)).size).to.equal(1);
      expect(answers.at(-1)!.body.presses).to.equal(10);
      const first = answers[0]!.body as { alarmId: string; incidentId: string };

      await sleep(2600); // past the 2 s join window after the last press
      const later = await press(t, device);
      expect(later.status).to.equal(201);
      expect(later.body.outcome).to.equal('opened');
      expect(later.body.presses).to.equal(1);
      expect(later.body.alarmId).to.not.equal(first.alarmId);
      expect(later.body.incidentId).to.not.equal(first.incidentId);
      expect((await api(t, admin.token, 'GET', `/api/alarms/${first.alarmId}`)).body).to.include({ presses: 10, status: 'open' });
      // GET /api/alarms lists the alarms announced to the caller: the operator covering the place (level 0).
      const alarms = (await api(t, covering.token, 'GET', '/api/alarms')).body.items as AlarmView[];
      expect(alarms.filter((alarm) => alarm.device.id === device.device.id).map((alarm) => alarm.id).sort()).to.deep.equal([first.alarmId, later.body.alarmId].sort());
    });
  });

  describe('cameras', () => {
    it('attaches the linked cameras first (device order, not approved ones left out), then the nearest approved ones within the radius', async () => {
      // About 111.2 m per 0.001 degree of latitude; radius 300 m (default).
      await camera('LNK-FAR', 25.05); // linked, 5.6 km away: still attached (linked)
      await camera('LNK-SUSP', 25.0001, { status: 'suspended' });
      await camera('LNK-NEAR', 25.0003);
      await camera('NR-55', 25.0005);
      await camera('NR-CIT-111', 25.001, { area: 'citizen' }); // incident-only citizen camera: approved, counts
      await camera('NR-222', 25.002);
      await camera('NR-PENDING-20', 25.0002, { status: 'pending' });
      await camera('NR-SUSP-10', 24.9999, { status: 'suspended' });
      await camera('FAR-444', 25.004);
      await camera('FAR-SOUTH-600', 24.9946);
      const device = await addDevice(t, { municipality: 'Centro', location: { lat: 25, lng: -100 }, cameras: ['LNK-FAR', 'LNK-SUSP', 'LNK-NEAR'] });
      await coveringConsole('Centro');
      const answer = await press(t, device);
      expect(answer.status).to.equal(201);
      const alarm = (await api(t, admin.token, 'GET', `/api/alarms/${answer.body.alarmId}`)).body as AlarmView;
      expect(alarm.cameras.map((c) => [c.code, c.linked])).to.deep.equal([
        ['LNK-FAR', true],
        ['LNK-NEAR', true],
        ['NR-55', false],
        ['NR-CIT-111', false],
        ['NR-222', false],
      ]);
      const distance = new Map(alarm.cameras.map((c) => [c.code, c.distanceM]));
      expect(distance.get('LNK-FAR')).to.be.closeTo(5560, 20);
      expect(distance.get('NR-55')).to.be.closeTo(56, 2);
      expect(distance.get('NR-CIT-111')).to.be.closeTo(111, 2);
      expect(distance.get('NR-222')).to.be.closeTo(222, 2);
      expect(alarm.cameras.find((c) => c.code === 'NR-55')?.name).to.equal('Camera NR-55');
      expect(answer.body.cameras).to.equal(5);
      expect((await t.app.incidents.findRecord(alarm.incidentId))?.cameras).to.deep.equal(['LNK-FAR', 'LNK-NEAR', 'NR-55', 'NR-CIT-111', 'NR-222']);
    });

    it('an alarm with no camera nearby has no cameras, nor has its incident', async () => {
      const device = await addDevice(t, { municipality: 'Desierto', location: { lat: -30, lng: 120 } });
      await coveringConsole('Desierto');
      const answer = await press(t, device);
      expect(answer.status).to.equal(201);
      expect(answer.body.cameras).to.equal(0);
      const alarm = (await api(t, admin.token, 'GET', `/api/alarms/${answer.body.alarmId}`)).body as AlarmView;
      expect(alarm.cameras).to.deep.equal([]);
      const incident = await t.app.incidents.findRecord(alarm.incidentId);
      expect(incident).to.include({ kind: 'panic_alarm', status: 'open' });
      expect(incident!.cameras).to.deep.equal([]);
      expect(incident!.location).to.deep.equal({ lat: -30, lng: 120 });
    });
  });

  describe('closing with a disposition', () => {
    const raise = async (municipality: string, lat: number) => {
      const device = await addDevice(t, { municipality, location: { lat, lng: 60 } });
      const answer = await press(t, device);
      expect(answer.status).to.equal(201);
      return answer.body as { alarmId: string; incidentId: string };
    };

    it("'false' closes the incident as false_alarm, 'test' as other, 'real' leaves it open; closing twice is 409", async () => {
      const operator = await signIn(t, 'operator', { areas: ['agency'], municipalities: ['Cierre'] });
      await open(operator.token);
      const asFalse = await raise('Cierre', 10);
      const asTest = await raise('Cierre', 11);
      const asReal = await raise('Cierre', 12);

      const closedFalse = await api(t, operator.token, 'POST', `/api/alarms/${asFalse.alarmId}/close`, { disposition: 'false', note: 'pressed by a child' });
      expect(closedFalse.status).to.equal(200);
      expect(closedFalse.body).to.include({ status: 'closed', disposition: 'false' });
      expect(closedFalse.body.closedBy).to.include({ username: operator.username });
      expect(await t.app.incidents.findRecord(asFalse.incidentId)).to.include({ status: 'closed', disposition: 'false_alarm' });

      expect((await api(t, operator.token, 'POST', `/api/alarms/${asTest.alarmId}/close`, { disposition: 'test' })).status).to.equal(200);
      expect(await t.app.incidents.findRecord(asTest.incidentId)).to.include({ status: 'closed', disposition: 'other' });

      const closedReal = await api(t, operator.token, 'POST', `/api/alarms/${asReal.alarmId}/close`, { disposition: 'real', note: 'patrol sent' });
      expect(closedReal.body).to.include({ status: 'closed', disposition: 'real' });
      expect((await t.app.incidents.findRecord(asReal.incidentId))?.status, "'real' leaves the incident to the operators").to.equal('open');
      expect(t.app.incidents.isOpen(asReal.incidentId)).to.equal(true);

      const twice = await api(t, operator.token, 'POST', `/api/alarms/${asFalse.alarmId}/close`, { disposition: 'real' });
      expect(twice.status).to.equal(409);
      expect(twice.body.error.code).to.equal('invalid_state');
      expect((await api(t, operator.token, 'GET', `/api/alarms/${asFalse.alarmId}`)).body, 'unchanged by the refused close').to.include({ disposition: 'false' });
      const open_ = (await api(t, operator.token, 'GET', '/api/alarms')).body.items as AlarmView[];
      expect(open_.map((alarm) => alarm.id)).to.not.include.members([asFalse.alarmId, asTest.alarmId, asReal.alarmId]);
    });

    it('an operator closing the incident closes its alarm (alarmChanged closed, audited)', async () => {
      const operator = await signIn(t, 'operator', { areas: ['agency'], municipalities: ['Cierre2'] });
      const console = await open(operator.token);
      const alarm = await raise('Cierre2', 13);
      const closing = await api(t, operator.token, 'POST', `/api/incidents/${alarm.incidentId}/close`, { disposition: 'resolved', note: 'robbery stopped' });
      expect(closing.status).to.equal(200);
      const changed = await waitFor(() => console.changed(alarm.alarmId).find((view) => view.status === 'closed'), 'alarmChanged closed');
      expect(changed).to.include({ status: 'closed', disposition: 'real' });
      expect(changed.closedBy).to.include({ username: operator.username });
      const stored = (await api(t, operator.token, 'GET', `/api/alarms/${alarm.alarmId}`)).body as AlarmView;
      expect(stored).to.include({ status: 'closed', disposition: 'real' });
      const closes = await auditOf(t, alarm.incidentId, 'alarm.close');
      expect(closes).to.have.length(1);
      expect(closes[0]!.details).to.include({ alarmId: alarm.alarmId, disposition: 'real', why: 'incident closed' });
      const again = await api(t, operator.token, 'POST', `/api/alarms/${alarm.alarmId}/close`, { disposition: 'false' });
      expect(again.status).to.equal(409);

      // An incident closed as a false alarm closes its alarm as false.
      const second = await raise('Cierre2', 14);
      await api(t, operator.token, 'POST', `/api/incidents/${second.incidentId}/close`, { disposition: 'false_alarm', note: 'nothing there' });
      const secondChanged = await waitFor(() => console.changed(second.alarmId).find((view) => view.status === 'closed'), 'alarmChanged closed (false alarm)');
      expect(secondChanged.disposition).to.equal('false');
    });
  });

  describe('test mode', () => {
    it('a device in test mode answers 200 test and opens no alarm nor incident; audited alarm.test, nobody rung', async () => {
      await camera('TM-NEAR', 33.0005, { lng: -90 });
      const device = await addDevice(t, { municipality: 'Pruebas', location: { lat: 33, lng: -90 }, status: 'test' });
      const operator = await open((await signIn(t, 'operator', { areas: ['agency'], municipalities: ['Pruebas'] })).token);
      const adminConsole = await open(admin.token);
      const incidentsBefore = (await t.app.incidents.list(t.app.users.get(admin.id), { offset: 0, limit: 1 })).total;
      const answer = await press(t, device, { note: 'installer test' });
      expect(answer.status).to.equal(200);
      expect(answer.body).to.deep.equal({ outcome: 'test', cameras: 1, linked: 0 });
      await sleep(300);
      const everything = (await api(t, admin.token, 'GET', '/api/alarms?status=open,acknowledged,closed&limit=200')).body.items as AlarmView[];
      expect(everything.filter((alarm) => alarm.device.id === device.device.id), 'no alarm').to.deep.equal([]);
      expect((await t.app.incidents.list(t.app.users.get(admin.id), { offset: 0, limit: 1 })).total, 'no incident').to.equal(incidentsBefore);
      const audited = (await t.app.audit.query({ action: 'alarm.test' }, { offset: 0, limit: 100 })).items.filter((entry) => entry.details?.device === device.device.code);
      expect(audited).to.have.length(1);
      expect(audited[0]!.incidentId).to.equal(undefined);
      expect(audited[0]!.details).to.include({ note: 'installer test' });
      expect(audited[0]!.details?.cameras).to.deep.equal(['TM-NEAR']);
      for (const console of [operator, adminConsole]) {
        expect(console.heard.filter((heard) => heard.event === 'alarmRaised' || heard.event === 'alarmChanged'), 'no alarm event').to.deep.equal([]);
      }
    });
  });

  describe('audit', () => {
    it('received, re-announced, acknowledged and closed are audited with the incident', async () => {
      const device = await addDevice(t, { municipality: 'Auditoria', location: { lat: 35, lng: 60 } });
      // Nobody covering Auditoria is connected: re-announced at once.
      const answer = await press(t, device);
      const { alarmId, incidentId } = answer.body as { alarmId: string; incidentId: string };
      const operator = await signIn(t, 'operator', { areas: ['agency'], municipalities: ['Auditoria'] });
      expect((await api(t, operator.token, 'POST', `/api/alarms/${alarmId}/acknowledge`)).status).to.equal(200);
      expect((await api(t, operator.token, 'POST', `/api/alarms/${alarmId}/close`, { disposition: 'false' })).status).to.equal(200);
      const res = await api(t, admin.token, 'GET', `/api/audit?incident=${incidentId}&limit=500`);
      expect(res.status).to.equal(200);
      const entries = (res.body.items as Array<{ action: string; incidentId: string; username?: string; details: Record<string, unknown>; seq: number }>).sort((a, b) => a.seq - b.seq);
      expect(entries.every((entry) => entry.incidentId === incidentId)).to.equal(true);
      const alarmEntries = entries.filter((entry) => entry.action.startsWith('alarm.'));
      expect(alarmEntries.map((entry) => entry.action)).to.deep.equal(['alarm.receive', 'alarm.reannounce', 'alarm.acknowledge', 'alarm.close']);
      expect(alarmEntries.every((entry) => entry.details.alarmId === alarmId && entry.details.device === device.device.code)).to.equal(true);
      expect(alarmEntries[1]!.details).to.include({ level: 1 });
      expect(alarmEntries[2]!.username).to.equal(operator.username);
      expect(alarmEntries[3]).to.deep.include({ username: operator.username });
      expect(alarmEntries[3]!.details).to.include({ disposition: 'false' });
      expect(entries.map((entry) => entry.action)).to.include.members(['incident.open', 'incident.close']);
    });
  });

  describe('restart', () => {
    let dataDir: string;
    let r: TestApp | undefined;
    before(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'c5-alarm-restart-'));
    });
    after(async () => {
      await r?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('an App started again on the same data dir still has the open alarm and re-arms its re-announcement', async () => {
      r = await startTestApp({ dataDir, ingest: { workers: 0 }, media: { workers: 1 }, alarms: { reannounceS: 3600 } } as never);
      const device = await addDevice(r, { municipality: 'Reinicio', location: { lat: 45, lng: 60 } });
      const operator = await signIn(r, 'operator', { areas: ['agency'], municipalities: ['Reinicio'] });
      const covering = await AlarmConsole.open(r.app.consoleUrl, operator.token);
      const answer = await press(r, device);
      covering.close();
      expect(answer.status).to.equal(201);
      const { alarmId, incidentId } = answer.body as { alarmId: string; incidentId: string };
      expect((await r.app.alarms.get(r.app.users.get(await r.user('admin')), alarmId)).announceLevel, 'announced at level 0 before the restart').to.equal(0);
      await r.close();
      r = undefined;

      // Restarted with a 1 s re-announcement: the alarm announced long ago is re-announced at once.
      r = await startTestApp({ dataDir, ingest: { workers: 0 }, media: { workers: 1 }, alarms: { reannounceS: 1, reannounceMax: 1 } } as never);
      const restartedAdmin = await signIn(r, 'admin');
      // The operator's account was stored: a token of the restarted server lists the alarm.
      const operatorToken = r.app.tokens.issue({ userId: operator.id, role: 'operator', authTime: Math.floor(Date.now() / 1000) }).token;
      const listed = (await api(r, operatorToken, 'GET', '/api/alarms')).body.items as AlarmView[];
      expect(listed.map((alarm) => alarm.id)).to.include(alarmId);
      const after = await waitFor(async () => {
        const view = (await api(r!, restartedAdmin.token, 'GET', `/api/alarms/${alarmId}`)).body as AlarmView;
        return view.announceLevel === 1 && view;
      }, 're-announcement after the restart');
      expect(after).to.include({ status: 'open', presses: 1, incidentId });
      expect(after.device).to.include({ code: device.device.code, name: device.device.name });
      const reannounced = await auditOf(r, incidentId, 'alarm.reannounce');
      expect(reannounced).to.have.length(1);
      expect(reannounced[0]!.details).to.include({ level: 1, alarmId });
      // The restarted server still takes the alarm through its life.
      const console = await AlarmConsole.open(r.app.consoleUrl, restartedAdmin.token);
      expect(console.opened?.alarms.map((alarm) => alarm.id)).to.include(alarmId);
      expect((await api(r, restartedAdmin.token, 'POST', `/api/alarms/${alarmId}/acknowledge`)).status).to.equal(200);
      console.close();
    });
  });
});
