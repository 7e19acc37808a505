import type { Connection } from 'mongoose';
import type { Collection, Filter, ObjectId } from 'mongodb';
import { AppError } from '../../errors/AppError.ts';
import type { EnrolmentRepository } from '../../enrolment/EnrolmentRepository.ts';
import type { EnrolmentCheck, EnrolmentFilter, EnrolmentPatch, EnrolmentPersonalData, EnrolmentRecord, EnrolmentStatusChange, NewEnrolmentRecord } from '../../enrolment/EnrolmentRecord.ts';
import { isDuplicateKeyError, isPresent, parseObjectId } from './mongoQueries.ts';

export type EnrolmentDocument = Omit<EnrolmentRecord, 'id'> & { _id?: ObjectId };

/** A conditional update: applied to the document matching `filter`, if any. */
export interface EnrolmentConditionalUpdate {
  filter: Filter<EnrolmentDocument>;
  /** Present only when the update removes something (an empty `$unset` is not sent). */
  update: { $set: Partial<EnrolmentDocument> & { updatedAt: Date }; $unset?: Partial<Record<'statusReason' | 'closedAt' | 'personal' | 'contactKey', ''>> };
}

/** The fields whose values are unique forever, each with its index. */
const uniqueIndexes = { reference: 'reference_unique', cameraCode: 'cameraCode_unique', statusTokenHash: 'statusTokenHash_unique' } as const;
type UniqueField = keyof typeof uniqueIndexes;

/** The statuses that close an enrolment: only these have their personal data erased. */
const closedStatuses = ['rejected', 'withdrawn', 'revoked'] as const;

/** The order of every list, and of the erased enrolments: oldest first. */
const listSort = { createdAt: 1, reference: 1 } as const;

/** Citizen enrolments in MongoDB (`enrolments`), on MongoStore's connection, through the pure builders below. */
export class MongoEnrolmentRepository implements EnrolmentRepository {
  private constructor(private readonly enrolments: Collection<EnrolmentDocument>) {}

  /** Takes its collection from an open connection and creates the indexes (reference, camera code, token hash unique) before returning. */
  static async create(connection: Connection): Promise<MongoEnrolmentRepository> {
    if (!connection.db) throw new Error('MongoEnrolmentRepository needs an open connection');
    const enrolments = connection.db.collection<EnrolmentDocument>('enrolments');
    for (const [field, name] of Object.entries(uniqueIndexes)) await enrolments.createIndex({ [field]: 1 }, { unique: true, name });
    await enrolments.createIndex({ status: 1, createdAt: 1, reference: 1 }, { name: 'status_created' });
    await enrolments.createIndex({ endpointKey: 1 }, { name: 'endpointKey' });
    await enrolments.createIndex({ closedAt: 1 }, { name: 'closedAt', partialFilterExpression: { closedAt: { $exists: true } } });
    return new MongoEnrolmentRepository(enrolments);
  }

  async insert(enrolment: NewEnrolmentRecord): Promise<EnrolmentRecord> {
    const doc = enrolmentToDocument(enrolment, new Date());
    try {
      const result = await this.enrolments.insertOne(doc);
      return enrolmentFromDocument({ ...doc, _id: result.insertedId });
    } catch (error) {
      throw enrolmentConflict(error, enrolment);
    }
  }

