import type { Collection, Connection } from 'mongoose';
import { AppError } from '../../errors/AppError.ts';
import type { CameraRepository } from '../../catalog/CameraRepository.ts';
import type { CameraFilter, CameraHealthRecord, PictureSize, StreamSizes, CameraListResult, CameraPatch, CameraRecord, NewCameraRecord, Page, StatusChange } from '../../catalog/CameraRecord.ts';
import {
  buildFilter,
  buildFindOptions,
  buildRetire,
  buildSetHealth,
  buildSetStreamSize,
  buildStatusChange,
  buildUpdate,
  cameraIndexes,
  fromDocument,
  isDuplicateKeyError,
  parseObjectId,
  toDocument,
  type CameraDocument,
  type ConditionalUpdate,
  type StoredCameraDocument,
} from './mongoQueries.ts';

export interface MongoCameraRepositoryOptions {
  /** Collection name; default `cameras`. */
  collection?: string;
}

/**
 * The catalog in MongoDB (`MONGODB_URI`), on the process's one mongoose connection (MongoStore
 * owns it). Every query and update is built by the pure functions in mongoQueries.ts and passed
 * unchanged to the driver's collection, so their unit tests describe what runs here. Reads return
 * plain objects.
 */
export class MongoCameraRepository implements CameraRepository {
  private constructor(private readonly cameras: Collection<CameraDocument>) {}

  /** Takes its collection from an open connection and creates the indexes before returning. */
  static async create(connection: Connection, options: MongoCameraRepositoryOptions = {}): Promise<MongoCameraRepository> {
    const cameras = connection.collection<CameraDocument>(options.collection ?? 'cameras');
    await cameras.createIndexes([...cameraIndexes]);
    return new MongoCameraRepository(cameras);
  }

  async insert(camera: NewCameraRecord): Promise<CameraRecord> {
    const doc = toDocument(camera, new Date());
    try {
      const { insertedId } = await this.cameras.insertOne(doc);
      return fromDocument({ ...doc, _id: insertedId });
    } catch (error) {
      if (isDuplicateKeyError(error)) {
        throw new AppError('conflict', `camera code ${camera.code} is already registered (codes are never reused)`);
      }
      throw error;
    }
  }

  async findById(id: string): Promise<CameraRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    return toRecord(await this.cameras.findOne({ _id }));
  }

  async findByCode(code: string): Promise<CameraRecord | undefined> {
    return toRecord(await this.cameras.findOne({ code }));
  }

  async list(filter: CameraFilter, page: Page): Promise<CameraListResult> {
    const query = buildFilter(filter);
    const findOptions = buildFindOptions(page);
    // MongoDB reads limit 0 as "no limit": an empty page is answered without reading documents.
    const [docs, total] = await Promise.all([
      findOptions.limit > 0 ? this.cameras.find(query, findOptions).toArray() : Promise.resolve([]),
      this.cameras.countDocuments(query),
    ]);
    return { items: docs.map((doc) => fromDocument(doc as StoredCameraDocument)), total };
  }

  async count(filter: CameraFilter): Promise<number> {
    return this.cameras.countDocuments(buildFilter(filter));
  }

  async municipalities(filter: CameraFilter): Promise<string[]> {
    const values = (await this.cameras.distinct('municipality', buildFilter(filter))) as string[];
    return values.sort();
  }

  async setHealth(id: string, health: CameraHealthRecord): Promise<CameraRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    return this.#updateOne(buildSetHealth(_id, health));
  }

  async setStreamSize(id: string, stream: keyof StreamSizes, size: PictureSize): Promise<CameraRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    return this.#updateOne(buildSetStreamSize(_id, stream, size));
  }

  async findByCodes(codes: string[]): Promise<CameraRecord[]> {
    const docs = await this.cameras.find(buildFilter({ codes, includeRetired: true })).toArray();
    return docs.map((doc) => fromDocument(doc as StoredCameraDocument));
  }

  async update(id: string, patch: CameraPatch): Promise<CameraRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    return this.#updateOne({ filter: { _id }, update: buildUpdate(patch, new Date()) });
  }

  async changeStatus(id: string, change: StatusChange): Promise<CameraRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    return this.#updateOne(buildStatusChange(_id, change, new Date()));
  }

  async retire(id: string): Promise<CameraRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    // Only a camera not yet retired matches, so a second retire keeps the first retiredAt.
    return (await this.#updateOne(buildRetire(_id, new Date()))) ?? this.findById(id);
  }

  /** The connection is MongoStore's: nothing to release here. */
  async close(): Promise<void> {}

  async #updateOne({ filter, update }: ConditionalUpdate): Promise<CameraRecord | undefined> {
    return toRecord(await this.cameras.findOneAndUpdate(filter, update, { returnDocument: 'after' }));
  }
}

function toRecord(doc: CameraDocument | null): CameraRecord | undefined {
  return doc ? fromDocument(doc as StoredCameraDocument) : undefined;
}
