import { join } from 'node:path';
import type { Config, ConfigCamera } from './config/schema.ts';
import { consoleDir } from './config/consoleDir.ts';
import type { Logger } from './logging/createLogger.ts';
import { MediaWorkerPool } from './media/MediaWorkerPool.ts';
import { CameraManager, type CameraLease } from './cameras/CameraManager.ts';
import { LowTierIngest } from './cameras/LowTierIngest.ts';
import { LowTierSlots } from './cameras/LowTierSlots.ts';
import { createEngineIngest, type EngineSettings } from '../workers/createEngineIngest.ts';
import { IngestWorkerPool } from '../workers/IngestWorkerPool.ts';
import { ChildProcessLedger } from '../workers/ChildProcessLedger.ts';
import { ffmpegPath } from './toolchain.ts';
import { SecretStore } from './auth/SecretStore.ts';
import { TokenService } from './auth/TokenService.ts';
import { LoginCodes } from './auth/LoginCodes.ts';
import { UrlVault } from './catalog/UrlVault.ts';
import { SecretVault } from './auth/SecretVault.ts';
import { CameraCatalog } from './catalog/CameraCatalog.ts';
import type { Store } from './store/Store.ts';
import { EmbeddedStore } from './store/embedded/EmbeddedStore.ts';
import { MongoStore } from './store/mongo/MongoStore.ts';
import { createExpressApp } from './http/createExpressApp.ts';
import { WebServer } from './http/WebServer.ts';
import { SignallingServer } from './signalling/SignallingServer.ts';
import { CameraProber } from './health/CameraProber.ts';
import { CameraLoginGuard } from './cameras/CameraLoginGuard.ts';
import { GuardedIngest } from './cameras/GuardedIngest.ts';
import { UserService } from './users/UserService.ts';
import { AuditLog } from './audit/AuditLog.ts';
import { ViewRecorder } from './audit/ViewRecorder.ts';
import { Metrics } from './metrics/Metrics.ts';
import { LiveViewing } from './live/LiveViewing.ts';
import { IncidentService } from './incidents/IncidentService.ts';
import { AlarmDeviceService } from './alarms/AlarmDeviceService.ts';
import { AlarmService } from './alarms/AlarmService.ts';
import { AlarmIntake } from './alarms/AlarmIntake.ts';
import { RefusalLog } from './alarms/RefusalLog.ts';
import { Dc09Intake } from './alarms/dc09/Dc09Intake.ts';
import { Dc09Receiver } from './alarms/dc09/Dc09Receiver.ts';
import { TurnCredentials } from './media/TurnCredentials.ts';
import { AddressGuard } from './enrolment/AddressGuard.ts';
import { EnrolmentLimits } from './enrolment/EnrolmentLimits.ts';
import { EnrolmentService } from './enrolment/EnrolmentService.ts';
import { rtspCameraChecker } from './enrolment/rtspCameraChecker.ts';

export interface AppOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Cameras registered (approved) in the catalog at start-up besides config.cameras (the demo's). */
  seedCameras?: ConfigCamera[];
}

/** What a running App holds (tests and the entries read them). */
export interface AppParts {
  config: Readonly<Config>;
  logger: Logger;
  catalog: CameraCatalog;
  users: UserService;
  audit: AuditLog;
  media: MediaWorkerPool;
  cameras: CameraManager;
  tokens: TokenService;
  loginCodes: LoginCodes;
  web: WebServer;
  signalling: SignallingServer;
  prober: CameraProber;
  metrics: Metrics;
  incidents: IncidentService;
  alarms: AlarmService;
  alarmDevices: AlarmDeviceService;
  alarmIntake: AlarmIntake;
  /** The SIA DC-09 receiver (absent with DC09_ENABLED=false). */
  dc09: Dc09Receiver | undefined;
  /** The ingest worker processes (absent with INGEST_WORKERS=0: cameras are carried in this process). */
  ingestWorkers: IngestWorkerPool | undefined;
  /** The citizen program's enrolments (ENROLMENT_ENABLED=false closes new submissions only). */
  enrolments: EnrolmentService;
}

