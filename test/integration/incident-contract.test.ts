import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import type { IncidentRepository } from '../../server/incidents/IncidentRepository.ts';
import type { GrantRepository } from '../../server/incidents/GrantRepository.ts';
import type { Actor, NewGrantRecord, NewIncidentRecord } from '../../server/incidents/IncidentRecord.ts';
import { EmbeddedIncidentRepository } from '../../server/store/embedded/EmbeddedIncidentRepository.ts';
import { EmbeddedGrantRepository } from '../../server/store/embedded/EmbeddedGrantRepository.ts';
import { MongoStore } from '../../server/store/mongo/MongoStore.ts';
import { buildIncidentFilter } from '../../server/store/mongo/MongoIncidentRepository.ts';
import { closingStore, contractSuite, mongoSkipReason, type ContractAdapter } from '../support/contract.ts';

/** Mexico City's Zócalo: latitude and longitude differ in sign, so a swap is visible. */
const zocalo = { lat: 19.4326, lng: -99.1332 };
const operator: Actor = { userId: 'u-operator', username: 'operator' };
const investigator: Actor = { userId: 'u-investigator', username: 'investigator' };
const other: Actor = { userId: 'u-other', username: 'other' };
/** Well-formed ids that name nothing (nedb, MongoDB), and malformed ones. */
const unknownIds = ['ZZZZZZZZZZZZZZZZ', '0123456789abcdef01234567'];
const malformedIds = ['', 'nope', '../x', '{"$gt":""}', 'a'.repeat(200)];
const at = (minute: number) => new Date(Date.UTC(2026, 10, 30, 12, minute));

function incident(title: string, extra: Partial<NewIncidentRecord> = {}): NewIncidentRecord {
  return {
    title,
    kind: 'robbery',
    location: zocalo,
    radiusM: 500,
    municipality: 'Cuauhtémoc',
    status: 'open',
    cameras: [],
    openedBy: operator,
    openedAt: at(0),
    ...extra,
  };
}

function grant(incidentId: string, extra: Partial<NewGrantRecord> = {}): NewGrantRecord {
  return { incidentId, investigator, scope: 'all', grantedBy: operator, createdAt: at(0), endsAt: at(240), ...extra };
}

const closing = (note = 'arrest made') => ({ closedBy: operator, closedAt: at(90), disposition: 'resolved' as const, closingNote: note });

interface Adapter<R> extends ContractAdapter<R> {
  idPattern: RegExp;
}

/** A store of its own per test (the repositories of a store share its connection). */
const mongoStore = () => MongoStore.open(process.env.MONGODB_URI!, { dbName: `c5_incidents_${process.pid}_${Date.now()}` });

const incidentAdapters: Array<Adapter<IncidentRepository>> = [
  { name: 'embedded (nedb)', open: () => EmbeddedIncidentRepository.open(), idPattern: /^[A-Za-z0-9]{16}$/ },
  {
    name: 'mongo (mongodb driver)',
    skipReason: mongoSkipReason,
    open: async () => {
      const store = await mongoStore();
      return closingStore(store.incidents, store);
    },
    idPattern: /^[0-9a-f]{24}$/,
  },
];

const grantAdapters: Array<Adapter<GrantRepository>> = [
  { name: 'embedded (nedb)', open: () => EmbeddedGrantRepository.open(), idPattern: /^[A-Za-z0-9]{16}$/ },
  {
    name: 'mongo (mongodb driver)',
    skipReason: mongoSkipReason,
    open: async () => {
      const store = await mongoStore();
      return closingStore(store.grants, store);
    },
    idPattern: /^[0-9a-f]{24}$/,
  },
];

