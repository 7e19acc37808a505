import { z } from 'zod';
import { cameraCode, cameraCreateSchema, cameraListSchema, cameraPatchSchema, cameraQuerySchema, cameraViewSchema, statusChangeSchema } from '../catalog/cameraSchemas.ts';
import { errorCodes, type ErrorCode } from '../errors/AppError.ts';
import { csvColumns } from '../catalog/CameraImporter.ts';
import { loginSchema, passwordResetSchema, userCreateSchema, userPatchSchema } from '../users/UserService.ts';
import {
  attachSchema,
  breakGlassQuerySchema,
  breakGlassSchema,
  grantCreateSchema,
  grantExtendSchema,
  grantRevokeSchema,
  incidentCloseSchema,
  incidentCreateSchema,
  incidentQuerySchema,
  recordId,
} from '../incidents/incidentSchemas.ts';
import { dispositions, grantScopes, grantStatuses, incidentKinds, incidentStatuses } from '../incidents/IncidentRecord.ts';
import { alarmCloseSchema, alarmIntakeSchema, alarmQuerySchema, deviceCreateSchema, devicePatchSchema, deviceQuerySchema, rotateKeySchema } from '../alarms/alarmSchemas.ts';
import { alarmDeviceKinds, alarmDeviceStatuses, alarmDispositions, alarmSources, alarmStatuses, dc09Encryptions } from '../alarms/AlarmRecord.ts';
import { cameraAreas } from '../catalog/CameraRecord.ts';
import { deviceCsvColumns } from '../alarms/AlarmDeviceImporter.ts';
import {
  agreementQuerySchema,
  agreementViewSchema,
  enrolmentReceiptSchema,
  enrolmentReference,
  enrolmentSubmitSchema,
  ownerChangeSchema,
  ownerStatusViewSchema,
  ownerWithdrawalSchema,
  reviewApprovalSchema,
  reviewItemSchema,
  reviewListSchema,
  reviewQuerySchema,
  reviewRejectionSchema,
  statusLinkSchema,
  statusTokenHeader,
} from '../enrolment/enrolmentSchemas.ts';

const schema = (s: z.ZodType, io: 'input' | 'output' = 'input') => z.toJSONSchema(s, { io, unrepresentable: 'any' });
const json = (s: z.ZodType, io: 'input' | 'output' = 'output') => ({ content: { 'application/json': { schema: schema(s, io) } } });
/** The stable error codes answered with this HTTP status. */
const codesOf = (status: number) => (Object.keys(errorCodes) as ErrorCode[]).filter((code) => errorCodes[code] === status);
const errorBody = (codes: ErrorCode[]) => z.object({ error: z.object({ code: z.enum(codes), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }) });
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => {
      const codes = codesOf(status);
      if (codes.length === 0) throw new Error(`no error code has the status ${status}`);
      return [String(status), { description: `error: ${codes.join(' or ')}`, ...json(errorBody(codes)) }];
    }),
  );
const importReportSchema = z.object({
  rows: z.number().int(),
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  errors: z.array(z.object({ line: z.number().int(), code: z.string().optional(), reason: z.string() })),
});
const userView = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: z.string(),
  areas: z.array(z.string()),
  municipalities: z.array(z.string()),
  disabled: z.boolean(),
  rightsVersion: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const incidentIdParameter = { name: 'id', in: 'path', required: true, schema: schema(recordId), description: "the incident's id" };
