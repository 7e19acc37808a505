import type { AlarmRepository } from '../../alarms/AlarmRepository.ts';
import type { AlarmDisposition, AlarmFilter, AlarmRecord, NewAlarmRecord } from '../../alarms/AlarmRecord.ts';
import type { Actor } from '../../incidents/IncidentRecord.ts';
import { openDatastore, type Datastore } from './nedb.ts';

type StoredAlarm = Omit<AlarmRecord, 'id'> & { _id: string };

/** Alarms in an nedb file beside the catalog: `<dataDir>/catalog/alarms.db`. */
export class EmbeddedAlarmRepository implements AlarmRepository {
  private constructor(private readonly db: Datastore<StoredAlarm>) {}

  /** `filename` undefined: in memory (tests). */
  static async open(filename?: string): Promise<EmbeddedAlarmRepository> {
    const db = await openDatastore<StoredAlarm>(filename);
    for (const fieldName of ['deviceId', 'status', 'municipality']) await db.ensureIndexAsync({ fieldName });
    if (filename) db.setAutocompactionInterval(10 * 60_000);
    return new EmbeddedAlarmRepository(db);
  }

  async insert(alarm: NewAlarmRecord): Promise<AlarmRecord> {
    // Fields given as undefined are left out (nedb would keep them in memory, not in the file).
    const doc = Object.fromEntries(Object.entries({ ...alarm, location: { ...alarm.location }, updatedAt: new Date() }).filter(([, value]) => value !== undefined));
    return fromStored(await this.db.insertAsync(doc as unknown as StoredAlarm));
  }

  async findById(id: string): Promise<AlarmRecord | undefined> {
    if (!isId(id)) return undefined;
    const doc = await this.db.findOneAsync({ _id: id });
    return doc ? fromStored(doc) : undefined;
  }

  async list(filter: AlarmFilter, page: { offset: number; limit: number }): Promise<{ items: AlarmRecord[]; total: number }> {
    const query = toQuery(filter);
    // nedb reads limit 0 as "no limit": an empty page is answered without reading documents.
    const [docs, total] = await Promise.all([
      page.limit > 0 ? this.db.findAsync(query).sort({ firstAt: -1, _id: 1 }).skip(Math.max(0, page.offset)).limit(page.limit) : Promise.resolve([]),
      this.db.countAsync(query),
    ]);
    return { items: docs.map(fromStored), total };
  }

  async findJoinable(deviceId: string, since: Date): Promise<AlarmRecord | undefined> {
    if (typeof deviceId !== 'string') return undefined;
    const [doc] = await this.db.findAsync({ deviceId, status: { $ne: 'closed' }, lastAt: { $gte: since } }).sort({ firstAt: -1, _id: 1 }).limit(1);
    return doc ? fromStored(doc) : undefined;
  }

  press(id: string, at: Date): Promise<AlarmRecord | undefined> {
    // $max: a press reported late does not move lastAt back.
    return this.#updateWhere(id, { $ne: 'closed' }, { $inc: { presses: 1 }, $max: { lastAt: at }, $set: { updatedAt: new Date() } });
  }

  acknowledge(id: string, by: Actor, at: Date): Promise<AlarmRecord | undefined> {
    return this.#updateWhere(id, 'open', { $set: { status: 'acknowledged', acknowledgedBy: { ...by }, acknowledgedAt: at, updatedAt: new Date() } });
  }

  reannounce(id: string, level: number, at: Date): Promise<AlarmRecord | undefined> {
    return this.#updateWhere(id, 'open', { $set: { announceLevel: level, announcedAt: at, updatedAt: new Date() } });
  }

  markClosed(id: string, closing: { closedBy: Actor; closedAt: Date; disposition: AlarmDisposition; closingNote?: string }): Promise<AlarmRecord | undefined> {
    const $set: Record<string, unknown> = { status: 'closed', closedBy: { ...closing.closedBy }, closedAt: closing.closedAt, disposition: closing.disposition, updatedAt: new Date() };
    if (closing.closingNote !== undefined) $set.closingNote = closing.closingNote;
    return this.#updateWhere(id, { $in: ['open', 'acknowledged'] }, { $set });
  }

  async close(): Promise<void> {
    this.db.stopAutocompaction();
    if (this.db.filename) await this.db.compactDatafileAsync();
  }

  /** The compare-and-set: applies `update` only when the alarm's status matches `status`. */
  async #updateWhere(id: string, status: unknown, update: object): Promise<AlarmRecord | undefined> {
    if (!isId(id)) return undefined;
    const result = await this.db.updateAsync({ _id: id, status }, update, { returnUpdatedDocs: true, multi: false });
    const doc = result.affectedDocuments as StoredAlarm | null;
    return result.numAffected > 0 && doc ? fromStored(doc) : undefined;
  }
}

function isId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0;
}

function toQuery(filter: AlarmFilter): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  if (filter.status) query.status = { $in: filter.status };
  if (filter.deviceId !== undefined) query.deviceId = filter.deviceId;
  if (filter.municipalities) query.municipality = { $in: filter.municipalities };
  if (filter.areas) query.area = { $in: filter.areas };
  if (filter.ids) query._id = { $in: filter.ids };
  return query;
}

function fromStored(doc: StoredAlarm): AlarmRecord {
  const { _id, ...rest } = doc;
  return { ...rest, id: _id, location: { ...rest.location } };
}
