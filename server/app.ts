import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config, ConfigCamera } from './config/schema.ts';
import { ConfigError } from './config/ConfigError.ts';
import type { Logger } from './logging/createLogger.ts';
import { MediaWorkerPool } from './media/MediaWorkerPool.ts';
import { CameraFeed } from './media/CameraFeed.ts';
import { ViewerMedia } from './media/ViewerMedia.ts';
import { CameraManager } from './cameras/CameraManager.ts';
import { FfmpegIngest } from '../workers/FfmpegIngest.ts';
import { ChildProcessLedger } from '../workers/ChildProcessLedger.ts';
import { ffmpegPath, projectRoot } from './toolchain.ts';
import { SecretStore } from './auth/SecretStore.ts';
import { TokenService } from './auth/TokenService.ts';
import { LoginCodes } from './auth/LoginCodes.ts';
import { UrlVault } from './catalog/UrlVault.ts';
import { CameraCatalog } from './catalog/CameraCatalog.ts';
import type { Store } from './store/Store.ts';
import { EmbeddedStore } from './store/embedded/EmbeddedStore.ts';
import { MongoStore } from './store/mongo/MongoStore.ts';
import { createExpressApp } from './http/createExpressApp.ts';
import { WebServer } from './http/WebServer.ts';
import { SignallingServer } from './signalling/SignallingServer.ts';
import { CameraProber } from './health/CameraProber.ts';
import { UserService } from './users/UserService.ts';
import { VisibilityPolicy } from './auth/VisibilityPolicy.ts';
import { AppError } from './errors/AppError.ts';
import { AuditLog } from './audit/AuditLog.ts';
import { ViewRecorder } from './audit/ViewRecorder.ts';
import { Metrics } from './metrics/Metrics.ts';
import type { LiveViewing } from './signalling/ports.ts';
import type { CameraHealth, CameraSummary } from './signalling/protocol.ts';
import type { CameraRecord } from './catalog/CameraRecord.ts';

export interface AppOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Cameras registered (approved) in the catalog at start-up besides config.cameras (the demo's). */
  seedCameras?: ConfigCamera[];
}

function healthOf(camera: CameraRecord): CameraHealth {
  if (!camera.health) return { status: 'unknown' };
  return {
    status: camera.health.status,
    since: camera.health.since.getTime(),
    ...(camera.health.lastSeenAt && { lastSeenAt: camera.health.lastSeenAt.getTime() }),
  };
}

/**
 * The built console (`npm run build` writes it to dist/client): http.consoleDir (CONSOLE_DIR), else
 * `<project root>/dist/client`, the same folder whether the server runs from source or from dist/.
 * The server never builds it; without an index.html there, start-up stops.
 */
function consoleDir(config: Readonly<Config>): string {
  const dir = resolve(config.http.consoleDir ?? join(projectRoot, 'dist', 'client'));
  if (!existsSync(join(dir, 'index.html'))) {
    throw new ConfigError([`http.consoleDir (CONSOLE_DIR): no console in ${dir} (index.html missing): run \`npm run build\``]);
  }
  return dir;
}

/** The composition root: creates the components in order and closes them in reverse. */
export class App {
  #closing: Promise<void> | undefined;
  readonly #cleanups: Array<() => unknown>;

  private constructor(
    readonly config: Readonly<Config>,
    readonly logger: Logger,
    readonly catalog: CameraCatalog,
    readonly users: UserService,
    readonly audit: AuditLog,
    readonly media: MediaWorkerPool,
    readonly cameras: CameraManager,
    readonly tokens: TokenService,
    readonly loginCodes: LoginCodes,
    readonly web: WebServer,
    readonly signalling: SignallingServer,
    readonly prober: CameraProber,
    readonly metrics: Metrics,
    cleanups: Array<() => unknown>,
  ) {
    this.#cleanups = cleanups;
  }

  /** Where a browser reaches the console. */
  get consoleUrl(): string {
    if (this.config.http.publicUrl) return this.config.http.publicUrl.replace(/\/$/, '');
    const host = ['0.0.0.0', '::'].includes(this.config.http.host) ? 'localhost' : this.config.http.host;
    return `${this.web.secure ? 'https' : 'http'}://${host}:${this.web.port}`;
  }

  static async create({ config, logger, seedCameras = [] }: AppOptions): Promise<App> {
    // Everything created so far is closed, in reverse, if a later step fails.
    const cleanups: Array<() => unknown> = [];
    try {
      return await App.#assemble(config, logger, seedCameras, cleanups);
    } catch (error) {
      for (const cleanup of cleanups.reverse()) await cleanup();
      throw error;
    }
  }