  async findById(id: string): Promise<EnrolmentRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    const doc = await this.enrolments.findOne({ _id });
    return doc ? enrolmentFromDocument(doc) : undefined;
  }

  findByReference(reference: string): Promise<EnrolmentRecord | undefined> {
    return this.#findOne('reference', reference);
  }

  findByTokenHash(hash: string): Promise<EnrolmentRecord | undefined> {
    return this.#findOne('statusTokenHash', hash);
  }

  findByCameraCode(code: string): Promise<EnrolmentRecord | undefined> {
    return this.#findOne('cameraCode', code);
  }

  async list(filter: EnrolmentFilter, page: { offset: number; limit: number }): Promise<{ items: EnrolmentRecord[]; total: number }> {
    const query = buildEnrolmentFilter(filter);
    // MongoDB reads limit 0 as "no limit": an empty page is answered without reading documents.
    const [docs, total] = await Promise.all([
      page.limit > 0 ? this.enrolments.find(query, { sort: listSort, skip: Math.max(0, page.offset), limit: page.limit }).toArray() : Promise.resolve([]),
      this.enrolments.countDocuments(query),
    ]);
    return { items: docs.map(enrolmentFromDocument), total };
  }

  async update(id: string, patch: EnrolmentPatch): Promise<EnrolmentRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    try {
      const doc = await this.enrolments.findOneAndUpdate({ _id }, buildEnrolmentUpdate(patch, new Date()), { returnDocument: 'after' });
      return doc ? enrolmentFromDocument(doc) : undefined;
    } catch (error) {
      throw enrolmentConflict(error, patch);
    }
  }

  async changeStatus(id: string, change: EnrolmentStatusChange): Promise<EnrolmentRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    const { filter, update } = buildEnrolmentStatusChange(_id, change, new Date());
    const doc = await this.enrolments.findOneAndUpdate(filter, update, { returnDocument: 'after' });
    return doc ? enrolmentFromDocument(doc) : undefined;
  }

  async eraseClosedBefore(before: Date): Promise<EnrolmentRecord[]> {
    const erased: EnrolmentRecord[] = [];
    // One document at a time, each atomically: an enrolment erased meanwhile (another instance's
    // retention run) no longer matches, so none is erased or returned twice.
    for (;;) {
      const { filter, update } = buildEnrolmentErase(before, new Date());
      const doc = await this.enrolments.findOneAndUpdate(filter, update, { sort: listSort, returnDocument: 'after' });
      if (!doc) return erased;
      erased.push(enrolmentFromDocument(doc));
    }
  }

  /** The connection is MongoStore's: nothing to release here. */
  async close(): Promise<void> {}

  async #findOne(field: UniqueField, value: string): Promise<EnrolmentRecord | undefined> {
    // A string only: an object would be read as a query operator ({ $gt: '' } matches everything).
    if (typeof value !== 'string' || value.length === 0) return undefined;
    const doc = await this.enrolments.findOne({ [field]: value } as Filter<EnrolmentDocument>);
    return doc ? enrolmentFromDocument(doc) : undefined;
  }
}

/**
 * The conflict a duplicate-key failure stands for (pure), naming the field by the index the server
 * reports (never the token hash, which stands in for the owner's status link); any other error is
 * returned as it is.
 */
export function enrolmentConflict(error: unknown, values: Partial<Record<UniqueField, string>>): unknown {
  if (!isDuplicateKeyError(error)) return error;
  const { keyPattern, message } = error as { keyPattern?: Record<string, unknown>; message?: unknown };
  const field = (Object.keys(uniqueIndexes) as UniqueField[]).find((name) => (keyPattern ? name in keyPattern : typeof message === 'string' && message.includes(uniqueIndexes[name])));
  if (field === 'reference') return new AppError('conflict', `enrolment reference ${values.reference ?? ''} is already taken`);
  if (field === 'cameraCode') return new AppError('conflict', `camera ${values.cameraCode ?? ''} already has an enrolment`);
  if (field === 'statusTokenHash') return new AppError('conflict', 'the status token is already another enrolment\'s');
  return new AppError('conflict', 'the enrolment\'s reference, camera or status token is already another enrolment\'s');
}

/** The MongoDB filter of an enrolment list (pure). */
export function buildEnrolmentFilter(filter: EnrolmentFilter): Filter<EnrolmentDocument> {
  const query: Record<string, unknown> = {};
  if (filter.status !== undefined) query.status = { $in: [...filter.status] };
  if (filter.endpointKeys !== undefined) query.endpointKey = { $in: [...filter.endpointKeys] };
  return query as Filter<EnrolmentDocument>;
}

const patchableFields = ['sharing', 'statusTokenHash', 'endpointKey', 'check', 'location', 'category'] as const satisfies ReadonlyArray<keyof EnrolmentPatch>;

/**
 * The update for a patch (pure). Only the patchable fields are read (reference, camera code, status,
 * personal data and the timestamps other than updatedAt are never written); a field given as
 * undefined is left alone.
 */
export function buildEnrolmentUpdate(patch: EnrolmentPatch, now: Date): EnrolmentConditionalUpdate['update'] {
  const $set: EnrolmentConditionalUpdate['update']['$set'] = { updatedAt: now };
  const target = $set as Record<string, unknown>;
  for (const field of patchableFields) {
    const value = patch[field];
    if (value === undefined) continue;
    if (field === 'check') target[field] = cleanCheck(value as EnrolmentCheck);
    else if (field === 'location') target[field] = { lat: patch.location!.lat, lng: patch.location!.lng };
    else target[field] = value;
  }
  return { $set };
}

