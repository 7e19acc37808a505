import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectId } from 'mongodb';
import { AppError } from '../../server/errors/AppError.ts';
import type { AlarmDeviceRepository } from '../../server/alarms/AlarmDeviceRepository.ts';
import type { AlarmRepository } from '../../server/alarms/AlarmRepository.ts';
import type { AlarmDeviceFilter, AlarmFilter, NewAlarmDeviceRecord, NewAlarmRecord } from '../../server/alarms/AlarmRecord.ts';
import type { Actor } from '../../server/incidents/IncidentRecord.ts';
import { EmbeddedAlarmDeviceRepository } from '../../server/store/embedded/EmbeddedAlarmDeviceRepository.ts';
import { EmbeddedAlarmRepository } from '../../server/store/embedded/EmbeddedAlarmRepository.ts';
import { EmbeddedStore } from '../../server/store/embedded/EmbeddedStore.ts';
import { MongoStore } from '../../server/store/mongo/MongoStore.ts';
import { buildAlarmDeviceFilter, buildAlarmDeviceTouch, buildAlarmDeviceUpdate, alarmDeviceFromDocument, alarmDeviceToDocument } from '../../server/store/mongo/MongoAlarmDeviceRepository.ts';
import { alarmFromDocument, alarmToDocument, buildAcknowledge, buildAlarmFilter, buildJoinableFilter, buildMarkClosed, buildPress, buildReannounce } from '../../server/store/mongo/MongoAlarmRepository.ts';
import { closingStore, contractSuite, mongoSkipReason, type ContractAdapter } from '../support/contract.ts';

/** Mexico City's Zócalo: latitude and longitude differ in sign, so a swap is visible. */
const zocalo = { lat: 19.4326, lng: -99.1332 };
const coyoacan = { lat: 19.3467, lng: -99.1617 };
const operator: Actor = { userId: 'u-operator', username: 'operator' };
const other: Actor = { userId: 'u-other', username: 'other' };
/** Well-formed ids that name nothing (nedb, MongoDB), and malformed ones. */
const unknownIds = ['ZZZZZZZZZZZZZZZZ', '0123456789abcdef01234567'];
const malformedIds = ['', 'nope', '../x', '{"$gt":""}', 'a'.repeat(200)];
const at = (minute: number) => new Date(Date.UTC(2026, 10, 30, 12, minute));

function device(code: string, extra: Partial<NewAlarmDeviceRecord> = {}): NewAlarmDeviceRecord {
  return {
    code,
    name: `Button ${code}`,
    kind: 'fixed_button',
    owner: { name: 'Farmacia Reforma', phone: '+52 55 5555 0000' },
    location: zocalo,
    area: 'citizen',
    municipality: 'Cuauhtémoc',
    cameras: [],
    status: 'active',
    httpKey: 'k1:iv:tag:ciphertext',
    keyIssuedAt: at(0),
    ...extra,
  };
}

function alarm(deviceId: string, extra: Partial<NewAlarmRecord> = {}): NewAlarmRecord {
  return {
    deviceId,
    deviceCode: `code-of-${deviceId}`,
    incidentId: 'inc-1',
    source: 'http',
    location: zocalo,
    positionSource: 'device',
    area: 'citizen',
    municipality: 'Cuauhtémoc',
    status: 'open',
    presses: 1,
    firstAt: at(0),
    lastAt: at(0),
    announceLevel: 0,
    announcedAt: at(0),
    ...extra,
  };
}

const closing = (note?: string) => ({ closedBy: operator, closedAt: at(30), disposition: 'real' as const, ...(note !== undefined && { closingNote: note }) });

interface Adapter<R> extends ContractAdapter<R> {
  idPattern: RegExp;
}

/** A store of its own per test (the repositories of a store share its connection). */
const mongoStore = () => MongoStore.open(process.env.MONGODB_URI!, { dbName: `c5_alarms_${process.pid}_${Date.now()}` });

const deviceAdapters: Array<Adapter<AlarmDeviceRepository>> = [
  { name: 'embedded (nedb)', open: () => EmbeddedAlarmDeviceRepository.open(), idPattern: /^[A-Za-z0-9]{16}$/ },
  {
    name: 'mongo (mongodb driver)',
    skipReason: mongoSkipReason,
    open: async () => {
      const store = await mongoStore();
      return closingStore(store.alarmDevices, store);
    },
    idPattern: /^[0-9a-f]{24}$/,
  },
];

const alarmAdapters: Array<Adapter<AlarmRepository>> = [
  { name: 'embedded (nedb)', open: () => EmbeddedAlarmRepository.open(), idPattern: /^[A-Za-z0-9]{16}$/ },
  {
    name: 'mongo (mongodb driver)',
    skipReason: mongoSkipReason,
    open: async () => {
      const store = await mongoStore();
      return closingStore(store.alarms, store);
    },
    idPattern: /^[0-9a-f]{24}$/,
  },
];

