/**
 * The table of fuzzed entry points. A later feature adds its endpoint or event here with a line:
 * `rest('POST', '/api/things/{id}', { id: pathParam() })` or `socket('newEvent')`. Bodies and socket
 * payloads default to hostile values shaped after the fields the OpenAPI document (REST) or the
 * protocol's zod schema (Socket.IO) expects; pass `body`/`payload` to refine.
 */
import fc from 'fast-check';
import { schemas, type RequestName } from '../../../server/signalling/protocol.ts';
import { roles as allRoles, type Role } from '../../../server/auth/Identity.ts';
import { hostileString, pathParam, payloadFor, queryString, rawBody, type PathSegment, type RawBody } from './arbitraries.ts';
import type { CameraScript } from './HostileCamera.ts';
import { hostileInterleaved, hostileResponses } from './rtspArbitraries.ts';

export type Caller = Role | 'none';
export const callers: readonly Caller[] = ['none', ...allRoles];

/** What the running target offers the generators: names that exist, so inputs reach past "not found". */
export interface FuzzContext {
  cameraCodes: string[];
  userIds: string[];
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
  options: { query?: string[]; body?: fc.Arbitrary<RawBody | undefined>; callers?: readonly Caller[] } = {},
): RestEntry {
  const keys = ctx.bodyKeys(path, method);
  return {
    kind: 'rest',
    method,
    path,
    params,
    query: queryString(options.query ?? []),
    ...(method !== 'GET' && { body: options.body ?? rawBody(payloadFor(keys), keys) }),
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
    rest(ctx, 'GET', '/api/audit', {}, { query: ['user', 'camera', 'action', 'from', 'to', 'offset', 'limit'] }),
    rest(ctx, 'GET', '/api/audit/verify'),
    rest(ctx, 'GET', '/api/cameras', {}, { query: cameraQuery }),
    rest(ctx, 'POST', '/api/cameras'),
    rest(ctx, 'POST', '/api/cameras/import', {}, { query: ['update', 'approve'], body: importBody }),
    rest(ctx, 'GET', '/api/cameras/{code}', code),
    rest(ctx, 'PATCH', '/api/cameras/{code}', code),
    rest(ctx, 'DELETE', '/api/cameras/{code}', code),
    rest(ctx, 'POST', '/api/cameras/{code}/{action}', action),
    ...requestEvents.map((event) => socket(ctx, event)),
    { kind: 'camera', name: 'responses', script: hostileResponses, transport: 'tcp' },
    { kind: 'camera', name: 'responses (udp setup)', script: hostileResponses, transport: 'udp' },
    { kind: 'camera', name: 'interleaved', script: hostileInterleaved, transport: 'tcp' },
  ];
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
