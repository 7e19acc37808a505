import type { Role } from '../auth/Identity.ts';
import type { CameraArea } from '../catalog/CameraRecord.ts';

/** A person who signs in. Passwords are kept only as scrypt hashes. */
export interface UserRecord {
  id: string;
  /** Unique, lower-case. */
  username: string;
  displayName: string;
  role: Role;
  /** Monitoring areas an operator or supervisor works in. */
  areas: CameraArea[];
  /** Empty: every municipality of those areas. */
  municipalities: string[];
  disabled: boolean;
  passwordHash: string;
  /** Bumped whenever the user's rights change (role, assignments, disabling). */
  rightsVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

export type NewUserRecord = Omit<UserRecord, 'id' | 'createdAt' | 'updatedAt' | 'rightsVersion'>;
export type UserPatch = Partial<Pick<UserRecord, 'displayName' | 'role' | 'areas' | 'municipalities' | 'disabled' | 'passwordHash'>>;
