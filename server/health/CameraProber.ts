import type { Logger } from '../logging/createLogger.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import { isEnrolled, type CameraCatalog } from '../catalog/CameraCatalog.ts';
import type { CameraHealthRecord, CameraRecord, HealthStatus } from '../catalog/CameraRecord.ts';
import { checkCamera } from '../cameras/checkCamera.ts';
import { ownEndpointOnly } from '../../workers/cameraSession.ts';
import type { CameraLoginGuard } from '../cameras/CameraLoginGuard.ts';
import { probeResultOf, type ProbeResult } from './probeRtsp.ts';

export interface ProberSettings {
  intervalMs: number;
  concurrency: number;
  maxPerSecond: number;
  timeoutMs: number;
  maxBackoffMs: number;
}

export type CameraProberEvents = {
  /** A camera's health status changed (and was stored). */
  health: [{ camera: CameraRecord; health: CameraHealthRecord }];
};

export interface ProberOptions {
  /**
   * The address an enrolled citizen camera's URL may be connected to (issue 26: the address guard's
   * answer), asked at each probe: the probe connects there only, never looking the name up again,
   * and follows no redirect to another endpoint. A refusal is reported as unreachable
   * ("address_refused: the camera's address is not allowed (reason)"), without contacting the camera.
   */
  pin?: (url: string) => Promise<{ address: string }>;
  /** How one camera is probed (tests); default: checkCamera through the login guard. */
  probe?: (camera: CameraRecord) => Promise<ProbeResult>;
}

interface Tracked {
  nextAt: number;
  failures: number;
  lastSeenAt?: Date;
}

/**
 * Checks approved cameras nobody watches, with bounded concurrency and a start rate, so that an
 * unwatched camera's status is known without pulling its video. Stores a status only when it
 * changes; unreachable cameras back off. Cameras being watched are skipped (`isLive`).
 */
export class CameraProber extends TypedEmitter<CameraProberEvents> {
  readonly #tracked = new Map<string, Tracked>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #inFlight = 0;
  readonly stats = { probes: 0, maxInFlight: 0, rounds: 0 };
  private readonly probe: (camera: CameraRecord) => Promise<ProbeResult>;

  constructor(
    private readonly catalog: CameraCatalog,
    private readonly settings: ProberSettings,
    private readonly isLive: (code: string) => boolean,
    private readonly logger: Logger,
    private readonly guard: CameraLoginGuard,
    options: ProberOptions = {},
  ) {
    super();
    const { pin } = options;
    this.probe =
      options.probe ??
      (async (camera) => {
        const { url, username, password } = catalog.connectionOf(camera);
        const target = {
          id: camera.code,
          url,
          transport: camera.transport,
          ...(username !== undefined && { username }),
          ...(password !== undefined && { password }),
          ...(camera.tlsFingerprint !== undefined && { tls: { verify: true, fingerprint256: camera.tlsFingerprint } }),
        };
        const pinned = pin && isEnrolled(camera) ? ownEndpointOnly(url, () => pin(url)) : undefined;
        return probeResultOf(await checkCamera(target, guard, settings.timeoutMs, pinned && { resolveEndpoint: pinned }));
      });
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Starts the periodic rounds (the first one now). */
  start(): void {
    if (this.#timer || this.#closed) return;
    const tick = (): void => {
      this.#running = this.runRound().catch((error: unknown) => this.logger.error({ err: error }, 'camera probe round failed'));
      void this.#running.then(() => {
        if (!this.#closed) this.#timer = setTimeout(tick, Math.min(this.settings.intervalMs, 60_000));
      });
    };
    tick();
  }

  /** One pass over every approved camera that is due; resolves when its probes are done. */
  async runRound(): Promise<void> {
    this.stats.rounds++;
    const due: CameraRecord[] = [];
    const now = Date.now();
    for (let offset = 0; ; offset += 1000) {
      const { items } = await this.catalog.repository.list({ status: ['approved'] }, { offset, limit: 1000 });
      for (const camera of items) {
        const tracked = this.#tracked.get(camera.id);
        if (!tracked || tracked.nextAt <= now) due.push(camera);
      }
      if (items.length < 1000) break;
    }
    const gapMs = 1000 / this.settings.maxPerSecond;
    let index = 0;
    let nextStart = Date.now();
    const worker = async (): Promise<void> => {
      while (!this.#closed && index < due.length) {
        const camera = due[index++]!;
        const wait = nextStart - Date.now();
        nextStart = Math.max(nextStart, Date.now()) + gapMs;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (this.#closed) return;
        await this.#check(camera);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency, due.length) }, worker));
  }

  async #check(camera: CameraRecord): Promise<void> {
    const tracked = this.#tracked.get(camera.id) ?? { nextAt: 0, failures: 0 };
    this.#tracked.set(camera.id, tracked);
    let result: ProbeResult;
    if (this.isLive(camera.code)) {
      result = { status: 'reachable', message: 'being watched' };
    } else {
      this.#inFlight++;
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.#inFlight);
      try {
        result = await this.probe(camera);
        // One quick second try before calling a camera unreachable: a dropped connection is common.
        if (result.status === 'unreachable' && !this.#closed) {
          await new Promise((resolve) => setTimeout(resolve, 300));
          result = await this.probe(camera);
        }
      } finally {
        this.#inFlight--;
      }
      this.stats.probes++;
    }
    const now = new Date();
    if (result.status === 'unreachable') tracked.failures++;
    else {
      tracked.failures = 0;
      tracked.lastSeenAt = now;
    }
    const delay = Math.min(this.settings.maxBackoffMs, this.settings.intervalMs * 2 ** Math.max(0, tracked.failures - 1));
    tracked.nextAt = now.getTime() + delay;
    await this.#record(camera, result, tracked, now);
  }

  async #record(camera: CameraRecord, result: ProbeResult, tracked: Tracked, now: Date): Promise<void> {
    const previous = camera.health;
    const sameStream = JSON.stringify(previous?.stream ?? null) === JSON.stringify(result.stream ?? previous?.stream ?? null);
    if (previous?.status === result.status && sameStream && previous.redirectedTo === result.redirectedTo) return;
    // A reachable camera keeps its last known stream while it is down: the operator still sees what it was.
    const stream = result.stream ?? previous?.stream;
    const health: CameraHealthRecord = {
      status: result.status as HealthStatus,
      since: previous?.status === result.status ? previous.since : now,
      ...(tracked.lastSeenAt && { lastSeenAt: tracked.lastSeenAt }),
      message: result.message,
      ...(stream && { stream }),
      ...(result.redirectedTo !== undefined && { redirectedTo: result.redirectedTo }),
    };
    const stored = await this.catalog.repository.setHealth(camera.id, health);
    if (stored) this.emit('health', { camera: stored, health });
  }

  /** Probes one camera now, whatever its schedule (an operator's "check now"). */
  async checkNow(cameraId: string): Promise<void> {
    const camera = await this.catalog.repository.findById(cameraId);
    if (camera) await this.#check(camera);
  }

  /** Last time each camera answered, in memory (stored only with a status change). */
  lastSeen(cameraId: string): Date | undefined {
    return this.#tracked.get(cameraId)?.lastSeenAt;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }
}
