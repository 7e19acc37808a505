import type { IncidentRepository } from '../../incidents/IncidentRepository.ts';
import type { Actor, Disposition, IncidentFilter, IncidentRecord, NewIncidentRecord } from '../../incidents/IncidentRecord.ts';
import { openDatastore, type Datastore } from './nedb.ts';

type StoredIncident = Omit<IncidentRecord, 'id'> & { _id: string };

/** Incidents in an nedb file beside the catalog: `<dataDir>/catalog/incidents.db`. */
export class EmbeddedIncidentRepository implements IncidentRepository {
  private constructor(private readonly db: Datastore<StoredIncident>) {}

  /** `filename` undefined: in memory (tests). */
  static async open(filename?: string): Promise<EmbeddedIncidentRepository> {
    const db = await openDatastore<StoredIncident>(filename);
    for (const fieldName of ['status', 'municipality']) await db.ensureIndexAsync({ fieldName });
    if (filename) db.setAutocompactionInterval(10 * 60_000);
    return new EmbeddedIncidentRepository(db);
  }

  async insert(incident: NewIncidentRecord): Promise<IncidentRecord> {
    return fromStored(await this.db.insertAsync({ ...incident, cameras: [...incident.cameras], updatedAt: new Date() } as StoredIncident));
  }

  async findById(id: string): Promise<IncidentRecord | undefined> {
    if (typeof id !== 'string' || id.length === 0) return undefined;
    const doc = await this.db.findOneAsync({ _id: id });
    return doc ? fromStored(doc) : undefined;
  }

  async list(filter: IncidentFilter, page: { offset: number; limit: number }): Promise<{ items: IncidentRecord[]; total: number }> {
    const query = toQuery(filter);
    const [docs, total] = await Promise.all([this.db.findAsync(query).sort({ openedAt: -1, _id: 1 }).skip(page.offset).limit(page.limit), this.db.countAsync(query)]);
    return { items: docs.map(fromStored), total };
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

  async close(): Promise<void> {
    this.db.stopAutocompaction();
    if (this.db.filename) await this.db.compactDatafileAsync();
  }

  async #updateOpen(id: string, update: object): Promise<IncidentRecord | undefined> {
    if (typeof id !== 'string' || id.length === 0) return undefined;
    const result = await this.db.updateAsync({ _id: id, status: 'open' }, update, { returnUpdatedDocs: true, multi: false });
    const doc = result.affectedDocuments as StoredIncident | null;
    return result.numAffected > 0 && doc ? fromStored(doc) : undefined;
  }
}

function toQuery(filter: IncidentFilter): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  if (filter.status) query.status = filter.status;
  if (filter.ids) query._id = { $in: filter.ids };
  const municipalities: Array<Record<string, unknown>> = [];
  if (filter.municipality !== undefined) municipalities.push({ municipality: filter.municipality });
  if (filter.municipalities !== undefined) municipalities.push({ municipality: { $in: filter.municipalities } });
  if (municipalities.length > 0) query.$and = municipalities;
  return query;
}

function fromStored(doc: StoredIncident): IncidentRecord {
  const { _id, ...rest } = doc;
  return { ...rest, id: _id, cameras: [...rest.cameras] };
}
