import { availableParallelism, cpus } from 'node:os';
import { isIP } from 'node:net';
import { z } from 'zod';
import { rtspTransports } from '../../workers/common/RtspTransport.ts';
import { cameraAreas, cameraEngines } from '../catalog/CameraRecord.ts';
import { tlsFingerprintSchema } from '../catalog/tlsFingerprint.ts';

const port = z.number().int().min(0).max(65535);
/** An IPv4 or IPv6 address, or a network in CIDR form ("10.0.0.0/8", "2001:db8::/32"). */
const cidr = z.string().refine((value) => {
  const [address = '', prefix, extra] = value.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
}, 'an IP address or a CIDR network, e.g. 10.0.0.0/8 or 2001:db8::/32');
const ms = (max: number) => z.number().int().min(0).max(max);

export const cameraTransport = z.enum(rtspTransports);

/** A camera listed in config: registered (approved) in the catalog at start-up, once. */
export const configCameraSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" and "-" only (1-64)'),
  name: z.string().min(1).max(200),
  url: z.string().regex(/^rtsps?:\/\//, 'must be an rtsp:// or rtsps:// URL'),
  /** The camera's second, smaller stream (same credentials), given to small tiles. */
  substreamUrl: z.string().regex(/^rtsps?:\/\//, 'must be an rtsp:// or rtsps:// URL').optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  transport: cameraTransport.default('tcp'),
  /** How its video reaches mediasoup: 'relay', 'ffmpeg' or 'auto' (absent: 'auto', where `ingest.engine` decides). */
  engine: z.enum(cameraEngines).optional(),
  /** rtsps cameras only: the pinned SHA-256 fingerprint of the camera's certificate (self-signed cameras). */
  tlsFingerprint: tlsFingerprintSchema.optional(),
  alwaysOn: z.boolean().default(false),
  area: z.enum(cameraAreas).default('agency'),
}).refine((camera) => camera.tlsFingerprint === undefined || /^rtsps:\/\//i.test(camera.url), {
  path: ['tlsFingerprint'],
  message: 'only an rtsps:// camera has a certificate to pin',
});

