/**
 * The table of fuzzed entry points. A later feature adds its endpoint or event here with a line:
 * `rest('POST', '/api/things/{id}', { id: pathParam() })` or `socket('newEvent')`. Bodies and socket
 * payloads default to hostile values shaped after the fields the OpenAPI document (REST) or the
 * protocol's zod schema (Socket.IO) expects; pass `body`/`payload` to refine.
 */
import fc from 'fast-check';
import { schemas, type RequestName } from '../../../server/signalling/protocol.ts';
import { roles as allRoles, type Role } from '../../../server/auth/Identity.ts';
import { hostileNumber, hostileString, pathParam, payloadFor, queryString, rawBody, type PathSegment, type RawBody } from './arbitraries.ts';
import { dispositions, grantScopes, incidentKinds, incidentStatuses } from '../../../server/incidents/IncidentRecord.ts';
import { alarmDeviceKinds, alarmDeviceStatuses, alarmDispositions, alarmStatuses } from '../../../server/alarms/AlarmRecord.ts';
import { signedHeaders, signatureHeaders } from '../../../server/alarms/AlarmSignature.ts';
import type { CameraScript } from './HostileCamera.ts';
import { hostileInterleaved, hostileResponses } from './rtspArbitraries.ts';

export type Caller = Role | 'none';
export const callers: readonly Caller[] = ['none', ...allRoles];

/** What the running target offers the generators: names that exist, so inputs reach past "not found". */
export interface FuzzContext {
  cameraCodes: string[];
  userIds: string[];
  /** Incidents made at start: an open one (cameras attached, a live grant) and a closed one. */
  incidentIds: string[];
  /** Grants made at start: the open incident's live one and the closed incident's ended one. */
  grantIds: string[];
  /**
   * Approved incident-only citizen cameras with a location: one attached to the open incident
   * (break-glass refused: an incident shows it), one far from it (break-glass allowed).
   */
  incidentCameraCodes: string[];
  /** Where the first one is: incidents opened near it attach it. */
  incidentLocation: { lat: number; lng: number };
  /** Alarms made at start (one open alarm of the signing device). */
  alarmIds: string[];
  /** Alarm devices the admin routes may change (never the signing one). */
  alarmDeviceIds: string[];
  /** The device whose key signs the intake's well-formed requests. */
  alarmDevice: { code: string; keyHex: string };
  rtpCapabilities: unknown;
  /** requestBody JSON field names of (path, method) in the OpenAPI document. */
  bodyKeys(path: string, method: string): string[];
}

export interface RestEntry {
  kind: 'rest';
  method: string;
  /** With `{name}` placeholders for path parameters, as in the OpenAPI document. */
  path: string;
  params: Record<string, fc.Arbitrary<PathSegment>>;
  query: fc.Arbitrary<string>;
  body?: fc.Arbitrary<RawBody | undefined>;
  callers: readonly Caller[];
}

export interface SocketEntry {
  kind: 'socket';
  event: string;
  payload: fc.Arbitrary<unknown>;
  callers: readonly Caller[];
}

/** What our RTSP client takes from cameras: a hostile camera answers from a generated script. */
export interface CameraEntry {
  kind: 'camera';
  name: string;
  script: fc.Arbitrary<CameraScript>;
  transport: 'tcp' | 'udp';
}

export type EntryPoint = RestEntry | SocketEntry | CameraEntry;
export const entryName = (entry: EntryPoint): string =>
  entry.kind === 'rest' ? `${entry.method} ${entry.path}` : entry.kind === 'socket' ? `socket ${entry.event}` : `rtsp ${entry.name}`;