/**
 * The composition root, the only place that wires modules together: it creates the components in
 * order and closes them in reverse. It holds no logic of its own.
 */
export class App {
  readonly config: Readonly<Config>;
  readonly logger: Logger;
  readonly catalog: CameraCatalog;
  readonly users: UserService;
  readonly audit: AuditLog;
  readonly media: MediaWorkerPool;
  readonly cameras: CameraManager;
  readonly ingestWorkers: IngestWorkerPool | undefined;
  readonly tokens: TokenService;
  readonly loginCodes: LoginCodes;
  readonly web: WebServer;
  readonly signalling: SignallingServer;
  readonly prober: CameraProber;
  readonly metrics: Metrics;
  readonly incidents: IncidentService;
  readonly alarms: AlarmService;
  readonly alarmDevices: AlarmDeviceService;
  readonly alarmIntake: AlarmIntake;
  readonly dc09: Dc09Receiver | undefined;
  readonly enrolments: EnrolmentService;
  #closing: Promise<void> | undefined;
  readonly #cleanups: Array<() => unknown>;

  private constructor(parts: AppParts, cleanups: Array<() => unknown>) {
    ({
      config: this.config,
      logger: this.logger,
      catalog: this.catalog,
      users: this.users,
      audit: this.audit,
      media: this.media,
      cameras: this.cameras,
      tokens: this.tokens,
      loginCodes: this.loginCodes,
      web: this.web,
      signalling: this.signalling,
      prober: this.prober,
      metrics: this.metrics,
      ingestWorkers: this.ingestWorkers,
      incidents: this.incidents,
      alarms: this.alarms,
      alarmDevices: this.alarmDevices,
      alarmIntake: this.alarmIntake,
      dc09: this.dc09,
      enrolments: this.enrolments,
    } = parts);
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
      return new App(await App.#assemble(config, logger, seedCameras, cleanups), cleanups);
    } catch (error) {
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (cleanupError) {
          logger.error({ err: cleanupError }, 'error while closing after a failed start');
        }
      }
      throw error;
    }
  }

  static async #assemble(config: Readonly<Config>, logger: Logger, seedCameras: ConfigCamera[], cleanups: Array<() => unknown>): Promise<AppParts> {
    const clientDir = consoleDir(config);
    const ledger = new ChildProcessLedger(join(config.dataDir, 'children.json'));
    const reaped = ledger.reapLeftovers();
    if (reaped.length > 0) logger.warn({ pids: reaped }, 'stopped ingest processes left over by an earlier run');

    const secrets = new SecretStore(config.dataDir, config.env === 'production');
    const tokens = new TokenService(secrets.get('jwt-secret', config.auth.jwtSecret, 'auth.jwtSecret (JWT_SECRET)'), config.auth.tokenTtlSeconds, config.auth.sessionMaxSeconds);
    cleanups.push(() => tokens.close());
    const loginCodes = new LoginCodes(config.auth.loginCodeTtlSeconds * 1000);
    const sealer = new SecretVault(secrets.get('credential-key', config.catalog.credentialKey, 'catalog.credentialKey (CREDENTIAL_KEY)'), [...config.catalog.previousCredentialKeys]);
    const vault = new UrlVault(sealer);

    const store: Store = config.catalog.mongodbUri ? await MongoStore.open(config.catalog.mongodbUri) : await EmbeddedStore.open(config.dataDir);
    cleanups.push(() => store.close());
    const users = await UserService.create(store.users, logger);
    const auditDir = join(config.dataDir, 'audit');
    const audit = await AuditLog.open(store.audit, secrets.get('audit-key', config.audit.key, 'audit.key (AUDIT_KEY)'), auditDir, logger);
    cleanups.push(() => audit.close());
    const views = new ViewRecorder(audit, join(auditDir, 'open-views.json'));
    const leftovers = await views.closeLeftovers();
    if (leftovers > 0) logger.warn({ views: leftovers }, 'closed in the audit trail the views left open by a server that stopped unexpectedly');
    audit.scheduleRetention(config.audit.retentionDays);
    const catalog = new CameraCatalog(store.cameras, vault);
    for (const camera of [...config.cameras, ...seedCameras]) await catalog.ensureConfigured(camera);
    logger.info({ store: store.kind }, 'camera catalog open');
    // The citizen program: a stranger's camera URL passes the address guard before anything connects.
    const enrolmentSettings = config.enrolment;
    // Also with enrolment off: cameras enrolled before stay pinned to the addresses it allows (live and probes).
    const enrolmentGuard = new AddressGuard({ allowedPorts: enrolmentSettings.allowedPorts, deny: enrolmentSettings.denyNetworks, allow: enrolmentSettings.allowNetworks });
    const pinEnrolled = async (url: string) => ({ address: (await enrolmentGuard.check(url)).address });
    // With ENROLMENT_ENABLED=false the program takes no new enrolments, but owners keep their links
    // (consent, withdrawal), admins their queue, and personal data is still erased on time.
    const enrolments = new EnrolmentService(
      store.enrolments,
      catalog,
      enrolmentGuard,
      rtspCameraChecker(enrolmentSettings.checkTimeoutMs),
      new EnrolmentLimits(enrolmentSettings),
      (entry) => audit.record(entry),
      { ...enrolmentSettings, submissionsOpen: enrolmentSettings.enabled, onBackgroundError: (error, what) => logger.warn({ err: (error as Error).message }, what) },
    );
    enrolments.startRetention((error) => logger.warn({ err: (error as Error).message }, 'erasing expired enrolment contact details failed'));
    cleanups.push(() => enrolments.close());
    // Grants that expired while the server was down are recorded as expired now; the others' timers are armed.
    const incidents = await IncidentService.create({ incidents: store.incidents, grants: store.grants, catalog, users, audit, settings: config.incidents, logger });
    cleanups.push(() => incidents.close());
    const alarmDevices = await AlarmDeviceService.create({ repository: store.alarmDevices, vault: sealer, catalog, audit, settings: config.alarms, logger });
    cleanups.push(() => alarmDevices.close());
    const alarms = await AlarmService.create({ alarms: store.alarms, devices: alarmDevices, incidents, catalog, audit, settings: config.alarms, logger });
    cleanups.push(() => alarms.close());
    const refusals = new RefusalLog(audit, logger);
    cleanups.push(() => refusals.close());
    const alarmIntake = new AlarmIntake(alarmDevices, refusals, config.alarms, join(config.dataDir, 'alarms', 'replay-ids.json'));
    cleanups.push(() => alarmIntake.close());

    const media = await MediaWorkerPool.create({
      workers: config.media.workers,
      settings: {
        logLevel: config.media.logLevel,
        listenIp: config.media.listenIp,
        ...(config.media.announcedIp && { announcedIp: config.media.announcedIp }),
        webRtcPort: config.media.webRtcPort,
        rtcMinPort: config.media.rtcMinPort,
        rtcMaxPort: config.media.rtcMaxPort,
      },
      logger,
    });
    cleanups.push(() => media.close());

    const engineSettings: EngineSettings = {
      engine: config.ingest.engine,
      ffmpegPath: config.ingest.ffmpegPath ?? ffmpegPath(),
      highProfile: config.ingest.highProfile,
      transcodeKbps: config.ingest.transcodeKbps,
      rtspTimeoutMs: config.ingest.rtspTimeoutMs,
      stallTimeoutMs: config.ingest.stallTimeoutMs,
      // Below the start timeout, so a stream that does not decode shows codec_mismatch, not a timeout.
      firstFrameTimeoutMs: Math.max(1000, Math.min(11_000, config.ingest.startTimeoutMs - 1000)),
      relayNative: config.ingest.relayNative,
    };
    const ffmpegLog = (cameraId: string, line: string) => logger.warn({ camera: cameraId }, `ffmpeg: ${line}`);
    // Cameras are carried by ingest worker processes (INGEST_WORKERS), or in this process when it is 0.
    const ingestWorkers =
      config.ingest.workers > 0
        ? await IngestWorkerPool.create({ size: config.ingest.workers, settings: engineSettings, ledger, logger, onLog: ffmpegLog })
        : undefined;
    if (ingestWorkers) cleanups.push(() => ingestWorkers.close());
    const loginGuard = new CameraLoginGuard({ authBackoffMs: config.ingest.authBackoffMs, authBackoffMaxMs: config.ingest.authBackoffMaxMs });
    const lowTierSlots = new LowTierSlots(config.lowTier.max);
    const cameras = new CameraManager(catalog.asDirectory({ pin: pinEnrolled }), {
      logger,
      timing: config.ingest,
      ...(config.lowTier.max > 0 && {
        createLowTier: (cameraId: string, acquireMain: () => Promise<CameraLease>) =>
          new LowTierIngest(cameraId, {
            acquireMain,
            slots: lowTierSlots,
            ffmpegPath: engineSettings.ffmpegPath,
            settings: config.lowTier,
            ledger,
            onLog: (line) => ffmpegLog(`${cameraId}~low`, line),
          }),
      }),
      onStreamSize: (cameraId, stream, size) => {
        void (async () => {
          const camera = await store.cameras.findByCode(cameraId);
          if (camera) await store.cameras.setStreamSize(camera.id, stream, size);
        })().catch((error: unknown) => logger.warn({ camera: cameraId, stream, err: (error as Error).message }, 'storing a stream size failed'));
      },
      createIngest: (camera) => {
        const inner =
          ingestWorkers?.createIngest(camera) ??
          createEngineIngest(camera, engineSettings, {
            onLog: (line) => ffmpegLog(camera.id, line),
            onChild: (event, pid, command) => (event === 'spawned' ? ledger.add(pid, command) : ledger.remove(pid)),
          });
        return new GuardedIngest(inner, camera, loginGuard);
      },
      createFeed: (cameraId, description) => media.createCameraFeed(cameraId, description),
    });
    cleanups.push(() => cameras.close());

    const prober = new CameraProber(catalog, config.health, (code) => cameras.status(code)?.state === 'live', logger, loginGuard, { pin: pinEnrolled });
    cleanups.push(() => prober.close());
    prober.on('health', ({ camera, health }) => logger.info({ camera: camera.code, health: health.status, why: health.message }, 'camera health changed'));

    const metrics = new Metrics({ cameras, media, repository: store.cameras, logger, lowTier: lowTierSlots, ...(ingestWorkers && { ingestWorkers }) });
    cleanups.push(() => metrics.close());
    let closing = false;
    const ready = async (): Promise<boolean> => {
      if (closing || media.workers.some((w) => w.closed)) return false;
      const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 2000).unref());
      return Promise.race([store.ping().then(() => true, () => false), timeout]);
    };
    const express = createExpressApp({ logger, tokens, loginCodes, catalog, users, audit, incidents, alarms, alarmDevices, alarmIntake, enrolments, metrics, clientDir, ready, trustProxy: config.http.trustProxy });
    const web = await WebServer.create(express, {
      host: config.http.host,
      port: config.http.port,
      ...(config.http.tlsCert && { tlsCert: config.http.tlsCert }),
      ...(config.http.tlsKey && { tlsKey: config.http.tlsKey }),
      limits: {
        headersTimeoutMs: config.http.headersTimeoutMs,
        requestTimeoutMs: config.http.requestTimeoutMs,
        maxConnections: config.http.maxConnections,
        maxConnectionsPerIp: config.http.maxConnectionsPerAddress,
      },
    });
    cleanups.push(() => web.close());

    const live = new LiveViewing({
      catalog,
      users,
      views,
      media,
      cameras,
      prober,
      incidents,
      streams: {
        assumedMainKbps: config.bandwidth.assumedMainKbps,
        assumedSubKbps: config.bandwidth.assumedSubKbps,
        lowTier: config.lowTier,
        lowTierFree: () => config.lowTier.max > 0 && lowTierSlots.active < lowTierSlots.limit,
      },
    });
    const turn = config.turn.urls.length > 0 && config.turn.secret !== undefined ? new TurnCredentials({ urls: config.turn.urls, secret: config.turn.secret, ttlS: config.turn.ttlS }) : undefined;
    const signalling = new SignallingServer(web.server, {
      tokens,
      access: live,
      media: live,
      listing: live,
      events: live,
      audit: live,
      alarms,
      logger,
      pingIntervalMs: config.signalling.pingIntervalMs,
      pingTimeoutMs: config.signalling.pingTimeoutMs,
      resumeGraceMs: config.signalling.resumeGraceMs,
      ...(turn && { iceServers: (userId: string) => turn.iceServers(userId) }),
      bandwidth: {
        sampleMs: config.bandwidth.sampleMs,
        upgradeCooldownMs: config.bandwidth.upgradeCooldownMs,
        replaceGraceMs: config.bandwidth.replaceGraceMs,
        capKbps: (role) => config.bandwidth.capKbps[role] || null,
      },
    });
    cleanups.push(() => signalling.close());
    metrics.observeSignalling(signalling.observer);
    // A suspended, revoked, retired or edited camera: viewers who may no longer see it lose it
    // now, with the reason; a camera nobody may watch stops; a changed URL restarts the ingest.
    // A pending camera stays up for admins reviewing it (its viewers are checked again instead).
    catalog.on('changed', ({ camera, viewable, restart, why }) => {
      const kept = viewable || (camera.status === 'pending' && !camera.retiredAt);
      if (kept) signalling.cameraChanged(camera.code);
      // Consoles list their cameras again: one approved appears, one revoked goes.
      signalling.catalogChanged();
      if (!kept || restart) void cameras.withdraw(camera.code, why, !kept);
      // A new URL or new credentials deserve a fresh try; a withdrawn camera is forgotten.
      if (!kept || restart) loginGuard.forget(camera.code);
    });
    users.on('changed', ({ user, rightsChanged }) => {
      if (rightsChanged) signalling.userChanged(user);
    });
    // A grant ended, a camera detached, an incident closed, a break-glass view timed out: the views
    // they allowed stop now (unless something else still allows them), with the reason in the tile.
    incidents.on('accessChanged', (change) => signalling.accessChanged(change));
    incidents.on('incidentChanged', ({ incident, change }) => signalling.incidentChanged({ incidentId: incident.id, change }, incident.municipality));
    incidents.on('grantChanged', ({ grant, change }) => signalling.grantChanged(grant.investigator.userId, { grantId: grant.id, incidentId: grant.incidentId, change }));
    // Alarm panels over SIA DC-09 feed the same alarm path (after the consoles exist: an alarm rings them).
    const dc09 = config.dc09.enabled ? await Dc09Receiver.create(new Dc09Intake(alarmDevices, alarms, audit, refusals, config.dc09, logger), config.dc09, logger) : undefined;
    if (dc09) cleanups.push(() => dc09.close());
    // Alarms ring the consoles they are announced to; supervised devices' silences reach operators.
    alarms.connect({ raised: (alarm) => signalling.alarmRaised(alarm), changed: (alarm) => signalling.alarmChanged(alarm) });
    alarmDevices.on('deviceStatus', (event) => signalling.alarmDeviceStatus(event));
    await cameras.start();
    if (config.health.enabled) prober.start();
    // First thing at shutdown: /readyz says not ready while the rest closes.
    cleanups.push(() => {
      closing = true;
    });
    logger.info({ workers: media.workers.map((w) => w.pid), ingestWorkers: ingestWorkers?.workers().map((w) => w.pid) ?? [], ffmpeg: engineSettings.ffmpegPath, port: web.port, tls: web.secure }, 'C5 Live ready');
    return { config, logger, catalog, users, audit, media, cameras, tokens, loginCodes, web, signalling, prober, metrics, ingestWorkers, incidents, alarms, alarmDevices, alarmIntake, dc09, enrolments };
  }

  /** Closes in reverse order of creation: signalling, web server, cameras, media, store. */
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
