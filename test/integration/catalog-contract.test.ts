import { expect } from 'chai';
import { AppError } from '../../server/errors/AppError.ts';
import type { CameraRepository } from '../../server/catalog/CameraRepository.ts';
import type { NewCameraRecord } from '../../server/catalog/CameraRecord.ts';
import { EmbeddedCameraRepository } from '../../server/store/embedded/EmbeddedCameraRepository.ts';
import { MongoStore } from '../../server/store/mongo/MongoStore.ts';
import { closingStore, contractSuite, mongoSkipReason, type ContractAdapter } from '../support/contract.ts';

/** Mexico City's Zócalo, and points at known distances from it. */
const zocalo = { lat: 19.4326, lng: -99.1332 };
const km = (dLatKm: number) => ({ lat: zocalo.lat + dLatKm / 111.32, lng: zocalo.lng });

function camera(code: string, extra: Partial<NewCameraRecord> = {}): NewCameraRecord {
  return {
    code,
    name: `Camera ${code}`,
    area: 'agency',
    owner: { kind: 'organisation', name: 'SSC' },
    category: 'street',
    municipality: 'Cuauhtémoc',
    mainUrl: { masked: `rtsp://10.0.0.1/${code}`, sealed: 'k:iv:tag:ct' },
    transport: 'tcp',
    status: 'pending',
    alwaysOn: false,
    tags: [],
    ...extra,
  };
}

interface AdapterCase extends ContractAdapter<CameraRepository> {
  idPattern: RegExp;
}

const adapters: AdapterCase[] = [
  { name: 'embedded (nedb)', open: () => EmbeddedCameraRepository.open(), idPattern: /^[A-Za-z0-9]{16}$/ },
  {
    name: 'mongo (mongoose)',
    skipReason: mongoSkipReason,
    open: async () => {
      const store = await MongoStore.open(process.env.MONGODB_URI!, { dbName: `c5_contract_${process.pid}_${Date.now()}` });
      return closingStore(store.cameras, store);
    },
    idPattern: /^[0-9a-f]{24}$/,
  },
];