/** A REST entry point: hostile path parameters, query and (for writes) body; every caller. */
export function rest(
  ctx: FuzzContext,
  method: string,
  path: string,
  params: Record<string, fc.Arbitrary<PathSegment>> = {},
  options: {
    query?: string[];
    /** Plausible values of some query names (the others, and these half the time, hostile). */
    queryValues?: Record<string, fc.Arbitrary<string>>;
    body?: fc.Arbitrary<RawBody | undefined>;
    /** Plausible values of some body fields (each hostile half the time). */
    plausible?: Record<string, fc.Arbitrary<unknown>>;
    /** Well-formed bodies: 2 in 5 bodies are these, sent as JSON, so requests get past validation into the rules. */
    wellFormed?: fc.Arbitrary<unknown>;
    callers?: readonly Caller[];
  } = {},
): RestEntry {
  const keys = ctx.bodyKeys(path, method);
  const hostile = options.body ?? rawBody(payloadFor(keys, options.plausible), keys);
  const body = options.wellFormed
    ? fc.oneof({ weight: 3, arbitrary: hostile }, { weight: 2, arbitrary: options.wellFormed.map((value): RawBody => ({ text: JSON.stringify(value), contentType: 'application/json' })) })
    : hostile;
  return {
    kind: 'rest',
    method,
    path,
    params,
    query: queryString(options.query ?? [], options.queryValues),
    ...(method !== 'GET' && { body }),
    callers: options.callers ?? callers,
  };
}

/** A Socket.IO request event: hostile payloads shaped after its zod schema; every signed-in role. */
export function socket(ctx: FuzzContext, event: string, plausible: Record<string, fc.Arbitrary<unknown>> = {}): SocketEntry {
  const schema = (schemas as Record<string, { shape?: Record<string, unknown> }>)[event];
  const keys = Object.keys(schema?.shape ?? {});
  const plausibleIds = { cameraId: fc.constantFrom(...ctx.cameraCodes), rtpCapabilities: fc.constant(ctx.rtpCapabilities), ...plausible };
  return { kind: 'socket', event, payload: payloadFor(keys, plausibleIds), callers: allRoles };
}

/** Every entry point of the server. */
export function entryPoints(ctx: FuzzContext): EntryPoint[] {
  const code = { code: pathParam(ctx.cameraCodes) };
  const id = { id: pathParam(ctx.userIds) };
  const action = { code: code.code, action: fc.oneof(fc.constantFrom('approve', 'reject', 'suspend', 'reinstate', 'revoke').map((value) => ({ value })), pathParam()) };
  const cameraQuery = ['area', 'status', 'municipality', 'category', 'q', 'health', 'includeRetired', 'offset', 'limit', 'sort'];
  const csv = fc.tuple(fc.array(fc.array(hostileString, { maxLength: 12 }), { maxLength: 6 }), fc.constantFrom('text/csv', 'application/csv')).map(([rows, contentType]) => ({
    text: ['code,name,area,owner_kind,owner_name,category,municipality,lat,lng,main_url', ...rows.map((row) => row.join(','))].join('\n'),
    contentType,
  }));
  const importBody = fc.oneof(rawBody(fc.oneof(fc.array(payloadFor(ctx.bodyKeys('/api/cameras', 'post')), { maxLength: 4 }), payloadFor(['cameras']))), csv);
  const requestEvents = Object.keys(schemas) as RequestName[];
  return [
    rest(ctx, 'GET', '/healthz'),
    rest(ctx, 'GET', '/readyz'),
    rest(ctx, 'GET', '/metrics'),
    rest(ctx, 'GET', '/api/openapi.json'),
    rest(ctx, 'GET', '/api/{unknown}', { unknown: pathParam(['nope', 'auth', 'users', 'cameras']) }),
    rest(ctx, 'POST', '/api/auth/code'),
    rest(ctx, 'POST', '/api/auth/login'),
    rest(ctx, 'GET', '/api/me'),
    rest(ctx, 'GET', '/api/users'),
    rest(ctx, 'POST', '/api/users'),
    rest(ctx, 'GET', '/api/users/{id}', id),
    rest(ctx, 'PATCH', '/api/users/{id}', id),
    rest(ctx, 'POST', '/api/users/{id}/password', id),
    rest(ctx, 'GET', '/api/audit', {}, { query: ['user', 'camera', 'incident', 'device', 'action', 'from', 'to', 'offset', 'limit'], queryValues: { incident: fc.constantFrom(...ctx.incidentIds) } }),
    rest(ctx, 'GET', '/api/audit/verify'),
    rest(ctx, 'GET', '/api/cameras', {}, { query: cameraQuery }),
    rest(ctx, 'POST', '/api/cameras'),
    rest(ctx, 'POST', '/api/cameras/import', {}, { query: ['update', 'approve'], body: importBody }),
    rest(ctx, 'GET', '/api/cameras/{code}', code),
    rest(ctx, 'PATCH', '/api/cameras/{code}', code),
    rest(ctx, 'DELETE', '/api/cameras/{code}', code),
    rest(ctx, 'POST', '/api/cameras/{code}/{action}', action),
    ...incidentEntries(ctx),
    ...alarmEntries(ctx),
    ...requestEvents.map((event) => socket(ctx, event)),
    { kind: 'camera', name: 'responses', script: hostileResponses, transport: 'tcp' },
    { kind: 'camera', name: 'responses (udp setup)', script: hostileResponses, transport: 'udp' },
    { kind: 'camera', name: 'interleaved', script: hostileInterleaved, transport: 'tcp' },
  ];
}

