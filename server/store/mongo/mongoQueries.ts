/**
 * The MongoDB adapter's queries and updates, as pure functions of their inputs.
 *
 * No MongoDB server can run where this is developed, so everything the adapter sends to the
 * server is built here and unit-tested by shape (test/unit/mongoQueries.test.ts);
 * MongoCameraRepository only passes these values to the driver. Nothing here talks to a server.
 */
import { ObjectId } from 'mongodb';
import type { Filter, IndexDescription, UpdateFilter } from 'mongodb';
import type {
  PictureSize,
  StreamSizes,
  CameraFilter,
  CameraHealthRecord,
  CameraOwner,
  CameraPatch,
  CameraRecord,
  GeoPoint,
  NewCameraRecord,
  Page,
  SealedUrl,
  StatusChange,
} from '../../catalog/CameraRecord.ts';
import { escapeRegExp, radiusInRadians } from '../../catalog/geo.ts';

/** A location as MongoDB stores it for a 2dsphere index: GeoJSON, longitude first. */
export interface GeoJsonPoint {
  type: 'Point';
  coordinates: [lng: number, lat: number];
}

/** A camera as stored in the collection (`_id` is added by the driver on insert; location as GeoJSON). */
export type CameraDocument = Omit<CameraRecord, 'id' | 'location'> & { _id?: ObjectId; location?: GeoJsonPoint };

/** A document as read back: `_id` always present. */
export type StoredCameraDocument = CameraDocument & { _id: ObjectId };

export interface CameraUpdate {
  $set: Partial<CameraDocument> & { updatedAt: Date };
  /** Present only when the patch removes something (an empty `$unset` is not sent). */
  $unset?: Partial<Record<'location' | 'substreamUrl' | 'tlsFingerprint', ''>>;
}

/** A conditional update: applied to the document matching `filter`, if any. */
export interface ConditionalUpdate {
  filter: Filter<CameraDocument>;
  update: UpdateFilter<CameraDocument>;
}

/** The collection's indexes, created by MongoCameraRepository.create() before it returns. */
export const cameraIndexes: readonly IndexDescription[] = [
  /** Codes are unique forever: retired documents stay, so the index keeps refusing their codes. */
  { key: { code: 1 }, name: 'code_unique', unique: true },
  { key: { area: 1 }, name: 'area' },
  { key: { status: 1 }, name: 'status' },
  { key: { municipality: 1 }, name: 'municipality' },
  /** 2dsphere indexes skip documents without the field, so cameras without a location are fine. */
  { key: { location: '2dsphere' }, name: 'location_2dsphere' },
  { key: { retiredAt: 1 }, name: 'retiredAt' },
];

/** The order of every list: by code, ascending. */
export const listSort = { code: 1 } as const;

const objectIdPattern = /^[0-9a-fA-F]{24}$/;

/** The ObjectId an id names, or undefined when it is not a 24-hex-digit string (not found, not an error). */
export function parseObjectId(id: string): ObjectId | undefined {
  return typeof id === 'string' && objectIdPattern.test(id) ? new ObjectId(id) : undefined;
}

/**
 * True for a duplicate-key failure (E11000). Checked by code, not by class: mongoose carries its own
 * copy of the driver, whose MongoServerError is not the one `import 'mongodb'` gives.
 */
export function isDuplicateKeyError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === 11000 || code === 11001;
}

export function toGeoJson(point: GeoPoint): GeoJsonPoint {
  return { type: 'Point', coordinates: [point.lng, point.lat] };
}

export function fromGeoJson(point: GeoJsonPoint): GeoPoint {
  const [lng, lat] = point.coordinates;
  return { lat, lng };
}

/** The document to insert for a new camera; createdAt, updatedAt and statusChangedAt are `now`. */
export function toDocument(camera: NewCameraRecord, now: Date): CameraDocument {
  const doc: CameraDocument = {
    code: camera.code,
    name: camera.name,
    area: camera.area,
    owner: cleanOwner(camera.owner),
    category: camera.category,
    municipality: camera.municipality,
    mainUrl: cleanSealedUrl(camera.mainUrl),
    transport: camera.transport,
    status: camera.status,
    statusChangedAt: now,
    alwaysOn: camera.alwaysOn,
    tags: [...camera.tags],
    createdAt: now,
    updatedAt: now,
  };
  // Optional fields are left out when absent: the driver would store `undefined` as null.
  if (camera.location) doc.location = toGeoJson(camera.location);
  if (camera.substreamUrl) doc.substreamUrl = cleanSealedUrl(camera.substreamUrl);
  if (camera.tlsFingerprint !== undefined) doc.tlsFingerprint = camera.tlsFingerprint;
  if (camera.engine !== undefined) doc.engine = camera.engine;
  if (camera.sharing !== undefined) doc.sharing = camera.sharing;
  if (camera.statusReason !== undefined) doc.statusReason = camera.statusReason;
  return doc;
}

