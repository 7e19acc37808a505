import { z } from 'zod';
import { cameraAreas } from '../catalog/CameraRecord.ts';
import { cameraCode } from '../catalog/cameraSchemas.ts';
import { alarmDeviceKinds, alarmDeviceStatuses, alarmDispositions, alarmStatuses, dc09Encryptions } from './AlarmRecord.ts';

/** The REST shapes of alarm devices and alarms: validation and the OpenAPI document come from these. */

const text = (max: number) => z.string().trim().min(1).max(max);
const point = z.strictObject({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180) });

/** A device's code: what it sends to name itself (the X-C5-Device header; the DC-09 account later). */
export const deviceCode = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$/, 'letters, digits, ".", "_" and "-" (2-64), starting with a letter or digit');

const owner = z.strictObject({
  name: text(200),
  phone: z.string().trim().regex(/^\+?[0-9 ()./-]{3,40}$/, 'a phone number').optional(),
  email: z.email().max(200).optional(),
});

/** A SIA DC-09 account: 3-16 hex digits (compared upper-case). */
export const dc09Account = z.string().regex(/^[0-9A-Fa-f]{3,16}$/, '3-16 hex digits').transform((account) => account.toUpperCase());

/**
 * A panel's SIA DC-09 settings. With encryption, the server issues the AES key (shown once);
 * encryptionRequired (default: whenever encrypted) makes clear frames from the panel refused (DUH).
 */
export const dc09SettingsSchema = z
  .strictObject({
    account: dc09Account,
    encryption: z.enum(dc09Encryptions).default('aes128').describe("AES-CBC key size of the panel's frames, or 'none' (clear frames only)"),
    encryptionRequired: z.boolean().optional().describe('refuse clear frames from this panel (default: true unless encryption is none)'),
  })
  .refine((dc09) => !(dc09.encryption === 'none' && dc09.encryptionRequired === true), { path: ['encryptionRequired'], message: 'a panel without encryption cannot require it' });
export type Dc09SettingsInput = z.infer<typeof dc09SettingsSchema>;

/** Seconds between heartbeats of a supervised device (1 minute to 1 day). */
const supervision = z.number().int().min(60).max(86_400);

export const deviceCreateSchema = z.strictObject({
  code: deviceCode,
  name: text(200),
  kind: z.enum(alarmDeviceKinds),
  owner,
  location: point,
  address: text(300).optional(),
  area: z.enum(cameraAreas),
  municipality: text(100),
  cameras: z.array(cameraCode).max(32).default([]).describe('codes of the cameras that see the place: attached first to its alarms\' incidents'),
  supervisionIntervalS: supervision.optional().describe('seconds between the heartbeats the device sends; absent: not supervised'),
  status: z.enum(['active', 'test']).default('active').describe("'test' while installers try the device: its alarms open no incident"),
  dc09: dc09SettingsSchema.optional().describe('alarm panels reporting over SIA DC-09: their account and encryption'),
});
export type DeviceCreate = z.infer<typeof deviceCreateSchema>;

export const devicePatchSchema = z
  .strictObject({
    name: text(200),
    kind: z.enum(alarmDeviceKinds),
    owner,
    location: point,
    address: text(300).nullable(),
    area: z.enum(cameraAreas),
    municipality: text(100),
    cameras: z.array(cameraCode).max(32),
    supervisionIntervalS: supervision.nullable().describe('null: not supervised any more'),
    status: z.enum(alarmDeviceStatuses),
    dc09: dc09SettingsSchema.nullable().describe('null: the device no longer reports over DC-09; a new or changed encryption issues a new key (in this answer only)'),
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'nothing to change');
export type DevicePatch = z.infer<typeof devicePatchSchema>;

export const deviceQuerySchema = z.strictObject({
  status: z
    .string()
    .transform((value) => value.split(','))
    .pipe(z.array(z.enum(alarmDeviceStatuses)).min(1))
    .optional()
    .describe('comma-separated statuses'),
  kind: z.enum(alarmDeviceKinds).optional(),
  area: z.enum(cameraAreas).optional(),
  municipality: text(100).optional(),
  q: z.string().min(1).max(100).optional(),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/**
 * The body of POST /api/alarms, signed by the device (see AlarmSignature). `type` 'alarm' is a
 * press; 'heartbeat' says the device is alive (supervised devices). A mobile app may send where it
 * is: that position then takes precedence over the device's registered place.
 */
export const alarmIntakeSchema = z.strictObject({
  type: z.enum(['alarm', 'heartbeat']).default('alarm'),
  position: z
    .strictObject({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180), accuracyM: z.number().min(0).max(100_000).optional() })
    .optional()
    .describe("mobile apps: where the person is now (WGS 84); accuracy in metres"),
  note: z.string().trim().max(500).optional().describe('free text from the device or app, shown to operators'),
});
export type AlarmIntake = z.infer<typeof alarmIntakeSchema>;

export const alarmQuerySchema = z.strictObject({
  status: z
    .string()
    .transform((value) => value.split(','))
    .pipe(z.array(z.enum(alarmStatuses)).min(1))
    .optional()
    .describe('comma-separated statuses (default: open,acknowledged)'),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const rotateKeySchema = z.strictObject({
  which: z.enum(['http', 'dc09']).default('http').describe("the HTTP intake's HMAC key, or the DC-09 AES key"),
});

export const alarmCloseSchema = z.strictObject({
  disposition: z.enum(alarmDispositions).describe("'real': the incident stays open for the operators to run; 'false' and 'test' close it too"),
  note: z.string().trim().max(2000).optional(),
});
