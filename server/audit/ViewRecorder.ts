import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AuditLog } from './AuditLog.ts';

interface OpenView {
  userId: string;
  username?: string;
  cameraId: string;
  ip?: string;
  /** The incident that allowed the view, when one did. */
  incidentId?: string;
  /** 'review': an admin looking at a pending citizen camera to review its enrolment. */
  purpose?: 'review';
  startedAt: number;
}

/**
 * Audits every view's start and stop (with its duration), and keeps the open views in a small file
 * so that views still open when the server died are closed at the next start, marked as such.
 */
export class ViewRecorder {
  readonly #open = new Map<string, OpenView>();

  constructor(
    private readonly audit: AuditLog,
    private readonly path: string,
  ) {}

  /** Closes the views a previous run left open; returns how many. */
  async closeLeftovers(): Promise<number> {
    if (!existsSync(this.path)) return 0;
    const left = JSON.parse(readFileSync(this.path, 'utf8')) as Record<string, OpenView>;
    for (const [viewId, view] of Object.entries(left)) {
      await this.#record('view.stop', view, { viewId, startedAt: new Date(view.startedAt).toISOString(), reason: 'server_stopped', closedAtRestart: true });
    }
    this.#save();
    return Object.keys(left).length;
  }

  start(view: Omit<OpenView, 'startedAt'>): string {
    const viewId = randomUUID();
    const open = { ...view, startedAt: Date.now() };
    this.#open.set(viewId, open);
    this.#save();
    void this.#record('view.start', open, { viewId });
    return viewId;
  }

  /**
   * `forced`: the server ended it (rights, camera withdrawn); the reason says why. `endedAt` (ms
   * since the epoch): when the view really ended, if earlier than now (the record says so in
   * `endedAt`, and its duration runs to it).
   */
  stop(viewId: string, reason: string, forced = false, endedAt?: number): void {
    const view = this.#open.get(viewId);
    if (!view) return;
    this.#open.delete(viewId);
    this.#save();
    const end = endedAt === undefined ? Date.now() : Math.max(view.startedAt, Math.min(endedAt, Date.now()));
    void this.#record(forced ? 'view.forced_stop' : 'view.stop', view, {
      viewId,
      reason,
      durationMs: end - view.startedAt,
      startedAt: new Date(view.startedAt).toISOString(),
      ...(endedAt !== undefined && { endedAt: new Date(end).toISOString() }),
    });
  }

  get openCount(): number {
    return this.#open.size;
  }

  #record(action: string, view: OpenView, details: Record<string, unknown>): Promise<unknown> {
    return this.audit.record({
      action,
      userId: view.userId,
      ...(view.username && { username: view.username }),
      cameraId: view.cameraId,
      ...(view.incidentId && { incidentId: view.incidentId }),
      ...(view.ip && { ip: view.ip }),
      details: view.purpose ? { ...details, purpose: view.purpose } : details,
    });
  }

  #save(): void {
    writeFileSync(`${this.path}.tmp`, JSON.stringify(Object.fromEntries(this.#open)), { mode: 0o600 });
    renameSync(`${this.path}.tmp`, this.path);
  }
}
