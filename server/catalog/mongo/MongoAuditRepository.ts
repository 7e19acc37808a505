import mongoose from 'mongoose';
import type { Collection, Connection } from 'mongoose';
import type { AuditEntry, AuditFilter, AuditRepository } from '../AuditRecord.ts';

/** Builds the MongoDB filter for an audit query (pure). */
export function buildAuditFilter(filter: AuditFilter): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  if (filter.userId) query.userId = filter.userId;
  if (filter.cameraId) query.cameraId = filter.cameraId;
  if (filter.action) query.$or = [{ action: filter.action }, { action: { $regex: `^${filter.action.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.` } }];
  if (filter.from || filter.to) {
    query.at = { ...(filter.from && { $gte: filter.from.toISOString() }), ...(filter.to && { $lte: filter.to.toISOString() }) };
  }
  return query;
}

/** The audit log in a MongoDB collection (unique seq; indexes for the filters). */
export class MongoAuditRepository implements AuditRepository {
  private constructor(
    private readonly connection: Connection,
    private readonly entries: Collection<AuditEntry>,
  ) {}

  static async connect(uri: string): Promise<MongoAuditRepository> {
    const connection = mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 });
    try {
      await connection.asPromise();
      const entries = connection.collection<AuditEntry>('audit');
      await entries.createIndex({ seq: 1 }, { unique: true, name: 'seq_unique' });
      for (const field of ['at', 'userId', 'cameraId', 'action']) await entries.createIndex({ [field]: 1 }, { name: field });
      return new MongoAuditRepository(connection, entries);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  async append(entry: AuditEntry): Promise<void> {
    await this.entries.insertOne({ ...entry });
  }

  async last(): Promise<AuditEntry | undefined> {
    return (await this.entries.findOne({}, { sort: { seq: -1 }, projection: { _id: 0 } })) ?? undefined;
  }

  async query(filter: AuditFilter, page: { offset: number; limit: number }): Promise<{ items: AuditEntry[]; total: number }> {
    const query = buildAuditFilter(filter);
    const [items, total] = await Promise.all([
      this.entries.find(query, { sort: { seq: -1 }, skip: page.offset, limit: page.limit, projection: { _id: 0 } }).toArray(),
      this.entries.countDocuments(query),
    ]);
    return { items, total };
  }

  async *scan(): AsyncIterable<AuditEntry> {
    for await (const entry of this.entries.find({}, { sort: { seq: 1 }, projection: { _id: 0 } })) yield entry;
  }

  async deleteThrough(seq: number): Promise<number> {
    return (await this.entries.deleteMany({ seq: { $lte: seq } })).deletedCount;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
