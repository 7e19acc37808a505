import { AppError } from '../../errors/AppError.ts';
import type { UserRepository } from '../../users/UserRepository.ts';
import type { NewUserRecord, UserPatch, UserRecord } from '../../users/UserRecord.ts';
import { openDatastore, type Datastore } from './nedb.ts';

type StoredUser = Omit<UserRecord, 'id'> & { _id: string };

/** Users in an nedb file, beside the embedded camera catalog. */
export class EmbeddedUserRepository implements UserRepository {
  private constructor(private readonly db: Datastore<StoredUser>) {}

  static async open(filename?: string): Promise<EmbeddedUserRepository> {
    const db = await openDatastore<StoredUser>(filename);
    await db.ensureIndexAsync({ fieldName: 'username', unique: true });
    return new EmbeddedUserRepository(db);
  }

  async insert(user: NewUserRecord): Promise<UserRecord> {
    const now = new Date();
    try {
      return fromStored(await this.db.insertAsync({ ...user, rightsVersion: 1, createdAt: now, updatedAt: now } as StoredUser));
    } catch (error) {
      if ((error as { errorType?: string }).errorType === 'uniqueViolated') throw new AppError('conflict', `user ${user.username} exists already`);
      throw error;
    }
  }

  async findById(id: string): Promise<UserRecord | undefined> {
    if (typeof id !== 'string' || !id) return undefined;
    const doc = await this.db.findOneAsync({ _id: id });
    return doc ? fromStored(doc) : undefined;
  }

  async findByUsername(username: string): Promise<UserRecord | undefined> {
    const doc = await this.db.findOneAsync({ username });
    return doc ? fromStored(doc) : undefined;
  }

  async list(): Promise<UserRecord[]> {
    return (await this.db.findAsync({}).sort({ username: 1 })).map(fromStored);
  }

  async update(id: string, patch: UserPatch, rightsChanged: boolean): Promise<UserRecord | undefined> {
    const $set: Record<string, unknown> = { updatedAt: new Date() };
    for (const key of ['displayName', 'role', 'areas', 'municipalities', 'disabled', 'passwordHash'] as const) {
      if (patch[key] !== undefined) $set[key] = patch[key];
    }
    const update = rightsChanged ? { $set, $inc: { rightsVersion: 1 } } : { $set };
    const result = await this.db.updateAsync({ _id: id }, update, { returnUpdatedDocs: true, multi: false });
    const doc = result.affectedDocuments as StoredUser | null;
    return result.numAffected > 0 && doc ? fromStored(doc) : undefined;
  }

  async count(): Promise<number> {
    return this.db.countAsync({});
  }

  async close(): Promise<void> {
    if (this.db.filename) await this.db.compactDatafileAsync();
  }
}

function fromStored(doc: StoredUser): UserRecord {
  const { _id, ...rest } = doc;
  return { ...rest, id: _id };
}
