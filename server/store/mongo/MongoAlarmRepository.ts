import type { Connection } from 'mongoose';
import type { Collection, Filter, ObjectId, UpdateFilter } from 'mongodb';
import type { AlarmRepository } from '../../alarms/AlarmRepository.ts';
import type { AlarmDisposition, AlarmFilter, AlarmRecord, NewAlarmRecord } from '../../alarms/AlarmRecord.ts';
import type { Actor } from '../../incidents/IncidentRecord.ts';
import { parseObjectId } from './mongoQueries.ts';

export type AlarmDocument = Omit<AlarmRecord, 'id'> & { _id?: ObjectId };

/** A compare-and-set: `update` applies only to the document matching `filter` (its id and a status). */
export interface AlarmChange {
  filter: Filter<AlarmDocument>;
  update: UpdateFilter<AlarmDocument>;
}

export type AlarmClosing = { closedBy: Actor; closedAt: Date; disposition: AlarmDisposition; closingNote?: string };

/** The order of every list: newest first, then by id so equal times keep one order. */
export const alarmListSort = { firstAt: -1, _id: 1 } as const;

/** Alarms in MongoDB (`alarms`), on MongoStore's connection, through the pure builders below. */
export class MongoAlarmRepository implements AlarmRepository {
  private constructor(private readonly alarms: Collection<AlarmDocument>) {}

  static async create(connection: Connection): Promise<MongoAlarmRepository> {
    if (!connection.db) throw new Error('MongoAlarmRepository needs an open connection');
    const alarms = connection.db.collection<AlarmDocument>('alarms');
    await alarms.createIndex({ deviceId: 1, status: 1, lastAt: -1 }, { name: 'device_status_last' });
    await alarms.createIndex({ status: 1, municipality: 1, firstAt: -1 }, { name: 'status_municipality_first' });
    return new MongoAlarmRepository(alarms);
  }

  async insert(alarm: NewAlarmRecord): Promise<AlarmRecord> {
    const doc = alarmToDocument(alarm, new Date());
    const result = await this.alarms.insertOne(doc);
    return alarmFromDocument({ ...doc, _id: result.insertedId });
  }

  async findById(id: string): Promise<AlarmRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    const doc = await this.alarms.findOne({ _id });
    return doc ? alarmFromDocument(doc) : undefined;
  }

  async list(filter: AlarmFilter, page: { offset: number; limit: number }): Promise<{ items: AlarmRecord[]; total: number }> {
    const query = buildAlarmFilter(filter);
    // MongoDB reads limit 0 as "no limit": an empty page is answered without reading documents.
    const [docs, total] = await Promise.all([
      page.limit > 0 ? this.alarms.find(query, { sort: alarmListSort, skip: Math.max(0, page.offset), limit: page.limit }).toArray() : Promise.resolve([]),
      this.alarms.countDocuments(query),
    ]);
    return { items: docs.map(alarmFromDocument), total };
  }

  async findJoinable(deviceId: string, since: Date): Promise<AlarmRecord | undefined> {
    if (typeof deviceId !== 'string') return undefined;
    const doc = await this.alarms.findOne(buildJoinableFilter(deviceId, since), { sort: alarmListSort });
    return doc ? alarmFromDocument(doc) : undefined;
  }

  press(id: string, at: Date): Promise<AlarmRecord | undefined> {
    return this.#change(id, (_id) => buildPress(_id, at, new Date()));
  }

  acknowledge(id: string, by: Actor, at: Date): Promise<AlarmRecord | undefined> {
    return this.#change(id, (_id) => buildAcknowledge(_id, by, at, new Date()));
  }

  reannounce(id: string, level: number, at: Date): Promise<AlarmRecord | undefined> {
    return this.#change(id, (_id) => buildReannounce(_id, level, at, new Date()));
  }

  markClosed(id: string, closing: AlarmClosing): Promise<AlarmRecord | undefined> {
    return this.#change(id, (_id) => buildMarkClosed(_id, closing, new Date()));
  }

  /** The connection is MongoStore's: nothing to release here. */
  async close(): Promise<void> {}

  async #change(id: string, build: (_id: ObjectId) => AlarmChange): Promise<AlarmRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    const { filter, update } = build(_id);
    const doc = await this.alarms.findOneAndUpdate(filter, update, { returnDocument: 'after' });
    return doc ? alarmFromDocument(doc) : undefined;
  }
}