/** Ids with a store's shape that name nothing (nedb: 16 alphanumerics; MongoDB: 24 hex digits). */
const unknownIds = ['ZZZZZZZZZZZZZZZZ', '0123456789abcdef01234567', '0'];

/** An ISO time some minutes from now (past and beyond the grant maximum too), in the offsets and shapes clients send. */
function timeFromNow(): fc.Arbitrary<string> {
  const minutes = fc.oneof(fc.constantFrom(-60, -1, 0, 1, 30, 240, 1439, 1440, 1441, 100_000), fc.integer({ min: -10_000, max: 50_000 }));
  const shape = fc.constantFrom('Z', '+00:00', '-06:00', '+14:00', 'none', 'date', 'epoch');
  return fc.tuple(minutes, shape).map(([m, form]) => {
    const at = new Date(Date.now() + m * 60_000);
    const iso = at.toISOString();
    if (form === 'Z') return iso;
    if (form === 'none') return iso.slice(0, -1);
    if (form === 'date') return iso.slice(0, 10);
    if (form === 'epoch') return String(at.getTime());
    const sign = form[0] === '-' ? 1 : -1;
    const local = new Date(at.getTime() - sign * (Number(form.slice(1, 3)) * 60 + Number(form.slice(4))) * 60_000);
    return `${local.toISOString().slice(0, -1)}${form}`;
  });
}

/**
 * Incidents, grants, investigators and break-glass (issue 21). Path ids are the incidents and grants
 * made at start, well-formed unknown ones and hostile ones; operators and admins call twice as
 * often as each other caller. Bodies: 2 in 5 well-formed (their fields
 * plausible, with edge values: past and too-late end times, cameras not attached or unknown), so
 * requests reach the rules (closed incident, not an investigator, end beyond the maximum, camera not
 * attached: 409 and 422) and not only validation; the others hostile, shaped after the fields.
 * Ordered so the state they change matters least to the entries after them: reads and attaching
 * first, then grants, then revoking, detaching and closing.
 */
