import type { NewUserRecord, UserPatch, UserRecord } from './UserRecord.ts';

/**
 * Where users are stored (mongo and embedded adapters, one contract suite). A duplicate username
 * is AppError('conflict'); unknown or malformed ids are undefined.
 */
export interface UserRepository {
  insert(user: NewUserRecord): Promise<UserRecord>;
  findById(id: string): Promise<UserRecord | undefined>;
  findByUsername(username: string): Promise<UserRecord | undefined>;
  /** Sorted by username. */
  list(): Promise<UserRecord[]>;
  /** `rightsChanged` bumps rightsVersion. */
  update(id: string, patch: UserPatch, rightsChanged: boolean): Promise<UserRecord | undefined>;
  count(): Promise<number>;
  close(): Promise<void>;
}
