import type { AuditEntry, AuditFilter } from './AuditRecord.ts';

/**
 * Where audit entries live. Appends are in seq order; reads stream. The embedded adapter keeps
 * a JSON-lines file (never the whole log in memory); the mongo adapter a collection.
 */
export interface AuditRepository {
  append(entry: AuditEntry): Promise<void>;
  last(): Promise<AuditEntry | undefined>;
  /** Newest first. */
  query(filter: AuditFilter, page: { offset: number; limit: number }): Promise<{ items: AuditEntry[]; total: number }>;
  /** In seq order. */
  scan(): AsyncIterable<AuditEntry>;
  /** Removes entries with seq <= `seq` (retention, after export). */
  deleteThrough(seq: number): Promise<number>;
  close(): Promise<void>;
}
