import type { EnrolmentFilter, EnrolmentPatch, EnrolmentRecord, EnrolmentStatusChange, NewEnrolmentRecord } from './EnrolmentRecord.ts';

/**
 * Where citizen enrolments are stored. Two adapters (mongo, embedded) pass one contract suite
 * (test/integration/enrolment-contract.test.ts). Errors: AppError('conflict') for a duplicate
 * reference, camera code or status token hash. Unknown or malformed ids and keys are "not found"
 * (undefined), never an exception.
 */
export interface EnrolmentRepository {
  insert(enrolment: NewEnrolmentRecord): Promise<EnrolmentRecord>;
  findById(id: string): Promise<EnrolmentRecord | undefined>;
  findByReference(reference: string): Promise<EnrolmentRecord | undefined>;
  findByTokenHash(hash: string): Promise<EnrolmentRecord | undefined>;
  findByCameraCode(code: string): Promise<EnrolmentRecord | undefined>;
  /** Oldest first (createdAt ascending, then reference). */
  list(filter: EnrolmentFilter, page: { offset: number; limit: number }): Promise<{ items: EnrolmentRecord[]; total: number }>;
  update(id: string, patch: EnrolmentPatch): Promise<EnrolmentRecord | undefined>;
  /**
   * Compare-and-set on the status; undefined when missing or not in `from`. Sets statusChangedAt;
   * with `close` sets closedAt, without it removes closedAt (a rejected enrolment sent back to
   * review is open again, its retention period void). Stores `reason` as statusReason, and without
   * one removes the previous reason (it explained the previous status).
   */
  changeStatus(id: string, change: EnrolmentStatusChange): Promise<EnrolmentRecord | undefined>;
  /**
   * Erases the personal data (`personal`, `contactKey`) of enrolments closed (rejected or withdrawn,
   * closedAt) before `before` and not erased yet, setting `erasedAt`; reference, camera code and
   * status are kept. Returns the erased enrolments (after the change), oldest first; each is erased
   * and returned once, even by concurrent runs.
   */
  eraseClosedBefore(before: Date): Promise<EnrolmentRecord[]>;
  close(): Promise<void>;
}