function incidentEntries(ctx: FuzzContext): RestEntry[] {
  /** Half the ids name a seeded record (pathParam alone would a quarter of the time), a sixth a well-formed unknown one, the rest hostile. */
  const idParam = (known: string[]) =>
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known).map((value) => ({ value })) }, { weight: 1, arbitrary: fc.constantFrom(...unknownIds).map((value) => ({ value })) }, { weight: 2, arbitrary: pathParam() });
  const incident = { id: idParam(ctx.incidentIds) };
  const grant = { id: idParam(ctx.grantIds) };
  /** Every caller, with the roles that run incidents (operator, admin) twice as often: they reach the rules, the others stop at 401/403. */
  const incidentCallers: Caller[] = [...callers, 'operator', 'admin'];
  const codes = [...ctx.cameraCodes, ...ctx.incidentCameraCodes];
  const cameraList = fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...codes) }, { weight: 1, arbitrary: hostileString }), { minLength: 0, maxLength: 5 });
  const municipality = fc.constantFrom('Fuzz', 'unspecified', 'Elsewhere');
  const coordinate = (limit: number) => fc.oneof(fc.double({ min: -limit, max: limit, noNaN: true }), hostileNumber);
  const near = fc.tuple(fc.double({ min: -0.01, max: 0.01, noNaN: true }), fc.double({ min: -0.01, max: 0.01, noNaN: true })).map(([dLat, dLng]) => ({ lat: ctx.incidentLocation.lat + dLat, lng: ctx.incidentLocation.lng + dLng }));
  const location = fc.oneof({ weight: 3, arbitrary: near }, { weight: 1, arbitrary: fc.record({ lat: coordinate(90), lng: coordinate(180) }) });
  const page = { offset: fc.oneof(fc.nat(1_100_000), fc.integer({ min: -5, max: -1 })).map(String), limit: fc.integer({ min: -1, max: 600 }).map(String) };
  const reason = fc.oneof(fc.constantFrom('suspect seen at the corner', 'court order 12/2026'), hostileString);
  /** Plausible fields: the hostile bodies use them half the time, the well-formed ones always (the optional ones sometimes left out). */
  const body = (plausible: Record<string, fc.Arbitrary<unknown>>, requiredKeys: string[]) => ({ plausible, wellFormed: fc.record(plausible, { requiredKeys }) });
  const entries = [
    rest(ctx, 'POST', '/api/incidents', {}, body(
      {
        title: fc.oneof(fc.constantFrom('Robbery at the market', 'Fuzz'), hostileString),
        kind: fc.constantFrom(...incidentKinds),
        location,
        radiusM: fc.oneof(fc.integer({ min: 0, max: 60_000 }), hostileNumber),
        municipality,
        autoAttach: fc.boolean(),
      },
      ['title', 'kind', 'location', 'municipality'],
    )),
    rest(ctx, 'GET', '/api/incidents', {}, { query: ['status', 'municipality', 'offset', 'limit'], queryValues: { status: fc.constantFrom(...incidentStatuses, 'OPEN'), municipality, ...page } }),
    rest(ctx, 'GET', '/api/incidents/{id}', incident),
    rest(ctx, 'GET', '/api/incidents/{id}/report', incident),
    rest(ctx, 'GET', '/api/investigators'),
    rest(ctx, 'GET', '/api/break-glass', {}, { query: ['offset', 'limit'], queryValues: page }),
    rest(ctx, 'POST', '/api/break-glass', {}, body({ camera: fc.constantFrom(...codes), reason }, ['camera', 'reason'])),
    rest(ctx, 'POST', '/api/incidents/{id}/cameras', incident, body({ cameras: cameraList }, ['cameras'])),
    rest(ctx, 'POST', '/api/incidents/{id}/grants', incident, body(
      { investigator: fc.constantFrom(...ctx.userIds), scope: fc.constantFrom(...grantScopes), cameras: cameraList, endsAt: timeFromNow() },
      ['investigator', 'scope'],
    )),
    rest(ctx, 'GET', '/api/incidents/{id}/grants', incident),
    rest(ctx, 'GET', '/api/grants/mine'),
    rest(ctx, 'POST', '/api/grants/{id}/extend', grant, body({ endsAt: timeFromNow() }, ['endsAt'])),
    rest(ctx, 'POST', '/api/grants/{id}/revoke', grant, body({ reason }, ['reason'])),
    rest(ctx, 'DELETE', '/api/incidents/{id}/cameras/{code}', { ...incident, code: pathParam(codes) }),
    rest(ctx, 'POST', '/api/incidents/{id}/close', incident, body({ disposition: fc.constantFrom(...dispositions), note: reason }, ['disposition', 'note'])),
  ];
  return entries.map((entry) => ({ ...entry, callers: incidentCallers }));
}

