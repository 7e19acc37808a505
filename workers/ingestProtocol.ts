import { z } from 'zod';

/**
 * The IPC protocol between the server and its ingest worker processes (Node's JSON IPC channel).
 * Both sides validate every message they receive: a message that does not parse is dropped and
 * counted, never acted upon.
 */

const engine = z.enum(['auto', 'relay', 'ffmpeg']);

export const engineSettingsSchema = z.strictObject({
  engine,
  ffmpegPath: z.string().min(1).max(4096),
  highProfile: z.enum(['transcode', 'relabel']),
  transcodeKbps: z.number().int().positive(),
  rtspTimeoutMs: z.number().int().positive(),
  stallTimeoutMs: z.number().int().positive(),
  firstFrameTimeoutMs: z.number().int().positive(),
  relayNative: z.boolean().optional(),
});

const tlsPolicy = z.strictObject({ verify: z.boolean(), fingerprint256: z.string().max(200).optional() });

const cameraSchema = z.strictObject({
  id: z.string().min(1).max(200),
  url: z.string().min(1).max(4096),
  username: z.string().max(1024).optional(),
  password: z.string().max(1024).optional(),
  transport: z.enum(['tcp', 'udp']),
  engine: engine.optional(),
  tls: tlsPolicy.optional(),
  pinned: z.strictObject({ address: z.ipv4().or(z.ipv6()) }).optional(),
});

const key = z.string().min(1).max(100);
const requestId = z.number().int().nonnegative();
const target = z.strictObject({ ip: z.string().max(64), rtpPort: z.number().int().min(1).max(65535), rtcpPort: z.number().int().min(1).max(65535) });

/** Server -> worker. */
export const toWorkerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('init'), settings: engineSettingsSchema }),
  z.strictObject({ type: z.literal('open'), id: requestId, key, camera: cameraSchema }),
  z.strictObject({ type: z.literal('start'), key, target }),
  z.strictObject({ type: z.literal('stop'), id: requestId, key }),
  z.strictObject({ type: z.literal('keyframe'), key }),
  z.strictObject({ type: z.literal('close'), id: requestId, key }),
]);
export type ToWorker = z.infer<typeof toWorkerSchema>;

const failureReason = z.enum(['unauthorized', 'locked_out', 'busy', 'not_found', 'timeout', 'unreachable', 'unsupported_codec', 'codec_mismatch', 'stalled', 'exited', 'spawn_failed']);
const ingestError = z.strictObject({ reason: failureReason, message: z.string().max(2000) });

const description = z.strictObject({
  codec: z.strictObject({
    mimeType: z.literal('video/H264'),
    clockRate: z.literal(90000),
    payloadType: z.number().int().min(96).max(127),
    parameters: z.strictObject({ 'packetization-mode': z.literal(1), 'profile-level-id': z.string().regex(/^[0-9a-f]{6}$/), 'level-asymmetry-allowed': z.literal(1) }),
  }),
  ssrc: z.number().int().min(1).max(2 ** 32 - 1),
  keyframeRequests: z.boolean().optional(),
  engine: z.enum(['relay', 'ffmpeg']),
  transcodeReason: z.enum(['codec', 'b_frames', 'high_profile', 'low_tier']).optional(),
  source: z.strictObject({
    codec: z.string().max(40),
    profile: z.string().max(40).optional(),
    width: z.number().int().nonnegative().optional(),
    height: z.number().int().nonnegative().optional(),
    fps: z.number().nonnegative().optional(),
    hasBFrames: z.boolean(),
  }),
});

const progress = z.strictObject({
  frames: z.number().nonnegative(),
  fps: z.number().nonnegative(),
  kbps: z.number().nonnegative(),
  keyframeIntervalMs: z.number().nonnegative().optional(),
  packets: z.number().nonnegative().optional(),
  bytes: z.number().nonnegative().optional(),
  lost: z.number().nonnegative().optional(),
  jitterMs: z.number().nonnegative().optional(),
  keyframeAgeMs: z.number().nonnegative().optional(),
  width: z.number().int().positive().max(65_536).optional(),
  height: z.number().int().positive().max(65_536).optional(),
});

/** One camera's progress (in a progressBatch). */
export const progressEntrySchema = z.strictObject({ key, progress, pid: z.number().int().positive().nullable() });
export type ProgressEntry = z.infer<typeof progressEntrySchema>;

/** A progressBatch's entries that validate (each on its own), and how many did not. */
export function progressEntries(entries: readonly unknown[]): { valid: ProgressEntry[]; rejected: number } {
  const valid: ProgressEntry[] = [];
  let rejected = 0;
  for (const raw of entries) {
    const entry = progressEntrySchema.safeParse(raw);
    if (entry.success) valid.push(entry.data);
    else rejected++;
  }
  return { valid, rejected };
}

/** At most this many entries in one progressBatch. */
export const MAX_PROGRESS_BATCH = 5000;

/** Worker -> server. */
export const fromWorkerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready') }),
  z.strictObject({ type: z.literal('opened'), id: requestId, description, continuesAcrossRuns: z.boolean() }),
  z.strictObject({ type: z.literal('done'), id: requestId }),
  z.strictObject({ type: z.literal('failed'), id: requestId, error: ingestError }),
  z.strictObject({ type: z.literal('progress'), key, progress, pid: z.number().int().positive().nullable() }),
  /**
   * Several cameras' progress in one message (the worker gathers them for PROGRESS_BATCH_MS). Each
   * entry is checked apart (progressEntrySchema) by the receiver: an invalid one is dropped alone.
   */
  z.strictObject({ type: z.literal('progressBatch'), entries: z.array(z.unknown()).max(MAX_PROGRESS_BATCH) }),
  z.strictObject({ type: z.literal('flowing'), key, pid: z.number().int().positive().nullable() }),
  z.strictObject({ type: z.literal('error'), key, error: ingestError }),
  z.strictObject({ type: z.literal('log'), key, line: z.string().max(4000) }),
  /** The camera's process (ffmpeg) changed: its pid, or null when none runs. */
  z.strictObject({ type: z.literal('pid'), key, pid: z.number().int().positive().nullable() }),
  z.strictObject({ type: z.literal('child'), event: z.enum(['spawned', 'exited']), pid: z.number().int().positive(), command: z.string().max(4096) }),
  z.strictObject({
    type: z.literal('stats'),
    cameras: z.number().int().nonnegative(),
    /** CPU time used since the worker started (µs, user + system). */
    cpuMicros: z.number().nonnegative(),
    residentBytes: z.number().nonnegative(),
    privateBytes: z.number().nonnegative(),
  }),
]);
export type FromWorker = z.infer<typeof fromWorkerSchema>;
