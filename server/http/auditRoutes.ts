import { Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../audit/AuditLog.ts';
import { parseOr400 } from './parseOr400.ts';
import { requireRole, type Authenticator } from './requireRole.ts';

export const auditQuerySchema = z.strictObject({
  user: z.string().min(1).max(64).optional(),
  camera: z.string().min(1).max(64).optional(),
  incident: z.string().regex(/^[A-Za-z0-9]{1,64}$/).optional(),
  device: z.string().regex(/^[A-Za-z0-9]{1,64}$/).optional().describe("an alarm device's id: its timeline"),
  action: z.string().regex(/^[a-z_.]{1,64}$/).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** /api/audit: read and verify only; nothing here edits or deletes an entry. */
export function auditRoutes(audit: AuditLog, auth: Authenticator): Router {
  const router = Router();
  const admin = requireRole(auth, 'admin');
  router.get('/', admin, async (req, res) => {
    const q = parseOr400(auditQuerySchema, req.query, 'query');
    const page = await audit.query(
      {
        ...(q.user && { userId: q.user }),
        ...(q.camera && { cameraId: q.camera }),
        ...(q.incident && { incidentId: q.incident }),
        ...(q.device && { deviceId: q.device }),
        ...(q.action && { action: q.action }),
        ...(q.from && { from: new Date(q.from) }),
        ...(q.to && { to: new Date(q.to) }),
      },
      { offset: q.offset, limit: q.limit },
    );
    res.json({ ...page, offset: q.offset, limit: q.limit });
  });
  router.get('/verify', admin, async (_req, res) => {
    res.json(await audit.verify());
  });
  return router;
}
