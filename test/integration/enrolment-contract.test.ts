import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectId } from 'mongodb';
import { AppError } from '../../server/errors/AppError.ts';
import type { EnrolmentRepository } from '../../server/enrolment/EnrolmentRepository.ts';
import type { EnrolmentFilter, EnrolmentRecord, NewEnrolmentRecord } from '../../server/enrolment/EnrolmentRecord.ts';
import { EmbeddedEnrolmentRepository } from '../../server/store/embedded/EmbeddedEnrolmentRepository.ts';
import { EmbeddedStore } from '../../server/store/embedded/EmbeddedStore.ts';
import { MongoStore } from '../../server/store/mongo/MongoStore.ts';
import {
  buildEnrolmentErase,
  buildEnrolmentFilter,
  buildEnrolmentStatusChange,
  buildEnrolmentUpdate,
  enrolmentConflict,
  enrolmentFromDocument,
  enrolmentToDocument,
} from '../../server/store/mongo/MongoEnrolmentRepository.ts';
import { closingStore, contractSuite, mongoSkipReason, type ContractAdapter } from '../support/contract.ts';

/** Mexico City's Zócalo: latitude and longitude differ in sign, so a swap is visible. */
const zocalo = { lat: 19.4326, lng: -99.1332 };
const coyoacan = { lat: 19.3467, lng: -99.1617 };
/** Well-formed ids that name nothing (nedb, MongoDB), and malformed ones. */
const unknownIds = ['ZZZZZZZZZZZZZZZZ', '0123456789abcdef01234567'];
const malformedIds = ['', 'nope', '../x', '{"$gt":""}', 'a'.repeat(200)];
/** Values that are no keys at all: an object would be a query operator if passed through. */
const notKeys = [{ $gt: '' }, { $exists: true }, null, undefined, 42] as unknown as string[];
const at = (minute: number) => new Date(Date.UTC(2026, 10, 30, 12, minute));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A token hash of the StatusToken's shape (SHA-256, base64url), one per name. */
const hash = (name: string) => `h-${name}-`.padEnd(43, 'x');

function enrolment(reference: string, extra: Partial<NewEnrolmentRecord> = {}): NewEnrolmentRecord {
  return {
    reference,
    cameraCode: `CIT-${reference}`,
    ownerKind: 'organisation',
    personal: { ownerName: 'Farmacia Reforma', email: 'dueno@example.mx', address: 'Av. Reforma 1, Cuauhtémoc' },
    contactKey: 'dueno@example.mx',
    category: 'commercial',
    location: { ...zocalo },
    sharing: 'incident-only',
    agreementVersion: '2026-01',
    agreementAcceptedAt: at(0),
    language: 'es-MX',
    statusTokenHash: hash(reference),
    status: 'pending',
    endpointKey: `cam-${reference.toLowerCase()}.example.mx:554/stream1`,
    ...extra,
  };
}

/** The error a promise rejects with, or undefined when it resolves. */
async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}

interface Adapter extends ContractAdapter<EnrolmentRepository> {
  idPattern: RegExp;
}

const adapters: Adapter[] = [
  { name: 'embedded (nedb)', open: () => EmbeddedEnrolmentRepository.open(), idPattern: /^[A-Za-z0-9]{16}$/ },
  {
    name: 'mongo (mongodb driver)',
    skipReason: mongoSkipReason,
    open: async () => {
      // A store of its own per test (the repositories of a store share its connection).
      const store = await MongoStore.open(process.env.MONGODB_URI!, { dbName: `c5_enrolments_${process.pid}_${Date.now()}` });
      return closingStore(store.enrolments, store);
    },
    idPattern: /^[0-9a-f]{24}$/,
  },
];

