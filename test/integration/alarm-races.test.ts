import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { AlarmConsole, addDevice, api, press, signIn, sleep, waitFor, type SignedIn, type TestDevice } from '../support/alarmConsole.ts';
import type { AlarmView } from '../../server/signalling/protocol.ts';

/**
 * Review of issue #22's alarm lifecycle: races between a press (or a re-announcement) and a close
 * or an acknowledgement. AlarmService writes the record (compare-and-set in the store), then
 * `await`s #remember -> #view (device, incident, camera names) before it puts the record it holds
 * into #active: a close or an acknowledgement that lands during that await is overwritten by the
 * stale record. The gate below holds the device lookup of #view to make the interleaving certain;
 * in production the same window is a few database round trips.
 */

/** Holds the next devices.repository.findById(deviceId) until released. */
function gateDeviceLookup(t: TestApp, deviceId: string): { entered: Promise<void>; release: () => void; restore: () => void } {
  const repository = t.app.alarmDevices.repository as { findById(id: string): Promise<unknown> };
  const original = repository.findById.bind(repository);
  let signal!: () => void;
  let release!: () => void;
  const entered = new Promise<void>((resolve) => (signal = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  let armed = true;
  repository.findById = async (id: string) => {
    if (armed && id === deviceId) {
      armed = false;
      signal();
      await released;
    }
    return original(id);
  };
  const timeout = sleep(5000).then(() => {
    throw new Error('the gated device lookup never happened: the code path changed, move the gate (see the file comment)');
  });
  void timeout.catch(() => undefined);
  return { entered: Promise.race([entered, timeout]), release, restore: () => (repository.findById = original) };
}

describe('alarm lifecycle races (issue 22)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let admin: SignedIn;
  const consoles: AlarmConsole[] = [];
  const restores: Array<() => void> = [];

  before(async () => {
    t = await startTestApp({ ingest: { workers: 0 }, media: { workers: 1 }, alarms: { reannounceS: 2, reannounceMax: 3 } } as never);
    admin = await signIn(t, 'admin');
  });
  afterEach(() => {
    for (const console of consoles.splice(0)) console.close();
    for (const restore of restores.splice(0)) restore();
  });
  after(async () => t?.close());

  const covering = async (municipality: string) => {
    const operator = await signIn(t, 'operator', { areas: ['agency'], municipalities: [municipality] });
    consoles.push(await AlarmConsole.open(t.app.consoleUrl, operator.token));
    return operator;
  };
  const opened = async (device: TestDevice) => {
    const answer = await press(t, device);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
    return answer.body as { alarmId: string; incidentId: string };
  };

  // Regression (found by a review, fixed): it failed because AlarmService.#press -> #remember (server/alarms/AlarmService.ts:239-241,
  // 345-351) puts the press's 'open' record back into #active after closeAlarm deleted it
  // (AlarmService.ts:216-219): the closed alarm lives on in memory for ever, GET /api/alarms lists
  // it as open, every console that (re)connects gets it in alarmsOpen and rings, and acknowledging
  // it answers 409. Fix: serialise press/ack/close/reannounce per alarm (like #pressing per device),
  // or in #remember skip the set when the entry was removed or holds a newer record (updatedAt).
  it('a press joining an alarm while it is being closed does not bring the closed alarm back', async () => {
    const device = await addDevice(t, { municipality: 'RaceClose', location: { lat: 30, lng: 30 } });
    await covering('RaceClose');
    const { alarmId } = await opened(device);
    const gate = gateDeviceLookup(t, device.device.id);
    restores.push(gate.restore);
    const joining = press(t, device);
    await gate.entered; // the press has counted itself in the store; its #remember waits
    // Not awaited before the release: a fix that serialises the close after the press must not deadlock here.
    const closing = api(t, admin.token, 'POST', `/api/alarms/${alarmId}/close`, { disposition: 'false' });
    await Promise.race([closing, sleep(500)]);
    gate.release();
    const closed = await closing;
    expect(closed.status, JSON.stringify(closed.body)).to.equal(200);
    expect((await joining).status).to.equal(200);

    expect((closed.body as AlarmView).status, 'the close answer').to.equal('closed');
    const active = (await api(t, admin.token, 'GET', '/api/alarms')).body.items as AlarmView[];
    expect(active.map((alarm) => alarm.id), 'alarms not closed').to.not.include(alarmId);
    // list(status=closed) prefers the in-memory view (AlarmService.ts:182): the ghost shows there too.
    const listedClosed = (await api(t, admin.token, 'GET', `/api/alarms?status=closed&limit=200`)).body.items as AlarmView[];
    expect(listedClosed.find((alarm) => alarm.id === alarmId)?.status, 'listed among closed alarms as').to.equal('closed');
    const late = await AlarmConsole.open(t.app.consoleUrl, admin.token);
    consoles.push(late);
    await waitFor(() => late.opened, 'alarmsOpen');
    expect(late.opened!.alarms.map((alarm) => alarm.id), 'alarmsOpen of a console connecting after the close').to.not.include(alarmId);
  });

  // Regression (found by a review, fixed).
  // acknowledgement's CAS then makes it 'acknowledged', but the press's #remember lands last and
  // #active says 'open' again (and the press rings every console with status open after the
  // acknowledgement). GET /api/alarms/{id} answers 'open' while the store says 'acknowledged'; a
  // console reconnecting rings for an alarm somebody took.
  it('a press joining an alarm while it is being acknowledged leaves it acknowledged', async () => {
    const device = await addDevice(t, { municipality: 'RaceAck', location: { lat: 31, lng: 31 } });
    const operator = await covering('RaceAck');
    const { alarmId } = await opened(device);
    const gate = gateDeviceLookup(t, device.device.id);
    restores.push(gate.restore);
    const joining = press(t, device);
    await gate.entered;
    const acknowledging = api(t, operator.token, 'POST', `/api/alarms/${alarmId}/acknowledge`);
    await Promise.race([acknowledging, sleep(500)]);
    gate.release();
    const acknowledged = await acknowledging;
    expect(acknowledged.status, JSON.stringify(acknowledged.body)).to.equal(200);
    expect((await joining).status).to.equal(200);
    const view = (await api(t, admin.token, 'GET', `/api/alarms/${alarmId}`)).body as AlarmView;
    expect(view.status, 'the alarm after the acknowledgement').to.equal('acknowledged');
  });

  // Regression (found by a review, fixed): it failed because #reannounce -> #remember (AlarmService.ts:309-314) also resurrects an
  // alarm closed during its await, then notifies alarmRaised (status open) and #arm()s a new timer
  // for a closed alarm ("re-announce timer after close"). Same fix as above.
  it('a re-announcement racing a close does not bring the closed alarm back', async () => {
    const device = await addDevice(t, { municipality: 'RaceReannounce', location: { lat: 32, lng: 32 } });
    await covering('RaceReannounce');
    const { alarmId } = await opened(device);
    const gate = gateDeviceLookup(t, device.device.id);
    restores.push(gate.restore);
    await gate.entered; // the 2 s re-announcement wrote level 1 in the store; its #remember waits
    // Not awaited before the release: a fix that serialises the close after the press must not deadlock here.
    const closing = api(t, admin.token, 'POST', `/api/alarms/${alarmId}/close`, { disposition: 'false' });
    await Promise.race([closing, sleep(500)]);
    gate.release();
    const closed = await closing;
    expect(closed.status, JSON.stringify(closed.body)).to.equal(200);
    await sleep(300);
    const active = (await api(t, admin.token, 'GET', '/api/alarms')).body.items as AlarmView[];
    expect(active.map((alarm) => alarm.id), 'alarms not closed').to.not.include(alarmId);
  });
});
