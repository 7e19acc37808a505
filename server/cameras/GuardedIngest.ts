import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { Ingest, IngestDescription, IngestEvents, IngestSource, RtpTarget } from '../../workers/Ingest.ts';
import { IngestError, RTSP_FAILURE_REASONS } from '../../workers/IngestError.ts';
import { CameraLoginGuard } from './CameraLoginGuard.ts';
import { checkCamera } from './checkCamera.ts';


/**
 * An ingest that first checks the camera with our RTSP client through the login guard, so the
 * prober and the ingest share what a camera refused: a camera that refused our credentials (or is
 * busy) is not asked again until its backoff ends, and a refusal costs one login, not one per tool.
 */
export class GuardedIngest extends TypedEmitter<IngestEvents> implements Ingest {
  constructor(
    private readonly inner: Ingest,
    private readonly camera: IngestSource,
    private readonly guard: CameraLoginGuard,
    private readonly timeoutMs: number,
    /**
     * 'probe-first' (the ffmpeg ingest): our RTSP client checks the camera before the inner ingest
     * runs. 'inner' (the relay, whose own session is our RTSP client): no extra session; the inner
     * ingest's refusals are recorded in the guard instead.
     */
    private readonly mode: 'probe-first' | 'inner' = 'probe-first',
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

  /** Throws IngestError with the refusal (unauthorized, locked_out, busy, ...) without running the inner ingest. */
  async open(): Promise<IngestDescription> {
    if (this.mode === 'inner') return this.#openInner();
    const outcome = await checkCamera(this.camera, this.guard, this.timeoutMs);
    if (!outcome.ok) throw new IngestError(RTSP_FAILURE_REASONS[outcome.code], outcome.message);
    // ffmpeg's RTSP client answers Digest with MD5 only: against a SHA-256 camera every run would be
    // one more refused login (and a step nearer a lockout), so it is not started at all.
    if (outcome.probe.authScheme?.startsWith('digest-sha256')) {
      throw new IngestError('unauthorized', 'the camera demands Digest SHA-256, which the ffmpeg ingest cannot answer (our RTSP client can: it plays once the packet relay ingest is in place)');
    }
    return this.inner.open();
  }

  async #openInner(): Promise<IngestDescription> {
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

  stop(): Promise<void> {
    return this.inner.stop();
  }
}
