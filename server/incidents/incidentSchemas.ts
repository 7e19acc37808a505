import { z } from 'zod';
import { cameraCode } from '../catalog/cameraSchemas.ts';
import { dispositions, grantScopes, incidentKinds, incidentStatuses } from './IncidentRecord.ts';

/** The REST shapes of incidents, grants and break-glass views: validation and the OpenAPI document come from these. */

const text = (max: number) => z.string().trim().min(1).max(max);
const point = z.strictObject({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180) });
/** A store id (nedb: 16 alphanumerics; MongoDB: 24 hex digits). */
export const recordId = z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'an id');

export const incidentCreateSchema = z.strictObject({
  title: text(200),
  kind: z.enum(incidentKinds),
  location: point,
  radiusM: z.number().int().min(10).max(50_000).optional().describe('metres around the location to attach cameras from (default: config incidents.defaultRadiusM)'),
  municipality: text(100),
  autoAttach: z.boolean().default(true).describe('attach the approved cameras within the radius, nearest first (up to incidents.autoAttachMax)'),
});
export type IncidentCreate = z.infer<typeof incidentCreateSchema>;

export const incidentQuerySchema = z.strictObject({
  status: z.enum(incidentStatuses).optional(),
  municipality: text(100).optional(),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const attachSchema = z.strictObject({ cameras: z.array(cameraCode).min(1).max(100) });

export const incidentCloseSchema = z.strictObject({
  disposition: z.enum(dispositions),
  note: text(2000).describe('why and how it closed (required)'),
});

export const grantCreateSchema = z
  .strictObject({
    investigator: recordId.describe("the investigator's user id"),
    scope: z.enum(grantScopes).describe("'all': every camera attached to the incident, now and later; 'cameras': only the listed ones (while attached)"),
    cameras: z.array(cameraCode).min(1).max(100).optional(),
    endsAt: z.iso.datetime({ offset: true }).optional().describe('when access ends (default: now + incidents.grantDefaultMinutes; at most now + incidents.grantMaxMinutes)'),
  })
  .refine((grant) => (grant.scope === 'cameras') === (grant.cameras !== undefined), { path: ['cameras'], message: "cameras is required with scope 'cameras' and refused with scope 'all'" });
export type GrantCreate = z.infer<typeof grantCreateSchema>;

export const grantExtendSchema = z.strictObject({
  endsAt: z.iso.datetime({ offset: true }).describe('the new end time (later than now; at most now + incidents.grantMaxMinutes)'),
});

export const grantRevokeSchema = z.strictObject({ reason: text(500) });

export const breakGlassSchema = z.strictObject({
  camera: cameraCode,
  reason: text(500).describe('why the camera must be watched outside any open incident (audited, listed for admins)'),
});

export const breakGlassQuerySchema = z.strictObject({
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const idParam = z.strictObject({ id: recordId });
export const incidentCameraParam = z.strictObject({ id: recordId, code: cameraCode });
