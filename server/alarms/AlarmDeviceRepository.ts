import type { AlarmDeviceFilter, AlarmDevicePatch, AlarmDeviceRecord, NewAlarmDeviceRecord } from './AlarmRecord.ts';

/**
 * Where alarm devices are stored (embedded and MongoDB adapters, one contract suite). Codes are
 * unique (insert throws AppError conflict); unknown or malformed ids are undefined.
 */
export interface AlarmDeviceRepository {
  /** Throws AppError('conflict') when the code exists. */
  insert(device: NewAlarmDeviceRecord): Promise<AlarmDeviceRecord>;
  findById(id: string): Promise<AlarmDeviceRecord | undefined>;
  findByCode(code: string): Promise<AlarmDeviceRecord | undefined>;
  /** Ordered by code. */
  list(filter: AlarmDeviceFilter, page: { offset: number; limit: number }): Promise<{ items: AlarmDeviceRecord[]; total: number }>;
  /** Applies the patch; undefined when unknown. */
  update(id: string, patch: AlarmDevicePatch): Promise<AlarmDeviceRecord | undefined>;
  /** Records a signed request accepted from the device (only moves forward in time). */
  touch(id: string, seenAt: Date): Promise<void>;
  /** Releases the repository (the store's connection stays the store's). */
  close(): Promise<void>;
}
