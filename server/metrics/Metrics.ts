import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../logging/createLogger.ts';
import type { CameraManager } from '../cameras/CameraManager.ts';
import type { MediaWorkerPool } from '../media/MediaWorkerPool.ts';
import type { CameraFeed, FeedStats } from '../media/CameraFeed.ts';
import type { CameraRepository } from '../catalog/CameraRepository.ts';
import { healthFilterValues } from '../catalog/CameraRecord.ts';
import type { SignallingObserverEvents } from '../signalling/SignallingServer.ts';
import type { ObserverEmitter } from '../../workers/common/ObserverEmitter.ts';
import type { IngestWorkerInfo } from '../../workers/IngestWorkerPool.ts';

export interface MetricsOptions {
  cameras: CameraManager;
  /** Its observer tells the feeds as they are created; its workers' CPU is read, never sampled here. */
  media: MediaWorkerPool;
  repository: CameraRepository;
  logger: Logger;
  /** The ingest worker processes, when cameras are carried by them. */
  ingestWorkers?: { workers(): IngestWorkerInfo[] };
  /** The node's low-tier transcode slots (in use, limit). */
  lowTier?: { readonly active: number; readonly limit: number };
  /** How often the gauges are refreshed (ms); default 5000. */
  sampleEveryMs?: number;
}

const LIVE_STATES = ['starting', 'live', 'backoff', 'closing'] as const;

