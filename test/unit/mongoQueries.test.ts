import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import type { CameraHealthRecord, CameraPatch, NewCameraRecord } from '../../server/catalog/CameraRecord.ts';
import {
  buildFilter,
  buildFindOptions,
  buildRetire,
  buildSetHealth,
  buildSetStreamSize,
  buildStatusChange,
  buildUpdate,
  cameraIndexes,
  fromDocument,
  isDuplicateKeyError,
  parseObjectId,
  toDocument,
  type StoredCameraDocument,
} from '../../server/store/mongo/mongoQueries.ts';

/** Mexico City's Zócalo: latitude and longitude differ in sign, so a swap is visible. */
const zocalo = { lat: 19.4326, lng: -99.1332 };
const now = new Date('2025-01-02T03:04:05.678Z');

function newCamera(extra: Partial<NewCameraRecord> = {}): NewCameraRecord {
  return {
    code: 'C-1',
    name: 'Camera 1',
    area: 'agency',
    owner: { kind: 'organisation', name: 'SSC' },
    category: 'street',
    municipality: 'Cuauhtémoc',
    mainUrl: { masked: 'rtsp://***@10.0.0.1/main', sealed: 'k:iv:tag:ct' },
    transport: 'tcp',
    status: 'pending',
    alwaysOn: false,
    tags: ['centro'],
    ...extra,
  };
}

function stored(extra: Partial<StoredCameraDocument> = {}): StoredCameraDocument {
  return { ...toDocument(newCamera(), now), _id: new ObjectId('0123456789abcdef01234567'), ...extra };
}

/** Evaluates a `$regex`/`$options` condition the way MongoDB would for these simple patterns. */
function regexOf(condition: unknown): RegExp {
  const { $regex, $options } = condition as { $regex: string; $options: string };
  return new RegExp($regex, $options);
}