  static async #assemble(config: Readonly<Config>, logger: Logger, seedCameras: ConfigCamera[], cleanups: Array<() => unknown>): Promise<App> {
    const clientDir = consoleDir(config);
    const ledger = new ChildProcessLedger(join(config.dataDir, 'children.json'));
    const reaped = ledger.reapLeftovers();
    if (reaped.length > 0) logger.warn({ pids: reaped }, 'stopped ingest processes left over by an earlier run');

    const secrets = new SecretStore(config.dataDir, config.env === 'production');
    const tokens = new TokenService(secrets.get('jwt-secret', config.auth.jwtSecret, 'auth.jwtSecret (JWT_SECRET)'), config.auth.tokenTtlSeconds, config.auth.sessionMaxSeconds);
    const loginCodes = new LoginCodes(config.auth.loginCodeTtlSeconds * 1000);
    const vault = new UrlVault(secrets.get('credential-key', config.catalog.credentialKey, 'catalog.credentialKey (CREDENTIAL_KEY)'), [...config.catalog.previousCredentialKeys]);

    const store: Store = config.catalog.mongodbUri ? await MongoStore.open(config.catalog.mongodbUri) : await EmbeddedStore.open(config.dataDir);
    cleanups.push(() => store.close());
    const users = await UserService.create(store.users, logger);
    const auditDir = join(config.dataDir, 'audit');
    const audit = await AuditLog.open(store.audit, secrets.get('audit-key', config.audit.key, 'audit.key (AUDIT_KEY)'), auditDir, logger);
    cleanups.push(() => audit.close());
    const views = new ViewRecorder(audit, join(auditDir, 'open-views.json'));
    const leftovers = await views.closeLeftovers();
    if (leftovers > 0) logger.warn({ views: leftovers }, 'closed in the audit trail the views left open by a server that stopped unexpectedly');
    const retention = (): void => {
      void audit.applyRetention(new Date(Date.now() - config.audit.retentionDays * 86_400_000)).catch((error: unknown) => logger.error({ err: error }, 'audit retention failed'));
    };
    retention();
    const retentionTimer = setInterval(retention, 6 * 3_600_000);
    retentionTimer.unref();
    cleanups.push(() => clearInterval(retentionTimer));
    const catalog = new CameraCatalog(store.cameras, vault);
    for (const camera of [...config.cameras, ...seedCameras]) await catalog.ensureConfigured(camera);
    logger.info({ store: store.kind }, 'camera catalog open');

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
    cleanups.push(() => media.close());

    const ffmpeg = config.ingest.ffmpegPath ?? ffmpegPath();
    const cameras = new CameraManager(catalog.asDirectory(), {
      logger,
      timing: config.ingest,
      createIngest: (camera) =>
        new FfmpegIngest({
          camera,
          ffmpegPath: ffmpeg,
          highProfile: config.ingest.highProfile,
          transcodeKbps: config.ingest.transcodeKbps,
          timeoutMs: config.ingest.rtspTimeoutMs,
          stallTimeoutMs: config.ingest.stallTimeoutMs,
          ledger,
          onLog: (line) => logger.warn({ camera: camera.id }, `ffmpeg: ${line}`),
        }),
      createFeed: (cameraId, description) => CameraFeed.create(media, media.leastLoaded(), cameraId, description),
    });
    cleanups.push(() => cameras.close());
    const loggedState = new Map<string, string>();
    cameras.on('state', (status) => {
      // Viewer-count updates repeat the state: log transitions only.
      if (loggedState.get(status.cameraId) === status.state && !status.reason) return;
      loggedState.set(status.cameraId, status.state);
      logger.info({ camera: status.cameraId, state: status.state, reason: status.reason }, 'camera state');
    });

    const prober = new CameraProber(catalog, config.health, (code) => cameras.status(code)?.state === 'live', logger);
    cleanups.push(() => prober.close());
    prober.on('health', ({ camera, health }) => logger.info({ camera: camera.code, health: health.status, why: health.message }, 'camera health changed'));

