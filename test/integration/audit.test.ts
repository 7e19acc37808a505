import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { AuditLog } from '../../server/audit/AuditLog.ts';
import { ViewRecorder } from '../../server/audit/ViewRecorder.ts';
import { FileAuditRepository } from '../../server/store/embedded/FileAuditRepository.ts';
import { LogCapture } from '../support/LogCapture.ts';
import { Simulator } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { connectClient, ok } from '../support/signallingClient.ts';
import { waitFor } from '../support/processes.ts';
import type { AuditEntry } from '../../server/audit/AuditRecord.ts';

const KEY = 'k'.repeat(48);

describe('audit trail', function () {
  this.timeout(60_000);
  let dir: string;
  const logger = new LogCapture('warn').logger;
  const open = (key = KEY) => AuditLog.open(new FileAuditRepository(join(dir, 'audit.jsonl')), key, dir, logger);
  const lines = () => readFileSync(join(dir, 'audit.jsonl'), 'utf8').trim().split('\n');
  const writeLines = (items: string[]) => writeFileSync(join(dir, 'audit.jsonl'), `${items.join('\n')}\n`);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'c5-audit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function tenEntries(): Promise<AuditLog> {
    const log = await open();
    for (let i = 1; i <= 10; i++) await log.record({ action: 'test.entry', userId: `u${i}`, details: { i } });
    await log.checkpoint();
    return log;
  }

  it('chains entries, survives a restart, and verifies', async () => {
    const log = await tenEntries();
    await log.close();
    const again = await open();
    const next = await again.record({ action: 'test.after_restart' });
    expect(next.seq).to.equal(11);
    expect(next.prevHash).to.equal((JSON.parse(lines()[9]!) as AuditEntry).hash);
    expect(await again.verify()).to.deep.include({ ok: true, entries: 11, firstSeq: 1, lastSeq: 11 });
    await again.close();
  });

  it('detects an edited entry', async () => {
    await (await tenEntries()).close();
    const all = lines();
    all[4] = all[4]!.replace('"u5"', '"u9"');
    writeLines(all);
    const report = await (await open()).verify();
    expect(report.ok).to.equal(false);
    expect(report.problems.join('\n')).to.match(/entry 5 was altered/);
  });

  it('detects a chain recomputed without the key', async () => {
    await (await tenEntries()).close();
    // An attacker rewrites entry 3 and reseals the whole chain with a key of their own.
    const forger = await AuditLog.open(new FileAuditRepository(join(dir, 'forged.jsonl')), 'x'.repeat(48), join(dir, 'forger'), logger);
    for (const line of lines()) {
      const entry = JSON.parse(line) as AuditEntry;
      await forger.record({ action: entry.action, ...(entry.userId && { userId: entry.seq === 3 ? 'mallory' : entry.userId }), ...(entry.details && { details: entry.details }) });
    }
    await forger.close();
    writeLines(readFileSync(join(dir, 'forged.jsonl'), 'utf8').trim().split('\n'));
    const report = await (await open()).verify();
    expect(report.ok).to.equal(false);
    expect(report.problems.filter((p) => /altered/.test(p))).to.have.length(10);
  });

  it('detects a deleted entry', async () => {
    await (await tenEntries()).close();
    const all = lines();
    all.splice(6, 1);
    writeLines(all);
    const report = await (await open()).verify();
    expect(report.ok).to.equal(false);
    expect(report.problems.join('\n')).to.match(/entry 7 missing/);
  });

  it('detects a truncated tail through the checkpoint', async () => {
    await (await tenEntries()).close();
    writeLines(lines().slice(0, 8));
    const report = await (await open()).verify();
    expect(report.ok).to.equal(false);
    expect(report.problems.join('\n')).to.match(/ends at 8 but entry 10 was checkpointed/);
  });

  it('exports before retention deletes, and still verifies afterwards (not without the export)', async () => {
    const log = await open();
    for (let i = 0; i < 5; i++) await log.record({ action: 'old.entry', details: { i } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const cutoff = new Date();
    for (let i = 0; i < 5; i++) await log.record({ action: 'new.entry', details: { i } });
    const result = await log.applyRetention(cutoff);
    expect(result.exported).to.equal(5);
    const exported = readFileSync(result.file!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditEntry);
    expect(exported.map((e) => e.seq)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(exported[4]!.hash).to.be.a('string');
    expect(lines()).to.have.length(5);
    await log.record({ action: 'after.retention' });
    expect(await log.verify()).to.deep.include({ ok: true, entries: 6, firstSeq: 6, lastSeq: 11 });
    await log.close();
    unlinkSync(result.file!);
    const report = await (await open()).verify();
    expect(report.ok).to.equal(false);
    expect(report.problems.join('\n')).to.match(/export .* is missing/);
  });

  it('closes at the next start the views a crashed server left open, with a marker', async () => {
    const log = await open();
    const crashed = new ViewRecorder(log, join(dir, 'open-views.json'));
    crashed.start({ userId: 'u1', cameraId: 'cam-x', ip: '10.0.0.5' });
    await log.checkpoint();
    // The process dies here: nothing stops the view. The next run:
    const next = new ViewRecorder(log, join(dir, 'open-views.json'));
    expect(await next.closeLeftovers()).to.equal(1);
    const { items } = await log.query({ action: 'view.stop' }, { offset: 0, limit: 5 });
    expect(items[0]).to.deep.include({ userId: 'u1', cameraId: 'cam-x', ip: '10.0.0.5' });
    expect(items[0]!.details).to.include({ reason: 'server_stopped', closedAtRestart: true });
    expect(await new ViewRecorder(log, join(dir, 'open-views.json')).closeLeftovers()).to.equal(0);
    await log.close();
  });

  it('costs little per view: time and bytes measured', async () => {
    const log = await open();
    const recorder = new ViewRecorder(log, join(dir, 'open-views.json'));
    const n = 500;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const id = recorder.start({ userId: '6650f1c2a1b2c3d4e5f60718', cameraId: `CDMX-${i}`, ip: '10.20.30.40' });
      recorder.stop(id, 'closed by the viewer');
    }
    await log.checkpoint();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const bytes = statSync(join(dir, 'audit.jsonl')).size;
    console.log(`      audit cost per view (start + stop): ${(ms / n).toFixed(2)} ms, ${Math.round(bytes / n)} bytes (embedded file store)`);
    expect(lines()).to.have.length(2 * n);
    expect((await log.verify()).ok).to.equal(true);
    await log.close();
  });
});

describe('audit trail of a running server', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let t: TestApp;
  before(async () => {
    sim = await Simulator.start({ config: { cameras: [{ id: 'cam-au', tag: 99, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15 }] } });
    t = await startTestApp({ cameras: [{ id: 'cam-au', name: 'Audited', url: sim.url('cam-au'), username: 'viewer', password: 'Audit-Secret-77' }] });
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
  });

  it('records logins, a whole view session with its duration and address, and admin changes without secrets', async () => {
    const userId = await t.user('operator');
    const username = t.app.users.get(userId).username;
    const login = (password: string) => fetch(`${t.app.consoleUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    expect((await login('not-the-password')).status).to.equal(401);
    const { token } = (await (await login('a-long-test-password')).json()) as { token: string };
    const socket = await connectClient(t.app.consoleUrl, token);
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    const { consumer } = await ok(socket, 'consume', { transportId: transport.id, cameraId: 'cam-au', rtpCapabilities });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await ok(socket, 'closeConsumer', { consumerId: consumer.id });
    socket.close();
    const admin = await t.token('admin');
    await fetch(`${t.app.consoleUrl}/api/cameras/cam-au`, { method: 'PATCH', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Renamed', credentials: { username: 'viewer', password: 'Audit-Secret-88' } }) });
    const read = async (query: string) => {
      const res = await fetch(`${t.app.consoleUrl}/api/audit?${query}`, { headers: { authorization: `Bearer ${admin}` } });
      return (await res.json()) as { items: AuditEntry[]; total: number };
    };
    await waitFor(async () => (await read('action=view.stop')).total === 1, 5000, 'view stop recorded');
    const start = (await read('action=view.start')).items[0]!;
    const stop = (await read('action=view.stop')).items[0]!;
    expect(start).to.deep.include({ userId, username, cameraId: 'cam-au' });
    expect(start.ip).to.match(/127\.0\.0\.1/);
    expect(stop.details?.durationMs).to.be.within(250, 10_000);
    expect(stop.details?.reason).to.equal('closed by the viewer');
    expect((await read(`action=auth&user=${userId}`)).items.map((e) => e.action)).to.deep.equal(['auth.login']);
    expect((await read('action=auth.login_failed')).items[0]).to.deep.include({ username });
    const update = (await read('action=camera.update')).items[0]!;
    expect((update.details as { before: { name: string } }).before.name).to.equal('Audited');
    expect((update.details as { after: { name: string } }).after.name).to.equal('Renamed');
    expect((await read(`camera=cam-au`)).total).to.be.at.least(3);
    const everything = JSON.stringify((await read('limit=500')).items) + readFileSync(join(t.app.config.dataDir, 'audit', 'audit.jsonl'), 'utf8');
    for (const secret of ['Audit-Secret-77', 'Audit-Secret-88', 'a-long-test-password', 'not-the-password']) expect(everything).to.not.contain(secret);
    const verify = await fetch(`${t.app.consoleUrl}/api/audit/verify`, { headers: { authorization: `Bearer ${admin}` } });
    expect(((await verify.json()) as { ok: boolean }).ok).to.equal(true);
    const operatorToken = await t.token('operator');
    expect((await fetch(`${t.app.consoleUrl}/api/audit`, { headers: { authorization: `Bearer ${operatorToken}` } })).status).to.equal(403);
    for (const method of ['DELETE', 'PATCH', 'PUT', 'POST']) {
      expect((await fetch(`${t.app.consoleUrl}/api/audit`, { method, headers: { authorization: `Bearer ${admin}` } })).status, method).to.equal(404);
    }
  });
});