/**
 * The compare-and-set for a status change (pure): matches only an enrolment whose status is one of
 * `from`; sets statusChangedAt; closedAt is set with `close` and removed without it (a rejected
 * enrolment sent back to review is open again); a change without a reason removes the previous one,
 * which explained the previous status.
 */
export function buildEnrolmentStatusChange(id: ObjectId, change: EnrolmentStatusChange, now: Date): EnrolmentConditionalUpdate {
  const $set: EnrolmentConditionalUpdate['update']['$set'] = { status: change.to, statusChangedAt: now, updatedAt: now };
  const $unset: NonNullable<EnrolmentConditionalUpdate['update']['$unset']> = {};
  if (change.reason !== undefined) $set.statusReason = change.reason;
  else $unset.statusReason = '';
  if (change.close) $set.closedAt = now;
  else $unset.closedAt = '';
  return {
    filter: { _id: id, status: { $in: [...change.from] } },
    update: Object.keys($unset).length > 0 ? { $set, $unset } : { $set },
  };
}

/** The erasure of one enrolment's personal data (pure): closed before `before`, not erased yet. */
export function buildEnrolmentErase(before: Date, now: Date): EnrolmentConditionalUpdate {
  return {
    filter: { status: { $in: [...closedStatuses] }, closedAt: { $lt: before }, erasedAt: { $exists: false } },
    update: { $set: { erasedAt: now, updatedAt: now }, $unset: { personal: '', contactKey: '' } },
  };
}

/** The document to insert (pure): absent optional fields are left out (the driver would store null). */
export function enrolmentToDocument(enrolment: NewEnrolmentRecord, now: Date): EnrolmentDocument {
  const doc: EnrolmentDocument = {
    reference: enrolment.reference,
    cameraCode: enrolment.cameraCode,
    ownerKind: enrolment.ownerKind,
    category: enrolment.category,
    location: { lat: enrolment.location.lat, lng: enrolment.location.lng },
    sharing: enrolment.sharing,
    agreementVersion: enrolment.agreementVersion,
    agreementAcceptedAt: enrolment.agreementAcceptedAt,
    language: enrolment.language,
    statusTokenHash: enrolment.statusTokenHash,
    status: enrolment.status,
    statusChangedAt: now,
    endpointKey: enrolment.endpointKey,
    createdAt: now,
    updatedAt: now,
  };
  if (enrolment.personal !== undefined) doc.personal = cleanPersonal(enrolment.personal);
  if (enrolment.contactKey !== undefined) doc.contactKey = enrolment.contactKey;
  if (enrolment.statusReason !== undefined) doc.statusReason = enrolment.statusReason;
  if (enrolment.check !== undefined) doc.check = cleanCheck(enrolment.check);
  return doc;
}

/** The record a stored document stands for (pure); optional fields absent or null are omitted. */
export function enrolmentFromDocument(doc: EnrolmentDocument): EnrolmentRecord {
  const { _id, ...rest } = doc;
  const record: EnrolmentRecord = { ...rest, id: String(_id), location: { lat: rest.location.lat, lng: rest.location.lng } };
  for (const key of ['personal', 'contactKey', 'statusReason', 'check', 'closedAt', 'erasedAt'] as const) {
    if (record[key] === null || record[key] === undefined) delete record[key];
  }
  if (record.personal) record.personal = cleanPersonal(record.personal);
  if (record.check) record.check = cleanCheck(record.check);
  return record;
}

function cleanPersonal(personal: EnrolmentPersonalData): EnrolmentPersonalData {
  const clean: EnrolmentPersonalData = { ownerName: personal.ownerName, address: personal.address };
  if (isPresent(personal.email)) clean.email = personal.email;
  if (isPresent(personal.phone)) clean.phone = personal.phone;
  return clean;
}

function cleanCheck(check: EnrolmentCheck): EnrolmentCheck {
  const clean: EnrolmentCheck = { result: check.result, at: check.at };
  if (isPresent(check.detail)) clean.detail = check.detail;
  if (isPresent(check.video)) {
    clean.video = { codec: check.video.codec };
    if (isPresent(check.video.width)) clean.video.width = check.video.width;
    if (isPresent(check.video.height)) clean.video.height = check.video.height;
  }
  return clean;
}
