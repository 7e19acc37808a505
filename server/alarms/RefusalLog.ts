import type { AuditLog } from '../audit/AuditLog.ts';
import type { Logger } from '../logging/createLogger.ts';

interface Window {
  /** Refusals since the last entry written for this source. */
  count: number;
  reasons: Record<string, number>;
  devices: Set<string>;
  timer: NodeJS.Timeout;
}

/**
 * Audits refused alarm requests at most once per source address per period (a minute): the first
 * refusal is written at once (count 1), the refusals after it within the period are counted and
 * written as one entry when the period ends, with their count, reasons and the device codes they
 * named. A flood of forged requests is thus a few entries a minute, and nothing is lost from the
 * count. Sources are bounded (`maxSources`); beyond it, refusals are counted under source '*'.
 */
export class RefusalLog {
  readonly #windows = new Map<string, Window>();
  #closed = false;

  constructor(
    private readonly audit: AuditLog,
    private readonly logger: Logger,
    private readonly periodMs = 60_000,
    private readonly maxSources = 10_000,
  ) {}

  /** One refused request from `source` (an address); `device` is the code it claimed, when any. */
  refused(source: string, reason: string, device: string | undefined): void {
    if (this.#closed) return;
    const key = this.#windows.has(source) || this.#windows.size < this.maxSources ? source : '*';
    const window = this.#windows.get(key);
    if (window) {
      window.count++;
      window.reasons[reason] = (window.reasons[reason] ?? 0) + 1;
      if (device && window.devices.size < 20) window.devices.add(device);
      return;
    }
    this.#write(key, 1, { [reason]: 1 }, device ? [device] : []);
    const timer = setTimeout(() => this.#flush(key), this.periodMs);
    timer.unref();
    this.#windows.set(key, { count: 0, reasons: {}, devices: new Set(), timer });
  }

  /** Writes what is pending and stops (the App's shutdown). */
  close(): void {
    if (this.#closed) return;
    for (const key of [...this.#windows.keys()]) this.#flush(key, false);
    this.#closed = true;
  }

  #flush(key: string, again = true): void {
    const window = this.#windows.get(key);
    if (!window) return;
    clearTimeout(window.timer);
    this.#windows.delete(key);
    if (window.count === 0) return;
    this.#write(key, window.count, window.reasons, [...window.devices]);
    if (!again || this.#closed) return;
    // A new period starts now, empty: a source still refused gets its next entry a period later.
    const timer = setTimeout(() => this.#flush(key), this.periodMs);
    timer.unref();
    this.#windows.set(key, { count: 0, reasons: {}, devices: new Set(), timer });
  }

  #write(source: string, count: number, reasons: Record<string, number>, devices: string[]): void {
    this.audit
      .record({ action: 'alarm.refuse', ip: source, details: { source, count, reasons, ...(devices.length > 0 && { devices }), periodS: this.periodMs / 1000 } })
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not audit refused alarm requests'));
  }
}
