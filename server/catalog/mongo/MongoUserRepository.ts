import mongoose from 'mongoose';
import type { Collection, Connection } from 'mongoose';
import { AppError } from '../../errors/AppError.ts';
import type { UserRepository } from '../UserRepository.ts';
import type { NewUserRecord, UserPatch, UserRecord } from '../UserRecord.ts';
import { isDuplicateKeyError, parseObjectId } from './mongoQueries.ts';
import { buildUserUpdate, userFromDocument, type UserDocument } from './userQueries.ts';

/** Users in MongoDB, through the pure builders of userQueries.ts. */
export class MongoUserRepository implements UserRepository {
  private constructor(
    private readonly connection: Connection,
    private readonly users: Collection<UserDocument>,
  ) {}

  static async connect(uri: string, options: { dbName?: string } = {}): Promise<MongoUserRepository> {
    const connection = mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000, ...(options.dbName && { dbName: options.dbName }) });
    try {
      await connection.asPromise();
      const users = connection.collection<UserDocument>('users');
      await users.createIndex({ username: 1 }, { unique: true, name: 'username_unique' });
      return new MongoUserRepository(connection, users);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
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

  async close(): Promise<void> {
    await this.connection.close();
  }
}
