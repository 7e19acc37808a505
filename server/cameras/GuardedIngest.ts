import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { Ingest, IngestDescription, IngestEvents, IngestSource, RtpTarget } from '../../workers/Ingest.ts';
import { IngestError } from '../../workers/IngestError.ts';
import { CameraLoginGuard } from './CameraLoginGuard.ts';

/**
 * An ingest behind the camera login guard, so the prober and every engine share what a camera
 * refused: a camera that refused our credentials (or is busy) is not asked again until its backoff
 * ends. Every engine's session is our RTSP client, so the inner ingest's own refusal is the one login
 * a refusal costs; it is recorded in the guard.
 */
export class GuardedIngest extends TypedEmitter<IngestEvents> implements Ingest {
  constructor(
    private readonly inner: Ingest,
    private readonly camera: IngestSource,
    private readonly guard: CameraLoginGuard,
  ) {
    super();
    inner.on('progress', (progress) => this.emit('progress', progress));
    inner.on('error', (error) => this.emit('error', error));
    inner.on('flowing', () => this.emit('flowing'));
  }

  get continuesAcrossRuns(): boolean {
    return this.inner.continuesAcrossRuns ?? false;
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  get pid(): number | undefined {
    return this.inner.pid;
  }

  /**
   * The inner ingest's open(), unless the guard holds a refusal of these credentials: then throws
   * IngestError with it (unauthorized, locked_out, busy) without asking the camera again.
   */
  async open(): Promise<IngestDescription> {
    const key = CameraLoginGuard.credentialKey(this.camera.username, this.camera.password);
    const held = this.guard.refusal(this.camera.id, key);
    if (held) throw new IngestError(held.code, `${held.message}; not asked again before ${new Date(held.retryAt).toISOString()}`);
    try {
      const description = await this.inner.open();
      this.guard.accepted(this.camera.id);
      return description;
    } catch (error) {
      if (error instanceof IngestError && (error.reason === 'unauthorized' || error.reason === 'locked_out' || error.reason === 'busy')) {
        this.guard.refused(this.camera.id, key, error.reason, error.message);
      }
      throw error;
    }
  }

  start(target: RtpTarget): void {
    this.inner.start(target);
  }

  requestKeyframe(): void {
    this.inner.requestKeyframe?.();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }
}