contractSuite('alarm device repository contract', deviceAdapters, (current, adapter) => {
  {
    let repo!: AlarmDeviceRepository;
    beforeEach(() => {
      repo = current();
    });

    it('inserts and finds by id and by code; ids have the store\'s format; unknown and malformed ids are undefined', async () => {
      const cameras = ['C-2', 'C-1'];
      const created = await repo.insert(device('PB-001', { cameras, address: 'Av. Reforma 1', supervisionIntervalS: 300 }));
      cameras.push('C-9');
      expect(created.id).to.match(adapter.idPattern);
      expect(created).to.deep.include({
        code: 'PB-001',
        name: 'Button PB-001',
        kind: 'fixed_button',
        owner: { name: 'Farmacia Reforma', phone: '+52 55 5555 0000' },
        location: zocalo,
        address: 'Av. Reforma 1',
        area: 'citizen',
        municipality: 'Cuauhtémoc',
        cameras: ['C-2', 'C-1'],
        supervisionIntervalS: 300,
        status: 'active',
        httpKey: 'k1:iv:tag:ciphertext',
      });
      expect(created.keyIssuedAt).to.deep.equal(at(0));
      expect(created.createdAt).to.be.instanceOf(Date);
      expect(created.updatedAt).to.be.instanceOf(Date);
      expect(created).to.not.have.property('lastSeenAt');
      const found = await repo.findById(created.id);
      expect(found).to.deep.equal(created);
      expect(await repo.findByCode('PB-001')).to.deep.equal(created);
      // The caller's arrays are not the stored ones.
      found!.cameras.push('C-X');
      found!.owner.name = 'changed';
      expect((await repo.findById(created.id))?.cameras).to.deep.equal(['C-2', 'C-1']);
      expect((await repo.findById(created.id))?.owner.name).to.equal('Farmacia Reforma');
      // Optional fields given as undefined are not stored.
      const bare = await repo.insert(device('PB-002', { address: undefined, supervisionIntervalS: undefined, owner: { name: 'Casa' } }));
      for (const key of ['address', 'supervisionIntervalS', 'lastSeenAt']) expect(bare).to.not.have.property(key);
      expect(bare.owner).to.deep.equal({ name: 'Casa' });
      expect(await repo.findById(bare.id)).to.deep.equal(bare);
      for (const id of [...unknownIds, ...malformedIds]) expect(await repo.findById(id), `findById(${id.slice(0, 20)})`).to.equal(undefined);
      for (const code of ['PB-999', '', 'pb-001']) expect(await repo.findByCode(code), `findByCode(${code})`).to.equal(undefined);
    });

    it('refuses a code registered already (conflict), keeping the first device', async () => {
      const first = await repo.insert(device('PB-001'));
      let failure: unknown;
      try {
        await repo.insert(device('PB-001', { name: 'Second' }));
      } catch (error) {
        failure = error;
      }
      expect(failure).to.be.instanceOf(AppError);
      expect((failure as AppError).code).to.equal('conflict');
      expect((failure as AppError).message).to.contain('PB-001');
      expect(await repo.findByCode('PB-001')).to.deep.equal(first);
      expect((await repo.list({}, { offset: 0, limit: 10 })).total).to.equal(1);
    });

    it('lists by code, filtered by status, kind, area, municipality, q, codes and supervision, paged with the total', async () => {
      await repo.insert(device('D-4', { name: 'Panel bodega', kind: 'alarm_panel', status: 'suspended', municipality: 'Coyoacán', supervisionIntervalS: 600 }));
      await repo.insert(device('D-1', { name: 'Botón farmacia', owner: { name: 'Farmacia (Centro)' } }));
      await repo.insert(device('D-3', { name: 'App de Ana', kind: 'mobile_app', area: 'agency', status: 'test', owner: { name: 'Ana Pérez' } }));
      await repo.insert(device('D-2', { name: 'Botón banco', status: 'retired', municipality: 'Coyoacán', supervisionIntervalS: 300, owner: { name: 'Banco Sur' } }));
      const codes = async (filter: AlarmDeviceFilter, page = { offset: 0, limit: 50 }) => {
        const result = await repo.list(filter, page);
        return { codes: result.items.map((d) => d.code), total: result.total };
      };
      expect(await codes({})).to.deep.equal({ codes: ['D-1', 'D-2', 'D-3', 'D-4'], total: 4 });
      expect(await codes({ status: ['active'] })).to.deep.equal({ codes: ['D-1'], total: 1 });
      expect(await codes({ status: ['suspended', 'test'] })).to.deep.equal({ codes: ['D-3', 'D-4'], total: 2 });
      expect(await codes({ status: [] })).to.deep.equal({ codes: [], total: 0 });
      expect(await codes({ kind: 'fixed_button' })).to.deep.equal({ codes: ['D-1', 'D-2'], total: 2 });
      expect(await codes({ kind: 'mobile_app' })).to.deep.equal({ codes: ['D-3'], total: 1 });
      expect(await codes({ area: 'agency' })).to.deep.equal({ codes: ['D-3'], total: 1 });
      expect(await codes({ area: 'citizen' })).to.deep.equal({ codes: ['D-1', 'D-2', 'D-4'], total: 3 });
      expect(await codes({ municipality: 'Coyoacán' })).to.deep.equal({ codes: ['D-2', 'D-4'], total: 2 });
      expect(await codes({ municipality: 'coyoacán' })).to.deep.equal({ codes: [], total: 0 });
      // q: case-insensitive substring of code, name or owner's name; regex characters are literal.
      expect(await codes({ q: 'BOTÓN' })).to.deep.equal({ codes: ['D-1', 'D-2'], total: 2 });
      expect(await codes({ q: 'd-3' })).to.deep.equal({ codes: ['D-3'], total: 1 });
      expect(await codes({ q: 'pérez' })).to.deep.equal({ codes: ['D-3'], total: 1 });
      expect(await codes({ q: 'banco sur' })).to.deep.equal({ codes: ['D-2'], total: 1 });
      expect(await codes({ q: '(centro)' })).to.deep.equal({ codes: ['D-1'], total: 1 });
      expect(await codes({ q: '.*' })).to.deep.equal({ codes: [], total: 0 });
      expect(await codes({ q: 'D-[12]' })).to.deep.equal({ codes: [], total: 0 });
      expect(await codes({ codes: ['D-4', 'D-2', 'D-9'] })).to.deep.equal({ codes: ['D-2', 'D-4'], total: 2 });
      expect(await codes({ codes: [] })).to.deep.equal({ codes: [], total: 0 });
      expect(await codes({ supervised: true })).to.deep.equal({ codes: ['D-2', 'D-4'], total: 2 });
      expect(await codes({ supervised: false })).to.deep.equal({ codes: ['D-1', 'D-3'], total: 2 });
      expect(await codes({ supervised: true, status: ['active', 'suspended'], municipality: 'Coyoacán', kind: 'alarm_panel' })).to.deep.equal({ codes: ['D-4'], total: 1 });
      expect(await codes({}, { offset: 1, limit: 2 })).to.deep.equal({ codes: ['D-2', 'D-3'], total: 4 });
      expect(await codes({}, { offset: 4, limit: 2 })).to.deep.equal({ codes: [], total: 4 });
      expect(await codes({}, { offset: 0, limit: 0 })).to.deep.equal({ codes: [], total: 4 });
      expect(await codes({ municipality: 'Cuauhtémoc' }, { offset: 1, limit: 5 })).to.deep.equal({ codes: ['D-3'], total: 2 });
      expect((await repo.list({}, { offset: 0, limit: 1 })).items[0]).to.deep.equal(await repo.findByCode('D-1'));
    });

    it('updates the patched fields only (code and createdAt stay), and removes supervision and address', async () => {
      const created = await repo.insert(device('PB-001', { address: 'Av. Reforma 1', supervisionIntervalS: 300, cameras: ['C-1'] }));
      const cameras = ['C-3', 'C-4'];
      const updated = await repo.update(created.id, {
        name: 'Renamed',
        kind: 'alarm_panel',
        owner: { name: 'New owner', email: 'owner@example.org' },
        location: coyoacan,
        area: 'agency',
        municipality: 'Coyoacán',
        cameras,
        supervisionIntervalS: 900,
        status: 'suspended',
        httpKey: 'k2:iv:tag:other',
        keyIssuedAt: at(10),
        // Not patchable: ignored whatever the object carries.
        ...({ code: 'HIJACK', createdAt: at(50) } as object),
      });
      cameras.push('C-9');
      expect(updated).to.deep.include({
        id: created.id,
        code: 'PB-001',
        name: 'Renamed',
        kind: 'alarm_panel',
        owner: { name: 'New owner', email: 'owner@example.org' },
        location: coyoacan,
        address: 'Av. Reforma 1',
        area: 'agency',
        municipality: 'Coyoacán',
        cameras: ['C-3', 'C-4'],
        supervisionIntervalS: 900,
        status: 'suspended',
        httpKey: 'k2:iv:tag:other',
      });
      expect(updated?.keyIssuedAt).to.deep.equal(at(10));
      expect(updated?.createdAt).to.deep.equal(created.createdAt);
      expect(updated!.updatedAt.getTime()).to.be.at.least(created.updatedAt.getTime());
      expect(await repo.findById(created.id)).to.deep.equal(updated);
      expect(await repo.findByCode('HIJACK')).to.equal(undefined);

      // An empty patch changes nothing but updatedAt.
      const same = await repo.update(created.id, {});
      expect({ ...same, updatedAt: undefined }).to.deep.equal({ ...updated, updatedAt: undefined });

      // Removing wins over a value given with it.
      const unset = await repo.update(created.id, { unsetSupervision: true, unsetAddress: true, supervisionIntervalS: 120, address: 'ignored' });
      expect(unset).to.not.have.property('supervisionIntervalS');
      expect(unset).to.not.have.property('address');
      expect(unset).to.deep.include({ name: 'Renamed', status: 'suspended' });
      expect(await repo.findById(created.id)).to.deep.equal(unset);
      expect((await repo.list({ supervised: true }, { offset: 0, limit: 10 })).total).to.equal(0);
      const supervised = await repo.update(created.id, { supervisionIntervalS: 60, address: 'Calle 2' });
      expect(supervised).to.deep.include({ supervisionIntervalS: 60, address: 'Calle 2' });
      for (const id of [...unknownIds, ...malformedIds]) expect(await repo.update(id, { name: 'x' }), `update(${id.slice(0, 20)})`).to.equal(undefined);
      expect((await repo.list({ q: 'x' }, { offset: 0, limit: 10 })).total).to.equal(0);
    });

    it('touch only moves lastSeenAt forward, and leaves unknown and malformed ids alone', async () => {
      const created = await repo.insert(device('PB-001'));
      const untouched = await repo.insert(device('PB-002'));
      await repo.touch(created.id, at(5));
      expect((await repo.findById(created.id))?.lastSeenAt).to.deep.equal(at(5));
      await repo.touch(created.id, at(3));
      expect((await repo.findById(created.id))?.lastSeenAt).to.deep.equal(at(5));
      await repo.touch(created.id, at(5));
      await repo.touch(created.id, at(8));
      const touched = await repo.findById(created.id);
      expect(touched?.lastSeenAt).to.deep.equal(at(8));
      expect(touched?.lastSeenAt).to.be.instanceOf(Date);
      expect(await repo.findById(untouched.id)).to.deep.equal(untouched);
      for (const id of [...unknownIds, ...malformedIds]) await repo.touch(id, at(9));
      expect((await repo.list({}, { offset: 0, limit: 10 })).items.map((d) => d.lastSeenAt)).to.deep.equal([at(8), undefined]);
      // Concurrent touches keep the latest.
      await Promise.all([at(20), at(12), at(15)].map((time) => repo.touch(untouched.id, time)));
      expect((await repo.findById(untouched.id))?.lastSeenAt).to.deep.equal(at(20));
    });

    // SIA DC-09 settings (issue 23): the account identifies the panel, unique among devices, compared upper-case.
    const sealedDc09 = 'k1:iv:tag:dc09-ciphertext';
    const expectConflict = async (what: string, run: () => Promise<unknown>) => {
      let failure: unknown;
      try {
        await run();
      } catch (error) {
        failure = error;
      }
      expect(failure, what).to.be.instanceOf(AppError);
      expect((failure as AppError).code, what).to.equal('conflict');
    };

    it('DC-09 settings round-trip (the sealed key kept as given); found by account, case-insensitive; unknown accounts are undefined', async () => {
      const dc09 = { account: 'AB12CD', encryption: 'aes256' as const, key: sealedDc09, encryptionRequired: true };
      const panel = await repo.insert(device('PB-DC1', { kind: 'alarm_panel', dc09 }));
      dc09.account = 'CHANGED';
      expect(panel.dc09).to.deep.equal({ account: 'AB12CD', encryption: 'aes256', key: sealedDc09, encryptionRequired: true });
      expect(await repo.findById(panel.id)).to.deep.equal(panel);
      const clear = await repo.insert(device('PB-DC2', { kind: 'alarm_panel', dc09: { account: '0999', encryption: 'none', encryptionRequired: false } }));
      expect(clear.dc09).to.deep.equal({ account: '0999', encryption: 'none', encryptionRequired: false });
      expect(clear.dc09).to.not.have.property('key');
      // Devices without DC-09 (any number of them) have no dc09 at all.
      const plain = await repo.insert(device('PB-PLAIN-1'));
      await repo.insert(device('PB-PLAIN-2'));
      expect(plain).to.not.have.property('dc09');
      expect(await repo.findById(plain.id)).to.not.have.property('dc09');

      for (const account of ['AB12CD', 'ab12cd', 'Ab12Cd']) expect(await repo.findByDc09Account(account), account).to.deep.equal(panel);
      expect(await repo.findByDc09Account('0999')).to.deep.equal(clear);
      for (const account of ['AB12CE', 'AB12C', '999', '', 'PB-DC1', '{"$gt":""}', '$where', 'a'.repeat(200)]) {
        expect(await repo.findByDc09Account(account), `findByDc09Account(${account.slice(0, 20)})`).to.equal(undefined);
      }
      // The caller's copy is not the stored one.
      const found = (await repo.findByDc09Account('AB12CD'))!;
      found.dc09!.key = 'tampered';
      expect((await repo.findById(panel.id))?.dc09?.key).to.equal(sealedDc09);
      // An account given in lower case is stored (and compared) upper-case.
      const lower = await repo.insert(device('PB-DC3', { dc09: { account: 'beef01', encryption: 'aes128', key: sealedDc09, encryptionRequired: true } }));
      expect(lower.dc09?.account).to.equal('BEEF01');
      expect((await repo.findByDc09Account('BEEF01'))?.id).to.equal(lower.id);
    });

    it('a DC-09 account taken by another device: conflict on insert and on update, nothing changed', async () => {
      const first = await repo.insert(device('PB-DC1', { dc09: { account: 'AB12CD', encryption: 'aes128', key: sealedDc09, encryptionRequired: true } }));
      await expectConflict('insert, same account', () => repo.insert(device('PB-DC2', { dc09: { account: 'AB12CD', encryption: 'none', encryptionRequired: false } })));
      await expectConflict('insert, same account in lower case', () => repo.insert(device('PB-DC3', { dc09: { account: 'ab12cd', encryption: 'none', encryptionRequired: false } })));
      expect(await repo.findByCode('PB-DC2')).to.equal(undefined);
      expect(await repo.findByCode('PB-DC3')).to.equal(undefined);
      expect((await repo.list({}, { offset: 0, limit: 10 })).total).to.equal(1);

      const second = await repo.insert(device('PB-DC4', { dc09: { account: 'CAFE', encryption: 'aes128', key: sealedDc09, encryptionRequired: true } }));
      const plain = await repo.insert(device('PB-PLAIN'));
      await expectConflict('update, same account', () => repo.update(second.id, { dc09: { account: 'AB12CD', encryption: 'aes128', key: sealedDc09, encryptionRequired: true } }));
      await expectConflict('update of a device without DC-09', () => repo.update(plain.id, { name: 'Renamed', dc09: { account: 'ab12cd', encryption: 'none', encryptionRequired: false } }));
      expect(await repo.findById(second.id)).to.deep.equal(second);
      expect(await repo.findById(plain.id)).to.deep.equal(plain);
      expect(await repo.findById(first.id)).to.deep.equal(first);
      expect((await repo.findByDc09Account('AB12CD'))?.id).to.equal(first.id);
      // Its own account again is no conflict; other fields change, the settings replace the old ones.
      const kept = await repo.update(first.id, { name: 'Renamed', dc09: { account: 'AB12CD', encryption: 'none', encryptionRequired: false } });
      expect(kept?.name).to.equal('Renamed');
      expect(kept?.dc09).to.deep.equal({ account: 'AB12CD', encryption: 'none', encryptionRequired: false });
      expect(await repo.findById(first.id)).to.deep.equal(kept);
    });

    it('unsetDc09 removes the settings (winning over a value given with it) and frees the account', async () => {
      const panel = await repo.insert(device('PB-DC1', { dc09: { account: 'AB12CD', encryption: 'aes192', key: sealedDc09, encryptionRequired: false } }));
      const unset = await repo.update(panel.id, { unsetDc09: true, dc09: { account: 'AB12CD', encryption: 'none', encryptionRequired: false }, name: 'No longer DC-09' });
      expect(unset).to.not.have.property('dc09');
      expect(unset?.name).to.equal('No longer DC-09');
      expect(await repo.findById(panel.id)).to.deep.equal(unset);
      expect(await repo.findByDc09Account('AB12CD')).to.equal(undefined);
      const other = await repo.insert(device('PB-DC2', { dc09: { account: 'AB12CD', encryption: 'none', encryptionRequired: false } }));
      expect((await repo.findByDc09Account('ab12cd'))?.id).to.equal(other.id);
      // Given back to the first device: the account is the other's now.
      await expectConflict('the account re-used meanwhile', () => repo.update(panel.id, { dc09: { account: 'AB12CD', encryption: 'none', encryptionRequired: false } }));
      const again = await repo.update(panel.id, { dc09: { account: 'AB12CE', encryption: 'aes128', key: sealedDc09, encryptionRequired: true } });
      expect(again?.dc09).to.deep.equal({ account: 'AB12CE', encryption: 'aes128', key: sealedDc09, encryptionRequired: true });
      expect((await repo.findByDc09Account('ab12ce'))?.id).to.equal(panel.id);
    });
  }
});

