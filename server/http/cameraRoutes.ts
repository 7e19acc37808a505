import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../errors/AppError.ts';
import type { CameraCatalog, StatusAction } from '../catalog/CameraCatalog.ts';
import { cameraCreateSchema, cameraPatchSchema, cameraQuerySchema, statusChangeSchema } from '../catalog/cameraSchemas.ts';
import { parseOr400 } from './createExpressApp.ts';
import { CameraImporter } from '../catalog/CameraImporter.ts';
import express from 'express';
import { auditFor, requireRole, type Authenticator } from './requireRole.ts';
import { VisibilityPolicy } from '../auth/VisibilityPolicy.ts';

const idParam = z.strictObject({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a camera id') });
const actionParam = z.strictObject({ id: idParam.shape.id, action: z.enum(['approve', 'reject', 'suspend', 'reinstate', 'revoke']) });

/** /api/cameras: the catalog over REST. Until the users issue, writes need the admin role of the signed token. */
export function cameraRoutes(catalog: CameraCatalog, auth: Authenticator): Router {
  const router = Router();
  const signedIn = requireRole(auth);
  const admin = requireRole(auth, 'admin');

  router.get('/', signedIn, async (req, res) => {
    const query = parseOr400(cameraQuerySchema, req.query, 'query');
    // Non-admins see only the cameras they may watch (the visibility policy), approved and current.
    const user = req.user!;
    const scoped = VisibilityPolicy.canAdminister(user) ? query : { ...query, status: ['approved' as const], includeRetired: false };
    const { items, total } = await catalog.list(scoped, VisibilityPolicy.scope(user));
    res.json({ items: items.map((camera) => catalog.view(camera)), total, offset: query.offset, limit: query.limit });
  });

  router.post('/', admin, async (req, res) => {
    const input = parseOr400(cameraCreateSchema, req.body, 'body');
    const camera = await catalog.create(input);
    await auditFor(auth, req, { action: 'camera.create', cameraId: camera.code, details: { after: catalog.view(camera) } });
    res.status(201).location(`/api/cameras/${camera.id}`).json(catalog.view(camera));
  });

  router.get('/:id', signedIn, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const admin = VisibilityPolicy.canAdminister(req.user!);
    const camera = await catalog.get(id, { includeRetired: admin });
    if (!admin && !VisibilityPolicy.canView(req.user!, camera)) throw new AppError('not_found', `no camera ${id}`);
    res.json(catalog.view(camera));
  });

  router.patch('/:id', admin, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const patch = parseOr400(cameraPatchSchema, req.body, 'body');
    const before = catalog.view(await catalog.get(id));
    const after = catalog.view(await catalog.update(id, patch));
    await auditFor(auth, req, { action: 'camera.update', cameraId: after.code, details: { before, after } });
    res.json(after);
  });

  router.delete('/:id', admin, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const retired = catalog.view(await catalog.retire(id));
    await auditFor(auth, req, { action: 'camera.retire', cameraId: retired.code, details: { after: retired } });
    res.json(retired);
  });

  router.post('/:id/:action', admin, async (req, res) => {
    const { id, action } = parseOr400(actionParam, req.params, 'path');
    const { reason } = parseOr400(statusChangeSchema, req.body, 'body');
    const before = await catalog.get(id);
    const after = catalog.view(await catalog.changeStatus(id, action as StatusAction, reason));
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
