import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../errors/AppError.ts';
import type { TokenService } from '../auth/TokenService.ts';
import type { CameraCatalog, StatusAction } from '../catalog/CameraCatalog.ts';
import { isViewable } from '../catalog/CameraCatalog.ts';
import { cameraCreateSchema, cameraPatchSchema, cameraQuerySchema, statusChangeSchema } from '../catalog/cameraSchemas.ts';
import { parseOr400 } from './createExpressApp.ts';
import { requireRole } from './requireRole.ts';

const idParam = z.strictObject({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a camera id') });
const actionParam = z.strictObject({ id: idParam.shape.id, action: z.enum(['approve', 'reject', 'suspend', 'reinstate', 'revoke']) });

/** /api/cameras: the catalog over REST. Until the users issue, writes need the admin role of the signed token. */
export function cameraRoutes(catalog: CameraCatalog, tokens: TokenService): Router {
  const router = Router();
  const signedIn = requireRole(tokens);
  const admin = requireRole(tokens, 'admin');

  router.get('/', signedIn, async (req, res) => {
    const query = parseOr400(cameraQuerySchema, req.query, 'query');
    // Non-admins see only cameras that can be watched.
    const scoped = req.identity?.role === 'admin' ? query : { ...query, status: ['approved' as const], includeRetired: false };
    const { items, total } = await catalog.list(scoped);
    res.json({ items: items.map((camera) => catalog.view(camera)), total, offset: query.offset, limit: query.limit });
  });

  router.post('/', admin, async (req, res) => {
    const input = parseOr400(cameraCreateSchema, req.body, 'body');
    const camera = await catalog.create(input);
    res.status(201).location(`/api/cameras/${camera.id}`).json(catalog.view(camera));
  });

  router.get('/:id', signedIn, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const admin = req.identity?.role === 'admin';
    const camera = await catalog.get(id, { includeRetired: admin });
    if (!admin && !isViewable(camera)) throw new AppError('not_found', `no camera ${id}`);
    res.json(catalog.view(camera));
  });

  router.patch('/:id', admin, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const patch = parseOr400(cameraPatchSchema, req.body, 'body');
    res.json(catalog.view(await catalog.update(id, patch)));
  });

  router.delete('/:id', admin, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    res.json(catalog.view(await catalog.retire(id)));
  });

  router.post('/:id/:action', admin, async (req, res) => {
    const { id, action } = parseOr400(actionParam, req.params, 'path');
    const { reason } = parseOr400(statusChangeSchema, req.body, 'body');
    res.json(catalog.view(await catalog.changeStatus(id, action as StatusAction, reason)));
  });

  return router;
}