contractSuite('alarm repository contract', alarmAdapters, (current, adapter) => {
  {
    let repo!: AlarmRepository;
    beforeEach(() => {
      repo = current();
    });

    it('inserts and finds by id; ids have the store\'s format; unknown and malformed ids are undefined', async () => {
      const created = await repo.insert(alarm('dev-1', { source: 'dc09', positionSource: 'app', location: coyoacan, accuracyM: 12, presses: 2, lastAt: at(1) }));
      expect(created.id).to.match(adapter.idPattern);
      expect(created).to.deep.include({
        deviceId: 'dev-1',
        deviceCode: 'code-of-dev-1',
        incidentId: 'inc-1',
        source: 'dc09',
        location: coyoacan,
        positionSource: 'app',
        accuracyM: 12,
        area: 'citizen',
        municipality: 'Cuauhtémoc',
        status: 'open',
        presses: 2,
        announceLevel: 0,
      });
      expect(created.firstAt).to.deep.equal(at(0));
      expect(created.lastAt).to.deep.equal(at(1));
      expect(created.announcedAt).to.deep.equal(at(0));
      expect(created.updatedAt).to.be.instanceOf(Date);
      for (const key of ['acknowledgedBy', 'acknowledgedAt', 'closedBy', 'closedAt', 'disposition', 'closingNote']) expect(created).to.not.have.property(key);
      expect(await repo.findById(created.id)).to.deep.equal(created);
      const plain = await repo.insert(alarm('dev-1', { accuracyM: undefined }));
      expect(plain).to.not.have.property('accuracyM');
      expect(await repo.findById(plain.id)).to.deep.equal(plain);
      for (const id of [...unknownIds, ...malformedIds]) expect(await repo.findById(id), `findById(${id.slice(0, 20)})`).to.equal(undefined);
    });

    it('finds the joinable alarm: the device\'s newest not closed whose last press is at or after `since`', async () => {
      expect(await repo.findJoinable('dev-1', at(0))).to.equal(undefined);
      const older = await repo.insert(alarm('dev-1', { firstAt: at(0), lastAt: at(2) }));
      const newer = await repo.insert(alarm('dev-1', { firstAt: at(3), lastAt: at(4), status: 'acknowledged' }));
      await repo.insert(alarm('dev-2', { firstAt: at(6), lastAt: at(6) }));
      expect((await repo.findJoinable('dev-1', at(1)))?.id).to.equal(newer.id);
      expect((await repo.findJoinable('dev-1', at(4)))?.id).to.equal(newer.id);
      expect(await repo.findJoinable('dev-1', at(5))).to.equal(undefined);
      expect(await repo.findJoinable('dev-9', at(0))).to.equal(undefined);
      // A closed alarm is not joinable: the older one is then the newest open.
      await repo.markClosed(newer.id, closing());
      expect((await repo.findJoinable('dev-1', at(1)))?.id).to.equal(older.id);
      expect(await repo.findJoinable('dev-1', at(3))).to.equal(undefined);
      await repo.markClosed(older.id, closing());
      expect(await repo.findJoinable('dev-1', at(0))).to.equal(undefined);
      // An open alarm whose last press is older than `since` is not joinable either.
      const stale = await repo.insert(alarm('dev-3', { firstAt: at(0), lastAt: at(1) }));
      expect(await repo.findJoinable('dev-3', at(2))).to.equal(undefined);
      expect(await repo.findJoinable('dev-3', at(1))).to.deep.equal(stale);
      expect(await repo.findJoinable('{"$ne":null}', at(0))).to.equal(undefined);
    });

    it('counts a press (presses + 1, lastAt) while not closed; a late press keeps lastAt', async () => {
      const created = await repo.insert(alarm('dev-1'));
      const pressed = await repo.press(created.id, at(2));
      expect(pressed).to.deep.include({ id: created.id, presses: 2, status: 'open' });
      expect(pressed?.lastAt).to.deep.equal(at(2));
      expect(pressed?.firstAt).to.deep.equal(at(0));
      expect(await repo.findById(created.id)).to.deep.equal(pressed);
      const late = await repo.press(created.id, at(1));
      expect(late?.presses).to.equal(3);
      expect(late?.lastAt).to.deep.equal(at(2));
      await repo.acknowledge(created.id, operator, at(3));
      const acknowledged = await repo.press(created.id, at(4));
      expect(acknowledged).to.deep.include({ presses: 4, status: 'acknowledged' });
      expect(acknowledged?.lastAt).to.deep.equal(at(4));
      await repo.markClosed(created.id, closing());
      const stored = await repo.findById(created.id);
      expect(await repo.press(created.id, at(5))).to.equal(undefined);
      expect(await repo.findById(created.id)).to.deep.equal(stored);
      // Presses at the same time all count.
      const busy = await repo.insert(alarm('dev-2'));
      await Promise.all([1, 2, 3, 4, 5].map((minute) => repo.press(busy.id, at(minute))));
      const counted = await repo.findById(busy.id);
      expect(counted?.presses).to.equal(6);
      expect(counted?.lastAt).to.deep.equal(at(5));
      for (const id of [...unknownIds, ...malformedIds]) expect(await repo.press(id, at(1)), `press(${id.slice(0, 20)})`).to.equal(undefined);
    });

    it('acknowledges once (compare-and-set): the second is undefined and the first winner is kept', async () => {
      const created = await repo.insert(alarm('dev-1'));
      const acknowledged = await repo.acknowledge(created.id, operator, at(2));
      expect(acknowledged).to.deep.include({ id: created.id, status: 'acknowledged', acknowledgedBy: operator });
      expect(acknowledged?.acknowledgedAt).to.deep.equal(at(2));
      expect(await repo.findById(created.id)).to.deep.equal(acknowledged);
      expect(await repo.acknowledge(created.id, other, at(3))).to.equal(undefined);
      expect(await repo.findById(created.id)).to.deep.equal(acknowledged);

      const raced = await repo.insert(alarm('dev-2'));
      const results = await Promise.all([operator, other, { userId: 'u-third', username: 'third' }].map((by, i) => repo.acknowledge(raced.id, by, at(10 + i))));
      const winners = results.filter((result) => result !== undefined);
      expect(winners).to.have.length(1);
      const stored = await repo.findById(raced.id);
      expect(stored?.acknowledgedBy).to.deep.equal(winners[0]!.acknowledgedBy);
      expect(stored?.acknowledgedAt).to.deep.equal(winners[0]!.acknowledgedAt);

      const closed = await repo.insert(alarm('dev-3'));
      await repo.markClosed(closed.id, closing());
      expect(await repo.acknowledge(closed.id, operator, at(4))).to.equal(undefined);
      for (const id of [...unknownIds, ...malformedIds]) expect(await repo.acknowledge(id, operator, at(1)), `acknowledge(${id.slice(0, 20)})`).to.equal(undefined);
    });

    it('re-announces only while open', async () => {
      const created = await repo.insert(alarm('dev-1'));
      const wider = await repo.reannounce(created.id, 1, at(2));
      expect(wider).to.deep.include({ id: created.id, announceLevel: 1, status: 'open' });
      expect(wider?.announcedAt).to.deep.equal(at(2));
      expect(await repo.findById(created.id)).to.deep.equal(wider);
      expect((await repo.reannounce(created.id, 2, at(4)))?.announceLevel).to.equal(2);
      const acknowledged = await repo.acknowledge(created.id, operator, at(5));
      expect(await repo.reannounce(created.id, 3, at(6))).to.equal(undefined);
      expect(await repo.findById(created.id)).to.deep.equal(acknowledged);
      const closed = await repo.insert(alarm('dev-2'));
      await repo.markClosed(closed.id, closing());
      expect(await repo.reannounce(closed.id, 1, at(6))).to.equal(undefined);
      expect((await repo.findById(closed.id))?.announceLevel).to.equal(0);
      for (const id of [...unknownIds, ...malformedIds]) expect(await repo.reannounce(id, 1, at(1)), `reannounce(${id.slice(0, 20)})`).to.equal(undefined);
    });

    it('closes from open or acknowledged, never twice; the first closing is kept', async () => {
      const open = await repo.insert(alarm('dev-1'));
      const closed = await repo.markClosed(open.id, closing('a real robbery'));
      expect(closed).to.deep.include({ id: open.id, status: 'closed', closedBy: operator, disposition: 'real', closingNote: 'a real robbery' });
      expect(closed?.closedAt).to.deep.equal(at(30));
      expect(closed).to.not.have.property('acknowledgedBy');
      const stored = await repo.findById(open.id);
      expect(stored).to.deep.equal(closed);
      expect(await repo.markClosed(open.id, { closedBy: other, closedAt: at(40), disposition: 'false', closingNote: 'second' })).to.equal(undefined);
      expect(await repo.findById(open.id)).to.deep.equal(stored);

      const taken = await repo.insert(alarm('dev-2'));
      await repo.acknowledge(taken.id, other, at(5));
      const closedTaken = await repo.markClosed(taken.id, { closedBy: operator, closedAt: at(20), disposition: 'false' });
      expect(closedTaken).to.deep.include({ status: 'closed', acknowledgedBy: other, closedBy: operator, disposition: 'false' });
      expect(closedTaken).to.not.have.property('closingNote');
      expect(await repo.findById(taken.id)).to.deep.equal(closedTaken);

      const raced = await repo.insert(alarm('dev-3'));
      const results = await Promise.all(['first', 'second', 'third'].map((note) => repo.markClosed(raced.id, closing(note))));
      const winners = results.filter((result) => result !== undefined);
      expect(winners).to.have.length(1);
      expect((await repo.findById(raced.id))?.closingNote).to.equal(winners[0]!.closingNote);
      for (const id of [...unknownIds, ...malformedIds]) expect(await repo.markClosed(id, closing()), `markClosed(${id.slice(0, 20)})`).to.equal(undefined);
    });

    it('lists newest first, filtered by status, device, municipalities (a scope) and ids, paged with the total', async () => {
      const a = await repo.insert(alarm('dev-1', { firstAt: at(1), municipality: 'Norte' }));
      const b = await repo.insert(alarm('dev-2', { firstAt: at(3), municipality: 'Sur' }));
      const c = await repo.insert(alarm('dev-1', { firstAt: at(2), municipality: 'Norte' }));
      const d = await repo.insert(alarm('dev-3', { firstAt: at(4), municipality: 'Centro', area: 'agency' }));
      await repo.acknowledge(b.id, operator, at(5));
      await repo.markClosed(c.id, closing());
      const name = new Map([[a.id, 'A'], [b.id, 'B'], [c.id, 'C'], [d.id, 'D']]);
      const names = async (filter: AlarmFilter, page = { offset: 0, limit: 50 }) => {
        const result = await repo.list(filter, page);
        return { names: result.items.map((alarm) => name.get(alarm.id)), total: result.total };
      };
      expect(await names({})).to.deep.equal({ names: ['D', 'B', 'C', 'A'], total: 4 });
      expect(await names({ status: ['open'] })).to.deep.equal({ names: ['D', 'A'], total: 2 });
      expect(await names({ status: ['open', 'acknowledged'] })).to.deep.equal({ names: ['D', 'B', 'A'], total: 3 });
      expect(await names({ status: ['closed'] })).to.deep.equal({ names: ['C'], total: 1 });
      expect(await names({ status: [] })).to.deep.equal({ names: [], total: 0 });
      expect(await names({ deviceId: 'dev-1' })).to.deep.equal({ names: ['C', 'A'], total: 2 });
      expect(await names({ deviceId: 'dev-9' })).to.deep.equal({ names: [], total: 0 });
      expect(await names({ municipalities: ['Norte', 'Sur'] })).to.deep.equal({ names: ['B', 'C', 'A'], total: 3 });
      expect(await names({ municipalities: [] })).to.deep.equal({ names: [], total: 0 });
      expect(await names({ areas: ['agency'] })).to.deep.equal({ names: ['D'], total: 1 });
      expect(await names({ areas: ['citizen'], municipalities: ['Norte', 'Centro'] })).to.deep.equal({ names: ['C', 'A'], total: 2 });
      expect(await names({ areas: [] })).to.deep.equal({ names: [], total: 0 });
      expect(await names({ municipalities: ['Norte'], status: ['open'], deviceId: 'dev-1' })).to.deep.equal({ names: ['A'], total: 1 });
      expect(await names({ ids: [a.id, d.id, unknownIds[0]!, unknownIds[1]!, 'nope'] })).to.deep.equal({ names: ['D', 'A'], total: 2 });
      expect(await names({ ids: [] })).to.deep.equal({ names: [], total: 0 });
      expect(await names({}, { offset: 1, limit: 2 })).to.deep.equal({ names: ['B', 'C'], total: 4 });
      expect(await names({}, { offset: 4, limit: 2 })).to.deep.equal({ names: [], total: 4 });
      expect(await names({}, { offset: 0, limit: 0 })).to.deep.equal({ names: [], total: 4 });
      expect(await names({ status: ['open', 'acknowledged'] }, { offset: 2, limit: 1 })).to.deep.equal({ names: ['A'], total: 3 });
      expect((await repo.list({}, { offset: 0, limit: 1 })).items[0]).to.deep.equal(await repo.findById(d.id));
    });

    it('orders alarms raised at the same moment the same way every time', async () => {
      for (const deviceId of ['p', 'q', 'r', 's']) await repo.insert(alarm(deviceId, { firstAt: at(5) }));
      const first = (await repo.list({}, { offset: 0, limit: 10 })).items.map((alarm) => alarm.id);
      const paged = [...(await repo.list({}, { offset: 0, limit: 2 })).items, ...(await repo.list({}, { offset: 2, limit: 2 })).items].map((alarm) => alarm.id);
      expect(paged).to.deep.equal(first);
      expect(new Set(first).size).to.equal(4);
    });
  }
});