/** The MongoDB filter of an alarm list (pure); malformed ids are dropped (they name nothing). */
export function buildAlarmFilter(filter: AlarmFilter): Filter<AlarmDocument> {
  const query: Record<string, unknown> = {};
  if (filter.status !== undefined) query.status = { $in: [...filter.status] };
  if (filter.deviceId !== undefined) query.deviceId = filter.deviceId;
  if (filter.municipalities !== undefined) query.municipality = { $in: [...filter.municipalities] };
  if (filter.areas !== undefined) query.area = { $in: [...filter.areas] };
  if (filter.ids !== undefined) query._id = { $in: filter.ids.map(parseObjectId).filter((id) => id !== undefined) };
  return query as Filter<AlarmDocument>;
}

/** The device's alarms not closed whose last press is at or after `since` (pure; sorted by alarmListSort). */
export function buildJoinableFilter(deviceId: string, since: Date): Filter<AlarmDocument> {
  return { deviceId, status: { $ne: 'closed' }, lastAt: { $gte: since } };
}

/** One more press while not closed; `$max` so a press reported late does not move lastAt back. */
export function buildPress(_id: ObjectId, at: Date, now: Date): AlarmChange {
  return { filter: { _id, status: { $ne: 'closed' } }, update: { $inc: { presses: 1 }, $max: { lastAt: at }, $set: { updatedAt: now } } };
}

/** open -> acknowledged. */
export function buildAcknowledge(_id: ObjectId, by: Actor, at: Date, now: Date): AlarmChange {
  return { filter: { _id, status: 'open' }, update: { $set: { status: 'acknowledged', acknowledgedBy: { userId: by.userId, username: by.username }, acknowledgedAt: at, updatedAt: now } } };
}

/** A new announce level, only while open. */
export function buildReannounce(_id: ObjectId, level: number, at: Date, now: Date): AlarmChange {
  return { filter: { _id, status: 'open' }, update: { $set: { announceLevel: level, announcedAt: at, updatedAt: now } } };
}

/** open or acknowledged -> closed; a closing note given as undefined is left out. */
export function buildMarkClosed(_id: ObjectId, closing: AlarmClosing, now: Date): AlarmChange {
  const $set: Partial<AlarmDocument> = {
    status: 'closed',
    closedBy: { userId: closing.closedBy.userId, username: closing.closedBy.username },
    closedAt: closing.closedAt,
    disposition: closing.disposition,
    updatedAt: now,
  };
  if (closing.closingNote !== undefined) $set.closingNote = closing.closingNote;
  return { filter: { _id, status: { $in: ['open', 'acknowledged'] } }, update: { $set } };
}

/**
 * The document to insert (pure): every field of the new alarm (so an optional field added to the
 * record is stored without a change here), those given as undefined left out (the driver would
 * store null), the location copied.
 */
export function alarmToDocument(alarm: NewAlarmRecord, now: Date): AlarmDocument {
  const present = Object.entries(alarm).filter(([, value]) => value !== undefined);
  return { ...(Object.fromEntries(present) as unknown as NewAlarmRecord), location: { lat: alarm.location.lat, lng: alarm.location.lng }, updatedAt: now };
}

/** The record a stored document stands for (pure); fields absent or null in the document are omitted. */
export function alarmFromDocument(doc: AlarmDocument): AlarmRecord {
  const { _id, ...rest } = doc;
  const present = Object.entries(rest).filter(([, value]) => value !== undefined && value !== null);
  return { ...(Object.fromEntries(present) as unknown as Omit<AlarmRecord, 'id'>), id: String(_id), location: { lat: rest.location.lat, lng: rest.location.lng } };
}
