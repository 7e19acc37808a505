import { join } from 'node:path';
import type { Config } from './config/schema.ts';
import type { Logger } from './logging/createLogger.ts';
import { MediaWorkerPool } from './media/MediaWorkerPool.ts';
import { CameraFeed } from './media/CameraFeed.ts';
import { ViewerMedia } from './media/ViewerMedia.ts';
import { CameraManager } from './cameras/CameraManager.ts';
import type { CameraDirectory } from './cameras/CameraDirectory.ts';
import { ConfigCameraDirectory } from './cameras/ConfigCameraDirectory.ts';
import { FfmpegIngest } from '../workers/FfmpegIngest.ts';
import { ChildProcessLedger } from '../workers/ChildProcessLedger.ts';
import { ffmpegPath } from '../scripts/toolchain.mjs';

export interface AppOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Defaults to the cameras listed in the configuration. */
  directory?: CameraDirectory;
}

/** The composition root: creates the components in order and closes them in reverse. */
export class App {
  #closing: Promise<void> | undefined;

  private constructor(
    readonly config: Readonly<Config>,
    readonly logger: Logger,
    readonly ledger: ChildProcessLedger,
    readonly media: MediaWorkerPool,
    readonly cameras: CameraManager,
  ) {}

  static async create({ config, logger, directory }: AppOptions): Promise<App> {
    const ledger = new ChildProcessLedger(join(config.dataDir, 'children.json'));
    const reaped = ledger.reapLeftovers();
    if (reaped.length > 0) logger.warn({ pids: reaped }, 'stopped ingest processes left over by an earlier run');

    const media = await MediaWorkerPool.create(
      config.media.workers,
      {
        logLevel: config.media.logLevel,
        listenIp: config.media.listenIp,
        ...(config.media.announcedIp && { announcedIp: config.media.announcedIp }),
        webRtcPort: config.media.webRtcPort,
        rtcMinPort: config.media.rtcMinPort,
        rtcMaxPort: config.media.rtcMaxPort,
      },
      logger,
    );
    const ffmpeg = config.ingest.ffmpegPath ?? ffmpegPath();
    const cameras = new CameraManager(directory ?? new ConfigCameraDirectory(config.cameras), {
      logger,
      timing: config.ingest,
      createIngest: (camera) =>
        new FfmpegIngest({
          camera,
          ffmpegPath: ffmpeg,
          highProfile: config.ingest.highProfile,
          timeoutMs: config.ingest.rtspTimeoutMs,
          stallTimeoutMs: config.ingest.stallTimeoutMs,
          ledger,
          onLog: (line) => logger.warn({ camera: camera.id }, `ffmpeg: ${line}`),
        }),
      createFeed: (cameraId, description) => CameraFeed.create(media, media.leastLoaded(), cameraId, description),
    });
    cameras.on('state', (status) => logger.info({ camera: status.cameraId, state: status.state, reason: status.reason }, 'camera state'));
    await cameras.start();
    logger.info({ workers: media.workers.map((w) => w.pid), ffmpeg }, 'C5 Live media ready');
    return new App(config, logger, ledger, media, cameras);
  }

  /** Media for a new viewer, on the least loaded worker. */
  createViewer(): ViewerMedia {
    return new ViewerMedia(this.media.leastLoaded());
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.cameras.close();
      this.media.close();
    })();
    return this.#closing;
  }
}