describe('the embedded alarm files', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'c5-alarms-'));
  });
  afterEach(async () => rm(dataDir, { recursive: true, force: true }));

  it('keep devices and alarms across a restart of the store, dates as Date objects, codes still unique', async () => {
    const store = await EmbeddedStore.open(dataDir);
    const created = await store.alarmDevices.insert(device('PB-001', { supervisionIntervalS: 300 }));
    await store.alarmDevices.touch(created.id, at(7));
    const raised = await store.alarms.insert(alarm(created.id));
    const acknowledged = await store.alarms.acknowledge(raised.id, operator, at(2));
    const seen = await store.alarmDevices.findById(created.id);
    await store.close();
    await store.close();

    const reopened = await EmbeddedStore.open(dataDir);
    try {
      const device1 = await reopened.alarmDevices.findByCode('PB-001');
      expect(device1).to.deep.equal(seen);
      for (const key of ['keyIssuedAt', 'lastSeenAt', 'createdAt', 'updatedAt'] as const) expect(device1?.[key], key).to.be.instanceOf(Date);
      const alarm1 = await reopened.alarms.findById(raised.id);
      expect(alarm1).to.deep.equal(acknowledged);
      for (const key of ['firstAt', 'lastAt', 'announcedAt', 'acknowledgedAt', 'updatedAt'] as const) expect(alarm1?.[key], key).to.be.instanceOf(Date);
      let failure: unknown;
      await reopened.alarmDevices.insert(device('PB-001')).catch((error: unknown) => (failure = error));
      expect((failure as AppError | undefined)?.code).to.equal('conflict');
    } finally {
      await reopened.close();
    }
  });
});