const grantIdParameter = { name: 'id', in: 'path', required: true, schema: schema(recordId), description: "the grant's id" };
const actorView = z.object({ userId: z.string(), username: z.string() });
const incidentView = z.object({
  id: z.string(),
  title: z.string(),
  kind: z.enum(incidentKinds),
  location: z.object({ lat: z.number(), lng: z.number() }),
  radiusM: z.number().int(),
  municipality: z.string(),
  status: z.enum(incidentStatuses),
  cameras: z
    .array(z.object({ code: z.string(), name: z.string(), area: z.string(), municipality: z.string(), distanceM: z.number().int().optional().describe('from the incident, when the camera has a location') }))
    .describe('attached cameras in attachment order (nearest first for those attached at opening)'),
  openedBy: actorView,
  openedAt: z.string(),
  closedBy: actorView.optional(),
  closedAt: z.string().optional(),
  disposition: z.enum(dispositions).optional(),
  closingNote: z.string().optional(),
});
const grantView = z.object({
  id: z.string(),
  incidentId: z.string(),
  investigator: actorView,
  scope: z.enum(grantScopes),
  cameras: z.array(z.string()).optional().describe("scope 'cameras' only"),
  grantedBy: actorView,
  createdAt: z.string(),
  endsAt: z.string(),
  status: z.enum(grantStatuses),
  endedAt: z.string().optional(),
  endedBy: actorView.optional(),
  endReason: z.string().optional(),
  live: z.boolean().describe('active and before its end time: it gives access now'),
});
const auditEntryView = z.object({
  seq: z.number().int(),
  at: z.string(),
  action: z.string(),
  userId: z.string().optional(),
  username: z.string().optional(),
  cameraId: z.string().optional(),
  incidentId: z.string().optional(),
  ip: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  prevHash: z.string(),
  hash: z.string().describe('the chain hash, checked by /api/audit/verify'),
});
const chainLink = z.object({ seq: z.number().int(), hash: z.string() });
const incidentReport = z.object({
  incident: incidentView,
  timeline: z.array(auditEntryView).describe("the incident's audit entries, oldest first"),
  grants: z.array(grantView),
  views: z
    .array(
      z.object({
        viewId: z.string(),
        user: z.object({ userId: z.string().optional(), username: z.string().optional() }),
        camera: z.string().optional(),
        startedAt: z.string().optional(),
        endedAt: z.string().optional(),
        reason: z.unknown().optional(),
        forced: z.boolean().optional(),
        start: chainLink.optional(),
        stop: chainLink.optional(),
      }),
    )
    .describe('who watched which camera when, from the view.start / view.stop entries, with their chain hashes'),
  generatedAt: z.string(),
});
const myGrant = z.object({
  grant: grantView,
  incident: z.object({ id: z.string(), title: z.string(), kind: z.enum(incidentKinds), municipality: z.string(), location: z.object({ lat: z.number(), lng: z.number() }), status: z.enum(incidentStatuses) }),
  cameras: z.array(z.string()).describe('the cameras the grant lets the investigator watch now'),
});
const breakGlassView = z.object({ id: z.string(), camera: z.string(), reason: z.string(), startedAt: z.string(), until: z.string() });
const breakGlassEntry = z.object({
  id: z.unknown(),
  camera: z.string().optional(),
  user: z.object({ userId: z.string().optional(), username: z.string().optional() }),
  reason: z.unknown(),
  startedAt: z.string(),
  until: z.unknown(),
  active: z.boolean(),
  auditSeq: z.number().int(),
});
const page = (item: z.ZodType) => z.object({ items: z.array(item), total: z.number().int(), offset: z.number().int(), limit: z.number().int() });
const cameraCodeParameter = {
  name: 'code',
  in: 'path',
  required: true,
  schema: schema(cameraCode),
  description:
    "The camera's code (as on the socket and in the audit). Deprecated: the camera's database id is still accepted in its place " +
    'for one release; a code that looks like an id names the camera with that code. Answers found by the id carry ' +
    '`Deprecation` (RFC 9745) and `Link: </api/cameras/{code}>; rel="successor-version"`.',
};
/** Headers of an answer to a request that named the camera by its database id (deprecated). */
const aliasHeaders = {
  Deprecation: { description: 'only when the path named the camera by its database id: when that alias was deprecated (RFC 9745, `@<epoch seconds>`)', schema: { type: 'string' } },
  Link: { description: 'only when the path named the camera by its database id: the same path by code, `rel="successor-version"`', schema: { type: 'string' } },
};
const cameraAnswer = (description: string) => ({ description, headers: aliasHeaders, ...json(cameraViewSchema) });

