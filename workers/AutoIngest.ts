import { TypedEmitter } from './common/TypedEmitter.ts';
import type { Ingest, IngestDescription, IngestEvents, RtpTarget } from './Ingest.ts';
import { IngestError } from './IngestError.ts';

/**
 * The 'auto' engine: the packet relay for what it can carry (H.264 without B-frames, profiles browsers
 * decode), ffmpeg for the rest (MJPEG, H.265, B-frames, High 10/4:2:2/4:4:4, High when configured to
 * transcode). Each open() asks the relay first; when the relay refuses the stream
 * ('unsupported_codec'), the ffmpeg ingest takes the run. The camera's session is opened by one of
 * them at a time, never both.
 */
export class AutoIngest extends TypedEmitter<IngestEvents> implements Ingest {
  #active: Ingest | undefined;
  /** Why the relay declined the camera the last time (for logs and status). */
  declined: string | undefined;

  constructor(
    private readonly relay: Ingest,
    private readonly ffmpeg: Ingest,
  ) {
    super();
    for (const ingest of [relay, ffmpeg]) {
      ingest.on('progress', (progress) => this.#active === ingest && this.emit('progress', progress));
      ingest.on('error', (error) => this.#active === ingest && this.emit('error', error));
      ingest.on('flowing', () => this.#active === ingest && this.emit('flowing'));
    }
  }

  get pid(): number | undefined {
    return this.#active?.pid;
  }

  /** The relay's runs continue into the same feed; ffmpeg's do not. */
  get continuesAcrossRuns(): boolean {
    return this.#active === this.relay;
  }

  async open(): Promise<IngestDescription> {
    try {
      const description = await this.relay.open();
      this.#active = this.relay;
      this.declined = undefined;
      return description;
    } catch (error) {
      if (!(error instanceof IngestError) || error.reason !== 'unsupported_codec') throw error;
      this.declined = error.message;
    }
    this.#active = this.ffmpeg;
    return this.ffmpeg.open();
  }

  start(target: RtpTarget): void {
    if (!this.#active) throw new Error('AutoIngest.start() before open()');
    this.#active.start(target);
  }

  requestKeyframe(): void {
    this.#active?.requestKeyframe?.();
  }

  stop(): Promise<void> {
    return this.#active ? this.#active.stop() : Promise.resolve();
  }

  async close(): Promise<void> {
    await Promise.all([this.relay.close?.(), this.ffmpeg.stop()]);
    await this.ffmpeg.close?.();
  }
}