describe('mongo catalog queries', () => {
  describe('toDocument / fromDocument', () => {
    it('stores the location as GeoJSON [lng, lat] and reads it back as { lat, lng }', () => {
      const doc = toDocument(newCamera({ location: zocalo }), now);
      expect(doc.location).to.deep.equal({ type: 'Point', coordinates: [-99.1332, 19.4326] });
      expect(fromDocument({ ...doc, _id: new ObjectId() }).location).to.deep.equal(zocalo);
    });

    it('sets createdAt, updatedAt and statusChangedAt to now, adds no id, and leaves absent optionals out', () => {
      const doc = toDocument(newCamera({ owner: { kind: 'person', name: 'Ana', contact: undefined } }), now);
      expect(doc.createdAt).to.equal(now);
      expect(doc.updatedAt).to.equal(now);
      expect(doc.statusChangedAt).to.equal(now);
      for (const key of ['id', '_id', 'location', 'substreamUrl', 'tlsFingerprint', 'engine', 'sharing', 'statusReason', 'retiredAt']) {
        expect(doc).to.not.have.property(key);
      }
      // undefined would be stored as null by the driver
      expect(doc.owner).to.deep.equal({ kind: 'person', name: 'Ana' });
    });

    it('keeps every field of the camera', () => {
      const camera = newCamera({
        area: 'citizen',
        sharing: 'incident-only',
        statusReason: 'new',
        substreamUrl: { masked: 'rtsp://h/sub', sealed: 's' },
        tlsFingerprint: 'AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB',
        engine: 'relay',
        owner: { kind: 'person', name: 'Ana', contact: '555', agreementRef: 'AG-1', enrolledBy: 'op1' },
        location: zocalo,
      });
      const record = fromDocument({ ...toDocument(camera, now), _id: new ObjectId('0123456789abcdef01234567') });
      expect(record).to.deep.equal({
        ...camera,
        id: '0123456789abcdef01234567',
        createdAt: now,
        updatedAt: now,
        statusChangedAt: now,
      });
    });

    it('gives the id as the 24-hex-digit ObjectId string and omits absent (or null) optionals', () => {
      const record = fromDocument(stored({ sharing: null, statusReason: null, tlsFingerprint: null, engine: null } as unknown as Partial<StoredCameraDocument>));
      expect(record.id).to.equal('0123456789abcdef01234567');
      expect(record).to.not.have.property('_id');
      for (const key of ['location', 'substreamUrl', 'tlsFingerprint', 'engine', 'sharing', 'statusReason', 'retiredAt']) {
        expect(record).to.not.have.property(key);
      }
      expect(fromDocument(stored({ retiredAt: now })).retiredAt).to.equal(now);
    });
  });

  describe('buildFilter', () => {
    it('excludes retired cameras by default and includes them on request', () => {
      expect(buildFilter({})).to.deep.equal({ retiredAt: { $exists: false } });
      expect(buildFilter({ includeRetired: true })).to.deep.equal({});
    });

    it('matches area and municipality exactly and status with $in', () => {
      expect(buildFilter({ area: 'citizen', municipality: 'Tlalpan', status: ['approved', 'suspended'] })).to.deep.equal({
        area: 'citizen',
        municipality: 'Tlalpan',
        status: { $in: ['approved', 'suspended'] },
        retiredAt: { $exists: false },
      });
    });

    it('searches name or code with an escaped, case-insensitive pattern', () => {
      const filter = buildFilter({ q: 'a.b*(c', includeRetired: true });
      expect(filter).to.deep.equal({
        $or: [
          { name: { $regex: 'a\\.b\\*\\(c', $options: 'i' } },
          { code: { $regex: 'a\\.b\\*\\(c', $options: 'i' } },
        ],
      });
      const pattern = regexOf(filter.$or![0]!.name);
      expect(pattern.test('xx A.B*(C yy')).to.equal(true);
      expect(pattern.test('axb*(c')).to.equal(false);
      expect(pattern.test('abbbb(c')).to.equal(false);
    });

    it('treats every regex metacharacter literally', () => {
      const q = '^$.*+?()[]{}|\\';
      const pattern = regexOf(buildFilter({ q }).$or![1]!.code);
      expect(pattern.test(`x${q}x`)).to.equal(true);
      expect(pattern.test('anything')).to.equal(false);
    });

    it('ignores an empty search', () => {
      expect(buildFilter({ q: '' })).to.not.have.property('$or');
    });

    it('filters by distance with $geoWithin/$centerSphere: [lng, lat] and the radius in radians', () => {
      expect(buildFilter({ near: { ...zocalo, radiusKm: 6378.1 } })).to.deep.equal({
        retiredAt: { $exists: false },
        location: { $geoWithin: { $centerSphere: [[-99.1332, 19.4326], 1] } },
      });
      const radius = (buildFilter({ near: { ...zocalo, radiusKm: 10 } }).location as { $geoWithin: { $centerSphere: [unknown, number] } })
        .$geoWithin.$centerSphere[1];
      expect(radius).to.be.closeTo(10 / 6378.1, 1e-12);
    });

    it('does not use $near (countDocuments refuses it and it would override the sort by code)', () => {
      expect(JSON.stringify(buildFilter({ near: { ...zocalo, radiusKm: 1 } }))).to.not.match(/\$near/);
    });
  });

  describe('buildFindOptions', () => {
    it('sorts by code ascending and pages with skip and limit', () => {
      expect(buildFindOptions({ offset: 20, limit: 10 })).to.deep.equal({ sort: { code: 1 }, skip: 20, limit: 10 });
      expect(buildFindOptions({ offset: -1, limit: -5 })).to.deep.equal({ sort: { code: 1 }, skip: 0, limit: 0 });
    });
  });

  describe('buildUpdate', () => {
    it('always sets updatedAt, even for an empty patch, and sends no empty $unset', () => {
      expect(buildUpdate({}, now)).to.deep.equal({ $set: { updatedAt: now } });
    });

    it('sets the given fields and the location as GeoJSON [lng, lat]', () => {
      const update = buildUpdate({ name: 'Renamed', tags: ['a', 'b'], alwaysOn: true, location: zocalo }, now);
      expect(update).to.deep.equal({
        $set: { name: 'Renamed', tags: ['a', 'b'], alwaysOn: true, location: { type: 'Point', coordinates: [-99.1332, 19.4326] }, updatedAt: now },
      });
    });

    it('unsets location and substreamUrl given as null', () => {
      const update = buildUpdate({ location: null, substreamUrl: null, name: 'x' }, now);
      expect(update.$unset).to.deep.equal({ location: '', substreamUrl: '' });
      expect(update.$set).to.deep.equal({ name: 'x', updatedAt: now });
    });

    it('sets a pinned tlsFingerprint and unsets it given as null', () => {
      expect(buildUpdate({ tlsFingerprint: 'AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB' }, now)).to.deep.equal({ $set: { tlsFingerprint: 'AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB', updatedAt: now } });
      expect(buildUpdate({ tlsFingerprint: null }, now)).to.deep.equal({ $set: { updatedAt: now }, $unset: { tlsFingerprint: '' } });
    });

    it('stores the engine given on insert, reads it back, and sets it on update', () => {
      expect(toDocument(newCamera({ engine: 'ffmpeg' }), now).engine).to.equal('ffmpeg');
      expect(fromDocument(stored({ engine: 'relay' })).engine).to.equal('relay');
      expect(buildUpdate({ engine: 'relay' }, now)).to.deep.equal({ $set: { engine: 'relay', updatedAt: now } });
      expect(buildUpdate({ engine: 'auto', transport: 'udp' }, now)).to.deep.equal({ $set: { transport: 'udp', engine: 'auto', updatedAt: now } });
    });

    it('sets a new substreamUrl', () => {
      const substreamUrl = { masked: 'rtsp://h/sub', sealed: 's' };
      expect(buildUpdate({ substreamUrl }, now).$set.substreamUrl).to.deep.equal(substreamUrl);
    });

    it('leaves fields given as undefined alone and drops undefined owner fields', () => {
      const update = buildUpdate({ name: undefined, owner: { kind: 'person', name: 'Ana', contact: undefined } }, now);
      expect(update).to.deep.equal({ $set: { owner: { kind: 'person', name: 'Ana' }, updatedAt: now } });
    });

    it('never writes code, status, createdAt, statusChangedAt, retiredAt or _id, whatever the patch carries', () => {
      const smuggled = {
        name: 'ok',
        code: 'X',
        status: 'approved',
        statusReason: 'r',
        createdAt: new Date(0),
        statusChangedAt: new Date(0),
        retiredAt: new Date(0),
        _id: 'x',
        id: 'y',
      } as unknown as CameraPatch;
      const update = buildUpdate(smuggled, now);
      expect(update).to.deep.equal({ $set: { name: 'ok', updatedAt: now } });
    });
  });

  describe('buildStatusChange and buildRetire', () => {
    const id = new ObjectId('0123456789abcdef01234567');

    it('changes status only on a live camera in one of the expected statuses (compare-and-set)', () => {
      expect(buildStatusChange(id, { from: ['pending', 'suspended'], to: 'approved', reason: 'checked' }, now)).to.deep.equal({
        filter: { _id: id, status: { $in: ['pending', 'suspended'] }, retiredAt: { $exists: false } },
        update: { $set: { status: 'approved', statusReason: 'checked', statusChangedAt: now, updatedAt: now } },
      });
    });

    it('retires only a camera not yet retired, so the first retiredAt is kept', () => {
      expect(buildRetire(id, now)).to.deep.equal({
        filter: { _id: id, retiredAt: { $exists: false } },
        update: { $set: { retiredAt: now, updatedAt: now } },
      });
    });
  });

  describe('buildSetHealth and the health read back', () => {
    const id = new ObjectId('0123456789abcdef01234567');
    const busy: CameraHealthRecord = {
      status: 'busy',
      since: now,
      lastSeenAt: now,
      message: 'refused the session: too many sessions (453)',
      stream: { codec: 'h264', width: 1280, height: 720, profileLevelId: '4d001f', fps: 25 },
      redirectedTo: 'rtsp://***@10.0.0.2:554/main',
    };

    it('sets the whole health record, every new field included (locked_out, busy, stream, redirectedTo)', () => {
      expect(buildSetHealth(id, busy)).to.deep.equal({ filter: { _id: id }, update: { $set: { health: busy } } });
      expect(buildSetHealth(id, { status: 'locked_out', since: now })).to.deep.equal({ filter: { _id: id }, update: { $set: { health: { status: 'locked_out', since: now } } } });
    });

    it('leaves undefined health fields out (the driver would store null)', () => {
      const health = { status: 'busy', since: now, message: undefined, stream: { codec: 'h264', width: undefined }, redirectedTo: undefined } as unknown as CameraHealthRecord;
      expect(buildSetHealth(id, health).update).to.deep.equal({ $set: { health: { status: 'busy', since: now, stream: { codec: 'h264' } } } });
    });

    it('reads every health field back, and omits null ones', () => {
      expect(fromDocument(stored({ health: busy })).health).to.deep.equal(busy);
      const nulls = { status: 'locked_out', since: now, lastSeenAt: null, message: null, stream: null, redirectedTo: null } as unknown as CameraHealthRecord;
      expect(fromDocument(stored({ health: nulls })).health).to.deep.equal({ status: 'locked_out', since: now });
    });
  });

  describe('buildSetStreamSize and the sizes read back (#24)', () => {
    const id = new ObjectId('0123456789abcdef01234567');
    it('sets one stream\'s size by its dotted path, leaving the other stream\'s', () => {
      expect(buildSetStreamSize(id, 'sub', { width: 640, height: 360 })).to.deep.equal({ filter: { _id: id }, update: { $set: { 'streamSizes.sub': { width: 640, height: 360 } } } });
      const extra = { width: 1920, height: 1080, codec: 'h264' } as unknown as { width: number; height: number };
      expect(buildSetStreamSize(id, 'main', extra).update).to.deep.equal({ $set: { 'streamSizes.main': { width: 1920, height: 1080 } } });
    });

    it('reads both sizes back, and omits a null one', () => {
      const sizes = { main: { width: 1920, height: 1080 }, sub: { width: 640, height: 360 } };
      expect(fromDocument(stored({ streamSizes: sizes } as unknown as Partial<StoredCameraDocument>)).streamSizes).to.deep.equal(sizes);
      expect(fromDocument(stored({ streamSizes: { main: null, sub: { width: 640, height: 360 } } } as unknown as Partial<StoredCameraDocument>)).streamSizes).to.deep.equal({ sub: { width: 640, height: 360 } });
      expect(fromDocument(stored({})).streamSizes).to.equal(undefined);
    });
  });

  describe('parseObjectId', () => {
    it('parses 24 hex digits', () => {
      const id = parseObjectId('0123456789abcdef01234567');
      expect(id).to.be.instanceOf(ObjectId);
      expect(id?.toHexString()).to.equal('0123456789abcdef01234567');
      expect(parseObjectId('0123456789ABCDEF01234567')?.toHexString()).to.equal('0123456789abcdef01234567');
    });

    it('returns undefined for anything else (not found, never an exception)', () => {
      for (const id of ['nope', '', 'abcdefghijkl', '0123456789abcdef0123456', '0123456789abcdef012345678', '0123456789abcdef0123456g', ' 0123456789abcdef01234567']) {
        expect(parseObjectId(id), id).to.equal(undefined);
      }
      expect(parseObjectId(undefined as unknown as string)).to.equal(undefined);
    });
  });

  describe('isDuplicateKeyError', () => {
    it('is true for code 11000 errors, whatever their class', () => {
      expect(isDuplicateKeyError(Object.assign(new Error('E11000 duplicate key error'), { name: 'MongoServerError', code: 11000 }))).to.equal(true);
      expect(isDuplicateKeyError({ code: 11000, keyPattern: { code: 1 } })).to.equal(true);
    });

    it('is false otherwise', () => {
      expect(isDuplicateKeyError(Object.assign(new Error('x'), { code: 121 }))).to.equal(false);
      expect(isDuplicateKeyError(Object.assign(new Error('x'), { code: '11000' }))).to.equal(false);
      expect(isDuplicateKeyError(new Error('E11000 but no code'))).to.equal(false);
      expect(isDuplicateKeyError(null)).to.equal(false);
      expect(isDuplicateKeyError(11000)).to.equal(false);
    });
  });

  describe('cameraIndexes', () => {
    it('has a unique code index and a 2dsphere location index, plus the filtered fields', () => {
      expect(cameraIndexes.find((index) => index.unique)?.key).to.deep.equal({ code: 1 });
      expect(cameraIndexes.filter((index) => index.unique)).to.have.length(1);
      const keys = cameraIndexes.map((index) => index.key);
      expect(keys).to.deep.include({ location: '2dsphere' });
      for (const field of ['area', 'status', 'municipality', 'retiredAt']) expect(keys).to.deep.include({ [field]: 1 });
      expect(new Set(cameraIndexes.map((index) => index.name)).size).to.equal(cameraIndexes.length);
    });
  });
});