/**
 * Prometheus metrics. Per-camera series exist only while a camera has a session that is not idle
 * (starting, live, backoff, closing) and disappear when it stops, so cardinality follows the
 * cameras being watched, not the catalog. Values that need the media workers (RTP stats, worker
 * CPU and memory) are sampled on a timer into gauges: a scrape only reads them.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #timer: NodeJS.Timeout;
  #sampling: Promise<void> | undefined;
  readonly #cameras: CameraManager;
  readonly #media: MediaWorkerPool;
  readonly #repository: CameraRepository;
  readonly #logger: Logger;
  /** The live feeds, by camera code, as the media pool's observer reports them. */
  readonly #feeds = new Map<string, CameraFeed>();
  #signalling: Pick<ObserverEmitter<SignallingObserverEvents>, 'on' | 'off'> | undefined;
  readonly #onRequest = ({ name, errorCode }: SignallingObserverEvents['request'][0]): void => {
    this.requests.inc({ request: name });
    if (errorCode) this.errors.inc({ request: name, code: errorCode });
  };
  readonly #onFirstFrame = (ms: number): void => this.firstFrame.observe(ms / 1000);
  readonly #onConnections = (count: number): void => {
    this.connections.set(count);
  };
  readonly #onDetached = (count: number): void => {
    this.detachedSessions.set(count);
  };
  readonly #onResume = (result: string): void => {
    this.resumes.inc({ result });
  };
  readonly #onNewFeed = (feed: CameraFeed): void => {
    this.#feeds.set(feed.cameraId, feed);
    feed.observer.once('close', () => {
      if (this.#feeds.get(feed.cameraId) === feed) this.#feeds.delete(feed.cameraId);
    });
  };

  readonly cameraState = this.#gauge('c5_camera_ingest_state', 'The ingest state of a camera (1 for its current state).', ['camera', 'state']);
  readonly cameraEngine = this.#gauge('c5_camera_engine', 'What carries a live camera to mediasoup in its current run (1): the packet relay or ffmpeg.', ['camera', 'engine']);
  readonly cameraBitrate = this.#gauge('c5_camera_ingest_bitrate_bits_per_second', 'Bitrate arriving from the ingest (mediasoup producer stats).', ['camera']);
  readonly cameraFps = this.#gauge('c5_camera_ingest_frames_per_second', 'Ingest frame rate reported by the relay or ffmpeg.', ['camera']);
  readonly cameraKeyframeInterval = this.#gauge('c5_camera_keyframe_interval_seconds', "The camera's keyframe interval (GOP) as the relay measured it between its last two IDRs.", ['camera']);
  readonly cameraRestarts = this.#gauge('c5_camera_ingest_restarts_total', 'Ingest restarts after a failure since the camera session began.', ['camera']);
  readonly cameraSinceFrame = this.#gauge('c5_camera_seconds_since_last_frame', 'Seconds since the ingest last produced a frame.', ['camera']);
  readonly cameraViewers = this.#gauge('c5_camera_viewers', 'Viewers (signed-in connections) watching a camera.', ['camera']);
  readonly cameraConsumers = this.#gauge('c5_camera_consumers', 'mediasoup consumers of a camera.', ['camera']);
  readonly rtpInPackets = this.#gauge('c5_camera_rtp_received_packets', 'RTP packets received from the ingest (producer stats).', ['camera']);
  readonly rtpInBytes = this.#gauge('c5_camera_rtp_received_bytes', 'RTP bytes received from the ingest (producer stats).', ['camera']);
  readonly rtpLost = this.#gauge('c5_camera_rtp_lost_packets', 'RTP packets lost between the ingest and mediasoup.', ['camera']);
  readonly rtpOutBytes = this.#gauge('c5_camera_rtp_sent_bytes', 'RTP bytes sent to the viewers of a camera (sum over its consumers).', ['camera']);
  readonly nacks = this.#gauge('c5_camera_nacks', 'NACKs received from the viewers of a camera (sum over its consumers).', ['camera']);
  readonly sourcePackets = this.#gauge('c5_camera_source_packets', "RTP packets received from the camera by the relay (the ingest's life).", ['camera']);
  readonly sourceBytes = this.#gauge('c5_camera_source_bytes', "RTP bytes received from the camera by the relay (the ingest's life).", ['camera']);
  readonly sourceLost = this.#gauge('c5_camera_source_lost_packets', 'RTP packets the camera sent that never reached the relay (RFC 3550 cumulative lost).', ['camera']);
  readonly sourceJitter = this.#gauge('c5_camera_source_jitter_seconds', "Interarrival jitter of the camera's RTP at the relay (RFC 3550).", ['camera']);
  readonly keyframeAge = this.#gauge('c5_camera_keyframe_age_seconds', "Time since the camera's last keyframe reached the relay.", ['camera']);
  readonly ingestWorkerCameras = this.#gauge('c5_ingest_worker_cameras', 'Cameras an ingest worker process carries.', ['worker']);
  readonly ingestWorkerCpu = this.#gauge('c5_ingest_worker_cpu_ratio', 'Share of one core an ingest worker process used over its last second.', ['worker']);
  readonly ingestWorkerResident = this.#gauge('c5_ingest_worker_resident_bytes', 'Resident memory of an ingest worker process.', ['worker']);
  readonly ingestWorkerPrivate = this.#gauge('c5_ingest_worker_private_bytes', 'Private memory (clean + dirty, smaps_rollup) of an ingest worker process.', ['worker']);
  readonly ingestWorkerRestarts = this.#gauge('c5_ingest_worker_restarts_total', 'Times an ingest worker process was replaced after it died.', ['worker']);
  readonly workerConsumers = this.#gauge('c5_worker_consumers', 'Consumers on a mediasoup worker.', ['worker']);
  readonly workerCpu = this.#gauge('c5_worker_cpu_ratio', 'Share of one core a mediasoup worker used (getResourceUsage deltas).', ['worker']);
  readonly workerMemory = this.#gauge('c5_worker_memory_bytes', 'Resident memory of a mediasoup worker (/proc VmRSS).', ['worker']);
  readonly health = this.#gauge('c5_cameras_by_health', 'Approved cameras by health status (from the prober).', ['status']);
  readonly camerasLive = this.#gauge('c5_cameras_live', 'Cameras with a live ingest (main streams; substreams and low tiers are series of their own, camera="<code>~sub|~low").', []);
  readonly lowTierActive = this.#gauge('c5_low_tier_transcodes', 'Low-tier transcodes running on this node.', []);
  readonly lowTierLimit = this.#gauge('c5_low_tier_transcodes_limit', 'Low-tier transcodes allowed at once on this node (LOW_TIER_MAX).', []);
  readonly connections = this.#gauge('c5_signalling_connections', 'Signed-in Socket.IO connections.', []);
  readonly detachedSessions = this.#gauge('c5_signalling_detached_sessions', 'Console sessions whose socket dropped, kept for their grace period (SESSION_RESUME_GRACE_MS).', []);
  readonly resumes = new Counter({ name: 'c5_signalling_resumes_total', help: 'Handshakes presenting a resume token, by result (resumed, expired, refused).', labelNames: ['result'], registers: [this.registry] });
  readonly requests = new Counter({ name: 'c5_signalling_requests_total', help: 'Signalling requests by type.', labelNames: ['request'], registers: [this.registry] });
  readonly errors = new Counter({ name: 'c5_signalling_errors_total', help: 'Signalling requests answered with an error, by type and code.', labelNames: ['request', 'code'], registers: [this.registry] });
  readonly firstFrame = new Histogram({
    name: 'c5_time_to_first_frame_seconds',
    help: 'From a console tile asking for a camera to its first decoded frame (reported by the console).',
    buckets: [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20],
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'c5_http_request_duration_seconds',
    help: 'HTTP request duration.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly #ingestWorkers: MetricsOptions['ingestWorkers'];
  readonly #lowTier: MetricsOptions['lowTier'];

  constructor(options: MetricsOptions) {
    this.#cameras = options.cameras;
    this.#lowTier = options.lowTier;
    this.#media = options.media;
    this.#repository = options.repository;
    this.#logger = options.logger;
    this.#ingestWorkers = options.ingestWorkers;
    this.#media.observer.on('newfeed', this.#onNewFeed);
    collectDefaultMetrics({ register: this.registry });
    for (const status of healthFilterValues) this.health.set({ status }, 0);
    this.camerasLive.set(0);
    this.connections.set(0);
    this.detachedSessions.set(0);
    this.#timer = setInterval(() => void this.sample(), options.sampleEveryMs ?? 5000);
    this.#timer.unref();
  }

  /** Counts signalling requests, errors, first-frame reports and connections from its observer. */
  observeSignalling(observer: Pick<ObserverEmitter<SignallingObserverEvents>, 'on' | 'off'>): void {
    this.#unobserveSignalling();
    this.#signalling = observer.on('request', this.#onRequest).on('firstframe', this.#onFirstFrame).on('connections', this.#onConnections).on('detached', this.#onDetached).on('resume', this.#onResume);
  }

  #unobserveSignalling(): void {
    this.#signalling?.off('request', this.#onRequest).off('firstframe', this.#onFirstFrame).off('connections', this.#onConnections).off('detached', this.#onDetached).off('resume', this.#onResume);
  }

  /** Reads the workers and the catalog into the gauges (on the timer; tests call it directly). */
  sample(): Promise<void> {
    this.#sampling ??= this.#sample()
      .catch((error: unknown) => this.#logger.warn({ err: (error as Error).message }, 'metrics sample failed'))
      .finally(() => {
        this.#sampling = undefined;
      });
    return this.#sampling;
  }

  async #sample(): Promise<void> {
    const statuses = this.#cameras.statuses().filter((s) => (LIVE_STATES as readonly string[]).includes(s.state));
    const rtp = new Map<string, FeedStats>();
    for (const status of statuses) {
      const feed = this.#feeds.get(status.cameraId);
      if (feed && !feed.closed) rtp.set(status.cameraId, await feed.getStats());
    }
    const workers = [];
    for (const worker of this.#media.workers) {
      if (worker.closed) continue;
      workers.push({ index: String(worker.index), consumers: worker.consumers, cpu: worker.cpu, memory: rssBytes(worker.pid) });
    }
    const ingestWorkers = this.#ingestWorkers?.workers() ?? [];
    const healthCounts = await Promise.all(
      healthFilterValues.map(async (health) => [health, await this.#repository.count({ status: ['approved'], health })] as const),
    );
    // Everything below runs without awaiting, so a scrape never sees a half-updated set.
    for (const gauge of [this.cameraState, this.cameraEngine, this.cameraBitrate, this.cameraFps, this.cameraKeyframeInterval, this.cameraRestarts, this.cameraSinceFrame, this.cameraViewers, this.cameraConsumers, this.rtpInPackets, this.rtpInBytes, this.rtpLost, this.rtpOutBytes, this.nacks, this.workerConsumers, this.workerCpu, this.workerMemory, this.sourcePackets, this.sourceBytes, this.sourceLost, this.sourceJitter, this.keyframeAge, this.ingestWorkerCameras, this.ingestWorkerCpu, this.ingestWorkerResident, this.ingestWorkerPrivate, this.ingestWorkerRestarts]) {
      gauge.reset();
    }
    const now = Date.now();
    for (const status of statuses) {
      const camera = status.cameraId;
      for (const state of LIVE_STATES) this.cameraState.set({ camera, state }, status.state === state ? 1 : 0);
      if (status.state === 'live' && status.engine) this.cameraEngine.set({ camera, engine: status.engine }, 1);
      // What reaches mediasoup from the ingest (ffmpeg reports no bitrate for RTP output with -c copy).
      this.cameraBitrate.set({ camera }, rtp.get(camera)?.inBitrate || (status.progress?.kbps ?? 0) * 1000);
      this.cameraFps.set({ camera }, status.progress?.fps ?? 0);
      if (status.progress?.keyframeIntervalMs !== undefined) this.cameraKeyframeInterval.set({ camera }, status.progress.keyframeIntervalMs / 1000);
      this.cameraRestarts.set({ camera }, status.restarts);
      this.cameraSinceFrame.set({ camera }, status.lastFrameAt ? (now - status.lastFrameAt) / 1000 : 0);
      this.cameraViewers.set({ camera }, status.viewers);
      const stats = rtp.get(camera);
      this.cameraConsumers.set({ camera }, stats?.consumers ?? 0);
      this.rtpInPackets.set({ camera }, stats?.inPackets ?? 0);
      this.rtpInBytes.set({ camera }, stats?.inBytes ?? 0);
      this.rtpLost.set({ camera }, stats?.lost ?? 0);
      this.rtpOutBytes.set({ camera }, stats?.outBytes ?? 0);
      this.nacks.set({ camera }, stats?.nacks ?? 0);
      const progress = status.progress;
      if (progress?.packets !== undefined) this.sourcePackets.set({ camera }, progress.packets);
      if (progress?.bytes !== undefined) this.sourceBytes.set({ camera }, progress.bytes);
      if (progress?.lost !== undefined) this.sourceLost.set({ camera }, progress.lost);
      if (progress?.jitterMs !== undefined) this.sourceJitter.set({ camera }, progress.jitterMs / 1000);
      if (progress?.keyframeAgeMs !== undefined) this.keyframeAge.set({ camera }, progress.keyframeAgeMs / 1000);
    }
    for (const worker of ingestWorkers) {
      const labels = { worker: String(worker.index) };
      this.ingestWorkerCameras.set(labels, worker.cameras);
      this.ingestWorkerCpu.set(labels, worker.cpuRatio);
      this.ingestWorkerResident.set(labels, worker.residentBytes);
      this.ingestWorkerPrivate.set(labels, worker.privateBytes);
      this.ingestWorkerRestarts.set(labels, worker.restarts);
    }
    for (const worker of workers) {
      this.workerConsumers.set({ worker: worker.index }, worker.consumers);
      this.workerCpu.set({ worker: worker.index }, worker.cpu);
      this.workerMemory.set({ worker: worker.index }, worker.memory);
    }
    for (const [status, count] of healthCounts) this.health.set({ status }, count);
    this.camerasLive.set(statuses.filter((s) => s.state === 'live' && !s.stream).length);
    if (this.#lowTier) {
      this.lowTierActive.set(this.#lowTier.active);
      this.lowTierLimit.set(this.#lowTier.limit);
    }
  }

  /** Stops sampling; resolves once a sample in progress has finished (it reads the store). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sampling;
    this.#media.observer.off('newfeed', this.#onNewFeed);
    this.#unobserveSignalling();
    this.#signalling = undefined;
    this.#feeds.clear();
  }

  #gauge(name: string, help: string, labelNames: string[]): Gauge {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}

function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(match?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}
