import type { Actor } from '../incidents/IncidentRecord.ts';
import type { AlarmDisposition, AlarmFilter, AlarmRecord, NewAlarmRecord } from './AlarmRecord.ts';

/**
 * Where alarms are stored (embedded and MongoDB adapters, one contract suite). State changes are
 * compare-and-set on the status, so two operators acknowledging at once get one winner, and a
 * closed alarm never changes again. Unknown or malformed ids are undefined.
 */
export interface AlarmRepository {
  insert(alarm: NewAlarmRecord): Promise<AlarmRecord>;
  findById(id: string): Promise<AlarmRecord | undefined>;
  /** Newest first (firstAt). */
  list(filter: AlarmFilter, page: { offset: number; limit: number }): Promise<{ items: AlarmRecord[]; total: number }>;
  /** The device's newest alarm not closed whose last press is at or after `since`. */
  findJoinable(deviceId: string, since: Date): Promise<AlarmRecord | undefined>;
  /** One more press (presses + 1, lastAt), only while not closed; undefined otherwise. */
  press(id: string, at: Date): Promise<AlarmRecord | undefined>;
  /** open -> acknowledged; undefined when not open (acknowledged by someone else, closed) or unknown. */
  acknowledge(id: string, by: Actor, at: Date): Promise<AlarmRecord | undefined>;
  /** Sets the announce level, only while open; undefined otherwise. */
  reannounce(id: string, level: number, at: Date): Promise<AlarmRecord | undefined>;
  /** open or acknowledged -> closed; undefined when closed already or unknown. */
  markClosed(id: string, closing: { closedBy: Actor; closedAt: Date; disposition: AlarmDisposition; closingNote?: string }): Promise<AlarmRecord | undefined>;
  close(): Promise<void>;
}
