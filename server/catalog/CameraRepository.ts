import type { CameraHealthRecord, CameraFilter, PictureSize, StreamSizes, CameraListResult, CameraPatch, CameraRecord, NewCameraRecord, Page, StatusChange } from './CameraRecord.ts';

/**
 * Where cameras are stored. Two adapters (mongo, embedded) pass one contract suite
 * (test/integration/catalog-contract.test.ts). Errors: AppError('conflict') for a duplicate code.
 * Unknown or malformed ids are "not found" (undefined), never an exception.
 */
export interface CameraRepository {
  insert(camera: NewCameraRecord): Promise<CameraRecord>;
  findById(id: string): Promise<CameraRecord | undefined>;
  findByCode(code: string): Promise<CameraRecord | undefined>;
  /** Sorted by code; `near` filters by distance but keeps that order. */
  list(filter: CameraFilter, page: Page): Promise<CameraListResult>;
  update(id: string, patch: CameraPatch): Promise<CameraRecord | undefined>;
  /** Compare-and-set on the status: undefined when the camera is missing, retired, or not in `from`. */
  changeStatus(id: string, change: StatusChange): Promise<CameraRecord | undefined>;
  /** Sets retiredAt (idempotent); undefined when missing. */
  retire(id: string): Promise<CameraRecord | undefined>;
  count(filter: CameraFilter): Promise<number>;
  /** Distinct municipalities of the cameras matching the filter, sorted. */
  municipalities(filter: CameraFilter): Promise<string[]>;
  /** Stores a new health verdict (callers write only changes); undefined when missing. */
  setHealth(id: string, health: CameraHealthRecord): Promise<CameraRecord | undefined>;
  /** Stores one stream's resolution (learned from its SPS), leaving the other's; undefined when missing. */
  setStreamSize(id: string, stream: keyof StreamSizes, size: PictureSize): Promise<CameraRecord | undefined>;
  /** Finds cameras by code in bulk (imports). */
  findByCodes(codes: string[]): Promise<CameraRecord[]>;
  close(): Promise<void>;
}