contractSuite('enrolment repository contract', adapters, (current, adapter) => {
  {
    let repo!: EnrolmentRepository;
    beforeEach(() => {
      repo = current();
    });

    it('inserts and finds by id, reference, token hash and camera code; the caller\'s objects are not the stored ones', async () => {
      const input = enrolment('ENR-AAAA1111', { check: { result: 'reachable', at: at(1), detail: '200 OK', video: { codec: 'H264', width: 1920, height: 1080 } } });
      const created = await repo.insert(input);
      input.personal!.ownerName = 'changed';
      input.location.lat = 0;
      expect(created.id).to.match(adapter.idPattern);
      expect(created).to.deep.include({
        reference: 'ENR-AAAA1111',
        cameraCode: 'CIT-ENR-AAAA1111',
        ownerKind: 'organisation',
        personal: { ownerName: 'Farmacia Reforma', email: 'dueno@example.mx', address: 'Av. Reforma 1, Cuauhtémoc' },
        contactKey: 'dueno@example.mx',
        category: 'commercial',
        location: zocalo,
        sharing: 'incident-only',
        agreementVersion: '2026-01',
        language: 'es-MX',
        statusTokenHash: hash('ENR-AAAA1111'),
        status: 'pending',
        endpointKey: 'cam-enr-aaaa1111.example.mx:554/stream1',
      });
      expect(created.check).to.deep.equal({ result: 'reachable', at: at(1), detail: '200 OK', video: { codec: 'H264', width: 1920, height: 1080 } });
      expect(created.agreementAcceptedAt).to.deep.equal(at(0));
      for (const key of ['createdAt', 'updatedAt', 'statusChangedAt'] as const) expect(created[key], key).to.be.instanceOf(Date);
      for (const key of ['closedAt', 'erasedAt', 'statusReason'] as const) expect(created).to.not.have.property(key);

      expect(await repo.findById(created.id)).to.deep.equal(created);
      expect(await repo.findByReference('ENR-AAAA1111')).to.deep.equal(created);
      expect(await repo.findByTokenHash(hash('ENR-AAAA1111'))).to.deep.equal(created);
      expect(await repo.findByCameraCode('CIT-ENR-AAAA1111')).to.deep.equal(created);

      const found = await repo.findById(created.id);
      found!.personal!.ownerName = 'changed';
      found!.check!.video!.codec = 'changed';
      expect((await repo.findById(created.id))?.personal?.ownerName).to.equal('Farmacia Reforma');
      expect((await repo.findById(created.id))?.check?.video?.codec).to.equal('H264');

      // Optional fields given as undefined are not stored.
      const bare = await repo.insert(enrolment('ENR-BBBB2222', { ownerKind: 'person', personal: { ownerName: 'Ana', phone: '5555550000', email: undefined, address: 'Calle 1' }, contactKey: '5555550000', check: undefined, statusReason: undefined }));
      const bareFound = await repo.findById(bare.id);
      expect(bareFound?.personal).to.deep.equal({ ownerName: 'Ana', phone: '5555550000', address: 'Calle 1' });
      expect(bareFound).to.not.have.property('check');
      expect(bareFound).to.not.have.property('statusReason');
    });

    it('answers unknown or malformed ids and keys with undefined, never an exception', async () => {
      await repo.insert(enrolment('ENR-CCCC3333'));
      for (const id of [...unknownIds, ...malformedIds, ...notKeys]) {
        expect(await repo.findById(id), String(id)).to.equal(undefined);
        expect(await repo.update(id, { sharing: 'live' }), String(id)).to.equal(undefined);
        expect(await repo.changeStatus(id, { from: ['pending'], to: 'approved' }), String(id)).to.equal(undefined);
      }
      for (const key of ['', 'ENR-NOPE', ...notKeys]) {
        expect(await repo.findByReference(key), String(key)).to.equal(undefined);
        expect(await repo.findByTokenHash(key), String(key)).to.equal(undefined);
        expect(await repo.findByCameraCode(key), String(key)).to.equal(undefined);
      }
      expect((await repo.findByReference('ENR-CCCC3333'))?.status).to.equal('pending');
    });

    it('refuses a duplicate reference, camera code or token hash with a conflict naming the field, never the hash', async () => {
      await repo.insert(enrolment('ENR-DUP00001'));
      const reference = (await failureOf(repo.insert(enrolment('ENR-DUP00001', { cameraCode: 'CIT-OTHER-1', statusTokenHash: hash('other-1') })))) as AppError;
      expect(reference).to.be.instanceOf(AppError);
      expect(reference.code).to.equal('conflict');
      expect(reference.message).to.contain('reference').and.contain('ENR-DUP00001');

      const camera = (await failureOf(repo.insert(enrolment('ENR-DUP00002', { cameraCode: 'CIT-ENR-DUP00001', statusTokenHash: hash('other-2') })))) as AppError;
      expect(camera.code).to.equal('conflict');
      expect(camera.message).to.contain('camera').and.contain('CIT-ENR-DUP00001');

      const token = (await failureOf(repo.insert(enrolment('ENR-DUP00003', { statusTokenHash: hash('ENR-DUP00001') })))) as AppError;
      expect(token.code).to.equal('conflict');
      expect(token.message).to.contain('status token');
      expect(token.message).to.not.contain(hash('ENR-DUP00001'));
      expect(JSON.stringify(token)).to.not.contain(hash('ENR-DUP00001'));

      // Nothing of the refused enrolments was kept.
      for (const reference of ['ENR-DUP00002', 'ENR-DUP00003']) expect(await repo.findByReference(reference)).to.equal(undefined);
      expect((await repo.list({}, { offset: 0, limit: 10 })).total).to.equal(1);
      // The refused values are free again for a valid enrolment.
      expect((await repo.insert(enrolment('ENR-DUP00002'))).reference).to.equal('ENR-DUP00002');
    });

    it('lists oldest first, filtered by status and endpoint keys, paged, with a total', async () => {
      // Inserted in an order that is not the references' order: the creation time decides.
      for (const [i, reference] of ['ENR-L3', 'ENR-L1', 'ENR-L4', 'ENR-L2', 'ENR-L5'].entries()) {
        await repo.insert(enrolment(reference, { endpointKey: i % 2 ? 'shared.example.mx:554/live' : `own-${i}.example.mx:554/live` }));
        await pause(3);
      }
      const l1 = await repo.findByReference('ENR-L1');
      await repo.changeStatus(l1!.id, { from: ['pending'], to: 'approved' });
      const l5 = await repo.findByReference('ENR-L5');
      await repo.changeStatus(l5!.id, { from: ['pending'], to: 'rejected', reason: 'no view of the street', close: true });

      const references = async (filter: EnrolmentFilter, page = { offset: 0, limit: 10 }) => {
        const { items, total } = await repo.list(filter, page);
        return { references: items.map((item) => item.reference), total };
      };
      expect(await references({})).to.deep.equal({ references: ['ENR-L3', 'ENR-L1', 'ENR-L4', 'ENR-L2', 'ENR-L5'], total: 5 });
      expect(await references({}, { offset: 1, limit: 2 })).to.deep.equal({ references: ['ENR-L1', 'ENR-L4'], total: 5 });
      expect(await references({}, { offset: 5, limit: 2 })).to.deep.equal({ references: [], total: 5 });
      expect(await references({}, { offset: 0, limit: 0 })).to.deep.equal({ references: [], total: 5 });
      expect(await references({ status: ['pending'] })).to.deep.equal({ references: ['ENR-L3', 'ENR-L4', 'ENR-L2'], total: 3 });
      expect(await references({ status: ['approved', 'rejected'] })).to.deep.equal({ references: ['ENR-L1', 'ENR-L5'], total: 2 });
      expect(await references({ status: [] })).to.deep.equal({ references: [], total: 0 });
      expect(await references({ endpointKeys: ['shared.example.mx:554/live'] })).to.deep.equal({ references: ['ENR-L1', 'ENR-L2'], total: 2 });
      expect(await references({ endpointKeys: ['own-0.example.mx:554/live', 'own-4.example.mx:554/live', 'nowhere:554/'] })).to.deep.equal({ references: ['ENR-L3', 'ENR-L5'], total: 2 });
      expect(await references({ endpointKeys: ['shared.example.mx:554/live'], status: ['pending'] }, { offset: 0, limit: 1 })).to.deep.equal({ references: ['ENR-L2'], total: 1 });
      expect(await references({ endpointKeys: [] })).to.deep.equal({ references: [], total: 0 });
      expect((await repo.list({}, { offset: 0, limit: 1 })).items[0]).to.deep.equal(await repo.findByReference('ENR-L3'));
    });

    it('orders enrolments created at the same moment by reference, the same way every time', async () => {
      const created = await Promise.all(['ENR-T4', 'ENR-T2', 'ENR-T3', 'ENR-T1'].map((reference) => repo.insert(enrolment(reference))));
      const listed = (await repo.list({}, { offset: 0, limit: 10 })).items;
      const sorted = [...created].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.reference.localeCompare(b.reference));
      expect(listed.map((item) => item.reference)).to.deep.equal(sorted.map((item) => item.reference));
      const paged = [...(await repo.list({}, { offset: 0, limit: 2 })).items, ...(await repo.list({}, { offset: 2, limit: 2 })).items];
      expect(paged.map((item) => item.id)).to.deep.equal(listed.map((item) => item.id));
    });

    it('updates the patchable fields only, check dates as Dates; a new token hash replaces the old one', async () => {
      const created = await repo.insert(enrolment('ENR-UPD00001'));
      await pause(3);
      const check = { result: 'unauthorized' as const, at: at(9), detail: '401 Unauthorized' };
      const patch = { sharing: 'live', statusTokenHash: hash('reissued'), endpointKey: 'new.example.mx:554/x', check, location: coyoacan, category: 'home', reference: 'ENR-HACKED', status: 'approved', personal: undefined };
      const updated = await repo.update(created.id, patch as never);
      check.detail = 'changed';
      expect(updated).to.deep.include({ sharing: 'live', statusTokenHash: hash('reissued'), endpointKey: 'new.example.mx:554/x', location: coyoacan, category: 'home' });
      expect(updated?.check).to.deep.equal({ result: 'unauthorized', at: at(9), detail: '401 Unauthorized' });
      expect(updated?.check?.at).to.be.instanceOf(Date);
      // What update() does not write.
      expect(updated).to.deep.include({ reference: 'ENR-UPD00001', status: 'pending', cameraCode: created.cameraCode, personal: created.personal });
      expect(updated!.createdAt).to.deep.equal(created.createdAt);
      expect(updated!.statusChangedAt).to.deep.equal(created.statusChangedAt);
      expect(updated!.updatedAt.getTime()).to.be.above(created.updatedAt.getTime());
      expect(await repo.findById(created.id)).to.deep.equal(updated);

      expect(await repo.findByTokenHash(hash('ENR-UPD00001'))).to.equal(undefined);
      expect((await repo.findByTokenHash(hash('reissued')))?.id).to.equal(created.id);

      // A field given as undefined is left alone; an empty patch touches updatedAt only.
      const again = await repo.update(created.id, { sharing: undefined, check: { result: 'reachable', at: at(10), video: { codec: 'H265' } } });
      expect(again?.sharing).to.equal('live');
      expect(again?.check).to.deep.equal({ result: 'reachable', at: at(10), video: { codec: 'H265' } });
      expect((await repo.update(created.id, {}))?.statusTokenHash).to.equal(hash('reissued'));
    });

    it('refuses an update to another enrolment\'s token hash with a conflict that does not show it', async () => {
      const first = await repo.insert(enrolment('ENR-UPD00002'));
      const second = await repo.insert(enrolment('ENR-UPD00003'));
      const failure = (await failureOf(repo.update(second.id, { statusTokenHash: first.statusTokenHash, sharing: 'live' }))) as AppError;
      expect(failure).to.be.instanceOf(AppError);
      expect(failure.code).to.equal('conflict');
      expect(failure.message).to.contain('status token').and.not.contain(first.statusTokenHash);
      expect(await repo.findById(second.id)).to.deep.equal(second);
      expect((await repo.findByTokenHash(first.statusTokenHash))?.id).to.equal(first.id);
    });

    it('changes status only from an expected status (compare-and-set), with a reason, moving statusChangedAt, closing on request', async () => {
      const created = await repo.insert(enrolment('ENR-CAS00001'));
      expect(await repo.changeStatus(created.id, { from: ['approved', 'rejected'], to: 'withdrawn', close: true })).to.equal(undefined);
      expect(await repo.findById(created.id)).to.deep.equal(created);

      await pause(3);
      const approved = await repo.changeStatus(created.id, { from: ['pending'], to: 'approved' });
      expect(approved?.status).to.equal('approved');
      expect(approved).to.not.have.property('closedAt');
      expect(approved).to.not.have.property('statusReason');
      expect(approved!.statusChangedAt.getTime()).to.be.above(created.statusChangedAt.getTime());
      expect(approved!.updatedAt.getTime()).to.equal(approved!.statusChangedAt.getTime());
      // Only one of two racing changes from the same status wins.
      const [a, b] = await Promise.all([
        repo.changeStatus(created.id, { from: ['approved'], to: 'withdrawn', reason: 'moving house', close: true }),
        repo.changeStatus(created.id, { from: ['approved'], to: 'rejected', reason: 'x', close: true }),
      ]);
      expect([a, b].filter((result) => result !== undefined)).to.have.length(1);

      const other = await repo.insert(enrolment('ENR-CAS00002'));
      await pause(3);
      const rejected = await repo.changeStatus(other.id, { from: ['pending', 'approved'], to: 'rejected', reason: 'the camera shows a private home', close: true });
      expect(rejected).to.deep.include({ status: 'rejected', statusReason: 'the camera shows a private home' });
      expect(rejected?.closedAt).to.be.instanceOf(Date);
      expect(rejected!.closedAt!.getTime()).to.equal(rejected!.statusChangedAt.getTime());
      expect(rejected!.statusChangedAt.getTime()).to.be.above(other.statusChangedAt.getTime());
      expect(await repo.findById(other.id)).to.deep.equal(rejected);
      // The personal data stays until the retention run.
      expect(rejected?.personal).to.deep.equal(other.personal);

      // Sent back to review (not closing): open again, so no retention period runs.
      const reopened = await repo.changeStatus(other.id, { from: ['approved', 'rejected'], to: 'pending', reason: 'the owner changed the camera URL' });
      expect(reopened).to.deep.include({ status: 'pending', statusReason: 'the owner changed the camera URL' });
      expect(reopened).to.not.have.property('closedAt');
      // Only the winner of the race above is still closed.
      expect((await repo.eraseClosedBefore(new Date(Date.now() + 1000))).map((item) => item.id)).to.deep.equal([created.id]);
      expect((await repo.findById(other.id))?.personal).to.deep.equal(other.personal);
    });

    it('erases the personal data of enrolments closed before a date, once, keeping reference and camera code', async () => {
      const closedEarly = await repo.insert(enrolment('ENR-ERA00001'));
      const open = await repo.insert(enrolment('ENR-ERA00002'));
      const approved = await repo.insert(enrolment('ENR-ERA00003'));
      await repo.changeStatus(approved.id, { from: ['pending'], to: 'approved' });
      const withdrawn = await repo.changeStatus(closedEarly.id, { from: ['pending'], to: 'withdrawn', reason: 'no longer mine', close: true });
      await pause(5);
      const cutoff = new Date();
      await pause(5);
      const closedLate = await repo.insert(enrolment('ENR-ERA00004'));
      await repo.changeStatus(closedLate.id, { from: ['pending'], to: 'rejected', reason: 'blurred', close: true });

      expect(await repo.eraseClosedBefore(withdrawn!.closedAt!)).to.deep.equal([]);
      const erased = await repo.eraseClosedBefore(cutoff);
      expect(erased.map((item) => item.reference)).to.deep.equal(['ENR-ERA00001']);
      const [record] = erased;
      expect(record).to.not.have.property('personal');
      expect(record).to.not.have.property('contactKey');
      expect(record?.erasedAt).to.be.instanceOf(Date);
      expect(record).to.deep.include({ id: closedEarly.id, reference: 'ENR-ERA00001', cameraCode: 'CIT-ENR-ERA00001', status: 'withdrawn', statusReason: 'no longer mine', statusTokenHash: closedEarly.statusTokenHash, endpointKey: closedEarly.endpointKey });
      expect(record!.closedAt).to.deep.equal(withdrawn!.closedAt);
      expect(record!.statusChangedAt).to.deep.equal(withdrawn!.statusChangedAt);
      expect(await repo.findById(closedEarly.id)).to.deep.equal(record);
      expect(await repo.findByReference('ENR-ERA00001')).to.deep.equal(record);
      expect(await repo.findByCameraCode('CIT-ENR-ERA00001')).to.deep.equal(record);

      // Still open, approved, or closed after the date: untouched.
      for (const id of [open.id, approved.id, closedLate.id]) expect((await repo.findById(id))?.personal, id).to.deep.equal(open.personal);
      // A second run erases nothing new; a later date reaches the later closure.
      expect(await repo.eraseClosedBefore(cutoff)).to.deep.equal([]);
      expect((await repo.findById(closedEarly.id))?.erasedAt).to.deep.equal(record!.erasedAt);
      const later = await repo.eraseClosedBefore(new Date(Date.now() + 1000));
      expect(later.map((item) => item.reference)).to.deep.equal(['ENR-ERA00004']);
      expect(await repo.eraseClosedBefore(new Date(Date.now() + 1000))).to.deep.equal([]);
      expect((await repo.findById(open.id))?.contactKey).to.equal('dueno@example.mx');
    });
  }
});

