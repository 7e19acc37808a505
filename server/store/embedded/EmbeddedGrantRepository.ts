import type { GrantRepository } from '../../incidents/GrantRepository.ts';
import type { GrantEnd, GrantRecord, NewGrantRecord } from '../../incidents/IncidentRecord.ts';
import { openDatastore, type Datastore } from './nedb.ts';

type StoredGrant = Omit<GrantRecord, 'id'> & { _id: string };

/** Grants in an nedb file beside the catalog: `<dataDir>/catalog/grants.db`. */
export class EmbeddedGrantRepository implements GrantRepository {
  private constructor(private readonly db: Datastore<StoredGrant>) {}

  /** `filename` undefined: in memory (tests). */
  static async open(filename?: string): Promise<EmbeddedGrantRepository> {
    const db = await openDatastore<StoredGrant>(filename);
    for (const fieldName of ['incidentId', 'investigator.userId', 'status']) await db.ensureIndexAsync({ fieldName });
    if (filename) db.setAutocompactionInterval(10 * 60_000);
    return new EmbeddedGrantRepository(db);
  }

  async insert(grant: NewGrantRecord): Promise<GrantRecord> {
    return fromStored(await this.db.insertAsync({ ...grant, status: 'active', updatedAt: new Date() } as StoredGrant));
  }

  async findById(id: string): Promise<GrantRecord | undefined> {
    if (typeof id !== 'string' || id.length === 0) return undefined;
    const doc = await this.db.findOneAsync({ _id: id });
    return doc ? fromStored(doc) : undefined;
  }

  async listByIncident(incidentId: string): Promise<GrantRecord[]> {
    return (await this.db.findAsync({ incidentId }).sort({ createdAt: 1, _id: 1 })).map(fromStored);
  }

  async listByInvestigator(userId: string, activeOnly: boolean): Promise<GrantRecord[]> {
    const query = { 'investigator.userId': userId, ...(activeOnly && { status: 'active' }) };
    return (await this.db.findAsync(query).sort({ createdAt: 1, _id: 1 })).map(fromStored);
  }

  async listActive(): Promise<GrantRecord[]> {
    return (await this.db.findAsync({ status: 'active' }).sort({ createdAt: 1, _id: 1 })).map(fromStored);
  }

  extend(id: string, endsAt: Date): Promise<GrantRecord | undefined> {
    return this.#updateActive(id, { $set: { endsAt, updatedAt: new Date() } });
  }

  end(id: string, end: GrantEnd): Promise<GrantRecord | undefined> {
    return this.#updateActive(id, { $set: { ...end, updatedAt: new Date() } });
  }

  async close(): Promise<void> {
    this.db.stopAutocompaction();
    if (this.db.filename) await this.db.compactDatafileAsync();
  }

  async #updateActive(id: string, update: object): Promise<GrantRecord | undefined> {
    if (typeof id !== 'string' || id.length === 0) return undefined;
    const result = await this.db.updateAsync({ _id: id, status: 'active' }, update, { returnUpdatedDocs: true, multi: false });
    const doc = result.affectedDocuments as StoredGrant | null;
    return result.numAffected > 0 && doc ? fromStored(doc) : undefined;
  }
}

function fromStored(doc: StoredGrant): GrantRecord {
  const { _id, ...rest } = doc;
  return { ...rest, id: _id, ...(rest.cameras && { cameras: [...rest.cameras] }) };
}
