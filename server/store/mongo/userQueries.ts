import type { ObjectId } from 'mongodb';
import type { UserPatch, UserRecord } from '../../users/UserRecord.ts';

/** A user as stored in MongoDB. */
export type UserDocument = Omit<UserRecord, 'id'> & { _id?: ObjectId };

/** `$set` of the given fields and updatedAt, `$inc` of rightsVersion when rights changed. Pure. */
export function buildUserUpdate(patch: UserPatch, rightsChanged: boolean, now: Date): { $set: Record<string, unknown>; $inc?: { rightsVersion: number } } {
  const $set: Record<string, unknown> = { updatedAt: now };
  for (const key of ['displayName', 'role', 'areas', 'municipalities', 'disabled', 'passwordHash'] as const) {
    if (patch[key] !== undefined) $set[key] = patch[key];
  }
  return rightsChanged ? { $set, $inc: { rightsVersion: 1 } } : { $set };
}

export function userFromDocument(doc: UserDocument): UserRecord {
  const { _id, ...rest } = doc;
  return { ...rest, id: String(_id) } as UserRecord;
}
