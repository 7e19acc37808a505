import type { Collection, Connection } from 'mongoose';
import { AppError } from '../../errors/AppError.ts';
import type { UserRepository } from '../../users/UserRepository.ts';
import type { NewUserRecord, UserPatch, UserRecord } from '../../users/UserRecord.ts';
import { isDuplicateKeyError, parseObjectId } from './mongoQueries.ts';
import { buildUserUpdate, userFromDocument, type UserDocument } from './userQueries.ts';

/** Users in MongoDB, on MongoStore's connection, through the pure builders of userQueries.ts. */
export class MongoUserRepository implements UserRepository {
  private constructor(private readonly users: Collection<UserDocument>) {}

  /** Takes its collection from an open connection and creates the unique username index. */
  static async create(connection: Connection): Promise<MongoUserRepository> {
    const users = connection.collection<UserDocument>('users');
    await users.createIndex({ username: 1 }, { unique: true, name: 'username_unique' });
    return new MongoUserRepository(users);
  }

  async insert(user: NewUserRecord): Promise<UserRecord> {
    const now = new Date();
    const doc: UserDocument = { ...user, rightsVersion: 1, createdAt: now, updatedAt: now };
    try {
      const result = await this.users.insertOne(doc);
      return userFromDocument({ ...doc, _id: result.insertedId });
    } catch (error) {
      if (isDuplicateKeyError(error)) throw new AppError('conflict', `user ${user.username} exists already`);
      throw error;
    }
  }

  async findById(id: string): Promise<UserRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    const doc = await this.users.findOne({ _id });
    return doc ? userFromDocument(doc) : undefined;
  }

  async findByUsername(username: string): Promise<UserRecord | undefined> {
    const doc = await this.users.findOne({ username });
    return doc ? userFromDocument(doc) : undefined;
  }

  async list(): Promise<UserRecord[]> {
    return (await this.users.find({}, { sort: { username: 1 } }).toArray()).map(userFromDocument);
  }

  async update(id: string, patch: UserPatch, rightsChanged: boolean): Promise<UserRecord | undefined> {
    const _id = parseObjectId(id);
    if (!_id) return undefined;
    const doc = await this.users.findOneAndUpdate({ _id }, buildUserUpdate(patch, rightsChanged, new Date()), { returnDocument: 'after' });
    return doc ? userFromDocument(doc) : undefined;
  }

  async count(): Promise<number> {
    return this.users.countDocuments({});
  }

  /** The connection is MongoStore's: nothing to release here. */
  async close(): Promise<void> {}
}
