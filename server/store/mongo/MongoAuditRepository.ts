import type { Connection } from 'mongoose';
import type { Collection } from 'mongodb';
import type { AuditEntry, AuditFilter } from '../../audit/AuditRecord.ts';
import type { AuditRepository } from '../../audit/AuditRepository.ts';

/** Builds the MongoDB filter for an audit query (pure). */
export function buildAuditFilter(filter: AuditFilter): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  if (filter.userId) query.userId = filter.userId;
  if (filter.cameraId) query.cameraId = filter.cameraId;
  if (filter.incidentId) query.incidentId = filter.incidentId;
  if (filter.deviceId) query.deviceId = filter.deviceId;
  if (filter.action) query.$or = [{ action: filter.action }, { action: { $regex: `^${filter.action.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.` } }];
  if (filter.from || filter.to) {
    query.at = { ...(filter.from && { $gte: filter.from.toISOString() }), ...(filter.to && { $lte: filter.to.toISOString() }) };
  }
  return query;
}

/** The audit log in a MongoDB collection on MongoStore's connection (unique seq; indexes for the filters). */
export class MongoAuditRepository implements AuditRepository {
  private constructor(private readonly entries: Collection<AuditEntry>) {}

  /**
   * The append-only audit uses the driver's collection (`connection.db`) directly: entries are
   * written once, never edited, so a mongoose model would add nothing but a copy.
   */
  static async create(connection: Connection): Promise<MongoAuditRepository> {
    if (!connection.db) throw new Error('MongoAuditRepository needs an open connection');
    const entries = connection.db.collection<AuditEntry>('audit');
    await entries.createIndex({ seq: 1 }, { unique: true, name: 'seq_unique' });
    for (const field of ['at', 'userId', 'cameraId', 'incidentId', 'deviceId', 'action']) await entries.createIndex({ [field]: 1 }, { name: field });
    return new MongoAuditRepository(entries);
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

  /** The connection is MongoStore's: nothing to release here. */
  async close(): Promise<void> {}
}