contractSuite('incident repository contract', incidentAdapters, (current, adapter) => {
  {
    let repo!: IncidentRepository;
    beforeEach(() => {
      repo = current();
    });

    it('inserts and finds by id; ids have the store\'s format; unknown and malformed ids are undefined', async () => {
      const cameras = ['C-2', 'C-1'];
      const created = await repo.insert(incident('Robbery', { cameras }));
      cameras.push('C-9');
      expect(created.id).to.match(adapter.idPattern);
      expect(created).to.deep.include({ title: 'Robbery', kind: 'robbery', location: zocalo, radiusM: 500, municipality: 'Cuauhtémoc', status: 'open', cameras: ['C-2', 'C-1'], openedBy: operator });
      expect(created.openedAt).to.deep.equal(at(0));
      expect(created.updatedAt).to.be.instanceOf(Date);
      const found = await repo.findById(created.id);
      expect(found).to.deep.equal(created);
      for (const key of ['closedBy', 'closedAt', 'disposition', 'closingNote']) expect(found).to.not.have.property(key);
      // The caller's arrays are not the stored ones.
      found!.cameras.push('C-X');
      expect((await repo.findById(created.id))?.cameras).to.deep.equal(['C-2', 'C-1']);
      for (const id of [...unknownIds, ...malformedIds]) expect(await repo.findById(id), `findById(${id.slice(0, 20)})`).to.equal(undefined);
    });

    it('lists newest opened first, filtered by status, municipality, municipalities (a scope) and ids, paged with the total', async () => {
      const a = await repo.insert(incident('A', { openedAt: at(1), municipality: 'Norte' }));
      const b = await repo.insert(incident('B', { openedAt: at(3), municipality: 'Sur' }));
      const c = await repo.insert(incident('C', { openedAt: at(2), municipality: 'Norte' }));
      const d = await repo.insert(incident('D', { openedAt: at(4), municipality: 'Centro' }));
      await repo.markClosed(c.id, closing());
      const titles = async (filter: Parameters<IncidentRepository['list']>[0], page = { offset: 0, limit: 50 }) => {
        const result = await repo.list(filter, page);
        return { titles: result.items.map((i) => i.title), total: result.total };
      };
      expect(await titles({})).to.deep.equal({ titles: ['D', 'B', 'C', 'A'], total: 4 });
      expect(await titles({ status: 'open' })).to.deep.equal({ titles: ['D', 'B', 'A'], total: 3 });
      expect(await titles({ status: 'closed' })).to.deep.equal({ titles: ['C'], total: 1 });
      expect(await titles({ municipality: 'Norte' })).to.deep.equal({ titles: ['C', 'A'], total: 2 });
      expect(await titles({ municipalities: ['Norte', 'Sur'] })).to.deep.equal({ titles: ['B', 'C', 'A'], total: 3 });
      expect(await titles({ municipalities: [] })).to.deep.equal({ titles: [], total: 0 });
      // A municipality asked for outside the scope gives nothing; inside it, just that one.
      expect(await titles({ municipality: 'Centro', municipalities: ['Norte'] })).to.deep.equal({ titles: [], total: 0 });
      expect(await titles({ municipality: 'Norte', municipalities: ['Norte', 'Sur'], status: 'open' })).to.deep.equal({ titles: ['A'], total: 1 });
      expect(await titles({ ids: [a.id, d.id, unknownIds[0]!, unknownIds[1]!] })).to.deep.equal({ titles: ['D', 'A'], total: 2 });
      expect(await titles({ ids: [] })).to.deep.equal({ titles: [], total: 0 });
      expect(await titles({}, { offset: 1, limit: 2 })).to.deep.equal({ titles: ['B', 'C'], total: 4 });
      expect(await titles({}, { offset: 4, limit: 2 })).to.deep.equal({ titles: [], total: 4 });
      expect(await titles({ status: 'open' }, { offset: 2, limit: 1 })).to.deep.equal({ titles: ['A'], total: 3 });
      expect((await repo.list({}, { offset: 0, limit: 1 })).items[0]).to.deep.equal(await repo.findById(d.id));
      expect(b.municipality).to.equal('Sur');
    });

    it('orders incidents opened at the same moment the same way every time', async () => {
      for (const title of ['P', 'Q', 'R', 'S']) await repo.insert(incident(title, { openedAt: at(5) }));
      const first = (await repo.list({}, { offset: 0, limit: 10 })).items.map((i) => i.id);
      const paged = [...(await repo.list({}, { offset: 0, limit: 2 })).items, ...(await repo.list({}, { offset: 2, limit: 2 })).items].map((i) => i.id);
      expect(paged).to.deep.equal(first);
      expect(new Set(first).size).to.equal(4);
    });

    it('attaches codes not attached yet, in the given order after the attached ones, and detaches them', async () => {
      const created = await repo.insert(incident('Attach', { cameras: ['C-1', 'C-2'] }));
      const attached = await repo.attach(created.id, ['C-3', 'C-1', 'C-4', 'C-3']);
      expect(attached?.cameras).to.deep.equal(['C-1', 'C-2', 'C-3', 'C-4']);
      expect(attached!.updatedAt.getTime()).to.be.at.least(created.updatedAt.getTime());
      expect((await repo.findById(created.id))?.cameras).to.deep.equal(['C-1', 'C-2', 'C-3', 'C-4']);
      expect((await repo.attach(created.id, ['C-2']))?.cameras).to.deep.equal(['C-1', 'C-2', 'C-3', 'C-4']);
      const detached = await repo.detach(created.id, ['C-2', 'C-4', 'C-9']);
      expect(detached?.cameras).to.deep.equal(['C-1', 'C-3']);
      expect((await repo.attach(created.id, ['C-2']))?.cameras).to.deep.equal(['C-1', 'C-3', 'C-2']);
      expect((await repo.findById(created.id))?.cameras).to.deep.equal(['C-1', 'C-3', 'C-2']);
      for (const id of [...unknownIds, ...malformedIds]) {
        expect(await repo.attach(id, ['C-1']), `attach(${id.slice(0, 20)})`).to.equal(undefined);
        expect(await repo.detach(id, ['C-1']), `detach(${id.slice(0, 20)})`).to.equal(undefined);
      }
    });

    it('closes only once: the second markClosed, and attach or detach on a closed incident, are undefined and change nothing', async () => {
      const created = await repo.insert(incident('Close', { cameras: ['C-1'] }));
      const closed = await repo.markClosed(created.id, closing());
      expect(closed).to.deep.include({ id: created.id, status: 'closed', closedBy: operator, disposition: 'resolved', closingNote: 'arrest made', cameras: ['C-1'] });
      expect(closed?.closedAt).to.deep.equal(at(90));
      const stored = await repo.findById(created.id);
      expect(stored).to.deep.equal(closed);
      expect(await repo.markClosed(created.id, { ...closing('second'), closedBy: other, disposition: 'false_alarm' })).to.equal(undefined);
      expect(await repo.attach(created.id, ['C-2'])).to.equal(undefined);
      expect(await repo.detach(created.id, ['C-1'])).to.equal(undefined);
      expect(await repo.findById(created.id)).to.deep.equal(stored);
      for (const id of [...unknownIds, ...malformedIds]) expect(await repo.markClosed(id, closing()), `markClosed(${id.slice(0, 20)})`).to.equal(undefined);
    });

    it('closes once when two close at the same time (compare-and-set)', async () => {
      const created = await repo.insert(incident('Race'));
      const results = await Promise.all(['first', 'second', 'third'].map((note) => repo.markClosed(created.id, closing(note))));
      const winners = results.filter((result) => result !== undefined);
      expect(winners).to.have.length(1);
      expect((await repo.findById(created.id))?.closingNote).to.equal(winners[0]!.closingNote);
    });
  }
});

