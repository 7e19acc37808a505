import type { CameraStreamName } from '../cameras/CameraDirectory.ts';
import type { SessionBandwidth } from './protocol.ts';

interface Metered {
  cameraId: string;
  stream: CameraStreamName;
  /** What the consumer was expected to bring when created (kbit/s): counted until measured. */
  estimateKbps: number;
  lastBytes?: number;
  lastAt?: number;
  /** Measured over the last sampling period (kbit/s); undefined until two samples exist. */
  kbps?: number;
}

export interface SessionBandwidthMeterOptions {
  /** Sampling period (ms). */
  sampleMs: number;
  /** The session's cap now (kbit/s; null: none), read at each use. */
  capKbps(): number | null;
  /** Bytes the consumer has sent so far (its outbound RTP byte count). */
  readBytes(consumerId: string): Promise<number>;
  /** Each sample, while the session has consumers. */
  onSample(sample: SessionBandwidth): void;
}

/**
 * One session's consumers' actual bit rates: each sampling period, the bytes each consumer sent
 * since the last sample, over the time between them (kbit/s). A consumer not yet measured counts
 * as its estimate, so a cap holds from a tile's first second. The timer runs only while the session
 * has consumers; close() stops it.
 */
export class SessionBandwidthMeter {
  readonly #consumers = new Map<string, Metered>();
  readonly #options: SessionBandwidthMeterOptions;
  #timer: NodeJS.Timeout | undefined;
  #sampling = false;
  #closed = false;

  constructor(options: SessionBandwidthMeterOptions) {
    this.#options = options;
  }

  get capKbps(): number | null {
    return this.#options.capKbps();
  }

  add(consumerId: string, info: { cameraId: string; stream: CameraStreamName; estimateKbps: number }): void {
    if (this.#closed) return;
    this.#consumers.set(consumerId, { ...info });
    this.#timer ??= setInterval(() => void this.#sample(), this.#options.sampleMs);
  }

  remove(consumerId: string): void {
    this.#consumers.delete(consumerId);
    if (this.#consumers.size === 0) this.#stop();
  }

  /** The consumer's rate: measured, else its estimate (kbit/s); 0 for one not metered. */
  kbpsOf(consumerId: string): number {
    const entry = this.#consumers.get(consumerId);
    return entry ? (entry.kbps ?? entry.estimateKbps) : 0;
  }

  /** The session's rate without `except` (a consumer about to be replaced), kbit/s. */
  usedKbps(except?: string): number {
    let total = 0;
    for (const [id, entry] of this.#consumers) if (id !== except) total += entry.kbps ?? entry.estimateKbps;
    return total;
  }

  /** The consumers, heaviest first (kbit/s as kbpsOf). */
  heaviest(): Array<{ consumerId: string; cameraId: string; stream: CameraStreamName; kbps: number }> {
    return [...this.#consumers]
      .map(([consumerId, entry]) => ({ consumerId, cameraId: entry.cameraId, stream: entry.stream, kbps: entry.kbps ?? entry.estimateKbps }))
      .sort((a, b) => b.kbps - a.kbps);
  }

  close(): void {
    this.#closed = true;
    this.#consumers.clear();
    this.#stop();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #sample(): Promise<void> {
    if (this.#sampling || this.#closed) return;
    this.#sampling = true;
    try {
      for (const [consumerId, entry] of [...this.#consumers]) {
        const bytes = await this.#options.readBytes(consumerId).catch(() => undefined);
        const now = performance.now();
        if (bytes === undefined || this.#consumers.get(consumerId) !== entry) continue;
        if (entry.lastBytes !== undefined && entry.lastAt !== undefined && now > entry.lastAt && bytes >= entry.lastBytes) {
          entry.kbps = ((bytes - entry.lastBytes) * 8) / (now - entry.lastAt);
        }
        entry.lastBytes = bytes;
        entry.lastAt = now;
      }
      if (this.#closed || this.#consumers.size === 0) return;
      const consumers = [...this.#consumers].map(([consumerId, entry]) => ({
        consumerId,
        cameraId: entry.cameraId,
        stream: entry.stream,
        kbps: Math.round(entry.kbps ?? entry.estimateKbps),
        measured: entry.kbps !== undefined,
      }));
      this.#options.onSample({ capKbps: this.#options.capKbps(), totalKbps: Math.round(this.usedKbps()), consumers });
    } finally {
      this.#sampling = false;
    }
  }
}