function queryParameters(query: z.ZodObject = cameraQuerySchema): object[] {
  const shape = query.shape;
  return Object.entries(shape).map(([name, field]) => {
    const values = enumValues(field);
    return {
      name,
      in: 'query',
      required: false,
      schema: { type: 'string', ...(values && { enum: values }) },
      ...(field.description && { description: field.description }),
    };
  });
}

/** The values of a query field that is a plain enum (optional or not), e.g. every health filter. */
function enumValues(field: z.ZodType): string[] | undefined {
  const inner = field instanceof z.ZodOptional ? field.unwrap() : field;
  return inner instanceof z.ZodEnum ? (inner.options as string[]) : undefined;
}

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate the requests. */
export function openApiDocument(): object {
  const statusActions = ['approve', 'reject', 'suspend', 'reinstate', 'revoke'];
  return {
    openapi: '3.1.0',
    info: { title: 'C5 Live API', version: '0.1.0', description: 'Camera catalog, sign-in, incidents, grants, break-glass views, alarm devices and alarms. Errors are {error: {code, message}}.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    security: [{ bearer: [] }],
    paths: {
      '/api/auth/code': {
        post: {
          summary: 'Exchange a single-use sign-in code for a token',
          security: [],
          requestBody: json(z.strictObject({ code: z.string() }), 'input'),
          responses: { '200': { description: 'token', ...json(z.object({ token: z.string(), expiresAt: z.number() })) }, ...errors(400, 401, 413) },
        },
      },
      '/api/auth/login': {
        post: {
          summary: 'Sign in with a user name and password (rate-limited per user and per address)',
          security: [],
          requestBody: json(loginSchema, 'input'),
          responses: { '200': { description: 'token', ...json(z.object({ token: z.string(), expiresAt: z.number() })) }, ...errors(400, 401, 429, 413) },
        },
      },
      '/api/auth/logout': {
        post: {
          summary: 'Sign out: every token of this sign-in session is refused from now on and its open sockets end (sessionEnded)',
          // Any /api request with a JSON body goes through the body parser: invalid JSON 400, too large 413.
          responses: { '204': { description: 'signed out' }, ...errors(400, 401, 413) },
        },
      },
      '/api/me': { get: { summary: 'The signed-in user', responses: { '200': { description: 'the user', ...json(userView) }, ...errors(401) } } },
      '/api/users': {
        get: { summary: 'Users (admin)', responses: { '200': { description: 'users', ...json(z.object({ items: z.array(userView) })) }, ...errors(401, 403) } },
        post: { summary: 'Create a user (admin)', requestBody: json(userCreateSchema, 'input'), responses: { '201': { description: 'created', ...json(userView) }, ...errors(400, 401, 403, 409, 413) } },
      },
      '/api/users/{id}': {
        parameters: [idParameter],
        get: { summary: 'One user (admin)', responses: { '200': { description: 'the user', ...json(userView) }, ...errors(401, 403, 404) } },
        patch: { summary: 'Disable, change role or assignments (admin)', requestBody: json(userPatchSchema, 'input'), responses: { '200': { description: 'changed', ...json(userView) }, ...errors(400, 401, 403, 404, 413) } },
      },
      '/api/users/{id}/password': {
        parameters: [idParameter],
        post: { summary: 'Reset a password (admin)', requestBody: json(passwordResetSchema, 'input'), responses: { '200': { description: 'changed', ...json(userView) }, ...errors(400, 401, 403, 404, 413) } },
      },
      '/api/audit': {
        get: {
          summary: 'The audit trail, newest first (admin; read-only)',
          parameters: ['user', 'camera', 'incident', 'device', 'action', 'from', 'to', 'offset', 'limit'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
          responses: { '200': { description: 'a page of entries' }, ...errors(400, 401, 403) },
        },
      },
      '/api/audit/verify': {
        get: {
          summary: 'Verify the hash chain against its checkpoints',
          responses: { '200': { description: 'the result', ...json(z.object({ ok: z.boolean(), entries: z.number(), problems: z.array(z.string()) })) }, ...errors(401, 403) },
        },
      },
      '/api/cameras': {
        get: { summary: 'List cameras', parameters: queryParameters(), responses: { '200': { description: 'a page of cameras', ...json(cameraListSchema) }, ...errors(400, 401) } },
        post: { summary: 'Register a camera (pending approval)', requestBody: json(cameraCreateSchema, 'input'), responses: { '201': { description: 'registered', ...json(cameraViewSchema) }, ...errors(400, 401, 403, 409, 422, 413) } },
      },
      '/api/cameras/import': {
        post: {
          summary: 'Bulk import (CSV with a header row, or JSON); good rows are stored, every bad row is reported with its line',
          parameters: [
            { name: 'update', in: 'query', required: false, schema: { type: 'boolean' }, description: 'update registered cameras whose record differs' },
            { name: 'approve', in: 'query', required: false, schema: { type: 'boolean' }, description: 'register new cameras as approved' },
          ],
          requestBody: {
            content: {
              'text/csv': { schema: { type: 'string', description: `columns: ${csvColumns.join(', ')}` } },
              'application/json': { schema: { type: 'array', items: schema(cameraCreateSchema) } },
            },
          },
          responses: { '200': { description: 'the import report', ...json(importReportSchema) }, ...errors(400, 401, 403, 413) },
        },
      },
      '/api/cameras/{code}': {
        parameters: [cameraCodeParameter],
        get: {
          summary: 'One camera (admins also see retired cameras; others only the cameras they may watch)',
          responses: { '200': cameraAnswer('the camera'), ...errors(400, 401, 404) },
        },
        patch: { summary: 'Change a camera', requestBody: json(cameraPatchSchema, 'input'), responses: { '200': cameraAnswer('changed'), ...errors(400, 401, 403, 404, 422, 413) } },
        delete: { summary: 'Retire a camera (kept for the audit trail; its code is never reused)', responses: { '200': cameraAnswer('retired'), ...errors(400, 401, 403, 404, 413) } },
      },
      ...Object.fromEntries(
        statusActions.map((action) => [
          `/api/cameras/{code}/${action}`,
          {
            parameters: [cameraCodeParameter],
            post: { summary: `${action[0]!.toUpperCase()}${action.slice(1)} a camera`, requestBody: json(statusChangeSchema, 'input'), responses: { '200': cameraAnswer('new status'), ...errors(400, 401, 403, 404, 409, 413) } },
          },
        ]),
      ),
      ...incidentPaths(),
      ...alarmPaths(),
    },
  };
}

/**
 * /api/incidents, /api/grants, /api/investigators, /api/break-glass (incidentRoutes.ts). Bodies go
 * through the JSON body parser (400 invalid JSON, 413 too large); path ids are validated (400).
 */
function incidentPaths(): Record<string, object> {
  const incidentAnswer = (description: string) => ({ description, ...json(incidentView) });
  return {
    '/api/incidents': {
      post: {
        summary: 'Open an incident (operators of its municipality, admins); the approved cameras within its radius attach, nearest first, up to incidents.autoAttachMax',
        requestBody: json(incidentCreateSchema, 'input'),
        responses: { '201': { ...incidentAnswer('opened'), headers: { Location: { description: '/api/incidents/{id}', schema: { type: 'string' } } } }, ...errors(400, 401, 403, 413) },
      },
      get: {
        summary: 'Incidents, newest opened first (admins: all; operators: those of their municipalities)',
        parameters: queryParameters(incidentQuerySchema),
        responses: { '200': { description: 'a page of incidents', ...json(page(incidentView)) }, ...errors(400, 401, 403) },
      },
    },
    '/api/incidents/{id}': {
      parameters: [incidentIdParameter],
      get: {
        summary: 'One incident with its grants (to whoever runs it; to an investigator with a live grant on it, without the grants)',
        responses: { '200': { description: 'the incident', ...json(incidentView.extend({ grants: z.array(grantView) })) }, ...errors(400, 401, 404) },
      },
    },
    '/api/incidents/{id}/cameras': {
      parameters: [incidentIdParameter],
      post: {
        summary: 'Attach cameras (approved, not retired; at most incidents.maxCameras per incident)',
        requestBody: json(attachSchema, 'input'),
        responses: { '200': incidentAnswer('the incident'), ...errors(400, 401, 403, 404, 409, 422, 413) },
      },
    },
    '/api/incidents/{id}/cameras/{code}': {
      parameters: [incidentIdParameter, { name: 'code', in: 'path', required: true, schema: schema(cameraCode), description: 'an attached camera' }],
      delete: {
        summary: 'Detach a camera: the views it allowed through this incident stop',
        responses: { '200': incidentAnswer('the incident'), ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    '/api/incidents/{id}/close': {
      parameters: [incidentIdParameter],
      post: {
        summary: "Close an incident (once) with a disposition and a note; its grants end",
        requestBody: json(incidentCloseSchema, 'input'),
        responses: { '200': incidentAnswer('closed'), ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    '/api/incidents/{id}/grants': {
      parameters: [incidentIdParameter],
      post: {
        summary: "Grant an investigator the incident's cameras (all, or the listed attached ones) until an end time",
        requestBody: json(grantCreateSchema, 'input'),
        responses: { '201': { description: 'granted', ...json(grantView) }, ...errors(400, 401, 403, 404, 409, 422, 413) },
      },
      get: { summary: "The incident's grants, oldest first", responses: { '200': { description: 'grants', ...json(z.object({ items: z.array(grantView) })) }, ...errors(400, 401, 403, 404) } },
    },
    '/api/incidents/{id}/report': {
      parameters: [incidentIdParameter],
      get: {
        summary: 'The incident, its timeline, its grants and who watched which camera when; each entry with its audit chain hash (check with /api/audit/verify)',
        responses: { '200': { description: 'the report', ...json(incidentReport) }, ...errors(400, 401, 403, 404) },
      },
    },
    '/api/grants/mine': {
      get: { summary: "The investigator's live grants, each with its incident and the cameras it allows now (investigators)", responses: { '200': { description: 'grants', ...json(z.object({ items: z.array(myGrant) })) }, ...errors(401, 403) } },
    },
    '/api/grants/{id}/extend': {
      parameters: [grantIdParameter],
      post: {
        summary: "Move a live grant's end later (at most incidents.grantMaxMinutes from now)",
        requestBody: json(grantExtendSchema, 'input'),
        responses: { '200': { description: 'extended', ...json(grantView) }, ...errors(400, 401, 403, 404, 409, 422, 413) },
      },
    },
    '/api/grants/{id}/revoke': {
      parameters: [grantIdParameter],
      post: {
        summary: 'Revoke a live grant: the views it allowed stop within a second, with the reason',
        requestBody: json(grantRevokeSchema, 'input'),
        responses: { '200': { description: 'revoked', ...json(grantView) }, ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    '/api/investigators': {
      get: {
        summary: 'Users an operator may grant to: enabled investigators (operators, admins)',
        responses: { '200': { description: 'investigators', ...json(z.object({ items: z.array(z.object({ id: z.string(), username: z.string(), displayName: z.string() })) })) }, ...errors(401, 403) },
      },
    },
    '/api/break-glass': {
      post: {
        summary: 'Watch an incident-only citizen camera outside any open incident, stating why, for incidents.breakGlassMinutes at most (operators; audited)',
        requestBody: json(breakGlassSchema, 'input'),
        responses: { '201': { description: 'the break-glass view', ...json(breakGlassView) }, ...errors(400, 401, 403, 404, 422, 413) },
      },
      get: {
        summary: 'Break-glass views with their reasons, newest first (admin)',
        parameters: queryParameters(breakGlassQuerySchema),
        responses: { '200': { description: 'a page of break-glass views', ...json(page(breakGlassEntry)) }, ...errors(400, 401, 403) },
      },
    },
  };
}

const deviceView = z.object({
  id: z.string(),
  code: z.string(),
  name: z.string(),
  kind: z.enum(alarmDeviceKinds),
  owner: z.object({ name: z.string(), phone: z.string().optional(), email: z.string().optional() }),
  location: z.object({ lat: z.number(), lng: z.number() }),
  address: z.string().optional(),
  area: z.enum(cameraAreas),
  municipality: z.string(),
  cameras: z.array(z.string()),
  supervisionIntervalS: z.number().int().optional(),
  status: z.enum(alarmDeviceStatuses),
  keyIssuedAt: z.string(),
  lastSeenAt: z.string().optional(),
  online: z.boolean().optional().describe('supervised devices only'),
  dc09: z.object({ account: z.string(), encryption: z.enum(dc09Encryptions), encryptionRequired: z.boolean() }).optional().describe('panels reporting over SIA DC-09 (never the key)'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const deviceWithKey = z.object({
  device: deviceView,
  httpKey: z.string().optional().describe('the HMAC-SHA256 key, 64 hex digits: shown this once, stored only sealed'),
  dc09Key: z.string().optional().describe('the DC-09 AES key (32, 48 or 64 hex digits) when one was issued: shown this once, stored only sealed'),
});
const alarmView = z.object({
  id: z.string(),
  incidentId: z.string(),
  source: z.enum(alarmSources),
  device: z.object({ id: z.string(), code: z.string(), name: z.string(), kind: z.enum(alarmDeviceKinds), owner: z.object({ name: z.string(), phone: z.string().optional() }), address: z.string().optional() }),
  location: z.object({ lat: z.number(), lng: z.number() }),
  positionSource: z.enum(['device', 'app']),
  accuracyM: z.number().optional(),
  area: z.enum(cameraAreas),
  municipality: z.string(),
  status: z.enum(alarmStatuses),
  presses: z.number().int(),
  firstAt: z.string(),
  lastAt: z.string(),
  cameras: z.array(z.object({ code: z.string(), name: z.string(), linked: z.boolean(), distanceM: z.number().int().optional() })).describe('linked cameras first, then the nearest; empty: no camera nearby'),
  note: z.string().optional(),
  announceLevel: z.number().int().describe('0: the operators covering the place; 1 and up: re-announced to every operator and admin'),
  acknowledgedBy: actorView.optional(),
  acknowledgedAt: z.string().optional(),
  closedBy: actorView.optional(),
  closedAt: z.string().optional(),
  disposition: z.enum(alarmDispositions).optional(),
});
const alarmIdParameter = { name: 'id', in: 'path', required: true, schema: schema(recordId), description: "the alarm's id" };
const deviceIdParameter = { name: 'id', in: 'path', required: true, schema: schema(recordId), description: "the device's id" };
const signatureParameters = [
  { name: 'X-C5-Device', in: 'header', required: true, schema: { type: 'string' }, description: "the device's code" },
  { name: 'X-C5-Timestamp', in: 'header', required: true, schema: { type: 'string', pattern: '^\\d{1,12}$' }, description: 'Unix time in seconds when signed; within alarms.signatureWindowS (60) of the server' },
  { name: 'X-C5-Request-Id', in: 'header', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{8,128}$' }, description: 'never reused by the device (replays within twice the window are refused)' },
  { name: 'X-C5-Signature', in: 'header', required: true, schema: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' }, description: 'hex HMAC-SHA256(key, timestamp LF requestId LF method LF path LF hex SHA-256(body))' },
];

/**
 * /api/alarms (the signed intake, and operators' alarm routes) and /api/alarm-devices (admins),
 * alarmRoutes.ts. The intake takes no bearer token: its headers prove the device.
 */
function alarmPaths(): Record<string, object> {
  return {
    '/api/alarms': {
      post: {
        summary: "A device's signed alarm or heartbeat (no bearer token). 201: an alarm opened with its incident; 200: the press joined the device's open alarm, a heartbeat, or a device in test mode (nothing opened)",
        security: [],
        parameters: signatureParameters,
        requestBody: json(alarmIntakeSchema, 'input'),
        responses: {
          '201': { description: 'alarm opened', ...json(z.object({ outcome: z.literal('opened'), alarmId: z.string(), incidentId: z.string(), presses: z.number().int(), cameras: z.number().int() })) },
          '200': { description: 'joined, heartbeat or test', ...json(z.object({ outcome: z.enum(['joined', 'heartbeat', 'test']), alarmId: z.string().optional(), incidentId: z.string().optional(), presses: z.number().int().optional(), cameras: z.number().int().optional(), linked: z.number().int().optional() })) },
          ...errors(400, 401, 403, 413, 429, 503),
        },
      },
      get: {
        summary: 'Alarms, newest first; default status open,acknowledged: those announced to the caller (operators), every one (admins); closed ones of the operator\'s areas and municipalities',
        parameters: queryParameters(alarmQuerySchema),
        responses: { '200': { description: 'a page of alarms', ...json(page(alarmView)) }, ...errors(400, 401, 403) },
      },
    },
    '/api/alarms/{id}': {
      parameters: [alarmIdParameter],
      get: { summary: 'One alarm', responses: { '200': { description: 'the alarm', ...json(alarmView) }, ...errors(400, 401, 403, 404) } },
    },
    '/api/alarms/{id}/acknowledge': {
      parameters: [alarmIdParameter],
      post: {
        summary: 'Take the alarm: the first operator wins (ringing stops everywhere); 409 names who took it',
        requestBody: json(z.strictObject({}), 'input'),
        responses: { '200': { description: 'acknowledged', ...json(alarmView) }, ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    '/api/alarms/{id}/close': {
      parameters: [alarmIdParameter],
      post: {
        summary: "Close with a disposition: 'real' keeps the incident open; 'false' and 'test' close it too",
        requestBody: json(alarmCloseSchema, 'input'),
        responses: { '200': { description: 'closed', ...json(alarmView) }, ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    '/api/alarm-devices': {
      get: {
        summary: 'Alarm devices, by code (admin)',
        parameters: queryParameters(deviceQuerySchema),
        responses: { '200': { description: 'a page of devices', ...json(page(deviceView)) }, ...errors(400, 401, 403) },
      },
      post: {
        summary: 'Register an alarm device (admin): its HTTP key is in this answer only',
        requestBody: json(deviceCreateSchema, 'input'),
        responses: { '201': { description: 'registered', ...json(deviceWithKey) }, ...errors(400, 401, 403, 409, 413, 422) },
      },
    },
    '/api/alarm-devices/import': {
      post: {
        summary: 'Bulk registration (CSV with a header row, or JSON); the keys of the devices created are in this answer only',
        requestBody: {
          content: {
            'text/csv': { schema: { type: 'string', description: `columns: ${deviceCsvColumns.join(', ')}` } },
            'application/json': { schema: { type: 'array', items: schema(deviceCreateSchema) } },
          },
        },
        responses: {
          '200': {
            description: 'the import report',
            ...json(z.object({ rows: z.number().int(), created: z.number().int(), unchanged: z.number().int(), errors: z.array(z.object({ line: z.number().int(), code: z.string().optional(), reason: z.string() })), keys: z.array(z.object({ code: z.string(), httpKey: z.string(), dc09Key: z.string().optional() })) })),
          },
          ...errors(400, 401, 403, 413),
        },
      },
    },
    '/api/alarm-devices/{id}': {
      parameters: [deviceIdParameter],
      get: { summary: 'One alarm device (admin)', responses: { '200': { description: 'the device', ...json(deviceView) }, ...errors(400, 401, 403, 404) } },
      patch: {
        summary: 'Change a device: place, owner, cameras, supervision, status (active, test, suspended, retired) (admin)',
        requestBody: json(devicePatchSchema, 'input'),
        responses: { '200': { description: 'changed (with dc09Key, shown once, when the change issued a DC-09 key)', ...json(deviceView.extend({ dc09Key: z.string().optional() })) }, ...errors(400, 401, 403, 404, 409, 413, 422) },
      },
    },
    '/api/alarm-devices/{id}/rotate-key': {
      parameters: [deviceIdParameter],
      post: {
        summary: "Issue a new HTTP key, or DC-09 AES key ({\"which\":\"dc09\"}); the old one stops working at once; the key is in this answer only (admin)",
        requestBody: json(rotateKeySchema, 'input'),
        responses: { '200': { description: 'the new key', ...json(deviceWithKey) }, ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    '/api/enrolment/agreement': {
      get: {
        summary: "The citizen program's agreement in force (public)",
        parameters: queryParameters(agreementQuerySchema),
        responses: { '200': { description: 'its version and text', ...json(agreementViewSchema) }, ...errors(400) },
      },
    },
    '/api/enrolment': {
      post: {
        summary:
          "A citizen's enrolment of a camera (public, no account; limited per client address and per contact). The camera is checked at once: 422 with details.check 'unauthorized' or 'unreachable' stores nothing (submitUnreachable stores an unreachable one); 422 with details.reason 'scheme', 'port' or 'address' when the URL or a redirect names what cannot be used. The status token is in this answer only.",
        requestBody: json(enrolmentSubmitSchema, 'input'),
        responses: { '201': { description: 'the receipt', ...json(enrolmentReceiptSchema) }, ...errors(400, 413, 422, 429) },
      },
    },
    '/api/enrolment/status': {
      parameters: [statusTokenParameter],
      get: { summary: "The owner's view of the enrolment (status link)", responses: { '200': { description: 'the status', ...json(ownerStatusViewSchema) }, ...errors(401, 429) } },
      patch: {
        summary: 'The owner changes the sharing, the URL or the credentials (checked like a submission; a new URL returns the camera to review)',
        requestBody: json(ownerChangeSchema, 'input'),
        responses: { '200': { description: 'the status after the change', ...json(ownerStatusViewSchema) }, ...errors(400, 401, 409, 413, 422, 429) },
      },
    },
    '/api/enrolment/withdraw': {
      parameters: [statusTokenParameter],
      post: {
        summary: 'The owner withdraws the camera: revoked at once, its live views end',
        requestBody: json(ownerWithdrawalSchema, 'input'),
        responses: { '200': { description: 'the status after withdrawal', ...json(ownerStatusViewSchema) }, ...errors(400, 401, 413, 429) },
      },
    },
    '/api/enrolments': {
      get: {
        summary: 'The review queue: enrolments by status, oldest first, with the check, duplicates and contact details (admin)',
        parameters: queryParameters(reviewQuerySchema),
        responses: { '200': { description: 'a page of enrolments', ...json(reviewListSchema) }, ...errors(400, 401, 403) },
      },
    },
    '/api/enrolments/{reference}': {
      parameters: [referenceParameter],
      get: { summary: 'One enrolment (admin)', responses: { '200': { description: 'the enrolment', ...json(reviewItemSchema) }, ...errors(400, 401, 403, 404) } },
    },
    '/api/enrolments/{reference}/approve': {
      parameters: [referenceParameter],
      post: {
        summary: "Approve a pending enrolment, setting its camera's municipality (admin)",
        requestBody: json(reviewApprovalSchema, 'input'),
        responses: { '200': { description: 'the enrolment', ...json(reviewItemSchema) }, ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    '/api/enrolments/{reference}/reject': {
      parameters: [referenceParameter],
      post: {
        summary: 'Reject a pending enrolment; the reason is shown to the owner (admin)',
        requestBody: json(reviewRejectionSchema, 'input'),
        responses: { '200': { description: 'the enrolment', ...json(reviewItemSchema) }, ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    '/api/enrolments/{reference}/check': {
      parameters: [referenceParameter],
      post: { summary: "Check the enrolment's camera again now (admin)", responses: { '200': { description: 'the enrolment', ...json(reviewItemSchema) }, ...errors(400, 401, 403, 404, 422) } },
    },
    '/api/enrolments/{reference}/status-link': {
      parameters: [referenceParameter],
      post: {
        summary: "A new status link for the owner; the old one stops working at once; the token is in this answer only (admin)",
        responses: { '200': { description: 'the new link', ...json(statusLinkSchema) }, ...errors(400, 401, 403, 404) },
      },
    },
  };
}

const statusTokenParameter = { name: statusTokenHeader, in: 'header', required: true, schema: { type: 'string' }, description: "the owner's status token (from the status link's fragment)" };
const referenceParameter = { name: 'reference', in: 'path', required: true, schema: schema(enrolmentReference), description: 'the enrolment reference' };
