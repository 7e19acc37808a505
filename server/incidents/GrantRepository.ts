import type { GrantEnd, GrantRecord, NewGrantRecord } from './IncidentRecord.ts';

/**
 * Where grants are stored (embedded and MongoDB adapters, one contract suite). Unknown or
 * malformed ids are undefined. Extending and ending are compare-and-set on the 'active' status.
 */
export interface GrantRepository {
  /** Stored as 'active'. */
  insert(grant: NewGrantRecord): Promise<GrantRecord>;
  findById(id: string): Promise<GrantRecord | undefined>;
  /** Oldest first. */
  listByIncident(incidentId: string): Promise<GrantRecord[]>;
  /** Oldest first; only active ones when `activeOnly`. */
  listByInvestigator(userId: string, activeOnly: boolean): Promise<GrantRecord[]>;
  /** Every active grant (for the access cache and the expiry timers at start-up). */
  listActive(): Promise<GrantRecord[]>;
  /** A new end time, only while active; undefined otherwise. */
  extend(id: string, endsAt: Date): Promise<GrantRecord | undefined>;
  /** active -> revoked / expired / ended, only while active; undefined otherwise. */
  end(id: string, end: GrantEnd): Promise<GrantRecord | undefined>;
  close(): Promise<void>;
}
