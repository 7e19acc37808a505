import { AppError } from '../../errors/AppError.ts';
import type { EnrolmentRepository } from '../../enrolment/EnrolmentRepository.ts';
import type { EnrolmentCheck, EnrolmentFilter, EnrolmentPatch, EnrolmentPersonalData, EnrolmentRecord, EnrolmentStatusChange, NewEnrolmentRecord } from '../../enrolment/EnrolmentRecord.ts';
import { openDatastore, type Datastore } from './nedb.ts';

type StoredEnrolment = Omit<EnrolmentRecord, 'id'> & { _id: string };

/**
 * Citizen enrolments in an nedb file beside the catalog: `<dataDir>/catalog/enrolments.db`.
 * Reference, camera code and status token hash are unique; Dates are stored as nedb's `$$date`.
 */
export class EmbeddedEnrolmentRepository implements EnrolmentRepository {
  private constructor(private readonly db: Datastore<StoredEnrolment>) {}

  /** `filename` undefined: in memory (tests). */
  static async open(filename?: string): Promise<EmbeddedEnrolmentRepository> {
    const db = await openDatastore<StoredEnrolment>(filename);
    for (const fieldName of UNIQUE_FIELDS) await db.ensureIndexAsync({ fieldName, unique: true });
    for (const fieldName of ['status', 'endpointKey']) await db.ensureIndexAsync({ fieldName });
    if (filename) db.setAutocompactionInterval(10 * 60_000);
    return new EmbeddedEnrolmentRepository(db);
  }

  async insert(enrolment: NewEnrolmentRecord): Promise<EnrolmentRecord> {
    const now = new Date();
    const doc = withoutUndefined({
      ...enrolment,
      ...(enrolment.personal && { personal: copyPersonal(enrolment.personal) }),
      location: { lat: enrolment.location.lat, lng: enrolment.location.lng },
      ...(enrolment.check && { check: copyCheck(enrolment.check) }),
      statusChangedAt: now,
      createdAt: now,
      updatedAt: now,
    });
    try {
      return fromStored(await this.db.insertAsync(doc as StoredEnrolment));
    } catch (error) {
      throw conflictOf(error, doc);
    }
  }

  async findById(id: string): Promise<EnrolmentRecord | undefined> {
    return this.#findOne('_id', id);
  }

  async findByReference(reference: string): Promise<EnrolmentRecord | undefined> {
    return this.#findOne('reference', reference);
  }

  async findByTokenHash(hash: string): Promise<EnrolmentRecord | undefined> {
    return this.#findOne('statusTokenHash', hash);
  }

  async findByCameraCode(code: string): Promise<EnrolmentRecord | undefined> {
    return this.#findOne('cameraCode', code);
  }

  async list(filter: EnrolmentFilter, page: { offset: number; limit: number }): Promise<{ items: EnrolmentRecord[]; total: number }> {
    const query = toQuery(filter);
    // nedb reads limit 0 as "no limit": an empty page is answered without reading documents.
    const [docs, total] = await Promise.all([
      page.limit > 0 ? this.db.findAsync(query).sort({ createdAt: 1, reference: 1 }).skip(Math.max(0, page.offset)).limit(page.limit) : Promise.resolve([]),
      this.db.countAsync(query),
    ]);
    return { items: docs.map(fromStored), total };
  }

  async update(id: string, patch: EnrolmentPatch): Promise<EnrolmentRecord | undefined> {
    if (typeof id !== 'string' || id.length === 0) return undefined;
    const $set: Record<string, unknown> = { updatedAt: new Date() };
    for (const key of PATCHABLE) {
      const value = patch[key];
      if (value === undefined) continue;
      if (key === 'check') $set[key] = copyCheck(value as EnrolmentCheck);
      else if (key === 'location') $set[key] = { lat: patch.location!.lat, lng: patch.location!.lng };
      else $set[key] = value;
    }
    let result;
    try {
      result = await this.db.updateAsync({ _id: id }, { $set }, { returnUpdatedDocs: true, multi: false });
    } catch (error) {
      throw conflictOf(error, $set);
    }
    const doc = result.affectedDocuments as StoredEnrolment | null;
    return result.numAffected > 0 && doc ? fromStored(doc) : undefined;
  }