describe('the mongo alarm builders (pure)', () => {
  const id = '0123456789abcdef01234567';
  const oid = new ObjectId(id);

  it('build the device filter: each field, q escaped and case-insensitive over code, name and owner name', () => {
    expect(buildAlarmDeviceFilter({})).to.deep.equal({});
    expect(buildAlarmDeviceFilter({ status: ['active', 'test'], kind: 'alarm_panel', area: 'citizen', municipality: 'Norte', codes: ['A', 'B'], supervised: true })).to.deep.equal({
      status: { $in: ['active', 'test'] },
      kind: 'alarm_panel',
      area: 'citizen',
      municipality: 'Norte',
      code: { $in: ['A', 'B'] },
      supervisionIntervalS: { $exists: true },
    });
    expect(buildAlarmDeviceFilter({ supervised: false })).to.deep.equal({ supervisionIntervalS: { $exists: false } });
    expect(buildAlarmDeviceFilter({ status: [], codes: [] })).to.deep.equal({ status: { $in: [] }, code: { $in: [] } });
    expect(buildAlarmDeviceFilter({ q: 'a.b(c)*' })).to.deep.equal({
      $or: [
        { code: { $regex: 'a\\.b\\(c\\)\\*', $options: 'i' } },
        { name: { $regex: 'a\\.b\\(c\\)\\*', $options: 'i' } },
        { 'owner.name': { $regex: 'a\\.b\\(c\\)\\*', $options: 'i' } },
      ],
    });
    expect(buildAlarmDeviceFilter({ q: '' })).to.deep.equal({});
    // The filter does not keep the caller's arrays.
    const status: Array<'active'> = ['active'];
    const built = buildAlarmDeviceFilter({ status }) as { status: { $in: string[] } };
    status.push('active');
    expect(built.status.$in).to.deep.equal(['active']);
  });

  it('never lets a device filter value become an operator', () => {
    expect(buildAlarmDeviceFilter({ municipality: '{"$ne":null}', codes: ['$where'], q: '$gt' })).to.deep.equal({
      municipality: '{"$ne":null}',
      code: { $in: ['$where'] },
      $or: [{ code: { $regex: '\\$gt', $options: 'i' } }, { name: { $regex: '\\$gt', $options: 'i' } }, { 'owner.name': { $regex: '\\$gt', $options: 'i' } }],
    });
  });

  it('build the device update: patchable fields only, owner cleaned, removals winning, updatedAt always', () => {
    const now = at(9);
    expect(buildAlarmDeviceUpdate({}, now)).to.deep.equal({ $set: { updatedAt: now } });
    expect(
      buildAlarmDeviceUpdate(
        {
          name: 'N',
          status: 'retired',
          owner: { name: 'O', phone: undefined, email: 'o@example.org' },
          location: coyoacan,
          cameras: ['C-1'],
          supervisionIntervalS: 60,
          keyIssuedAt: at(1),
          address: undefined,
          ...({ code: 'HIJACK', lastSeenAt: at(2), createdAt: at(3) } as object),
        },
        now,
      ),
    ).to.deep.equal({ $set: { name: 'N', status: 'retired', owner: { name: 'O', email: 'o@example.org' }, location: coyoacan, cameras: ['C-1'], supervisionIntervalS: 60, keyIssuedAt: at(1), updatedAt: now } });
    expect(buildAlarmDeviceUpdate({ unsetSupervision: true, supervisionIntervalS: 60, unsetAddress: true, address: 'x', name: 'N' }, now)).to.deep.equal({
      $set: { name: 'N', updatedAt: now },
      $unset: { supervisionIntervalS: '', address: '' },
    });
    expect(buildAlarmDeviceUpdate({ unsetAddress: false, unsetSupervision: false }, now)).to.deep.equal({ $set: { updatedAt: now } });
    expect(buildAlarmDeviceTouch(at(4))).to.deep.equal({ $max: { lastSeenAt: at(4) } });
  });

  it('convert devices to documents and back, leaving out absent and null optional fields', () => {
    const now = at(9);
    const doc = alarmDeviceToDocument(device('PB-1', { owner: { name: 'O', phone: undefined } }), now);
    expect(doc).to.deep.equal({
      code: 'PB-1',
      name: 'Button PB-1',
      kind: 'fixed_button',
      owner: { name: 'O' },
      location: zocalo,
      area: 'citizen',
      municipality: 'Cuauhtémoc',
      cameras: [],
      status: 'active',
      httpKey: 'k1:iv:tag:ciphertext',
      keyIssuedAt: at(0),
      createdAt: now,
      updatedAt: now,
    });
    expect(alarmDeviceToDocument(device('PB-2', { address: 'A', supervisionIntervalS: 60 }), now)).to.deep.include({ address: 'A', supervisionIntervalS: 60 });
    const stored = { ...doc, _id: oid, address: null, supervisionIntervalS: null, lastSeenAt: at(3), owner: { name: 'O', phone: null, email: 'e' } } as unknown as Parameters<typeof alarmDeviceFromDocument>[0];
    const record = alarmDeviceFromDocument(stored);
    expect(record).to.deep.equal({ ...doc, id, owner: { name: 'O', email: 'e' }, lastSeenAt: at(3) });
    expect(record).to.not.have.property('_id');
  });

  it('build the alarm filter: status, device, municipalities, ids (malformed ones dropped)', () => {
    expect(buildAlarmFilter({})).to.deep.equal({});
    expect(buildAlarmFilter({ status: ['open', 'acknowledged'], deviceId: 'dev-1', municipalities: ['Norte', 'Sur'] })).to.deep.equal({
      status: { $in: ['open', 'acknowledged'] },
      deviceId: 'dev-1',
      municipality: { $in: ['Norte', 'Sur'] },
    });
    expect(buildAlarmFilter({ status: [], municipalities: [] })).to.deep.equal({ status: { $in: [] }, municipality: { $in: [] } });
    expect(buildAlarmFilter({ areas: ['citizen'] })).to.deep.equal({ area: { $in: ['citizen'] } });
    const built = buildAlarmFilter({ ids: [id, 'nope', '{"$gt":""}'] }) as { _id: { $in: ObjectId[] } };
    expect(built._id.$in).to.have.length(1);
    expect(built._id.$in[0]).to.be.instanceOf(ObjectId);
    expect(String(built._id.$in[0])).to.equal(id);
    expect(buildAlarmFilter({ ids: [] })).to.deep.equal({ _id: { $in: [] } });
    expect(buildAlarmFilter({ deviceId: '{"$ne":null}', municipalities: ['$where'] })).to.deep.equal({ deviceId: '{"$ne":null}', municipality: { $in: ['$where'] } });
  });

  it('build the joinable filter and the compare-and-set changes', () => {
    const now = at(9);
    expect(buildJoinableFilter('dev-1', at(1))).to.deep.equal({ deviceId: 'dev-1', status: { $ne: 'closed' }, lastAt: { $gte: at(1) } });
    expect(buildPress(oid, at(2), now)).to.deep.equal({
      filter: { _id: oid, status: { $ne: 'closed' } },
      update: { $inc: { presses: 1 }, $max: { lastAt: at(2) }, $set: { updatedAt: now } },
    });
    expect(buildAcknowledge(oid, { ...operator, extra: 'dropped' } as Actor, at(3), now)).to.deep.equal({
      filter: { _id: oid, status: 'open' },
      update: { $set: { status: 'acknowledged', acknowledgedBy: operator, acknowledgedAt: at(3), updatedAt: now } },
    });
    expect(buildReannounce(oid, 2, at(4), now)).to.deep.equal({
      filter: { _id: oid, status: 'open' },
      update: { $set: { announceLevel: 2, announcedAt: at(4), updatedAt: now } },
    });
    expect(buildMarkClosed(oid, { closedBy: other, closedAt: at(5), disposition: 'test', closingNote: 'drill' }, now)).to.deep.equal({
      filter: { _id: oid, status: { $in: ['open', 'acknowledged'] } },
      update: { $set: { status: 'closed', closedBy: other, closedAt: at(5), disposition: 'test', closingNote: 'drill', updatedAt: now } },
    });
    expect(buildMarkClosed(oid, { closedBy: other, closedAt: at(5), disposition: 'false' }, now).update).to.deep.equal({
      $set: { status: 'closed', closedBy: other, closedAt: at(5), disposition: 'false', updatedAt: now },
    });
  });

  it('convert alarms to documents and back, leaving out absent and null optional fields', () => {
    const now = at(9);
    const doc = alarmToDocument(alarm('dev-1', { accuracyM: undefined }), now);
    expect(doc).to.deep.equal({ ...alarm('dev-1'), updatedAt: now });
    expect(doc).to.not.have.property('accuracyM');
    expect(alarmToDocument(alarm('dev-1', { accuracyM: 0 }), now)).to.deep.include({ accuracyM: 0 });
    // A field added to the record later (the app's note, say) is stored without a change in the adapter.
    expect(alarmToDocument({ ...alarm('dev-1'), later: 'kept' } as NewAlarmRecord, now)).to.deep.include({ later: 'kept' });
    const stored = { ...doc, _id: oid, accuracyM: null, acknowledgedBy: null, closedAt: null, closingNote: null } as unknown as Parameters<typeof alarmFromDocument>[0];
    expect(alarmFromDocument(stored)).to.deep.equal({ ...doc, id });
  });
});