/**
 * Alarms and alarm devices (issue 22). The intake gets hostile bodies signed with a real device key
 * (so they reach the body's validation and the alarm path: 201, 200, 400, 429), bodies with hostile
 * signature headers (401), and requests signed for another body, path or time. Device routes change
 * only the second seeded device, so the signing key keeps working.
 */
function alarmEntries(ctx: FuzzContext): RestEntry[] {
  const idParam = (known: string[]) =>
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known).map((value) => ({ value })) }, { weight: 1, arbitrary: fc.constantFrom(...unknownIds).map((value) => ({ value })) }, { weight: 2, arbitrary: pathParam() });
  const alarm = { id: idParam(ctx.alarmIds) };
  const device = { id: idParam(ctx.alarmDeviceIds) };
  const handlers: Caller[] = [...callers, 'operator', 'admin'];
  const coordinate = (limit: number) => fc.oneof(fc.double({ min: -limit, max: limit, noNaN: true }), hostileNumber);
  const position = fc.record({ lat: coordinate(90), lng: coordinate(180), accuracyM: fc.oneof(fc.nat(200_000), hostileNumber) }, { requiredKeys: ['lat', 'lng'] });
  const intakeFields = { type: fc.constantFrom('alarm', 'heartbeat', 'ALARM', 'panic'), position, note: fc.oneof(fc.constantFrom('help', ''), hostileString) };
  const text = rawBody(payloadFor(['type', 'position', 'note'], intakeFields));
  const signed = fc.tuple(text, fc.constantFrom('as sent', 'other body', 'other path', 'stale', 'future', 'reused id')).map(([body, variant]) => {
    const sent = body ?? { text: '' };
    const now = Math.floor(Date.now() / 1000);
    const headers = signedHeaders({
      deviceCode: ctx.alarmDevice.code,
      keyHex: ctx.alarmDevice.keyHex,
      body: variant === 'other body' ? `${sent.text} ` : sent.text,
      path: variant === 'other path' ? '/api/alarms/' : '/api/alarms',
      timestampS: variant === 'stale' ? now - 3600 : variant === 'future' ? now + 3600 : now,
      ...(variant === 'reused id' && { requestId: 'fuzz-reused-request-id' }),
    });
    return { ...sent, headers };
  });
  const forged = fc.tuple(text, fc.record({ device: fc.oneof(fc.constant(ctx.alarmDevice.code), hostileString), timestamp: fc.oneof(fc.nat().map(String), hostileString), requestId: hostileString, signature: fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), hostileString) }, { requiredKeys: [] })).map(([body, forgedHeaders]) => ({
    ...(body ?? { text: '' }),
    // Header values must be sendable at all: node:http refuses control characters before anything reaches the server.
    headers: Object.fromEntries(
      Object.entries(forgedHeaders)
        .map(([name, value]) => [signatureHeaders[name as keyof typeof signatureHeaders], String(value).replace(/[^\x20-\x7e]/g, '?').slice(0, 2000)] as const)
        .filter(([, value]) => value.length > 0),
    ),
  }));
  const intake = rest(ctx, 'POST', '/api/alarms', {}, { body: fc.oneof({ weight: 3, arbitrary: signed }, { weight: 2, arbitrary: forged }) });
  const page = { offset: fc.oneof(fc.nat(1_100_000), fc.integer({ min: -5, max: -1 })).map(String), limit: fc.integer({ min: -1, max: 600 }).map(String) };
  const body = (plausible: Record<string, fc.Arbitrary<unknown>>, requiredKeys: string[]) => ({ plausible, wellFormed: fc.record(plausible, { requiredKeys }) });
  const owner = fc.record({ name: fc.oneof(fc.constant('Bank'), hostileString), phone: fc.oneof(fc.constant('+52 55 1234 5678'), hostileString), email: fc.oneof(fc.constant('a@b.mx'), hostileString) }, { requiredKeys: ['name'] });
  const deviceFields = {
    code: fc.oneof(fc.constantFrom('FUZZ-NEW-1', ctx.alarmDevice.code), hostileString),
    name: fc.oneof(fc.constant('A button'), hostileString),
    kind: fc.constantFrom(...alarmDeviceKinds),
    owner,
    location: fc.record({ lat: coordinate(90), lng: coordinate(180) }),
    address: fc.oneof(fc.constant('Av. Juárez 1'), hostileString),
    area: fc.constantFrom('agency', 'citizen'),
    municipality: fc.constantFrom('Fuzz', 'Elsewhere'),
    cameras: fc.array(fc.oneof(fc.constantFrom(...ctx.cameraCodes, ...ctx.incidentCameraCodes), hostileString), { maxLength: 4 }),
    supervisionIntervalS: fc.oneof(fc.integer({ min: 0, max: 100_000 }), hostileNumber),
  };
  const csv = fc.tuple(fc.array(fc.array(hostileString, { maxLength: 14 }), { maxLength: 6 }), fc.constantFrom('text/csv', 'application/csv')).map(([rows, contentType]) => ({
    text: ['code,name,kind,owner_name,owner_phone,owner_email,lat,lng,address,area,municipality,cameras,supervision_interval_s,status', ...rows.map((row) => row.join(','))].join('\n'),
    contentType,
  }));
  const entries = [
    intake,
    rest(ctx, 'GET', '/api/alarms', {}, { query: ['status', 'offset', 'limit'], queryValues: { status: fc.constantFrom(...alarmStatuses, 'open,closed', 'OPEN'), ...page } }),
    rest(ctx, 'GET', '/api/alarms/{id}', alarm),
    rest(ctx, 'GET', '/api/alarm-devices', {}, { query: ['status', 'kind', 'area', 'municipality', 'q', 'offset', 'limit'], queryValues: { status: fc.constantFrom(...alarmDeviceStatuses, 'active,test'), kind: fc.constantFrom(...alarmDeviceKinds), ...page } }),
    rest(ctx, 'GET', '/api/alarm-devices/{id}', device),
    rest(ctx, 'POST', '/api/alarm-devices', {}, body({ ...deviceFields, status: fc.constantFrom('active', 'test', 'retired') }, ['code', 'name', 'kind', 'owner', 'location', 'area', 'municipality'])),
    rest(ctx, 'POST', '/api/alarm-devices/import', {}, { body: fc.oneof(rawBody(fc.array(payloadFor(Object.keys(deviceFields), deviceFields), { maxLength: 3 })), csv) }),
    rest(ctx, 'PATCH', '/api/alarm-devices/{id}', device, body({ ...deviceFields, status: fc.constantFrom(...alarmDeviceStatuses) }, [])),
    rest(ctx, 'POST', '/api/alarm-devices/{id}/rotate-key', device),
    rest(ctx, 'POST', '/api/alarms/{id}/acknowledge', alarm),
    rest(ctx, 'POST', '/api/alarms/{id}/close', alarm, body({ disposition: fc.constantFrom(...alarmDispositions), note: fc.oneof(fc.constant('checked'), hostileString) }, ['disposition'])),
  ];
  return entries.map((entry) => ({ ...entry, callers: entry === intake ? (['none'] as Caller[]) : handlers }));
}

/**
 * The OpenAPI operations no entry above covers (a new endpoint nobody added yet): fuzzed with the
 * generic generators, path parameters hostile, so nothing escapes the harness.
 */
export function uncoveredOperations(ctx: FuzzContext, document: { paths?: Record<string, Record<string, unknown>> }, covered: EntryPoint[]): RestEntry[] {
  const known = new Set(covered.filter((e): e is RestEntry => e.kind === 'rest').map((e) => `${e.method} ${e.path}`));
  const found: RestEntry[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of Object.keys(item).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))) {
      if (known.has(`${method.toUpperCase()} ${path}`)) continue;
      if (/\/api\/cameras\/\{code\}\/(approve|reject|suspend|reinstate|revoke)$/.test(path)) continue;
      const params = Object.fromEntries([...path.matchAll(/\{(\w+)\}/g)].map((m) => [m[1]!, pathParam()]));
      found.push(rest(ctx, method.toUpperCase(), path, params));
    }
  }
  return found;
}
