import type { Connection } from 'mongoose';
import type { Collection, Filter, ObjectId } from 'mongodb';
import type { IncidentRepository } from '../../incidents/IncidentRepository.ts';
import type { Actor, Disposition, IncidentFilter, IncidentRecord, NewIncidentRecord } from '../../incidents/IncidentRecord.ts';
import { parseObjectId } from './mongoQueries.ts';

type IncidentDocument = Omit<IncidentRecord, 'id'> & { _id?: ObjectId };

/** Incidents in MongoDB (`incidents`), on MongoStore's connection. */
export class MongoIncidentRepository implements IncidentRepository {
  private constructor(private readonly incidents: Collection<IncidentDocument>) {}

  static async create(connection: Connection): Promise<MongoIncidentRepository> {
    if (!connection.db) throw new Error('MongoIncidentRepository needs an open connection');
    const incidents = connection.db.collection<IncidentDocument>('incidents');
    await incidents.createIndex({ status: 1, municipality: 1, openedAt: -1 }, { name: 'status_municipality_opened' });
    return new MongoIncidentRepository(incidents);
  }

  async insert(incident: NewIncidentRecord): Promise<IncidentRecord> {
    const doc: IncidentDocument = { ...incident, cameras: [...incident.cameras], updatedAt: new Date() };
    const result = await this.incidents.insertOne(doc);
    return fromDocument({ ...doc, _id: result.insertedId });
  }

  async findById(id: string): Promise<IncidentRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    const doc = await this.incidents.findOne({ _id });
    return doc ? fromDocument(doc) : undefined;
  }

  async list(filter: IncidentFilter, page: { offset: number; limit: number }): Promise<{ items: IncidentRecord[]; total: number }> {
    const query = buildIncidentFilter(filter);
    const [docs, total] = await Promise.all([
      this.incidents.find(query, { sort: { openedAt: -1, _id: 1 }, skip: page.offset, limit: page.limit }).toArray(),
      this.incidents.countDocuments(query),
    ]);
    return { items: docs.map(fromDocument), total };
  }

  attach(id: string, codes: string[]): Promise<IncidentRecord | undefined> {
    return this.#updateOpen(id, { $addToSet: { cameras: { $each: codes } }, $set: { updatedAt: new Date() } });
  }

  detach(id: string, codes: string[]): Promise<IncidentRecord | undefined> {
    return this.#updateOpen(id, { $pull: { cameras: { $in: codes } }, $set: { updatedAt: new Date() } });
  }

  markClosed(id: string, closing: { closedBy: Actor; closedAt: Date; disposition: Disposition; closingNote: string }): Promise<IncidentRecord | undefined> {
    return this.#updateOpen(id, { $set: { status: 'closed', ...closing, updatedAt: new Date() } });
  }

  /** The connection is MongoStore's: nothing to release here. */
  async close(): Promise<void> {}

  async #updateOpen(id: string, update: object): Promise<IncidentRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    const doc = await this.incidents.findOneAndUpdate({ _id, status: 'open' }, update, { returnDocument: 'after' });
    return doc ? fromDocument(doc) : undefined;
  }
}

/** The MongoDB filter of an incident list (pure). */
export function buildIncidentFilter(filter: IncidentFilter): Filter<IncidentDocument> {
  const query: Record<string, unknown> = {};
  if (filter.status) query.status = filter.status;
  if (filter.ids) query._id = { $in: filter.ids.map(parseObjectId).filter((id) => id !== undefined) };
  const municipalities: Array<Record<string, unknown>> = [];
  if (filter.municipality !== undefined) municipalities.push({ municipality: filter.municipality });
  if (filter.municipalities !== undefined) municipalities.push({ municipality: { $in: filter.municipalities } });
  if (municipalities.length > 0) query.$and = municipalities;
  return query as Filter<IncidentDocument>;
}

function fromDocument(doc: IncidentDocument): IncidentRecord {
  const { _id, ...rest } = doc;
  return { ...rest, id: String(_id), cameras: [...rest.cameras] };
}