describe('the embedded enrolment file', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'c5-enrolments-'));
  });
  afterEach(async () => rm(dataDir, { recursive: true, force: true }));

  it('keeps enrolments across a restart of the store, dates as Date objects, keys still unique, erasure kept', async () => {
    const store = await EmbeddedStore.open(dataDir);
    const created = await store.enrolments.insert(enrolment('ENR-FILE0001'));
    await store.enrolments.update(created.id, { check: { result: 'reachable', at: at(3), video: { codec: 'H264', width: 640, height: 360 } } });
    const kept = await store.enrolments.changeStatus(created.id, { from: ['pending'], to: 'approved' });
    const gone = await store.enrolments.insert(enrolment('ENR-FILE0002'));
    await store.enrolments.changeStatus(gone.id, { from: ['pending'], to: 'withdrawn', close: true });
    const [erased] = await store.enrolments.eraseClosedBefore(new Date(Date.now() + 1000));
    await store.close();
    await store.close();

    const reopened = await EmbeddedStore.open(dataDir);
    try {
      const found = await reopened.enrolments.findByTokenHash(hash('ENR-FILE0001'));
      expect(found).to.deep.equal(kept);
      for (const key of ['agreementAcceptedAt', 'statusChangedAt', 'createdAt', 'updatedAt'] as const) expect(found?.[key], key).to.be.instanceOf(Date);
      expect(found?.check?.at).to.be.instanceOf(Date);
      expect(await reopened.enrolments.findById(gone.id)).to.deep.equal(erased);
      expect((await reopened.enrolments.findById(gone.id))?.erasedAt).to.be.instanceOf(Date);
      for (const duplicate of [enrolment('ENR-FILE0001', { cameraCode: 'CIT-X', statusTokenHash: hash('x') }), enrolment('ENR-FILE0003', { cameraCode: 'CIT-ENR-FILE0002', statusTokenHash: hash('y') }), enrolment('ENR-FILE0004', { statusTokenHash: hash('ENR-FILE0001') })]) {
        expect(((await failureOf(reopened.enrolments.insert(duplicate))) as AppError | undefined)?.code, duplicate.reference).to.equal('conflict');
      }
      expect((await reopened.enrolments.list({ endpointKeys: [kept!.endpointKey] }, { offset: 0, limit: 5 })).total).to.equal(1);
    } finally {
      await reopened.close();
    }
  });
});

