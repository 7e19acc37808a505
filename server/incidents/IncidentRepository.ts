import type { Actor, Disposition, IncidentFilter, IncidentRecord, NewIncidentRecord } from './IncidentRecord.ts';

/**
 * Where incidents are stored (embedded and MongoDB adapters, one contract suite). Unknown or
 * malformed ids are undefined. Changes to an incident's cameras and status are compare-and-set on
 * its status, so a closed incident never changes again.
 */
export interface IncidentRepository {
  insert(incident: NewIncidentRecord): Promise<IncidentRecord>;
  findById(id: string): Promise<IncidentRecord | undefined>;
  /** Newest opened first. */
  list(filter: IncidentFilter, page: { offset: number; limit: number }): Promise<{ items: IncidentRecord[]; total: number }>;
  /** Adds codes not attached yet (in the given order, after the attached ones), only while open; undefined when not open or unknown. */
  attach(id: string, codes: string[]): Promise<IncidentRecord | undefined>;
  /** Removes the codes, only while open; undefined when not open or unknown. */
  detach(id: string, codes: string[]): Promise<IncidentRecord | undefined>;
  /** open -> closed; undefined when not open (closed already) or unknown. */
  markClosed(id: string, closing: { closedBy: Actor; closedAt: Date; disposition: Disposition; closingNote: string }): Promise<IncidentRecord | undefined>;
  /** Releases the repository (the store's connection stays the store's). */
  close(): Promise<void>;
}