/** The record a stored document stands for. Optional fields absent (or null) in the document are omitted. */
export function fromDocument(doc: StoredCameraDocument): CameraRecord {
  const record: CameraRecord = {
    id: doc._id.toHexString(),
    code: doc.code,
    name: doc.name,
    area: doc.area,
    owner: cleanOwner(doc.owner),
    category: doc.category,
    municipality: doc.municipality,
    mainUrl: cleanSealedUrl(doc.mainUrl),
    transport: doc.transport,
    status: doc.status,
    statusChangedAt: doc.statusChangedAt,
    alwaysOn: doc.alwaysOn,
    tags: [...(doc.tags ?? [])],
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
  if (isPresent(doc.location)) record.location = fromGeoJson(doc.location);
  if (isPresent(doc.substreamUrl)) record.substreamUrl = cleanSealedUrl(doc.substreamUrl);
  if (isPresent(doc.tlsFingerprint)) record.tlsFingerprint = doc.tlsFingerprint;
  if (isPresent(doc.engine)) record.engine = doc.engine;
  if (isPresent(doc.sharing)) record.sharing = doc.sharing;
  if (isPresent(doc.statusReason)) record.statusReason = doc.statusReason;
  if (isPresent(doc.retiredAt)) record.retiredAt = doc.retiredAt;
  if (isPresent(doc.health)) record.health = cleanHealth(doc.health);
  if (isPresent(doc.streamSizes)) {
    const sizes: StreamSizes = {};
    for (const stream of ['main', 'sub'] as const) {
      const size = doc.streamSizes[stream];
      if (isPresent(size)) sizes[stream] = { width: size.width, height: size.height };
    }
    record.streamSizes = sizes;
  }
  return record;
}

/** The query for a list or count. */
export function buildFilter(filter: CameraFilter): Filter<CameraDocument> {
  const query: Filter<CameraDocument> = {};
  if (filter.area !== undefined) query.area = filter.area;
  if (filter.status !== undefined) query.status = { $in: [...filter.status] };
  if (filter.municipality !== undefined) query.municipality = filter.municipality;
  if (!filter.includeRetired) query.retiredAt = { $exists: false };
  if (filter.health === 'unknown') query.health = { $exists: false };
  else if (filter.health !== undefined) (query as Record<string, unknown>)['health.status'] = filter.health;
  if (filter.codes !== undefined) query.code = { $in: [...filter.codes] };
  const all: Array<Filter<CameraDocument>> = [];
  const scope: Array<Filter<CameraDocument>> = [];
  if (filter.areas !== undefined) scope.push({ area: { $in: [...filter.areas] } });
  if (filter.municipalities !== undefined) scope.push({ municipality: { $in: [...filter.municipalities] } });
  if (filter.citizenSharing !== undefined) scope.push({ $or: [{ area: { $ne: 'citizen' } }, { sharing: filter.citizenSharing }] });
  if (filter.orCameras !== undefined) {
    // The scope, or one of these cameras: with an empty scope everything matches already.
    const extra: Filter<CameraDocument> = { code: { $in: [...filter.orCameras.codes] }, ...(filter.orCameras.area !== undefined && { area: filter.orCameras.area }) };
    if (scope.length > 0) all.push({ $or: [{ $and: scope }, extra] });
  } else {
    all.push(...scope);
  }
  if (all.length > 0) query.$and = all;
  if (filter.q !== undefined && filter.q !== '') {
    const pattern = escapeRegExp(filter.q);
    query.$or = [
      { name: { $regex: pattern, $options: 'i' } },
      { code: { $regex: pattern, $options: 'i' } },
    ];
  }
  if (filter.near !== undefined) {
    const { lat, lng, radiusKm } = filter.near;
    // $geoWithin rather than $near: countDocuments accepts it and the results keep the code order.
    query.location = { $geoWithin: { $centerSphere: [[lng, lat], radiusInRadians(radiusKm)] } };
  }
  return query;
}

/** Stores one stream's resolution, leaving the other stream's. */
export function buildSetStreamSize(id: ObjectId, stream: keyof StreamSizes, size: PictureSize): ConditionalUpdate {
  return { filter: { _id: id }, update: { $set: { [`streamSizes.${stream}`]: { width: size.width, height: size.height } } } };
}

/**
 * Stores a health verdict (the caller writes only changes): the whole record, replacing the last one,
 * so a detail the new verdict lacks (a stream, a redirect) does not linger. Undefined fields are left
 * out (the driver would store them as null).
 */
export function buildSetHealth(id: ObjectId, health: CameraHealthRecord): ConditionalUpdate {
  return { filter: { _id: id }, update: { $set: { health: cleanHealth(health) } } };
}

/**
 * The find options for one page, sorted by code. The caller must not send a page with limit 0:
 * MongoDB reads `limit: 0` as "no limit" (MongoCameraRepository answers such a page itself).
 * (Typed as a plain object, not the driver's FindOptions: mongoose carries its own copy of the
 * driver, whose option types do not accept the top-level package's.)
 */
export function buildFindOptions(page: Page): { sort: typeof listSort; skip: number; limit: number } {
  return { sort: listSort, skip: Math.max(0, page.offset), limit: Math.max(0, page.limit) };
}

const patchableFields = ['name', 'owner', 'category', 'municipality', 'mainUrl', 'transport', 'engine', 'sharing', 'alwaysOn', 'tags'] as const;

/**
 * The update for a PATCH. Only the patchable fields are read (code, status and the timestamps
 * other than updatedAt are never written, whatever the object carries); a field given as
 * undefined is left alone; `location: null`, `substreamUrl: null` and `tlsFingerprint: null` remove the field.
 */
export function buildUpdate(patch: CameraPatch, now: Date): CameraUpdate {
  const $set: CameraUpdate['$set'] = { updatedAt: now };
  const $unset: NonNullable<CameraUpdate['$unset']> = {};
  const target = $set as Record<string, unknown>;
  for (const field of patchableFields) {
    const value = patch[field];
    if (value === undefined) continue;
    if (field === 'owner') target[field] = cleanOwner(value as CameraOwner);
    else if (field === 'mainUrl') target[field] = cleanSealedUrl(value as SealedUrl);
    else if (field === 'tags') target[field] = [...(value as string[])];
    else target[field] = value;
  }
  if (patch.location === null) $unset.location = '';
  else if (patch.location !== undefined) $set.location = toGeoJson(patch.location);
  if (patch.substreamUrl === null) $unset.substreamUrl = '';
  else if (patch.substreamUrl !== undefined) $set.substreamUrl = cleanSealedUrl(patch.substreamUrl);
  if (patch.tlsFingerprint === null) $unset.tlsFingerprint = '';
  else if (patch.tlsFingerprint !== undefined) $set.tlsFingerprint = patch.tlsFingerprint;
  return Object.keys($unset).length > 0 ? { $set, $unset } : { $set };
}

/** The compare-and-set for a status change: matches only a live camera whose status is one of `from`. */
export function buildStatusChange(id: ObjectId, change: StatusChange, now: Date): ConditionalUpdate {
  return {
    filter: { _id: id, status: { $in: [...change.from] }, retiredAt: { $exists: false } },
    update: {
      $set: { status: change.to, statusReason: change.reason, statusChangedAt: now, updatedAt: now },
    },
  };
}

/** Retirement: matches only a camera not yet retired, so the first retiredAt is kept. */
export function buildRetire(id: ObjectId, now: Date): ConditionalUpdate {
  return {
    filter: { _id: id, retiredAt: { $exists: false } },
    update: { $set: { retiredAt: now, updatedAt: now } },
  };
}

/** Neither undefined nor null (MongoDB gives null for a field stored as such). */
export function isPresent<T>(value: T | null | undefined): value is T {
  return value !== undefined && value !== null;
}

/** A copy of an owner without absent (undefined or null) optional fields. */
function cleanOwner(owner: CameraOwner): CameraOwner {
  const clean: CameraOwner = { kind: owner.kind, name: owner.name };
  if (isPresent(owner.contact)) clean.contact = owner.contact;
  if (isPresent(owner.agreementRef)) clean.agreementRef = owner.agreementRef;
  if (isPresent(owner.enrolledBy)) clean.enrolledBy = owner.enrolledBy;
  return clean;
}

/** A health record with its absent (or null) optional fields, and those of its stream, left out. */
function cleanHealth(health: CameraHealthRecord): CameraHealthRecord {
  const clean: CameraHealthRecord = { status: health.status, since: health.since };
  if (isPresent(health.lastSeenAt)) clean.lastSeenAt = health.lastSeenAt;
  if (isPresent(health.message)) clean.message = health.message;
  if (isPresent(health.stream)) {
    const { codec, width, height, profileLevelId, fps } = health.stream;
    clean.stream = { codec };
    if (isPresent(width)) clean.stream.width = width;
    if (isPresent(height)) clean.stream.height = height;
    if (isPresent(profileLevelId)) clean.stream.profileLevelId = profileLevelId;
    if (isPresent(fps)) clean.stream.fps = fps;
  }
  if (isPresent(health.redirectedTo)) clean.redirectedTo = health.redirectedTo;
  return clean;
}

function cleanSealedUrl(url: SealedUrl): SealedUrl {
  return { masked: url.masked, sealed: url.sealed };
}
