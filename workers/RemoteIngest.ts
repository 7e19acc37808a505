import { randomUUID } from 'node:crypto';
import { TypedEmitter } from './common/TypedEmitter.ts';
import type { Ingest, IngestDescription, IngestEvents, IngestSource, RtpTarget } from './Ingest.ts';
import { IngestError } from './IngestError.ts';
import type { FromWorker } from './ingestProtocol.ts';
import type { IngestWorker, WorkerCamera } from './IngestWorker.ts';

/** Where a RemoteIngest's camera is placed (IngestWorkerPool). */
export interface IngestPlacement {
  place(key: string, camera: WorkerCamera): IngestWorker;
  release(key: string): void;
}

/**
 * A camera's ingest carried by an ingest worker process: the Ingest interface, by IPC. The camera
 * stays on the worker it was placed on for its life (the relay's source ports live there); when that
 * worker dies, the run ends with 'exited' and the feed is not kept (the replacement worker binds
 * other source ports, which a comedia PlainTransport would not accept), so the next open() places
 * the camera again and its viewers re-subscribe to a new feed.
 */
export class RemoteIngest extends TypedEmitter<IngestEvents> implements Ingest, WorkerCamera {
  readonly key = randomUUID();
  #worker: IngestWorker | undefined;
  #continues = false;
  #running = false;
  #pid: number | undefined;
  /** The last reported bit rate (kbit/s). */
  kbps = 0;

  constructor(
    private readonly pool: IngestPlacement,
    private readonly camera: IngestSource,
    /** Each ffmpeg stderr line of the camera (credentials already removed in the worker). */
    private readonly onLog?: (line: string) => void,
  ) {
    super();
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  get continuesAcrossRuns(): boolean {
    return this.#continues;
  }

  async open(): Promise<IngestDescription> {
    if (!this.#worker?.alive) this.#worker = this.pool.place(this.key, this);
    const { id, url, username, password, transport, engine, tls, pinned } = this.camera;
    const camera = { id, url, transport, ...(username !== undefined && { username }), ...(password !== undefined && { password }), ...(engine && { engine }), ...(tls && { tls }), ...(pinned && { pinned: { address: pinned.address } }) };
    const reply = await this.#worker.request({ type: 'open', key: this.key, camera });
    if (reply.type !== 'opened') throw new IngestError('exited', 'the ingest worker answered open() without a description');
    this.#continues = reply.continuesAcrossRuns;
    return reply.description as IngestDescription;
  }

  start(target: RtpTarget): void {
    const worker = this.#worker;
    this.#running = true;
    if (!worker?.alive) {
      // The worker died between open() and start(): the run ends as the death of any run does.
      queueMicrotask(() => {
        if (!this.#running) return;
        this.#running = false;
        this.emit('error', new IngestError('exited', 'the ingest worker process carrying the camera died'));
      });
      return;
    }
    worker.send({ type: 'start', key: this.key, target });
  }

  requestKeyframe(): void {
    if (this.#running && this.#worker?.alive) this.#worker.send({ type: 'keyframe', key: this.key });
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#pid = undefined;
    const worker = this.#worker;
    if (worker?.alive) await worker.request({ type: 'stop', key: this.key }).catch(() => undefined);
  }

  /** Ends the run and releases the camera's place on its worker (a later open() places it again, for a new feed). */
  async close(): Promise<void> {
    this.#running = false;
    this.#pid = undefined;
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker?.alive) await worker.request({ type: 'close', key: this.key }).catch(() => undefined);
    this.pool.release(this.key);
  }

  onWorkerMessage(message: Extract<FromWorker, { key: string }>): void {
    switch (message.type) {
      case 'progress':
        this.#pid = message.pid ?? undefined;
        this.kbps = message.progress.kbps;
        if (this.#running) this.emit('progress', message.progress);
        return;
      case 'flowing':
        this.#pid = message.pid ?? undefined;
        if (this.#running) this.emit('flowing');
        return;
      case 'error':
        if (!this.#running) return;
        this.#running = false;
        this.#pid = undefined;
        this.emit('error', new IngestError(message.error.reason, message.error.message));
        return;
      case 'pid':
        this.#pid = message.pid ?? undefined;
        return;
      case 'log':
        this.onLog?.(message.line);
        return;
    }
  }

  /** The worker carrying the camera died: the run (if any) ends, and the feed cannot be kept. */
  workerDied(): void {
    this.#worker = undefined;
    this.#continues = false;
    this.#pid = undefined;
    if (!this.#running) return;
    this.#running = false;
    this.emit('error', new IngestError('exited', 'the ingest worker process carrying the camera died'));
  }
}
