import { z } from 'zod';
import { approvalStatuses, cameraAreas, cameraEngines, cameraCategories, healthFilterValues, healthStatuses, sharingModes } from './CameraRecord.ts';
import { rtspTransports } from '../../workers/common/RtspTransport.ts';
import { tlsFingerprintSchema } from './tlsFingerprint.ts';

/** The REST shapes of cameras: validation and the OpenAPI document come from these. */

const text = (max: number) => z.string().trim().min(1).max(max);
/** The camera's public identifier, also its id on the live path (Socket.IO consume). */
export const cameraCode = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$/, 'letters, digits, ".", "_" and "-" (2-64), starting with a letter or digit');
const point = z.strictObject({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180) });
const owner = z.strictObject({
  kind: z.enum(['organisation', 'person']),
  name: text(200),
  contact: text(200).optional(),
  agreementRef: text(100).optional(),
  enrolledBy: text(200).optional(),
});
const credentials = z.strictObject({ username: z.string().min(1).max(128), password: z.string().max(256).optional() });
const url = z.string().min(1).max(2048).describe('rtsp:// or rtsps:// URL; credentials inline (percent-encoded) or in `credentials`');
const tags = z.array(text(50)).max(50);
const engine = z.enum(cameraEngines).describe("how the video reaches mediasoup: 'relay' (the camera's H.264 RTP forwarded untouched), 'ffmpeg' (copy or transcode), 'auto' (relay for H.264 without B-frames, ffmpeg otherwise)");

export const cameraCreateSchema = z
  .strictObject({
    code: cameraCode,
    name: text(200),
    area: z.enum(cameraAreas),
    owner,
    category: z.enum(cameraCategories),
    municipality: text(100),
    location: point.optional(),
    mainUrl: url,
    substreamUrl: url.optional(),
    credentials: credentials.optional().describe('RTSP credentials; stored encrypted, never returned'),
    transport: z.enum(rtspTransports).default('tcp'),
    engine: engine.optional().describe("how the video reaches mediasoup: 'relay' (the camera's H.264 RTP forwarded untouched), 'ffmpeg' (copy or transcode), 'auto' (relay for H.264 without B-frames, ffmpeg otherwise); default 'auto'"),
    tlsFingerprint: tlsFingerprintSchema.optional(),
    sharing: z.enum(sharingModes).optional().describe('citizen cameras only; defaults to incident-only'),
    alwaysOn: z.boolean().default(false),
    tags: tags.default([]),
  })
  .superRefine((camera, ctx) => {
    if (camera.area === 'agency' && camera.sharing) ctx.addIssue({ code: 'custom', path: ['sharing'], message: 'only citizen cameras have a sharing mode' });
    if (camera.area === 'citizen') {
      if (!camera.owner.agreementRef) ctx.addIssue({ code: 'custom', path: ['owner', 'agreementRef'], message: 'a citizen camera needs its agreement reference' });
      if (!camera.owner.enrolledBy) ctx.addIssue({ code: 'custom', path: ['owner', 'enrolledBy'], message: 'a citizen camera needs who enrolled it' });
    }
  });

export const cameraPatchSchema = z
  .strictObject({
    name: text(200),
    owner,
    category: z.enum(cameraCategories),
    municipality: text(100),
    location: point.nullable(),
    mainUrl: url,
    substreamUrl: url.nullable(),
    credentials: credentials.nullable().describe('null removes the credentials'),
    transport: z.enum(rtspTransports),
    engine,
    tlsFingerprint: tlsFingerprintSchema.nullable().describe('null removes the pin (the certificate is then verified against the system CAs)'),
    sharing: z.enum(sharingModes),
    alwaysOn: z.boolean(),
    tags,
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'nothing to change');

export const statusChangeSchema = z.strictObject({ reason: text(500) });

export const cameraQuerySchema = z.strictObject({
  area: z.enum(cameraAreas).optional(),
  status: z
    .string()
    .transform((value) => value.split(','))
    .pipe(z.array(z.enum(approvalStatuses)).min(1))
    .optional()
    .describe('comma-separated statuses'),
  municipality: text(100).optional(),
  near: z
    .string()
    .regex(/^-?\d+(\.\d+)?,-?\d+(\.\d+)?,\d+(\.\d+)?$/, 'lat,lng,radiusKm')
    .transform((value) => {
      const [lat, lng, radiusKm] = value.split(',').map(Number) as [number, number, number];
      return { lat, lng, radiusKm };
    })
    .pipe(z.object({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180), radiusKm: z.number().gt(0).max(1000) }))
    .optional(),
  q: z.string().min(1).max(100).optional(),
  health: z.enum(healthFilterValues).optional(),
  includeRetired: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const cameraViewSchema = z.object({
  id: z.string(),
  code: z.string(),
  name: z.string(),
  area: z.enum(cameraAreas),
  owner,
  category: z.enum(cameraCategories),
  municipality: z.string(),
  location: point.optional(),
  mainUrl: z.string().describe('masked: never carries credentials'),
  substreamUrl: z.string().optional(),
  hasCredentials: z.boolean(),
  transport: z.enum(rtspTransports),
  engine: engine.describe("the configured ingest engine ('auto' unless set); what a live camera uses now is in its live status"),
  tlsFingerprint: z.string().optional().describe("the pinned SHA-256 fingerprint of an rtsps camera's certificate (upper-case, colon-separated); absent: verified against the system CAs"),
  sharing: z.enum(sharingModes).optional(),
  status: z.enum(approvalStatuses),
  statusReason: z.string().optional(),
  statusChangedAt: z.string(),
  alwaysOn: z.boolean(),
  tags: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  retiredAt: z.string().optional(),
  health: z
    .object({
      status: z.enum(healthStatuses),
      since: z.string(),
      lastSeenAt: z.string().optional(),
      message: z.string().optional().describe("the prober's reason, e.g. why the camera refused the session"),
      stream: z
        .object({ codec: z.string(), width: z.number().int().optional(), height: z.number().int().optional(), profileLevelId: z.string().optional(), fps: z.number().optional() })
        .optional()
        .describe("what the camera's SDP described at the last successful probe"),
      redirectedTo: z.string().optional().describe('the URL that answered after redirects, when it differs from the registered one (masked: never carries credentials)'),
    })
    .optional(),
});

export const cameraListSchema = z.object({ items: z.array(cameraViewSchema), total: z.number().int(), offset: z.number().int(), limit: z.number().int() });

export type CameraCreate = z.infer<typeof cameraCreateSchema>;
export type CameraPatchInput = z.infer<typeof cameraPatchSchema>;
export type CameraQuery = z.infer<typeof cameraQuerySchema>;
export type CameraView = z.infer<typeof cameraViewSchema>;