contractSuite('grant repository contract', grantAdapters, (current, adapter) => {
  {
    let repo!: GrantRepository;
    beforeEach(() => {
      repo = current();
    });

    it('inserts as active and finds by id; unknown and malformed ids are undefined', async () => {
      const all = await repo.insert(grant('inc-1'));
      expect(all.id).to.match(adapter.idPattern);
      expect(all).to.deep.include({ incidentId: 'inc-1', investigator, scope: 'all', grantedBy: operator, status: 'active' });
      expect(all.createdAt).to.deep.equal(at(0));
      expect(all.endsAt).to.deep.equal(at(240));
      expect(all.updatedAt).to.be.instanceOf(Date);
      for (const key of ['cameras', 'endedAt', 'endedBy', 'endReason']) expect(all).to.not.have.property(key);
      expect(await repo.findById(all.id)).to.deep.equal(all);
      const cameras = ['C-1', 'C-2'];
      const subset = await repo.insert(grant('inc-1', { scope: 'cameras', cameras }));
      cameras.push('C-3');
      expect((await repo.findById(subset.id))?.cameras).to.deep.equal(['C-1', 'C-2']);
      for (const id of [...unknownIds, ...malformedIds]) expect(await repo.findById(id), `findById(${id.slice(0, 20)})`).to.equal(undefined);
    });

    it('lists by incident, by investigator (all or active only) and every active grant, oldest first', async () => {
      const g1 = await repo.insert(grant('inc-1', { createdAt: at(3) }));
      const g2 = await repo.insert(grant('inc-2', { createdAt: at(1) }));
      const g3 = await repo.insert(grant('inc-1', { createdAt: at(2), investigator: other }));
      const g4 = await repo.insert(grant('inc-1', { createdAt: at(4) }));
      await repo.end(g4.id, { status: 'revoked', endedAt: at(5), endedBy: operator, endReason: 'done' });
      const ids = (grants: Array<{ id: string }>) => grants.map((g) => g.id);
      expect(ids(await repo.listByIncident('inc-1'))).to.deep.equal([g3.id, g1.id, g4.id]);
      expect(ids(await repo.listByIncident('inc-2'))).to.deep.equal([g2.id]);
      expect(await repo.listByIncident('inc-9')).to.deep.equal([]);
      expect(ids(await repo.listByInvestigator(investigator.userId, false))).to.deep.equal([g2.id, g1.id, g4.id]);
      expect(ids(await repo.listByInvestigator(investigator.userId, true))).to.deep.equal([g2.id, g1.id]);
      expect(ids(await repo.listByInvestigator(other.userId, true))).to.deep.equal([g3.id]);
      expect(await repo.listByInvestigator('u-nobody', false)).to.deep.equal([]);
      expect(ids(await repo.listActive())).to.deep.equal([g2.id, g3.id, g1.id]);
      expect((await repo.listActive()).every((g) => g.status === 'active')).to.equal(true);
    });

    it('extends only while active', async () => {
      const created = await repo.insert(grant('inc-1'));
      const extended = await repo.extend(created.id, at(300));
      expect(extended).to.deep.include({ id: created.id, status: 'active' });
      expect(extended?.endsAt).to.deep.equal(at(300));
      expect((await repo.findById(created.id))?.endsAt).to.deep.equal(at(300));
      await repo.end(created.id, { status: 'expired', endedAt: at(300), endReason: 'the grant expired' });
      expect(await repo.extend(created.id, at(400))).to.equal(undefined);
      expect((await repo.findById(created.id))?.endsAt).to.deep.equal(at(300));
      for (const id of [...unknownIds, ...malformedIds]) expect(await repo.extend(id, at(400)), `extend(${id.slice(0, 20)})`).to.equal(undefined);
    });

    it('ends only while active, storing the end; a second end is undefined and keeps the first', async () => {
      const revoked = await repo.insert(grant('inc-1'));
      const ended = await repo.end(revoked.id, { status: 'revoked', endedAt: at(30), endedBy: operator, endReason: 'suspect identified' });
      expect(ended).to.deep.include({ id: revoked.id, status: 'revoked', endedBy: operator, endReason: 'suspect identified' });
      expect(ended?.endedAt).to.deep.equal(at(30));
      expect(ended?.endsAt).to.deep.equal(at(240));
      const stored = await repo.findById(revoked.id);
      expect(stored).to.deep.equal(ended);
      expect(await repo.end(revoked.id, { status: 'ended', endedAt: at(60), endedBy: other, endReason: 'the incident closed' })).to.equal(undefined);
      expect(await repo.findById(revoked.id)).to.deep.equal(stored);
      // An expiry has no one who ended it.
      const expired = await repo.end((await repo.insert(grant('inc-1'))).id, { status: 'expired', endedAt: at(240), endReason: 'the grant expired' });
      expect(expired).to.deep.include({ status: 'expired', endReason: 'the grant expired' });
      expect(expired).to.not.have.property('endedBy');
      for (const id of [...unknownIds, ...malformedIds]) {
        expect(await repo.end(id, { status: 'revoked', endedAt: at(1), endReason: 'x' }), `end(${id.slice(0, 20)})`).to.equal(undefined);
      }
    });

    it('ends once when a revocation, an expiry and the incident closing race (compare-and-set)', async () => {
      const created = await repo.insert(grant('inc-1'));
      const results = await Promise.all([
        repo.end(created.id, { status: 'revoked', endedAt: at(10), endedBy: operator, endReason: 'revoked' }),
        repo.end(created.id, { status: 'expired', endedAt: at(10), endReason: 'expired' }),
        repo.end(created.id, { status: 'ended', endedAt: at(10), endedBy: other, endReason: 'closed' }),
        repo.extend(created.id, at(500)),
      ]);
      const ends = results.slice(0, 3).filter((result) => result !== undefined);
      expect(ends).to.have.length(1);
      const stored = await repo.findById(created.id);
      expect(stored?.status).to.equal(ends[0]!.status);
      expect(stored?.endReason).to.equal(ends[0]!.endReason);
      expect(await repo.listActive()).to.deep.equal([]);
    });
  }
});