export const configSchema = z.strictObject({
  env: z.enum(['development', 'test', 'production']).default('development'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  dataDir: z.string().min(1).default('data'),
  http: z
    .strictObject({
      host: z.string().min(1).default('0.0.0.0'),
      port: port.default(8080),
      /** PEM files; when both are set, everything is served over HTTPS/WSS only. */
      tlsCert: z.string().min(1).optional(),
      tlsKey: z.string().min(1).optional(),
      /** Express "trust proxy": which proxies' X-Forwarded-For to believe (client addresses for rate limits and the audit). */
      trustProxy: z.string().min(1).default('loopback'),
      /** The URL printed for the console (defaults to http(s)://localhost:port). */
      publicUrl: z.url().optional(),
      /** The built browser console served at `/` (`npm run build`); default `<project root>/dist/client`. */
      consoleDir: z.string().min(1).optional(),
      /** A client must send its request headers within this (ms): slow-loris defence. */
      headersTimeoutMs: z.number().int().min(1000).max(600_000).default(20_000),
      /** A whole request (headers and body) within this (ms). */
      requestTimeoutMs: z.number().int().min(1000).max(3_600_000).default(30_000),
      /** Open connections at most, over all clients. */
      maxConnections: z.number().int().min(1).max(1_000_000).default(10_000),
      /** Open connections at most from one address (0: no cap; a reverse proxy counts as one address). */
      maxConnectionsPerAddress: z.number().int().min(0).max(1_000_000).default(512),
    })
    .refine((http) => Boolean(http.tlsCert) === Boolean(http.tlsKey), { message: 'tlsCert and tlsKey go together' })
    .prefault({}),
  media: z
    .strictObject({
      workers: z.number().int().min(1).max(64).default(Math.max(1, cpus().length)),
      logLevel: z.enum(['debug', 'warn', 'error', 'none']).default('warn'),
      listenIp: z.ipv4().or(z.ipv6()).default('127.0.0.1'),
      announcedIp: z.string().min(1).optional(),
      /** WebRtcServer of worker i listens on webRtcPort + i (UDP and TCP); 0 picks free ports. */
      webRtcPort: port.default(40000),
      rtcMinPort: port.default(42000),
      rtcMaxPort: port.default(42999),
    })
    .prefault({}),
  ingest: z
    .strictObject({
      ffmpegPath: z.string().min(1).optional(),
      /**
       * Ingest worker processes carrying the cameras (each many cameras; RTP straight to mediasoup).
       * 0 carries them in the server process itself. Default: one per core.
       */
      workers: z.number().int().min(0).max(64).default(Math.max(1, availableParallelism())),
      startTimeoutMs: ms(120_000).min(1000).default(15_000),
      stallTimeoutMs: ms(120_000).min(500).default(5_000),
      backoffInitialMs: ms(60_000).min(10).default(500),
      backoffMaxMs: ms(300_000).min(10).default(30_000),
      idleCloseMs: ms(3_600_000).default(30_000),
      /** Our RTSP client's connect and per-request answer timeout (every engine's camera session, the prober). */
      rtspTimeoutMs: ms(60_000).min(500).default(5_000),
      /**
       * A camera that refused our credentials is not asked again (by the prober or a viewer) for this
       * long; the wait doubles with each refusal up to authBackoffMaxMs. Changing the camera's
       * credentials lifts it at once.
       */
      authBackoffMs: ms(24 * 3_600_000).min(1000).default(300_000),
      authBackoffMaxMs: ms(7 * 24 * 3_600_000).min(1000).default(3_600_000),
      /**
       * High-profile H.264: forward it untouched labelled as Main (proven to decode in Chromium by
       * test/e2e/console.test.ts; costs nothing), or transcode it to Constrained Baseline for
       * browsers that refuse High (costs a full encode per camera).
       */
      highProfile: z.enum(['transcode', 'relabel']).default('relabel'),
      /**
       * How cameras reach mediasoup unless a camera says otherwise: 'auto' relays H.264 without
       * B-frames (the camera's RTP forwarded untouched by our RTSP client; keyframe requests reach the
       * camera) and runs ffmpeg for the rest; 'relay' and 'ffmpeg' force one.
       */
      engine: z.enum(['auto', 'relay', 'ffmpeg']).default('auto'),
      /** Bit rate cap of a transcoded camera's H.264 (MJPEG, H.265, B-frames): what each viewer receives. */
      transcodeKbps: z.number().int().min(100).max(20_000).default(1500),
      /**
       * The relay's native code (the C addon scripts/bootstrap.sh builds, workers/relay/native/): a
       * camera pulled over UDP is received, rewritten and sent without JavaScript (relay_loop.c);
       * over TCP, each camera's packets of one event-loop turn go to the kernel in one sendmmsg.
       * false, or no addon: the JavaScript relay, one packet per call.
       */
      relayNative: z.boolean().default(true),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /** HMAC key for JWTs (>= 32 chars). Generated into dataDir on first run outside production. */
      jwtSecret: z.string().min(32).optional(),
      tokenTtlSeconds: z.number().int().min(30).max(3600).default(900),
      /** A console refreshing its token stays signed in this long (a working day). */
      sessionMaxSeconds: z.number().int().min(60).max(7 * 86400).default(12 * 3600),
      loginCodeTtlSeconds: z.number().int().min(10).max(3600).default(600),
    })
    .prefault({}),
  catalog: z
    .strictObject({
      /** MongoDB connection string; unset: the embedded store in dataDir. */
      mongodbUri: z.string().regex(/^mongodb(\+srv)?:\/\//, 'a mongodb:// or mongodb+srv:// URI').optional(),
      /** Secret sealing camera URLs (AES-256-GCM); generated into dataDir on first run outside production. */
      credentialKey: z.string().min(32).optional(),
      /** Earlier keys, still able to open URLs sealed before a rotation. */
      previousCredentialKeys: z.array(z.string().min(32)).default([]),
    })
    .prefault({}),
  health: z
    .strictObject({
      /** Probe approved cameras nobody watches (RTSP DESCRIBE, no video pulled). */
      enabled: z.boolean().default(true),
      /** How often each camera is probed. */
      intervalMs: ms(24 * 3_600_000).min(1000).default(300_000),
      /** Probes in flight at once. */
      concurrency: z.number().int().min(1).max(256).default(16),
      /** Probes started per second at most (spreads a large fleet over the interval). */
      maxPerSecond: z.number().min(0.1).max(1000).default(50),
      timeoutMs: ms(60_000).min(100).default(4_000),
      /** An unreachable camera is probed less often: the interval doubles per failure up to this. */
      maxBackoffMs: ms(7 * 24 * 3_600_000).min(1000).default(3_600_000),
    })
    .prefault({}),
  audit: z
    .strictObject({
      /** HMAC key of the audit chain; generated into dataDir on first run outside production. */
      key: z.string().min(32).optional(),
      /** Entries older than this are exported to dataDir/audit/exports and then deleted. */
      retentionDays: z.number().int().min(1).max(36_500).default(365),
    })
    .prefault({}),
  incidents: z
    .strictObject({
      /** Cameras attached automatically when an incident opens: the approved ones within its radius, nearest first, at most this many. */
      autoAttachMax: z.number().int().min(0).max(200).default(12),
      /** Cameras attached to one incident at most (automatically and by hand). */
      maxCameras: z.number().int().min(1).max(1000).default(100),
      /** An incident's radius when the operator gives none (m). */
      defaultRadiusM: z.number().int().min(10).max(50_000).default(500),
      /** A grant's length when none is asked for (minutes). */
      grantDefaultMinutes: z.number().int().min(1).max(7 * 1440).default(240),
      /** The longest grant, at creation and after extending (minutes from now). */
      grantMaxMinutes: z.number().int().min(1).max(30 * 1440).default(1440),
      /** How long a break-glass view of an incident-only citizen camera lasts at most (minutes). */
      breakGlassMinutes: z.number().int().min(1).max(240).default(15),
    })
    .refine((incidents) => incidents.grantDefaultMinutes <= incidents.grantMaxMinutes, {
      path: ['grantDefaultMinutes'],
      // Setting only GRANT_MAX_MINUTES below the default 240 lands here: say what else to set.
      error: (issue) => {
        const incidents = issue.input as { grantDefaultMinutes: number; grantMaxMinutes: number };
        return `the default grant length (GRANT_DEFAULT_MINUTES, ${incidents.grantDefaultMinutes}) cannot exceed the longest grant (GRANT_MAX_MINUTES, ${incidents.grantMaxMinutes}): lower GRANT_DEFAULT_MINUTES too`;
      },
    })
    .prefault({}),
  alarms: z
    .strictObject({
      /** A signed request's timestamp may differ from the server's clock by this much at most (s); request ids are remembered twice as long. */
      signatureWindowS: z.number().int().min(5).max(600).default(60),
      /** Presses of the same device within this time of its last press join its open alarm and incident (s). */
      joinWindowS: z.number().int().min(0).max(86_400).default(600),
      /** Cameras within this distance of an alarm are attached to its incident, nearest first, after the device's linked ones (m). */
      radiusM: z.number().int().min(10).max(50_000).default(300),
      /** An alarm nobody acknowledged is announced again, to every operator and admin, after this long (s). */
      reannounceS: z.number().int().min(1).max(3600).default(30),
      /** Re-announcements of one alarm at most (each one rings every operator and admin again). */
      reannounceMax: z.number().int().min(0).max(1000).default(10),
      /** Signed requests accepted per device per minute (alarms and heartbeats). */
      ratePerDevicePerMinute: z.number().int().min(1).max(100_000).default(30),
      /** Requests to the intake accepted per source address per minute, signed or not. */
      ratePerAddressPerMinute: z.number().int().min(1).max(1_000_000).default(300),
      /** A supervised device is offline when no request came within its interval plus this (s). */
      supervisionGraceS: z.number().int().min(0).max(86_400).default(30),
      /** How often supervised devices are checked (ms). */
      supervisionCheckMs: z.number().int().min(100).max(600_000).default(5000),
    })
    .prefault({}),
  dc09: z
    .strictObject({
      /** The SIA DC-09 receiver for alarm panels (TCP and UDP on one port). */
      enabled: z.boolean().default(true),
      host: z.string().min(1).default('0.0.0.0'),
      /** TCP and UDP; 0 picks a free port (tests). */
      port: port.default(12128),
      /** Frames taken per source address per minute (TCP and UDP together); beyond, frames are dropped unanswered (the panel retries). */
      ratePerAddressPerMinute: z.number().int().min(1).max(1_000_000).default(600),
      /** Open TCP connections at most from one address, and in all. */
      maxConnectionsPerAddress: z.number().int().min(1).max(100_000).default(16),
      maxConnections: z.number().int().min(1).max(1_000_000).default(5000),
      /** A TCP connection that sends nothing this long is closed (ms); panels with a persistent link send NULL more often. */
      idleTimeoutMs: z.number().int().min(1000).max(86_400_000).default(300_000),
      /** A frame must arrive whole within this long of its first byte (ms): a client trickling bytes is cut off. */
      frameTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      /** A frame repeating an account's sequence and content within this long is a retransmission: ACKed again, nothing new (s). */
      retransmissionWindowS: z.number().int().min(1).max(86_400).default(600),
      /** Contact ID event codes (3 digits) that raise an alarm when new (qualifier 1): panic, duress, silent, audible by default. */
      alarmContactIdCodes: z.array(z.string().regex(/^\d{3}$/, 'three digits')).max(200).default(['120', '121', '122', '123', '124', '125']),
      /** SIA event codes (two upper-case letters) that raise an alarm: panic and hold-up by default. */
      alarmSiaCodes: z.array(z.string().regex(/^[A-Z]{2}$/, 'two upper-case letters')).max(200).default(['PA', 'HA']),
    })
    .prefault({}),
  bandwidth: z
    .strictObject({
      /**
       * Each role's cap on one session's video (kbit/s, measured on its consumers' actual bit rates);
       * 0: no cap. The server keeps a capped session under it by giving tiles substreams, then the
       * low tier, then refusing a tile.
       */
      capKbps: z
        .strictObject({
          admin: z.number().int().min(0).max(10_000_000).default(0),
          operator: z.number().int().min(0).max(10_000_000).default(0),
          supervisor: z.number().int().min(0).max(10_000_000).default(3000),
          investigator: z.number().int().min(0).max(10_000_000).default(0),
        })
        .prefault({}),
      /** How often each session's consumers' bit rates are measured and sent to its console (ms). */
      sampleMs: ms(60_000).min(250).default(2000),
      /** A tile given a lighter stream for the cap is moved back up (streamAdvice) when room frees up, but not sooner than this after (ms). */
      upgradeCooldownMs: ms(3_600_000).default(10_000),
      /** A consumer replaced by a stream switch that the client has not closed this long after is closed by the server (ms). */
      replaceGraceMs: ms(600_000).min(100).default(15_000),
      /**
       * A stream nobody is receiving yet has no measured rate: until it has, it counts as this much
       * (kbit/s) against a cap (the main stream; a substream; the low tier counts its own lowTier.kbps).
       */
      assumedMainKbps: z.number().int().min(1).max(1_000_000).default(4000),
      assumedSubKbps: z.number().int().min(1).max(1_000_000).default(1000),
    })
    .prefault({}),
  lowTier: z
    .strictObject({
      /** Low-tier transcodes running at once on this node at most (each one ffmpeg decoding a main stream); 0 disables the low tier. */
      max: z.number().int().min(0).max(1000).default(4),
      /** The low tier's picture fits in this box, keeping the camera's aspect ratio (px). */
      width: z.number().int().min(64).max(3840).default(640),
      height: z.number().int().min(64).max(2160).default(360),
      /** Its bit rate (kbit/s, average and peak) and frame rate (frames/s). */
      kbps: z.number().int().min(50).max(20_000).default(500),
      fps: z.number().int().min(1).max(60).default(15),
    })
    .prefault({}),
  signalling: z
    .strictObject({
      /** A vanished client is reaped after pingInterval + pingTimeout. */
      pingIntervalMs: ms(60_000).min(500).default(4_000),
      pingTimeoutMs: ms(60_000).min(500).default(5_000),
      /**
       * A console whose socket drops (a network change) keeps its transport, consumers and views
       * this long for its user's reconnecting socket (ms); 0: everything closes at once.
       */
      resumeGraceMs: ms(600_000).default(20_000),
    })
    .prefault({}),
  /**
   * TURN servers given to consoles with time-limited credentials (coturn's --use-auth-secret, the
   * TURN REST API): the way through networks that allow only TCP 443 (`turns:host:443?transport=tcp`).
   */
  turn: z
    .strictObject({
      /** turn: / turns: URLs; empty: no TURN server. */
      urls: z.array(z.string().regex(/^turns?:[^\s]{1,250}$/, 'a turn: or turns: URL')).max(8).default([]),
      /** The secret shared with the TURN server (its static-auth-secret); never sent to a client. */
      secret: z.string().min(16).optional(),
      /** How long a console's TURN credentials stay valid (s). */
      ttlS: z.number().int().min(60).max(7 * 24 * 3600).default(12 * 3600),
    })
    .refine((turn) => turn.urls.length === 0 || turn.secret !== undefined, { message: 'turn.secret (TURN_SECRET) is required with turn.urls' })
    .prefault({}),
  /**
   * The citizen program's public enrolment page (/enrol) and its endpoints (issue 26). Client
   * addresses for the per-source limit come through `http.trustProxy` (TRUST_PROXY).
   */
  enrolment: z
    .strictObject({
      /** Accept new public submissions (false: owners' links, the review and the erasure go on; the page says so). */
      enabled: z.boolean().default(true),
      /** TCP ports a submitted camera URL may name. */
      allowedPorts: z.array(z.coerce.number().int().min(1).max(65535)).min(1).max(32).default([554, 8554, 322]),
      /** Networks (CIDR or single addresses) refused besides the non-public ranges that always are. */
      denyNetworks: z.array(cidr).max(256).default([]),
      /**
       * Networks let through although non-public: for tests and labs only (a simulator on
       * 127.0.0.1); refused in production.
       */
      allowNetworks: z.array(cidr).max(16).default([]),
      /** Submissions (checks included) per client address per hour. */
      perSourcePerHour: z.number().int().min(1).max(1_000_000).default(10),
      /** Submissions per contact (e-mail or phone) per hour. */
      perContactPerHour: z.number().int().min(1).max(1000).default(3),
      /** Requests with a status link (owner's page) per client address per hour. */
      statusPerSourcePerHour: z.number().int().min(1).max(1_000_000).default(300),
      /** Rejected or withdrawn enrolments keep the owner's contact details this long (days), then erase them. */
      retentionDays: z.number().int().min(0).max(3650).default(30),
      /** How often the erasure runs (ms). */
      retentionCheckMs: z.number().int().min(1000).max(86_400_000).default(3_600_000),
      /** RTSP checks of submitted cameras running at once; a submission beyond them is answered 429. */
      maxConcurrentChecks: z.number().int().min(1).max(1000).default(8),
      /** The RTSP check of a submitted camera: answer deadline per request (ms). */
      checkTimeoutMs: z.number().int().min(500).max(30_000).default(4000),
      /** The program agreement's version in force (its texts: server/enrolment/agreements.ts). */
      agreementVersion: z.string().regex(/^[A-Za-z0-9._-]{1,40}$/).default('2026-12'),
    })
    .prefault({}),
  cameras: z.array(configCameraSchema).default([]),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigCamera = z.infer<typeof configCameraSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Environment variables that override config fields, with how each string is read. */
export const environmentMap: ReadonlyArray<{ name: string; path: string[]; kind: 'string' | 'int' | 'bool' | 'list' }> = [
  { name: 'NODE_ENV', path: ['env'], kind: 'string' },
  { name: 'LOG_LEVEL', path: ['logLevel'], kind: 'string' },
  { name: 'DATA_DIR', path: ['dataDir'], kind: 'string' },
  { name: 'HOST', path: ['http', 'host'], kind: 'string' },
  { name: 'PORT', path: ['http', 'port'], kind: 'int' },
  { name: 'TLS_CERT', path: ['http', 'tlsCert'], kind: 'string' },
  { name: 'TLS_KEY', path: ['http', 'tlsKey'], kind: 'string' },
  { name: 'PUBLIC_URL', path: ['http', 'publicUrl'], kind: 'string' },
  { name: 'TRUST_PROXY', path: ['http', 'trustProxy'], kind: 'string' },
  { name: 'CONSOLE_DIR', path: ['http', 'consoleDir'], kind: 'string' },
  { name: 'HTTP_HEADERS_TIMEOUT_MS', path: ['http', 'headersTimeoutMs'], kind: 'int' },
  { name: 'HTTP_REQUEST_TIMEOUT_MS', path: ['http', 'requestTimeoutMs'], kind: 'int' },
  { name: 'HTTP_MAX_CONNECTIONS', path: ['http', 'maxConnections'], kind: 'int' },
  { name: 'HTTP_MAX_CONNECTIONS_PER_ADDRESS', path: ['http', 'maxConnectionsPerAddress'], kind: 'int' },
  { name: 'JWT_SECRET', path: ['auth', 'jwtSecret'], kind: 'string' },
  { name: 'MONGODB_URI', path: ['catalog', 'mongodbUri'], kind: 'string' },
  { name: 'CREDENTIAL_KEY', path: ['catalog', 'credentialKey'], kind: 'string' },
  { name: 'AUDIT_KEY', path: ['audit', 'key'], kind: 'string' },
  { name: 'AUDIT_RETENTION_DAYS', path: ['audit', 'retentionDays'], kind: 'int' },
  { name: 'TOKEN_TTL_SECONDS', path: ['auth', 'tokenTtlSeconds'], kind: 'int' },
  { name: 'MEDIA_WORKERS', path: ['media', 'workers'], kind: 'int' },
  { name: 'MEDIA_LOG_LEVEL', path: ['media', 'logLevel'], kind: 'string' },
  { name: 'MEDIA_LISTEN_IP', path: ['media', 'listenIp'], kind: 'string' },
  { name: 'MEDIA_ANNOUNCED_IP', path: ['media', 'announcedIp'], kind: 'string' },
  { name: 'WEBRTC_PORT', path: ['media', 'webRtcPort'], kind: 'int' },
  { name: 'FFMPEG_PATH', path: ['ingest', 'ffmpegPath'], kind: 'string' },
  { name: 'INGEST_WORKERS', path: ['ingest', 'workers'], kind: 'int' },
  { name: 'INGEST_START_TIMEOUT_MS', path: ['ingest', 'startTimeoutMs'], kind: 'int' },
  { name: 'INGEST_STALL_TIMEOUT_MS', path: ['ingest', 'stallTimeoutMs'], kind: 'int' },
  { name: 'IDLE_CLOSE_MS', path: ['ingest', 'idleCloseMs'], kind: 'int' },
  { name: 'INGEST_TRANSCODE_KBPS', path: ['ingest', 'transcodeKbps'], kind: 'int' },
  { name: 'INGEST_ENGINE', path: ['ingest', 'engine'], kind: 'string' },
  { name: 'INGEST_RELAY_NATIVE', path: ['ingest', 'relayNative'], kind: 'bool' },
  { name: 'RTSP_AUTH_BACKOFF_MS', path: ['ingest', 'authBackoffMs'], kind: 'int' },
  { name: 'RTSP_AUTH_BACKOFF_MAX_MS', path: ['ingest', 'authBackoffMaxMs'], kind: 'int' },
  { name: 'INCIDENT_AUTO_ATTACH_MAX', path: ['incidents', 'autoAttachMax'], kind: 'int' },
  { name: 'INCIDENT_MAX_CAMERAS', path: ['incidents', 'maxCameras'], kind: 'int' },
  { name: 'INCIDENT_DEFAULT_RADIUS_M', path: ['incidents', 'defaultRadiusM'], kind: 'int' },
  { name: 'GRANT_DEFAULT_MINUTES', path: ['incidents', 'grantDefaultMinutes'], kind: 'int' },
  { name: 'GRANT_MAX_MINUTES', path: ['incidents', 'grantMaxMinutes'], kind: 'int' },
  { name: 'BREAK_GLASS_MINUTES', path: ['incidents', 'breakGlassMinutes'], kind: 'int' },
  { name: 'ALARM_SIGNATURE_WINDOW_S', path: ['alarms', 'signatureWindowS'], kind: 'int' },
  { name: 'ALARM_JOIN_WINDOW_S', path: ['alarms', 'joinWindowS'], kind: 'int' },
  { name: 'ALARM_RADIUS_M', path: ['alarms', 'radiusM'], kind: 'int' },
  { name: 'ALARM_REANNOUNCE_S', path: ['alarms', 'reannounceS'], kind: 'int' },
  { name: 'ALARM_REANNOUNCE_MAX', path: ['alarms', 'reannounceMax'], kind: 'int' },
  { name: 'ALARM_RATE_PER_DEVICE', path: ['alarms', 'ratePerDevicePerMinute'], kind: 'int' },
  { name: 'ALARM_RATE_PER_ADDRESS', path: ['alarms', 'ratePerAddressPerMinute'], kind: 'int' },
  { name: 'ALARM_SUPERVISION_GRACE_S', path: ['alarms', 'supervisionGraceS'], kind: 'int' },
  { name: 'ALARM_SUPERVISION_CHECK_MS', path: ['alarms', 'supervisionCheckMs'], kind: 'int' },
  { name: 'DC09_ENABLED', path: ['dc09', 'enabled'], kind: 'bool' },
  { name: 'DC09_HOST', path: ['dc09', 'host'], kind: 'string' },
  { name: 'DC09_PORT', path: ['dc09', 'port'], kind: 'int' },
  { name: 'DC09_RATE_PER_ADDRESS', path: ['dc09', 'ratePerAddressPerMinute'], kind: 'int' },
  { name: 'DC09_MAX_CONNECTIONS_PER_ADDRESS', path: ['dc09', 'maxConnectionsPerAddress'], kind: 'int' },
  { name: 'DC09_MAX_CONNECTIONS', path: ['dc09', 'maxConnections'], kind: 'int' },
  { name: 'DC09_IDLE_TIMEOUT_MS', path: ['dc09', 'idleTimeoutMs'], kind: 'int' },
  { name: 'DC09_FRAME_TIMEOUT_MS', path: ['dc09', 'frameTimeoutMs'], kind: 'int' },
  { name: 'DC09_RETRANSMISSION_WINDOW_S', path: ['dc09', 'retransmissionWindowS'], kind: 'int' },
  { name: 'DC09_ALARM_CID_CODES', path: ['dc09', 'alarmContactIdCodes'], kind: 'list' },
  { name: 'DC09_ALARM_SIA_CODES', path: ['dc09', 'alarmSiaCodes'], kind: 'list' },
  { name: 'BANDWIDTH_CAP_ADMIN_KBPS', path: ['bandwidth', 'capKbps', 'admin'], kind: 'int' },
  { name: 'BANDWIDTH_CAP_OPERATOR_KBPS', path: ['bandwidth', 'capKbps', 'operator'], kind: 'int' },
  { name: 'BANDWIDTH_CAP_SUPERVISOR_KBPS', path: ['bandwidth', 'capKbps', 'supervisor'], kind: 'int' },
  { name: 'BANDWIDTH_CAP_INVESTIGATOR_KBPS', path: ['bandwidth', 'capKbps', 'investigator'], kind: 'int' },
  { name: 'BANDWIDTH_SAMPLE_MS', path: ['bandwidth', 'sampleMs'], kind: 'int' },
  { name: 'BANDWIDTH_UPGRADE_COOLDOWN_MS', path: ['bandwidth', 'upgradeCooldownMs'], kind: 'int' },
  { name: 'BANDWIDTH_REPLACE_GRACE_MS', path: ['bandwidth', 'replaceGraceMs'], kind: 'int' },
  { name: 'BANDWIDTH_ASSUMED_MAIN_KBPS', path: ['bandwidth', 'assumedMainKbps'], kind: 'int' },
  { name: 'BANDWIDTH_ASSUMED_SUB_KBPS', path: ['bandwidth', 'assumedSubKbps'], kind: 'int' },
  { name: 'LOW_TIER_MAX', path: ['lowTier', 'max'], kind: 'int' },
  { name: 'LOW_TIER_WIDTH', path: ['lowTier', 'width'], kind: 'int' },
  { name: 'LOW_TIER_HEIGHT', path: ['lowTier', 'height'], kind: 'int' },
  { name: 'LOW_TIER_KBPS', path: ['lowTier', 'kbps'], kind: 'int' },
  { name: 'LOW_TIER_FPS', path: ['lowTier', 'fps'], kind: 'int' },
  { name: 'SESSION_RESUME_GRACE_MS', path: ['signalling', 'resumeGraceMs'], kind: 'int' },
  { name: 'TURN_URLS', path: ['turn', 'urls'], kind: 'list' },
  { name: 'TURN_SECRET', path: ['turn', 'secret'], kind: 'string' },
  { name: 'TURN_CREDENTIAL_TTL_S', path: ['turn', 'ttlS'], kind: 'int' },
  { name: 'ENROLMENT_ENABLED', path: ['enrolment', 'enabled'], kind: 'bool' },
  { name: 'ENROLMENT_ALLOWED_PORTS', path: ['enrolment', 'allowedPorts'], kind: 'list' },
  { name: 'ENROLMENT_DENY_NETWORKS', path: ['enrolment', 'denyNetworks'], kind: 'list' },
  { name: 'ENROLMENT_ALLOW_NETWORKS', path: ['enrolment', 'allowNetworks'], kind: 'list' },
  { name: 'ENROLMENT_PER_SOURCE_PER_HOUR', path: ['enrolment', 'perSourcePerHour'], kind: 'int' },
  { name: 'ENROLMENT_PER_CONTACT_PER_HOUR', path: ['enrolment', 'perContactPerHour'], kind: 'int' },
  { name: 'ENROLMENT_STATUS_PER_SOURCE_PER_HOUR', path: ['enrolment', 'statusPerSourcePerHour'], kind: 'int' },
  { name: 'ENROLMENT_RETENTION_DAYS', path: ['enrolment', 'retentionDays'], kind: 'int' },
  { name: 'ENROLMENT_RETENTION_CHECK_MS', path: ['enrolment', 'retentionCheckMs'], kind: 'int' },
  { name: 'ENROLMENT_CHECK_TIMEOUT_MS', path: ['enrolment', 'checkTimeoutMs'], kind: 'int' },
  { name: 'ENROLMENT_MAX_CONCURRENT_CHECKS', path: ['enrolment', 'maxConcurrentChecks'], kind: 'int' },
  { name: 'ENROLMENT_AGREEMENT_VERSION', path: ['enrolment', 'agreementVersion'], kind: 'string' },
];
