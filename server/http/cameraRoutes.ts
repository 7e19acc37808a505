import { Router, type Response } from 'express';
import { z } from 'zod';
import { AppError } from '../errors/AppError.ts';
import { isEnrolled, type CameraCatalog, type StatusAction } from '../catalog/CameraCatalog.ts';
import type { CameraRecord } from '../catalog/CameraRecord.ts';
import { cameraCreateSchema, cameraPatchSchema, cameraQuerySchema, statusChangeSchema } from '../catalog/cameraSchemas.ts';
import { parseOr400 } from './parseOr400.ts';
import { CameraImporter } from '../catalog/CameraImporter.ts';
import express from 'express';
import { auditFor, requireRole, type Authenticator } from './requireRole.ts';
import { VisibilityPolicy } from '../auth/VisibilityPolicy.ts';
import type { IncidentService } from '../incidents/IncidentService.ts';

/** A camera code, or (deprecated, for one release) the camera's database id: both fit this. */
const codeParam = z.strictObject({ code: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a camera code') });
const actionParam = z.strictObject({ code: codeParam.shape.code, action: z.enum(['approve', 'reject', 'suspend', 'reinstate', 'revoke']) });

/** When the database id alias of /api/cameras/{code} was deprecated (RFC 9745: a Structured Field Date). */
export const ID_ALIAS_DEPRECATED_AT = Date.UTC(2026, 10, 30) / 1000;

/** The camera's path by code: codes are letters, digits, ".", "_", "-" but encoded all the same. */
export const cameraPath = (code: string, action?: string) => `/api/cameras/${encodeURIComponent(code)}${action ? `/${action}` : ''}`;

/**
 * A request that named the camera by its database id: the same answer, marked deprecated
 * (RFC 9745 Deprecation, RFC 8288 Link to the path by code). Call only once the caller may see the camera.
 */
function markAlias(res: Response, camera: CameraRecord, action?: string): void {
  res.setHeader('Deprecation', `@${ID_ALIAS_DEPRECATED_AT}`);
  res.setHeader('Link', `<${cameraPath(camera.code, action)}>; rel="successor-version"`);
}

/**
 * /api/cameras: the catalog over REST, cameras named by their code (as on the socket and in the
 * audit); the database id is still accepted in its place for one release, deprecated. Writes need
 * the admin role.
 */
export function cameraRoutes(catalog: CameraCatalog, auth: Authenticator, incidents: Pick<IncidentService, 'accessFor'>): Router {
  const router = Router();
  const signedIn = requireRole(auth);
  const admin = requireRole(auth, 'admin');

  router.get('/', signedIn, async (req, res) => {
    const query = parseOr400(cameraQuerySchema, req.query, 'query');
    // Non-admins see only the cameras they may watch (the visibility policy, with their incidents,
    // grants and break-glass views), approved and current.
    const user = req.user!;
    const scoped = VisibilityPolicy.canAdminister(user) ? query : { ...query, status: ['approved' as const], includeRetired: false };
    const { items, total } = await catalog.list(scoped, VisibilityPolicy.scope(user, incidents.accessFor(user.id)));
    res.json({ items: items.map((camera) => catalog.view(camera)), total, offset: query.offset, limit: query.limit });
  });

  router.post('/', admin, async (req, res) => {
    const input = parseOr400(cameraCreateSchema, req.body, 'body');
    const camera = await catalog.create(input);
    await auditFor(auth, req, { action: 'camera.create', cameraId: camera.code, details: { after: catalog.view(camera) } });
    res.status(201).location(cameraPath(camera.code)).json(catalog.view(camera));
  });

  router.get('/:code', signedIn, async (req, res) => {
    const { code } = parseOr400(codeParam, req.params, 'path');
    const admin = VisibilityPolicy.canAdminister(req.user!);
    const { camera, byAlias } = await catalog.resolve(code, { includeRetired: admin });
    if (!admin && !VisibilityPolicy.canView(req.user!, camera, incidents.accessFor(req.user!.id))) throw new AppError('not_found', `no camera ${code}`);
    if (byAlias) markAlias(res, camera);
    res.json(catalog.view(camera));
  });

  router.patch('/:code', admin, async (req, res) => {
    const { code } = parseOr400(codeParam, req.params, 'path');
    const patch = parseOr400(cameraPatchSchema, req.body, 'body');
    const { camera, byAlias } = await catalog.resolve(code);
    if (byAlias) markAlias(res, camera);
    const before = catalog.view(camera);
    const after = catalog.view(await catalog.update(camera.id, patch));
    await auditFor(auth, req, { action: 'camera.update', cameraId: after.code, details: { before, after } });
    res.json(after);
  });

  router.delete('/:code', admin, async (req, res) => {
    const { code } = parseOr400(codeParam, req.params, 'path');
    const { camera, byAlias } = await catalog.resolve(code);
    if (byAlias) markAlias(res, camera);
    const retired = catalog.view(await catalog.retire(camera.id));
    await auditFor(auth, req, { action: 'camera.retire', cameraId: retired.code, details: { after: retired } });
    res.json(retired);
  });

  router.post('/:code/:action', admin, async (req, res) => {
    const { code, action } = parseOr400(actionParam, req.params, 'path');
    const { reason } = parseOr400(statusChangeSchema, req.body, 'body');
    const { camera: before, byAlias } = await catalog.resolve(code);
    if (byAlias) markAlias(res, before, action);
    // A citizen's enrolment is decided in the review queue, so the owner's link follows the decision.
    if ((action === 'approve' || action === 'reject') && isEnrolled(before)) {
      throw new AppError('invalid_state', `camera ${before.code} was enrolled by its owner (${before.owner.agreementRef ?? 'enrolment'}): ${action} it in the review queue (/api/enrolments)`);
    }
    const after = catalog.view(await catalog.changeStatus(before.id, action as StatusAction, reason));
    await auditFor(auth, req, { action: `camera.${action}`, cameraId: after.code, details: { before: before.status, after: after.status, reason } });
    res.json(after);
  });

  return router;
}

const importQuery = z.strictObject({
  update: z.enum(['true', 'false']).transform((v) => v === 'true').default(false),
  approve: z.enum(['true', 'false']).transform((v) => v === 'true').default(false),
});

/**
 * POST /api/cameras/import: CSV (text/csv, header row) or JSON (an array of camera objects, or
 * `{ cameras: [...] }`) of thousands of rows. Mounted before the API's small JSON body limit.
 */
export function cameraImportRoute(catalog: CameraCatalog, auth: Authenticator): Router {
  const router = Router();
  const importer = new CameraImporter(catalog);
  router.post(
    '/',
    requireRole(auth, 'admin'),
    express.json({ limit: '20mb' }),
    express.text({ type: ['text/csv', 'application/csv'], limit: '20mb' }),
    async (req, res) => {
      const options = parseOr400(importQuery, req.query, 'query');
      let rows;
      if (typeof req.body === 'string') rows = importer.rowsFromCsv(req.body);
      else if (Array.isArray(req.body)) rows = importer.rowsFromJson(req.body);
      else if (req.body && Array.isArray((req.body as { cameras?: unknown }).cameras)) rows = importer.rowsFromJson((req.body as { cameras: unknown[] }).cameras);
      else throw new AppError('invalid_request', 'send text/csv, or application/json with an array of cameras');
      if (rows.length > 50_000) throw new AppError('invalid_request', 'at most 50,000 rows per import');
      const report = await importer.run(rows, options);
      await auditFor(auth, req, { action: 'camera.import', details: { rows: report.rows, created: report.created, updated: report.updated, unchanged: report.unchanged, errors: report.errors.length, ...options } });
      res.json(report);
    },
  );
  return router;
}
