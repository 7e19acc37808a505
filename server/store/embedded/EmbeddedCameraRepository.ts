import { AppError } from '../../errors/AppError.ts';
import { openDatastore, type Datastore } from './nedb.ts';
import type { CameraRepository } from '../../catalog/CameraRepository.ts';
import type { CameraHealthRecord, CameraFilter, PictureSize, StreamSizes, CameraListResult, CameraPatch, CameraRecord, GeoPoint, NewCameraRecord, Page, StatusChange } from '../../catalog/CameraRecord.ts';
import { distanceKm, escapeRegExp } from '../../catalog/geo.ts';



interface GeoJsonPoint {
  type: 'Point';
  coordinates: [number, number];
}

type StoredCamera = Omit<CameraRecord, 'id' | 'location'> & { _id: string; location?: GeoJsonPoint };

/**
 * The catalog in nedb files (Mongo-style queries, no server): the default when MONGODB_URI is
 * unset. Locations are stored as GeoJSON [lng, lat] like in MongoDB; distances are computed here.
 */
export class EmbeddedCameraRepository implements CameraRepository {
  private constructor(private readonly db: Datastore<StoredCamera>) {}

  /** `filename` undefined: in memory (tests). */
  static async open(filename?: string): Promise<EmbeddedCameraRepository> {
    const db = await openDatastore<StoredCamera>(filename);
    await db.ensureIndexAsync({ fieldName: 'code', unique: true });
    for (const fieldName of ['area', 'status', 'municipality']) await db.ensureIndexAsync({ fieldName });
    if (filename) db.setAutocompactionInterval(10 * 60_000);
    return new EmbeddedCameraRepository(db);
  }

  async insert(camera: NewCameraRecord): Promise<CameraRecord> {
    const now = new Date();
    const { location, ...rest } = camera;
    const doc = { ...rest, ...(location && { location: toGeoJson(location) }), createdAt: now, updatedAt: now, statusChangedAt: now };
    try {
      return fromStored(await this.db.insertAsync(doc as StoredCamera));
    } catch (error) {
      if ((error as { errorType?: string }).errorType === 'uniqueViolated') {
        throw new AppError('conflict', `camera code ${camera.code} is already registered (codes are never reused)`);
      }
      throw error;
    }
  }

  async findById(id: string): Promise<CameraRecord | undefined> {
    if (typeof id !== 'string' || id.length === 0) return undefined;
    const doc = await this.db.findOneAsync({ _id: id });
    return doc ? fromStored(doc) : undefined;
  }

  async findByCode(code: string): Promise<CameraRecord | undefined> {
    const doc = await this.db.findOneAsync({ code });
    return doc ? fromStored(doc) : undefined;
  }

  async list(filter: CameraFilter, page: Page): Promise<CameraListResult> {
    const query = toQuery(filter);
    if (!filter.near) {
      const [docs, total] = await Promise.all([
        this.db.findAsync(query).sort({ code: 1 }).skip(page.offset).limit(page.limit),
        this.db.countAsync(query),
      ]);
      return { items: docs.map(fromStored), total };
    }
    const matching = (await this.db.findAsync(query).sort({ code: 1 })).filter((doc: StoredCamera) => isNear(doc, filter.near!));
    return { items: matching.slice(page.offset, page.offset + page.limit).map(fromStored), total: matching.length };
  }

  async count(filter: CameraFilter): Promise<number> {
    const query = toQuery(filter);
    if (!filter.near) return this.db.countAsync(query);
    return (await this.db.findAsync(query)).filter((doc: StoredCamera) => isNear(doc, filter.near!)).length;
  }

  async municipalities(filter: CameraFilter): Promise<string[]> {
    const query = toQuery(filter);
    const docs = await this.db.findAsync(query);
    const matching = filter.near ? docs.filter((doc: StoredCamera) => isNear(doc, filter.near!)) : docs;
    return [...new Set(matching.map((doc: StoredCamera) => doc.municipality))].sort();
  }

  async setHealth(id: string, health: CameraHealthRecord): Promise<CameraRecord | undefined> {
    return this.#updateOne({ _id: id }, { $set: { health } });
  }

  async setStreamSize(id: string, stream: keyof StreamSizes, size: PictureSize): Promise<CameraRecord | undefined> {
    return this.#updateOne({ _id: id }, { $set: { [`streamSizes.${stream}`]: { width: size.width, height: size.height } } });
  }