describe('the mongo incident filter builder (pure)', () => {
  it('builds status, municipality within a scope, and ids (malformed ones dropped)', () => {
    expect(buildIncidentFilter({})).to.deep.equal({});
    expect(buildIncidentFilter({ status: 'open' })).to.deep.equal({ status: 'open' });
    expect(buildIncidentFilter({ municipality: 'Norte' })).to.deep.equal({ $and: [{ municipality: 'Norte' }] });
    expect(buildIncidentFilter({ status: 'closed', municipality: 'Norte', municipalities: ['Norte', 'Sur'] })).to.deep.equal({
      status: 'closed',
      $and: [{ municipality: 'Norte' }, { municipality: { $in: ['Norte', 'Sur'] } }],
    });
    expect(buildIncidentFilter({ municipalities: [] })).to.deep.equal({ $and: [{ municipality: { $in: [] } }] });
    const id = '0123456789abcdef01234567';
    const built = buildIncidentFilter({ ids: [id, 'nope', '{"$gt":""}'] }) as { _id: { $in: ObjectId[] } };
    expect(built._id.$in).to.have.length(1);
    expect(built._id.$in[0]).to.be.instanceOf(ObjectId);
    expect(String(built._id.$in[0])).to.equal(id);
    expect(buildIncidentFilter({ ids: [] })).to.deep.equal({ _id: { $in: [] } });
  });

  it('never lets a value become an operator', () => {
    const built = buildIncidentFilter({ municipality: '{"$ne":null}', municipalities: ['$where'] });
    expect(built).to.deep.equal({ $and: [{ municipality: '{"$ne":null}' }, { municipality: { $in: ['$where'] } }] });
  });
});
