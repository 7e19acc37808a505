import type { Ingest } from './Ingest.ts';
import { IngestError } from './IngestError.ts';
import { createEngineIngest, type EngineSettings } from './createEngineIngest.ts';
import { MAX_PROGRESS_BATCH, type FromWorker, type ProgressEntry, type ToWorker } from './ingestProtocol.ts';

/**
 * Progress reports are gathered this long and sent as one message (a report a second per camera,
 * hundreds of cameras: one message each would cost the worker more than relaying their packets).
 */
export const PROGRESS_BATCH_MS = 250;

/**
 * The cameras one ingest worker process carries: it turns the server's requests (open, start, stop,
 * close; workers/ingestProtocol.ts) into calls on each camera's ingest, and the ingests' events into
 * messages. Requests for one camera run in order; cameras do not wait for each other.
 */
export class IngestHost {
  readonly #ingests = new Map<string, Ingest>();
  /** Each camera's pending work, so its requests run one after another. */
  readonly #queues = new Map<string, Promise<void>>();
  #settings: EngineSettings | undefined;
  #progress: ProgressEntry[] = [];
  #progressTimer: NodeJS.Timeout | undefined;

  readonly #send: (message: FromWorker) => void;

  constructor(send: (message: FromWorker) => void) {
    this.#send = send;
  }

  /** Sends a message after the progress gathered so far, so the server sees every camera's events in order. */
  private send(message: FromWorker): void {
    this.#flushProgress();
    this.#send(message);
  }

  get cameras(): number {
    return this.#ingests.size;
  }

  handle(message: ToWorker): void {
    if (message.type === 'init') {
      this.#settings = message.settings;
      return;
    }
    const { key } = message;
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.#run(message)).catch(() => undefined);
    this.#queues.set(key, next);
    void next.then(() => {
      if (this.#queues.get(key) === next) this.#queues.delete(key);
    });
  }

  async #run(message: Exclude<ToWorker, { type: 'init' }>): Promise<void> {
    const { key } = message;
    switch (message.type) {
      case 'open': {
        try {
          const ingest = this.#ingests.get(key) ?? this.#create(key, message.camera);
          const description = await ingest.open();
          this.send({ type: 'opened', id: message.id, description, continuesAcrossRuns: ingest.continuesAcrossRuns ?? false });
        } catch (error) {
          this.send({ type: 'failed', id: message.id, error: errorOf(error) });
        }
        return;
      }
      case 'start': {
        const ingest = this.#ingests.get(key);
        try {
          if (!ingest) throw new IngestError('exited', 'start for a camera this worker does not carry');
          ingest.start(message.target);
        } catch (error) {
          this.send({ type: 'error', key, error: errorOf(error) });
        }
        return;
      }
      case 'keyframe':
        this.#ingests.get(key)?.requestKeyframe?.();
        return;
      case 'stop':
      case 'close': {
        const ingest = this.#ingests.get(key);
        try {
          if (message.type === 'stop') await ingest?.stop();
          else {
            this.#ingests.delete(key);
            await ingest?.stop();
            await ingest?.close?.();
          }
          this.send({ type: 'done', id: message.id });
        } catch (error) {
          this.send({ type: 'failed', id: message.id, error: errorOf(error) });
        }
        return;
      }
    }
  }

  #create(key: string, camera: Extract<ToWorker, { type: 'open' }>['camera']): Ingest {
    const settings = this.#settings;
    if (!settings) throw new IngestError('spawn_failed', 'the ingest worker was not initialised');
    const ingest = createEngineIngest(
      { ...camera, ...(camera.tls && { tls: { verify: camera.tls.verify, ...(camera.tls.fingerprint256 && { fingerprint256: camera.tls.fingerprint256 }) } }) },
      settings,
      {
        onLog: (line) => this.send({ type: 'log', key, line: line.slice(0, 4000) }),
        onChild: (event, pid, command) => {
          this.send({ type: 'child', event, pid, command });
          const current = ingest.pid;
          this.send({ type: 'pid', key, pid: event === 'spawned' ? pid : current !== undefined && current !== pid ? current : null });
        },
      },
    );
    const pid = () => ingest.pid ?? null;
    ingest.on('progress', (progress) => this.#queueProgress({ key, progress, pid: pid() }));
    ingest.on('flowing', () => this.send({ type: 'flowing', key, pid: pid() }));
    ingest.on('error', (error) => this.send({ type: 'error', key, error: errorOf(error) }));
    this.#ingests.set(key, ingest);
    return ingest;
  }

  #queueProgress(entry: ProgressEntry): void {
    this.#progress.push(entry);
    if (this.#progress.length >= MAX_PROGRESS_BATCH) this.#flushProgress();
    else this.#progressTimer ??= setTimeout(() => this.#flushProgress(), PROGRESS_BATCH_MS);
  }

  #flushProgress(): void {
    if (this.#progressTimer) clearTimeout(this.#progressTimer);
    this.#progressTimer = undefined;
    const entries = this.#progress;
    if (entries.length === 0) return;
    this.#progress = [];
    this.#send({ type: 'progressBatch', entries });
  }

  /** Stops every camera (the worker is shutting down). */
  async closeAll(): Promise<void> {
    if (this.#progressTimer) clearTimeout(this.#progressTimer);
    this.#progressTimer = undefined;
    this.#progress = [];
    const ingests = [...this.#ingests.values()];
    this.#ingests.clear();
    await Promise.allSettled(ingests.map(async (ingest) => {
      await ingest.stop();
      await ingest.close?.();
    }));
  }
}

function errorOf(error: unknown): { reason: IngestError['reason']; message: string } {
  if (error instanceof IngestError) return { reason: error.reason, message: error.message.slice(0, 2000) };
  return { reason: 'exited', message: String((error as Error)?.message ?? error).slice(0, 2000) };
}