describe('the mongo enrolment builders (pure)', () => {
  const id = new ObjectId('0123456789abcdef01234567');
  const now = at(20);

  it('build the list filter: status and endpoint keys as $in, nothing else', () => {
    expect(buildEnrolmentFilter({})).to.deep.equal({});
    expect(buildEnrolmentFilter({ status: ['pending'], endpointKeys: ['a:554/x'] })).to.deep.equal({ status: { $in: ['pending'] }, endpointKey: { $in: ['a:554/x'] } });
  });

  it('build an update of the patchable fields only, copies of the caller\'s objects', () => {
    const patch = { sharing: 'live', check: { result: 'reachable', at: at(1), detail: undefined, video: { codec: 'H264', width: null } }, location: zocalo, reference: 'X', status: 'approved', personal: {}, category: undefined };
    expect(buildEnrolmentUpdate(patch as never, now)).to.deep.equal({ $set: { updatedAt: now, sharing: 'live', check: { result: 'reachable', at: at(1), video: { codec: 'H264' } }, location: zocalo } });
    expect(buildEnrolmentUpdate({}, now)).to.deep.equal({ $set: { updatedAt: now } });
  });

  it('build the status compare-and-set: from as $in, closedAt set with close and removed without, the old reason removed without a new one', () => {
    expect(buildEnrolmentStatusChange(id, { from: ['pending'], to: 'rejected', reason: 'r', close: true }, now)).to.deep.equal({
      filter: { _id: id, status: { $in: ['pending'] } },
      update: { $set: { status: 'rejected', statusReason: 'r', statusChangedAt: now, updatedAt: now, closedAt: now } },
    });
    expect(buildEnrolmentStatusChange(id, { from: ['pending', 'rejected'], to: 'approved' }, now)).to.deep.equal({
      filter: { _id: id, status: { $in: ['pending', 'rejected'] } },
      update: { $set: { status: 'approved', statusChangedAt: now, updatedAt: now }, $unset: { statusReason: '', closedAt: '' } },
    });
    expect(buildEnrolmentStatusChange(id, { from: ['rejected'], to: 'pending', reason: 'new URL' }, now).update).to.deep.equal({
      $set: { status: 'pending', statusReason: 'new URL', statusChangedAt: now, updatedAt: now },
      $unset: { closedAt: '' },
    });
  });

  it('build the erasure: closed statuses, closed before the date, not erased yet; personal data unset', () => {
    expect(buildEnrolmentErase(at(5), now)).to.deep.equal({
      filter: { status: { $in: ['rejected', 'withdrawn', 'revoked'] }, closedAt: { $lt: at(5) }, erasedAt: { $exists: false } },
      update: { $set: { erasedAt: now, updatedAt: now }, $unset: { personal: '', contactKey: '' } },
    });
  });

  it('convert to and from documents: optional fields absent or null left out, dates kept', () => {
    const input = enrolment('ENR-DOC00001', { personal: { ownerName: 'Ana', email: undefined, address: 'Calle 1' }, check: undefined });
    const doc = enrolmentToDocument(input, now);
    expect(doc).to.not.have.property('check');
    expect(doc).to.not.have.property('_id');
    expect(doc.personal).to.deep.equal({ ownerName: 'Ana', address: 'Calle 1' });
    expect(doc).to.deep.include({ statusChangedAt: now, createdAt: now, updatedAt: now, agreementAcceptedAt: at(0) });
    const record: EnrolmentRecord = enrolmentFromDocument({ ...doc, _id: id, statusReason: null, closedAt: null, check: { result: 'unreachable', at: at(2), detail: null, video: null } } as never);
    expect(record.id).to.equal('0123456789abcdef01234567');
    expect(record).to.not.have.property('statusReason');
    expect(record).to.not.have.property('closedAt');
    expect(record.check).to.deep.equal({ result: 'unreachable', at: at(2) });
  });

  it('name the field of a duplicate key by the server\'s key pattern or index name, never showing the token hash', () => {
    const values = { reference: 'ENR-1', cameraCode: 'CIT-1', statusTokenHash: hash('secret') };
    const duplicate = (extra: object) => Object.assign(new Error('E11000 duplicate key error'), { code: 11000, ...extra });
    expect((enrolmentConflict(duplicate({ keyPattern: { reference: 1 } }), values) as AppError).message).to.contain('reference ENR-1');
    expect((enrolmentConflict(duplicate({ keyPattern: { cameraCode: 1 } }), values) as AppError).message).to.contain('camera CIT-1');
    const token = enrolmentConflict(duplicate({ message: `E11000 duplicate key error collection: c5.enrolments index: statusTokenHash_unique dup key: { statusTokenHash: "${values.statusTokenHash}" }` }), values) as AppError;
    expect(token.code).to.equal('conflict');
    expect(token.message).to.contain('status token').and.not.contain(values.statusTokenHash);
    const other = new Error('network');
    expect(enrolmentConflict(other, values)).to.equal(other);
  });
});
