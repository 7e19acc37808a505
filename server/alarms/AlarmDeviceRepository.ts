import type { AlarmDeviceFilter, AlarmDevicePatch, AlarmDeviceRecord, NewAlarmDeviceRecord } from './AlarmRecord.ts';

/**
 * Where alarm devices are stored (embedded and MongoDB adapters, one contract suite). Codes are
 * unique, and so are DC-09 accounts (insert and update throw AppError conflict); unknown or
 * malformed ids are undefined.
 */
export interface AlarmDeviceRepository {
  /** Throws AppError('conflict') when the code exists. */
  insert(device: NewAlarmDeviceRecord): Promise<AlarmDeviceRecord>;
  findById(id: string): Promise<AlarmDeviceRecord | undefined>;
  findByCode(code: string): Promise<AlarmDeviceRecord | undefined>;
  /** The device whose DC-09 account is `account` (compared upper-case); undefined when none. */
  findByDc09Account(account: string): Promise<AlarmDeviceRecord | undefined>;
  /** Ordered by code. */
  list(filter: AlarmDeviceFilter, page: { offset: number; limit: number }): Promise<{ items: AlarmDeviceRecord[]; total: number }>;
  /** Applies the patch; undefined when unknown. Throws AppError('conflict') when the DC-09 account is another device's. */
  update(id: string, patch: AlarmDevicePatch): Promise<AlarmDeviceRecord | undefined>;
  /** Records a signed request accepted from the device (only moves forward in time). */
  touch(id: string, seenAt: Date): Promise<void>;
  /** Releases the repository (the store's connection stays the store's). */
  close(): Promise<void>;
}
