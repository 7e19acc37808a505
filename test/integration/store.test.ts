import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import mongoose from 'mongoose';
import { EmbeddedStore } from '../../server/store/embedded/EmbeddedStore.ts';
import { MongoStore } from '../../server/store/mongo/MongoStore.ts';
import type { NewCameraRecord } from '../../server/catalog/CameraRecord.ts';

const camera: NewCameraRecord = {
  code: 'STORE-0001',
  name: 'Store test camera',
  area: 'agency',
  owner: { kind: 'organisation', name: 'SSC' },
  category: 'street',
  municipality: 'Centro',
  mainUrl: { masked: 'rtsp://127.0.0.1/x', sealed: 'k:iv:tag:ct' },
  transport: 'tcp',
  status: 'approved',
  alwaysOn: false,
  tags: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('store', function () {
  it('embedded: cameras, users, incidents, grants and the audit trail in one data directory, kept across a reopen', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'c5-store-'));
    try {
      const store = await EmbeddedStore.open(dir);
      expect(store.kind).to.equal('embedded');
      await store.ping();
      await store.cameras.insert(camera);
      await store.users.insert({ username: 'ana', displayName: 'Ana', role: 'operator', areas: ['agency'], municipalities: [], disabled: false, passwordHash: 'scrypt$x' });
      await store.audit.append({ seq: 1, at: new Date().toISOString(), action: 'test.stored', prevHash: 'genesis', hash: 'h1' });
      const actor = { userId: 'u1', username: 'ana' };
      const incident = await store.incidents.insert({ title: 'Stored', kind: 'other', location: { lat: 25.6, lng: -100.3 }, radiusM: 300, municipality: 'Monterrey', status: 'open', cameras: ['STORE-0001'], openedBy: actor, openedAt: new Date() });
      const grant = await store.grants.insert({ incidentId: incident.id, investigator: { userId: 'u2', username: 'ivan' }, scope: 'all', grantedBy: actor, createdAt: new Date(), endsAt: new Date(Date.now() + 60_000) });
      await store.close();
      await store.close(); // idempotent

      const again = await EmbeddedStore.open(dir);
      expect((await again.cameras.findByCode('STORE-0001'))?.name).to.equal('Store test camera');
      expect((await again.users.findByUsername('ana'))?.displayName).to.equal('Ana');
      expect((await again.audit.last())?.action).to.equal('test.stored');
      expect((await again.incidents.findById(incident.id))?.cameras).to.deep.equal(['STORE-0001']);
      expect((await again.grants.findById(grant.id))?.status).to.equal('active');
      await again.close();
      expect(readdirSync(join(dir, 'catalog')).sort()).to.deep.equal(['alarm-devices.db', 'alarms.db', 'cameras.db', 'enrolments.db', 'grants.db', 'incidents.db', 'users.db']);
      expect(readFileSync(join(dir, 'audit', 'audit.jsonl'), 'utf8')).to.contain('test.stored');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mongo: opening without a server rejects and leaves no connection open', async function () {
    // No MongoDB server can exist on this machine: a closed local port stands in for a missing server.
    const before = mongoose.connections.length;
    const started = Date.now();
    let failure: unknown;
    await MongoStore.open('mongodb://127.0.0.1:1/c5_store_test', { serverSelectionTimeoutMs: 300 }).then(
      async (store) => store.close(),
      (error: unknown) => {
        failure = error;
      },
    );
    expect(failure, 'MongoStore.open must fail without a server').to.be.instanceOf(Error);
    expect(Date.now() - started).to.be.below(20_000);
    const opened = mongoose.connections.slice(before);
    expect(opened.every((connection) => connection.readyState === mongoose.ConnectionStates.disconnected)).to.equal(true);
  });

  it('one mongoose connection per process: only MongoStore creates it, and no repository opens its own', function () {
    const root = join(import.meta.dirname, '..', '..');
    const callers = [...sourceFiles(join(root, 'server')), ...sourceFiles(join(root, 'workers'))]
      .filter((file) => /\bcreateConnection\s*\(|\bmongoose\.connect\s*\(|new MongoClient\s*\(/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(root, file));
    expect(callers).to.deep.equal(['server/store/mongo/MongoStore.ts']);
  });
});
