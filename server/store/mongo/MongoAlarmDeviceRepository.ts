import type { Connection } from 'mongoose';
import type { Collection, Filter, ObjectId } from 'mongodb';
import { AppError } from '../../errors/AppError.ts';
import type { AlarmDeviceRepository } from '../../alarms/AlarmDeviceRepository.ts';
import type { AlarmDeviceFilter, AlarmDeviceOwner, AlarmDevicePatch, AlarmDeviceRecord, Dc09Settings, NewAlarmDeviceRecord } from '../../alarms/AlarmRecord.ts';
import { escapeRegExp } from '../../catalog/geo.ts';
import { isDuplicateKeyError, parseObjectId } from './mongoQueries.ts';

export type AlarmDeviceDocument = Omit<AlarmDeviceRecord, 'id'> & { _id?: ObjectId };

export interface AlarmDeviceUpdate {
  $set: Partial<AlarmDeviceDocument> & { updatedAt: Date };
  /** Present only when the patch removes something (an empty `$unset` is not sent). */
  $unset?: Partial<Record<'supervisionIntervalS' | 'address' | 'dc09', ''>>;
}

/** Alarm devices in MongoDB (`alarmDevices`), on MongoStore's connection, through the pure builders below. */
export class MongoAlarmDeviceRepository implements AlarmDeviceRepository {
  private constructor(private readonly devices: Collection<AlarmDeviceDocument>) {}

  /** Takes its collection from an open connection and creates the indexes (codes unique) before returning. */
  static async create(connection: Connection): Promise<MongoAlarmDeviceRepository> {
    if (!connection.db) throw new Error('MongoAlarmDeviceRepository needs an open connection');
    const devices = connection.db.collection<AlarmDeviceDocument>('alarmDevices');
    await devices.createIndex({ code: 1 }, { unique: true, name: 'code_unique' });
    await devices.createIndex({ 'dc09.account': 1 }, { unique: true, name: 'dc09_account_unique', partialFilterExpression: { 'dc09.account': { $exists: true } } });
    await devices.createIndex({ status: 1, municipality: 1 }, { name: 'status_municipality' });
    return new MongoAlarmDeviceRepository(devices);
  }

  async insert(device: NewAlarmDeviceRecord): Promise<AlarmDeviceRecord> {
    const doc = alarmDeviceToDocument(device, new Date());
    try {
      const result = await this.devices.insertOne(doc);
      return alarmDeviceFromDocument({ ...doc, _id: result.insertedId });
    } catch (error) {
      if (isDuplicateKeyError(error)) throw new AppError('conflict', `alarm device code ${device.code} or DC-09 account ${device.dc09?.account ?? '-'} is already registered`);
      throw error;
    }
  }

  async findById(id: string): Promise<AlarmDeviceRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    const doc = await this.devices.findOne({ _id });
    return doc ? alarmDeviceFromDocument(doc) : undefined;
  }

  async findByCode(code: string): Promise<AlarmDeviceRecord | undefined> {
    if (typeof code !== 'string' || code.length === 0) return undefined;
    const doc = await this.devices.findOne({ code });
    return doc ? alarmDeviceFromDocument(doc) : undefined;
  }

  async findByDc09Account(account: string): Promise<AlarmDeviceRecord | undefined> {
    if (typeof account !== 'string' || account.length === 0) return undefined;
    const doc = await this.devices.findOne({ 'dc09.account': account.toUpperCase() } as Filter<AlarmDeviceDocument>);
    return doc ? alarmDeviceFromDocument(doc) : undefined;
  }

  async list(filter: AlarmDeviceFilter, page: { offset: number; limit: number }): Promise<{ items: AlarmDeviceRecord[]; total: number }> {
    const query = buildAlarmDeviceFilter(filter);
    // MongoDB reads limit 0 as "no limit": an empty page is answered without reading documents.
    const [docs, total] = await Promise.all([
      page.limit > 0 ? this.devices.find(query, { sort: { code: 1 }, skip: Math.max(0, page.offset), limit: page.limit }).toArray() : Promise.resolve([]),
      this.devices.countDocuments(query),
    ]);
    return { items: docs.map(alarmDeviceFromDocument), total };
  }

  async update(id: string, patch: AlarmDevicePatch): Promise<AlarmDeviceRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    try {
      const doc = await this.devices.findOneAndUpdate({ _id }, buildAlarmDeviceUpdate(patch, new Date()), { returnDocument: 'after' });
      return doc ? alarmDeviceFromDocument(doc) : undefined;
    } catch (error) {
      if (isDuplicateKeyError(error)) throw new AppError('conflict', `DC-09 account ${patch.dc09?.account ?? ''} is another device's`);
      throw error;
    }
  }

  async touch(id: string, seenAt: Date): Promise<void> {
    const _id = parseObjectId(id);
    if (!_id) return;
    await this.devices.updateOne({ _id }, buildAlarmDeviceTouch(seenAt));
  }

  /** The connection is MongoStore's: nothing to release here. */
  async close(): Promise<void> {}
}