  async findByCodes(codes: string[]): Promise<CameraRecord[]> {
    return (await this.db.findAsync({ code: { $in: codes } })).map(fromStored);
  }

  async update(id: string, patch: CameraPatch): Promise<CameraRecord | undefined> {
    const $set: Record<string, unknown> = { updatedAt: new Date() };
    const $unset: Record<string, true> = {};
    for (const key of PATCHABLE) {
      const value = patch[key];
      if (value === undefined) continue;
      if (value === null) $unset[key] = true;
      else $set[key] = key === 'location' ? toGeoJson(value as GeoPoint) : value;
    }
    const update = Object.keys($unset).length > 0 ? { $set, $unset } : { $set };
    return this.#updateOne({ _id: id }, update);
  }

  async changeStatus(id: string, change: StatusChange): Promise<CameraRecord | undefined> {
    const now = new Date();
    return this.#updateOne(
      { _id: id, status: { $in: change.from }, retiredAt: { $exists: false } },
      { $set: { status: change.to, statusReason: change.reason, statusChangedAt: now, updatedAt: now } },
    );
  }

  async retire(id: string): Promise<CameraRecord | undefined> {
    const now = new Date();
    const retired = await this.#updateOne({ _id: id, retiredAt: { $exists: false } }, { $set: { retiredAt: now, updatedAt: now } });
    return retired ?? this.findById(id);
  }

  async close(): Promise<void> {
    this.db.stopAutocompaction();
    if (this.db.filename) await this.db.compactDatafileAsync();
  }

  async #updateOne(query: Record<string, unknown>, update: Record<string, unknown>): Promise<CameraRecord | undefined> {
    const result = await this.db.updateAsync(query, update, { returnUpdatedDocs: true, multi: false });
    const doc = result.affectedDocuments as StoredCamera | null;
    return result.numAffected > 0 && doc ? fromStored(doc) : undefined;
  }
}

/** Only these fields change through update(), as in the mongo adapter's buildUpdate. */
const PATCHABLE = ['name', 'owner', 'category', 'municipality', 'location', 'mainUrl', 'substreamUrl', 'transport', 'engine', 'tlsFingerprint', 'sharing', 'alwaysOn', 'tags'] as const satisfies ReadonlyArray<keyof CameraPatch>;

function toQuery(filter: CameraFilter): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  if (filter.area) query.area = filter.area;
  if (filter.status) query.status = { $in: filter.status };
  if (filter.municipality) query.municipality = filter.municipality;
  if (filter.health === 'unknown') query.health = { $exists: false };
  else if (filter.health) query['health.status'] = filter.health;
  if (filter.codes) query.code = { $in: filter.codes };
  if (!filter.includeRetired) query.retiredAt = { $exists: false };
  const all: Array<Record<string, unknown>> = [];
  const scope: Array<Record<string, unknown>> = [];
  if (filter.areas) scope.push({ area: { $in: filter.areas } });
  if (filter.municipalities) scope.push({ municipality: { $in: filter.municipalities } });
  if (filter.citizenSharing) scope.push({ $or: [{ area: { $ne: 'citizen' } }, { sharing: filter.citizenSharing }] });
  if (filter.orCameras) {
    const extra = { code: { $in: filter.orCameras.codes }, ...(filter.orCameras.area && { area: filter.orCameras.area }) };
    // The scope, or one of these cameras: with an empty scope everything matches already.
    if (scope.length > 0) all.push({ $or: [{ $and: scope }, extra] });
  } else {
    all.push(...scope);
  }
  if (filter.q) {
    const pattern = new RegExp(escapeRegExp(filter.q), 'i');
    all.push({ $or: [{ name: { $regex: pattern } }, { code: { $regex: pattern } }] });
  }
  if (all.length > 0) query.$and = all;
  return query;
}

function isNear(doc: StoredCamera, near: NonNullable<CameraFilter['near']>): boolean {
  if (!doc.location) return false;
  const [lng, lat] = doc.location.coordinates;
  return distanceKm({ lat, lng }, near) <= near.radiusKm;
}

function toGeoJson(point: GeoPoint): GeoJsonPoint {
  return { type: 'Point', coordinates: [point.lng, point.lat] };
}

function fromStored(doc: StoredCamera): CameraRecord {
  const { _id, location, ...rest } = doc as StoredCamera & { [key: string]: unknown };
  const record = { ...rest, id: _id } as CameraRecord;
  if (location) record.location = { lng: location.coordinates[0], lat: location.coordinates[1] };
  return record;
}
