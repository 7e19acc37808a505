import type { Connection } from 'mongoose';
import type { Collection, ObjectId } from 'mongodb';
import type { GrantRepository } from '../../incidents/GrantRepository.ts';
import type { GrantEnd, GrantRecord, NewGrantRecord } from '../../incidents/IncidentRecord.ts';
import { parseObjectId } from './mongoQueries.ts';

type GrantDocument = Omit<GrantRecord, 'id'> & { _id?: ObjectId };

/** Grants in MongoDB (`grants`), on MongoStore's connection. */
export class MongoGrantRepository implements GrantRepository {
  private constructor(private readonly grants: Collection<GrantDocument>) {}

  static async create(connection: Connection): Promise<MongoGrantRepository> {
    if (!connection.db) throw new Error('MongoGrantRepository needs an open connection');
    const grants = connection.db.collection<GrantDocument>('grants');
    await grants.createIndex({ incidentId: 1, createdAt: 1 }, { name: 'incident' });
    await grants.createIndex({ 'investigator.userId': 1, status: 1 }, { name: 'investigator_status' });
    await grants.createIndex({ status: 1 }, { name: 'status' });
    return new MongoGrantRepository(grants);
  }

  async insert(grant: NewGrantRecord): Promise<GrantRecord> {
    const doc: GrantDocument = { ...grant, status: 'active', updatedAt: new Date() };
    const result = await this.grants.insertOne(doc);
    return fromDocument({ ...doc, _id: result.insertedId });
  }

  async findById(id: string): Promise<GrantRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    const doc = await this.grants.findOne({ _id });
    return doc ? fromDocument(doc) : undefined;
  }

  async listByIncident(incidentId: string): Promise<GrantRecord[]> {
    return (await this.grants.find({ incidentId }, { sort: { createdAt: 1, _id: 1 } }).toArray()).map(fromDocument);
  }

  async listByInvestigator(userId: string, activeOnly: boolean): Promise<GrantRecord[]> {
    const query = { 'investigator.userId': userId, ...(activeOnly && { status: 'active' as const }) };
    return (await this.grants.find(query, { sort: { createdAt: 1, _id: 1 } }).toArray()).map(fromDocument);
  }

  async listActive(): Promise<GrantRecord[]> {
    return (await this.grants.find({ status: 'active' }, { sort: { createdAt: 1, _id: 1 } }).toArray()).map(fromDocument);
  }

  extend(id: string, endsAt: Date): Promise<GrantRecord | undefined> {
    return this.#updateActive(id, { $set: { endsAt, updatedAt: new Date() } });
  }

  end(id: string, end: GrantEnd): Promise<GrantRecord | undefined> {
    return this.#updateActive(id, { $set: { ...end, updatedAt: new Date() } });
  }

  /** The connection is MongoStore's: nothing to release here. */
  async close(): Promise<void> {}

  async #updateActive(id: string, update: object): Promise<GrantRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    const doc = await this.grants.findOneAndUpdate({ _id, status: 'active' }, update, { returnDocument: 'after' });
    return doc ? fromDocument(doc) : undefined;
  }
}

function fromDocument(doc: GrantDocument): GrantRecord {
  const { _id, ...rest } = doc;
  return { ...rest, id: String(_id), ...(rest.cameras && { cameras: [...rest.cameras] }) };
}