    let closing = false;
    let signallingRef: SignallingServer | undefined;
    const metrics = new Metrics(cameras, media, store.cameras, () => signallingRef?.connectionCount ?? 0, logger);
    cleanups.push(() => metrics.close());
    const ready = async (): Promise<boolean> => {
      if (closing || media.workers.some((w) => w.closed)) return false;
      const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 2000).unref());
      return Promise.race([store.ping().then(() => true, () => false), timeout]);
    };
    const express = createExpressApp({ logger, tokens, loginCodes, catalog, users, audit, metrics, clientDir, ready, trustProxy: config.http.trustProxy });
    const web = await WebServer.create(express, {
      host: config.http.host,
      port: config.http.port,
      ...(config.http.tlsCert && { tlsCert: config.http.tlsCert }),
      ...(config.http.tlsKey && { tlsKey: config.http.tlsKey }),
    });
    cleanups.push(() => web.close());

    const live: LiveViewing = {
      currentViewer: (userId) => users.current(userId),
      authorize: async (viewer, cameraId) => {
        const camera = await catalog.repository.findByCode(cameraId);
        if (!camera || camera.retiredAt) throw new AppError('not_found', `no camera ${cameraId}`);
        if (!VisibilityPolicy.canView(viewer, camera)) {
          const why = camera.status !== 'approved' ? `camera ${camera.code} is ${camera.status}` : `you may not watch camera ${camera.code}`;
          throw new AppError('forbidden', why);
        }
      },
      get rtpCapabilities() {
        return media.rtpCapabilities;
      },
      openViewer: () => new ViewerMedia(media.leastLoaded()),
      acquire: (cameraId) => cameras.acquire(cameraId),
      listCameras: async (query, viewer) => {
        const page = await catalog.fleetPage({ ...query, offset: query.offset ?? 0, limit: query.limit ?? 500 }, VisibilityPolicy.scope(viewer));
        return {
          cameras: page.items.map(
            (camera): CameraSummary => ({
              id: camera.code,
              name: camera.name,
              area: camera.area,
              municipality: camera.municipality,
              health: healthOf(camera),
              status: cameras.status(camera.code) ?? { cameraId: camera.code, state: 'idle', since: Date.now(), viewers: 0 },
            }),
          ),
          total: page.total,
          healthCounts: page.healthCounts,
          municipalities: page.municipalities,
        };
      },
      observeRequest: (name, errorCode) => {
        metrics.requests.inc({ request: name });
        if (errorCode) metrics.errors.inc({ request: name, code: errorCode });
      },
      observeFirstFrame: (ms) => metrics.firstFrame.observe(ms / 1000),
      viewStarted: (view) => views.start({ ...view, username: users.get(view.userId).username }),
      viewStopped: (viewId, reason, forced) => views.stop(viewId, reason, forced),
      onCameraHealth: (listener) => {
        const relay = ({ camera }: { camera: CameraRecord }) => listener({ cameraId: camera.code, health: healthOf(camera) });
        prober.on('health', relay);
        return () => prober.off('health', relay);
      },
      onCameraState: (listener) => {
        cameras.on('state', listener);
        return () => cameras.off('state', listener);
      },
    };
    const signalling = new SignallingServer(web.server, {
      tokens,
      live,
      logger,
      pingIntervalMs: config.signalling.pingIntervalMs,
      pingTimeoutMs: config.signalling.pingTimeoutMs,
    });
    signallingRef = signalling;
    cleanups.push(() => signalling.close());
    // A suspended, revoked, retired or edited camera: viewers who may no longer see it lose it
    // now, with the reason; a camera nobody may watch stops; a changed URL restarts the ingest.
    catalog.on('changed', ({ camera, viewable, restart, why }) => {
      if (viewable) signalling.cameraChanged(camera.code);
      if (!viewable || restart) void cameras.withdraw(camera.code, why, !viewable);
    });
    users.on('changed', ({ user, rightsChanged }) => {
      if (rightsChanged) signalling.userChanged(user);
    });
    await cameras.start();
    if (config.health.enabled) prober.start();
    cleanups.push(() => {
      closing = true;
    });
    logger.info({ workers: media.workers.map((w) => w.pid), ffmpeg, port: web.port, tls: web.secure }, 'C5 Live ready');
    return new App(config, logger, catalog, users, audit, media, cameras, tokens, loginCodes, web, signalling, prober, metrics, cleanups);
  }

  /** Media for a new viewer, on the least loaded worker. */
  createViewer(): ViewerMedia {
    return new ViewerMedia(this.media.leastLoaded());
  }

  /** Closes in reverse order of creation: signalling, web server, cameras, media, catalog. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const cleanup of [...this.#cleanups].reverse()) {
        try {
          await cleanup();
        } catch (error) {
          this.logger.error({ err: error }, 'error while closing');
        }
      }
    })();
    return this.#closing;
  }
}