  async changeStatus(id: string, change: EnrolmentStatusChange): Promise<EnrolmentRecord | undefined> {
    if (typeof id !== 'string' || id.length === 0) return undefined;
    const now = new Date();
    const $set: Record<string, unknown> = { status: change.to, statusChangedAt: now, updatedAt: now };
    const $unset: Record<string, true> = {};
    // A change without a reason drops the previous one (it explained the previous status); one that
    // does not close reopens (a rejected enrolment sent back to review).
    if (change.reason !== undefined) $set.statusReason = change.reason;
    else $unset.statusReason = true;
    if (change.close) $set.closedAt = now;
    else $unset.closedAt = true;
    const update = Object.keys($unset).length > 0 ? { $set, $unset } : { $set };
    const result = await this.db.updateAsync({ _id: id, status: { $in: [...change.from] } }, update, { returnUpdatedDocs: true, multi: false });
    const doc = result.affectedDocuments as StoredEnrolment | null;
    return result.numAffected > 0 && doc ? fromStored(doc) : undefined;
  }

  async eraseClosedBefore(before: Date): Promise<EnrolmentRecord[]> {
    const now = new Date();
    // One update of every match: nedb runs it alone, so no enrolment is erased (or returned) twice.
    const result = await this.db.updateAsync(
      { status: { $in: [...CLOSED_STATUSES] }, closedAt: { $lt: before }, erasedAt: { $exists: false } },
      { $unset: { personal: true, contactKey: true }, $set: { erasedAt: now, updatedAt: now } },
      { returnUpdatedDocs: true, multi: true },
    );
    const docs = (result.affectedDocuments as StoredEnrolment[] | null) ?? [];
    return docs.map(fromStored).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.reference.localeCompare(b.reference));
  }

  async close(): Promise<void> {
    this.db.stopAutocompaction();
    if (this.db.filename) await this.db.compactDatafileAsync();
  }

  async #findOne(field: '_id' | (typeof UNIQUE_FIELDS)[number], value: string): Promise<EnrolmentRecord | undefined> {
    // A string only: an object would be read as a query operator ({ $gt: '' } matches everything).
    if (typeof value !== 'string' || value.length === 0) return undefined;
    const doc = await this.db.findOneAsync({ [field]: value });
    return doc ? fromStored(doc) : undefined;
  }
}

/** Unique forever, in the order nedb checks them (and so the order a conflict is named in). */
const UNIQUE_FIELDS = ['reference', 'cameraCode', 'statusTokenHash'] as const;

/** The statuses that close an enrolment: only these have their personal data erased. */
const CLOSED_STATUSES = ['rejected', 'withdrawn', 'revoked'] as const;

/** Only these fields change through update(), as in the mongo adapter's buildEnrolmentUpdate. */
const PATCHABLE = ['sharing', 'statusTokenHash', 'endpointKey', 'check', 'location', 'category'] as const satisfies ReadonlyArray<keyof EnrolmentPatch>;

/**
 * The conflict a unique-index violation stands for, naming the field (never the token hash, which
 * stands in for the owner's status link); any other error is returned as it is.
 */
function conflictOf(error: unknown, doc: Partial<Record<(typeof UNIQUE_FIELDS)[number], unknown>>): unknown {
  if ((error as { errorType?: string }).errorType !== 'uniqueViolated') return error;
  const key = (error as { key?: unknown }).key;
  if (key === doc.reference) return new AppError('conflict', `enrolment reference ${String(doc.reference)} is already taken`);
  if (key === doc.cameraCode) return new AppError('conflict', `camera ${String(doc.cameraCode)} already has an enrolment`);
  return new AppError('conflict', 'the status token is already another enrolment\'s');
}

function toQuery(filter: EnrolmentFilter): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  if (filter.status) query.status = { $in: [...filter.status] };
  if (filter.endpointKeys) query.endpointKey = { $in: [...filter.endpointKeys] };
  return query;
}

function copyPersonal(personal: EnrolmentPersonalData): EnrolmentPersonalData {
  return withoutUndefined({ ownerName: personal.ownerName, email: personal.email, phone: personal.phone, address: personal.address });
}

function copyCheck(check: EnrolmentCheck): EnrolmentCheck {
  return withoutUndefined({
    result: check.result,
    at: check.at,
    detail: check.detail,
    ...(check.video && { video: withoutUndefined({ codec: check.video.codec, width: check.video.width, height: check.video.height }) }),
  });
}

/** A shallow copy without the fields given as undefined (nedb would keep them in memory, not in the file). */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function fromStored(doc: StoredEnrolment): EnrolmentRecord {
  const { _id, ...rest } = doc;
  return {
    ...rest,
    id: _id,
    ...(rest.personal && { personal: copyPersonal(rest.personal) }),
    location: { ...rest.location },
    ...(rest.check && { check: copyCheck(rest.check) }),
  };
}
