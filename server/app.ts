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
import { buildClient } from '../client/build.ts';
import { SecretStore } from './auth/SecretStore.ts';
import { TokenService } from './auth/TokenService.ts';
import { LoginCodes } from './auth/LoginCodes.ts';
import { createExpressApp } from './http/createExpressApp.ts';
import { WebServer } from './http/WebServer.ts';
import { SignallingServer } from './signalling/SignallingServer.ts';
import type { LiveViewing } from './signalling/ports.ts';
import type { CameraSummary } from './signalling/protocol.ts';

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
    readonly tokens: TokenService,
    readonly loginCodes: LoginCodes,
    readonly web: WebServer,
    readonly signalling: SignallingServer,
  ) {}

  /** Where a browser reaches the console. */
  get consoleUrl(): string {
    if (this.config.http.publicUrl) return this.config.http.publicUrl.replace(/\/$/, '');
    const host = ['0.0.0.0', '::'].includes(this.config.http.host) ? 'localhost' : this.config.http.host;
    return `${this.web.secure ? 'https' : 'http'}://${host}:${this.web.port}`;
  }

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
    try {
      return await App.#assemble(config, logger, ledger, media, directory);
    } catch (error) {
      media.close();
      throw error;
    }
  }

  static async #assemble(config: Readonly<Config>, logger: Logger, ledger: ChildProcessLedger, media: MediaWorkerPool, directory: CameraDirectory | undefined): Promise<App> {
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
    const secrets = new SecretStore(config.dataDir, config.env === 'production');
    const tokens = new TokenService(secrets.get('jwt-secret', config.auth.jwtSecret, 'auth.jwtSecret (JWT_SECRET)'), config.auth.tokenTtlSeconds, config.auth.sessionMaxSeconds);
    const loginCodes = new LoginCodes(config.auth.loginCodeTtlSeconds * 1000);
    const clientDir = join(config.dataDir, 'client');
    await buildClient(clientDir, { minify: config.env === 'production' });

    let closing = false;
    const express = createExpressApp({ logger, tokens, loginCodes, clientDir, ready: () => !closing && media.workers.every((w) => !w.closed) });
    const web = await WebServer.create(express, {
      host: config.http.host,
      port: config.http.port,
      ...(config.http.tlsCert && { tlsCert: config.http.tlsCert }),
      ...(config.http.tlsKey && { tlsKey: config.http.tlsKey }),
    });
    const directoryInUse = cameras.directory;
    const live: LiveViewing = {
      get rtpCapabilities() {
        return media.rtpCapabilities;
      },
      openViewer: () => new ViewerMedia(media.leastLoaded()),
      acquire: (cameraId) => cameras.acquire(cameraId),
      listCameras: async () =>
        (await directoryInUse.list()).map(
          (camera): CameraSummary => ({
            id: camera.id,
            name: camera.name,
            area: camera.area,
            status: cameras.status(camera.id) ?? { cameraId: camera.id, state: 'idle', since: Date.now(), viewers: 0 },
          }),
        ),
      onCameraState: (listener) => {
        cameras.on('state', listener);
        return () => cameras.off('state', listener);
      },
    };
    let signalling: SignallingServer;
    try {
      signalling = new SignallingServer(web.server, {
      tokens,
      live,
      logger,
      pingIntervalMs: config.signalling.pingIntervalMs,
      pingTimeoutMs: config.signalling.pingTimeoutMs,
      });
      await cameras.start();
    } catch (error) {
      await cameras.close();
      await web.close();
      throw error;
    }
    logger.info({ workers: media.workers.map((w) => w.pid), ffmpeg, port: web.port, tls: web.secure }, 'C5 Live ready');
    const app = new App(config, logger, ledger, media, cameras, tokens, loginCodes, web, signalling);
    app.#markClosing = () => {
      closing = true;
    };
    return app;
  }

  #markClosing: () => void = () => undefined;

  /** Media for a new viewer, on the least loaded worker. */
  createViewer(): ViewerMedia {
    return new ViewerMedia(this.media.leastLoaded());
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#markClosing();
      await this.signalling.close();
      await this.web.close();
      await this.cameras.close();
      this.media.close();
    })();
    return this.#closing;
  }
}