/** The MongoDB filter of a device list (pure). `supervised: false` asks for the devices without supervision. */
export function buildAlarmDeviceFilter(filter: AlarmDeviceFilter): Filter<AlarmDeviceDocument> {
  const query: Record<string, unknown> = {};
  if (filter.status !== undefined) query.status = { $in: [...filter.status] };
  if (filter.kind !== undefined) query.kind = filter.kind;
  if (filter.area !== undefined) query.area = filter.area;
  if (filter.municipality !== undefined) query.municipality = filter.municipality;
  if (filter.codes !== undefined) query.code = { $in: [...filter.codes] };
  if (filter.supervised !== undefined) query.supervisionIntervalS = { $exists: filter.supervised };
  if (filter.q !== undefined && filter.q !== '') {
    const pattern = escapeRegExp(filter.q);
    query.$or = [
      { code: { $regex: pattern, $options: 'i' } },
      { name: { $regex: pattern, $options: 'i' } },
      { 'owner.name': { $regex: pattern, $options: 'i' } },
    ];
  }
  return query as Filter<AlarmDeviceDocument>;
}

const patchableFields = ['name', 'kind', 'owner', 'location', 'address', 'area', 'municipality', 'cameras', 'supervisionIntervalS', 'status', 'httpKey', 'keyIssuedAt', 'dc09'] as const satisfies ReadonlyArray<keyof AlarmDevicePatch>;

/**
 * The update for a patch (pure). Only the patchable fields are read (code, the timestamps other than
 * updatedAt, lastSeenAt are never written); a field given as undefined is left alone;
 * `unsetSupervision` and `unsetAddress` remove the field, and win over a value given with them.
 */
export function buildAlarmDeviceUpdate(patch: AlarmDevicePatch, now: Date): AlarmDeviceUpdate {
  const $set: AlarmDeviceUpdate['$set'] = { updatedAt: now };
  const $unset: NonNullable<AlarmDeviceUpdate['$unset']> = {};
  const target = $set as Record<string, unknown>;
  for (const field of patchableFields) {
    const value = patch[field];
    if (value === undefined) continue;
    if (field === 'owner') target[field] = cleanOwner(value as AlarmDeviceOwner);
    else if (field === 'cameras') target[field] = [...(value as string[])];
    else if (field === 'location') target[field] = { ...(value as object) };
    else if (field === 'dc09') target[field] = cleanDc09(value as Dc09Settings);
    else target[field] = value;
  }
  if (patch.unsetSupervision) {
    delete target.supervisionIntervalS;
    $unset.supervisionIntervalS = '';
  }
  if (patch.unsetAddress) {
    delete target.address;
    $unset.address = '';
  }
  if (patch.unsetDc09) {
    delete target.dc09;
    $unset.dc09 = '';
  }
  return Object.keys($unset).length > 0 ? { $set, $unset } : { $set };
}

/** The update of `touch` (pure): `$max`, so lastSeenAt only moves forward (and is set when absent). */
export function buildAlarmDeviceTouch(seenAt: Date): { $max: { lastSeenAt: Date } } {
  return { $max: { lastSeenAt: seenAt } };
}

/** The document to insert (pure): absent optional fields are left out (the driver would store null). */
export function alarmDeviceToDocument(device: NewAlarmDeviceRecord, now: Date): AlarmDeviceDocument {
  const doc: AlarmDeviceDocument = {
    code: device.code,
    name: device.name,
    kind: device.kind,
    owner: cleanOwner(device.owner),
    location: { lat: device.location.lat, lng: device.location.lng },
    area: device.area,
    municipality: device.municipality,
    cameras: [...device.cameras],
    status: device.status,
    httpKey: device.httpKey,
    keyIssuedAt: device.keyIssuedAt,
    createdAt: now,
    updatedAt: now,
  };
  if (device.address !== undefined) doc.address = device.address;
  if (device.supervisionIntervalS !== undefined) doc.supervisionIntervalS = device.supervisionIntervalS;
  if (device.dc09 !== undefined) doc.dc09 = cleanDc09(device.dc09);
  return doc;
}

/** The record a stored document stands for (pure); optional fields absent or null are omitted. */
export function alarmDeviceFromDocument(doc: AlarmDeviceDocument): AlarmDeviceRecord {
  const { _id, ...rest } = doc;
  const record: AlarmDeviceRecord = { ...rest, id: String(_id), owner: cleanOwner(rest.owner), location: { lat: rest.location.lat, lng: rest.location.lng }, cameras: [...(rest.cameras ?? [])] };
  for (const key of ['address', 'supervisionIntervalS', 'lastSeenAt', 'dc09'] as const) {
    if (record[key] === null || record[key] === undefined) delete record[key];
  }
  if (record.dc09) record.dc09 = cleanDc09(record.dc09);
  return record;
}

/** The account upper-cased, the key only when there is one (pure). */
function cleanDc09(dc09: Dc09Settings): Dc09Settings {
  return { account: dc09.account.toUpperCase(), encryption: dc09.encryption, ...(dc09.key !== undefined && dc09.key !== null && { key: dc09.key }), encryptionRequired: dc09.encryptionRequired };
}

function cleanOwner(owner: AlarmDeviceOwner): AlarmDeviceOwner {
  const clean: AlarmDeviceOwner = { name: owner.name };
  if (owner.phone !== undefined && owner.phone !== null) clean.phone = owner.phone;
  if (owner.email !== undefined && owner.email !== null) clean.email = owner.email;
  return clean;
}
