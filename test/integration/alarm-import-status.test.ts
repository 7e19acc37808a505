import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';

/** Review of issue #22's bulk import of alarm devices. */

type Json = any;

describe('alarm device import (issue 22)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let admin: string;

  before(async () => {
    t = await startTestApp({ ingest: { workers: 0 }, media: { workers: 1 } } as never);
    admin = await t.token('admin');
  });
  after(async () => t?.close());

  const post = async (devices: unknown[]): Promise<{ status: number; json: Json }> => {
    const res = await fetch(`${t.app.consoleUrl}/api/alarm-devices/import`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(devices) });
    return { status: res.status, json: await res.json() };
  };

  // Regression (found by a review, fixed): it failed because sameDevice() (server/alarms/AlarmDeviceImporter.ts:105-108) leaves
  // `status` out of the comparison: a file that registers an existing active device in test mode
  // (or the reverse) is reported `unchanged` (DeviceImportReport: "Already registered with the same
  // record") while the device keeps its other status. An installer who re-imports a site's file
  // with status=test believes the buttons are in test mode; a press then opens real incidents.
  // Fix: compare status too (report the row as an error "a different device has this code").
  it('a row differing from the registered device only in status is not reported unchanged', async () => {
    const row = { code: `REV-IMP-${process.pid}`, name: 'Bank door', kind: 'fixed_button', owner: { name: 'Bank' }, location: { lat: 19.4, lng: -99.1 }, area: 'agency', municipality: 'Norte', status: 'active' };
    const first = await post([row]);
    expect(first.status, JSON.stringify(first.json)).to.equal(200);
    expect(first.json).to.deep.include({ created: 1, unchanged: 0 });
    const again = await post([{ ...row, status: 'test' }]);
    expect(again.status).to.equal(200);
    const device = await t.app.alarmDevices.repository.findByCode(row.code);
    expect(device?.status, 'the device after the import').to.equal('active');
    expect(again.json.unchanged, 'reported unchanged although the file says test and the device is active').to.equal(0);
    expect(again.json.errors.map((error: Json) => error.code)).to.deep.equal([row.code]);
  });
});