contractSuite('camera repository contract', adapters, (current, adapter) => {
  {
    let repo!: CameraRepository;
    beforeEach(() => {
      repo = current();
    });

    it('inserts and finds by id and by code; ids have the store\'s format; unknown or malformed ids are not found', async () => {
      const created = await repo.insert(camera('C-1', { location: zocalo, tags: ['centro'] }));
      expect(created.id).to.match(adapter.idPattern);
      expect(created.createdAt).to.be.instanceOf(Date);
      expect(created.statusChangedAt).to.be.instanceOf(Date);
      expect(created.location).to.deep.equal(zocalo);
      expect((await repo.findById(created.id))?.code).to.equal('C-1');
      expect((await repo.findByCode('C-1'))?.id).to.equal(created.id);
      expect(await repo.findById('0123456789abcdef01234567')).to.equal(undefined);
      expect(await repo.findById('nope')).to.equal(undefined);
      expect(await repo.findById('')).to.equal(undefined);
      const found = await repo.findById(created.id);
      expect(found).to.not.have.property('retiredAt');
      expect(found).to.not.have.property('substreamUrl');
    });

    it('stores each stream\'s size apart (#24): setting one keeps the other; unknown ids are not found', async () => {
      const created = await repo.insert(camera('SZ-1'));
      expect(created).to.not.have.property('streamSizes');
      await repo.setStreamSize(created.id, 'main', { width: 1920, height: 1080 });
      const both = await repo.setStreamSize(created.id, 'sub', { width: 640, height: 360 });
      expect(both?.streamSizes).to.deep.equal({ main: { width: 1920, height: 1080 }, sub: { width: 640, height: 360 } });
      await repo.setStreamSize(created.id, 'sub', { width: 704, height: 576 });
      expect((await repo.findByCode('SZ-1'))?.streamSizes).to.deep.equal({ main: { width: 1920, height: 1080 }, sub: { width: 704, height: 576 } });
      expect(await repo.setStreamSize('0123456789abcdef01234567', 'main', { width: 1, height: 1 })).to.equal(undefined);
    });

    it('refuses a duplicate code with a conflict, even after the first camera was revoked or retired', async () => {
      const first = await repo.insert(camera('DUP-1'));
      const duplicate = async () => {
        try {
          await repo.insert(camera('DUP-1', { name: 'another' }));
        } catch (error) {
          return error;
        }
        return undefined;
      };
      expect(((await duplicate()) as AppError).code).to.equal('conflict');
      await repo.changeStatus(first.id, { from: ['pending'], to: 'revoked', reason: 'fraud' });
      expect(((await duplicate()) as AppError).code).to.equal('conflict');
      await repo.retire(first.id);
      expect(((await duplicate()) as AppError).code).to.equal('conflict');
      expect(await repo.count({ includeRetired: true })).to.equal(1);
    });

    it('filters by area, status and municipality, sorted by code, paged, with a total', async () => {
      for (let i = 0; i < 12; i++) {
        await repo.insert(
          camera(`F-${String(i).padStart(2, '0')}`, {
            area: i % 2 ? 'citizen' : 'agency',
            status: i % 3 === 0 ? 'approved' : 'pending',
            municipality: i < 6 ? 'Coyoacán' : 'Tlalpan',
          }),
        );
      }
      const page = await repo.list({ area: 'agency' }, { offset: 2, limit: 2 });
      expect(page.total).to.equal(6);
      expect(page.items.map((c) => c.code)).to.deep.equal(['F-04', 'F-06']);
      expect((await repo.list({ status: ['approved'] }, { offset: 0, limit: 50 })).items.map((c) => c.code)).to.deep.equal(['F-00', 'F-03', 'F-06', 'F-09']);
      expect(await repo.count({ municipality: 'Tlalpan', status: ['pending', 'approved'] })).to.equal(6);
      expect(await repo.count({ municipality: 'tlalpan' })).to.equal(0);
    });

    it('searches name or code as a literal case-insensitive substring', async () => {
      await repo.insert(camera('Q-1', { name: 'Banco Azteca (Insurgentes)' }));
      await repo.insert(camera('Q-2', { name: 'Hospital General' }));
      await repo.insert(camera('BANK.7', { name: 'Otra' }));
      const names = async (q: string) => (await repo.list({ q }, { offset: 0, limit: 10 })).items.map((c) => c.code);
      expect(await names('banco')).to.deep.equal(['Q-1']);
      expect(await names('(INSURGENTES)')).to.deep.equal(['Q-1']);
      expect(await names('q-2')).to.deep.equal(['Q-2']);
      expect(await names('.*')).to.deep.equal([]);
      expect(await names('K.7')).to.deep.equal(['BANK.7']);
      expect(await names('k.7')).to.deep.equal(['BANK.7']);
    });

    it('finds cameras near a point within a radius in km, and counts them', async () => {
      await repo.insert(camera('G-0', { location: zocalo }));
      await repo.insert(camera('G-1', { location: km(0.9) }));
      await repo.insert(camera('G-5', { location: km(5) }));
      await repo.insert(camera('G-50', { location: km(50) }));
      await repo.insert(camera('G-none'));
      const near = (radiusKm: number) => repo.list({ near: { ...zocalo, radiusKm } }, { offset: 0, limit: 10 });
      expect((await near(1)).items.map((c) => c.code)).to.deep.equal(['G-0', 'G-1']);
      expect((await near(6)).total).to.equal(3);
      expect(await repo.count({ near: { ...zocalo, radiusKm: 100 } })).to.equal(4);
      expect((await near(0.1)).items.map((c) => c.code)).to.deep.equal(['G-0']);
    });

    it('updates fields, removes optional ones with null, and keeps code and status', async () => {
      const created = await repo.insert(camera('U-1', { location: zocalo, substreamUrl: { masked: 'rtsp://x/sub', sealed: 's' } }));
      const updated = await repo.update(created.id, { name: 'Renamed', location: null, substreamUrl: null, tags: ['a', 'b'] });
      expect(updated?.name).to.equal('Renamed');
      expect(updated?.tags).to.deep.equal(['a', 'b']);
      expect(updated).to.not.have.property('location');
      expect(updated).to.not.have.property('substreamUrl');
      expect(updated?.code).to.equal('U-1');
      expect(updated?.status).to.equal('pending');
      expect(updated!.updatedAt.getTime()).to.be.at.least(created.updatedAt.getTime());
      expect(await repo.update('nope', { name: 'x' })).to.equal(undefined);
    });

    it('changes status only from an expected status (compare-and-set), never on a retired camera', async () => {
      const created = await repo.insert(camera('S-1'));
      expect(await repo.changeStatus(created.id, { from: ['approved'], to: 'suspended', reason: 'x' })).to.equal(undefined);
      const approved = await repo.changeStatus(created.id, { from: ['pending'], to: 'approved', reason: 'checked' });
      expect(approved?.status).to.equal('approved');
      expect(approved?.statusReason).to.equal('checked');
      await repo.retire(created.id);
      expect(await repo.changeStatus(created.id, { from: ['approved'], to: 'suspended', reason: 'x' })).to.equal(undefined);
    });

    it('retires without erasing: hidden by default, listed on request, retiredAt kept on a second retire', async () => {
      const created = await repo.insert(camera('R-1'));
      const retired = await repo.retire(created.id);
      expect(retired?.retiredAt).to.be.instanceOf(Date);
      const again = await repo.retire(created.id);
      expect(again?.retiredAt?.getTime()).to.equal(retired?.retiredAt?.getTime());
      expect(await repo.count({})).to.equal(0);
      expect((await repo.list({ includeRetired: true }, { offset: 0, limit: 5 })).items.map((c) => c.code)).to.deep.equal(['R-1']);
      expect((await repo.findById(created.id))?.retiredAt).to.be.instanceOf(Date);
    });
  }
});
