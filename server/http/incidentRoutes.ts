import { Router, type Request } from 'express';
import { AppError } from '../errors/AppError.ts';
import type { IncidentService } from '../incidents/IncidentService.ts';
import type { GrantRecord, IncidentRecord } from '../incidents/IncidentRecord.ts';
import type { CameraRecord } from '../catalog/CameraRecord.ts';
import { distanceKm } from '../catalog/geo.ts';
import type { AuditEntry } from '../audit/AuditRecord.ts';
import type { GrantView, IncidentView, MyGrantView } from '../signalling/protocol.ts';
import {
  attachSchema,
  breakGlassQuerySchema,
  breakGlassSchema,
  grantCreateSchema,
  grantExtendSchema,
  grantRevokeSchema,
  idParam,
  incidentCameraParam,
  incidentCloseSchema,
  incidentCreateSchema,
  incidentQuerySchema,
} from '../incidents/incidentSchemas.ts';
import { parseOr400 } from './parseOr400.ts';
import { requireRole, type Authenticator } from './requireRole.ts';

export function incidentView(incident: IncidentRecord, cameras: CameraRecord[]): IncidentView {
  const byCode = new Map(cameras.map((camera) => [camera.code, camera]));
  return {
    id: incident.id,
    title: incident.title,
    kind: incident.kind,
    location: incident.location,
    radiusM: incident.radiusM,
    municipality: incident.municipality,
    status: incident.status,
    cameras: incident.cameras.map((code) => {
      const camera = byCode.get(code);
      return {
        code,
        name: camera?.name ?? code,
        area: camera?.area ?? 'unknown',
        municipality: camera?.municipality ?? '',
        ...(camera?.location && { distanceM: Math.round(distanceKm(incident.location, camera.location) * 1000) }),
      };
    }),
    openedBy: incident.openedBy,
    openedAt: incident.openedAt.toISOString(),
    ...(incident.closedBy && { closedBy: incident.closedBy }),
    ...(incident.closedAt && { closedAt: incident.closedAt.toISOString() }),
    ...(incident.disposition && { disposition: incident.disposition }),
    ...(incident.closingNote && { closingNote: incident.closingNote }),
  };
}

export function grantView(grant: GrantRecord): GrantView {
  return {
    id: grant.id,
    incidentId: grant.incidentId,
    investigator: grant.investigator,
    scope: grant.scope,
    ...(grant.cameras && { cameras: grant.cameras }),
    grantedBy: grant.grantedBy,
    createdAt: grant.createdAt.toISOString(),
    endsAt: grant.endsAt.toISOString(),
    status: grant.status,
    ...(grant.endedAt && { endedAt: grant.endedAt.toISOString() }),
    ...(grant.endedBy && { endedBy: grant.endedBy }),
    ...(grant.endReason && { endReason: grant.endReason }),
    live: grant.status === 'active' && grant.endsAt.getTime() > Date.now(),
  };
}

/**
 * /api/incidents, /api/grants, /api/investigators and /api/break-glass: incidents run by operators
 * of their municipality (admins: all), grants to investigators, and break-glass views. Every change
 * is audited by IncidentService with the incident's id.
 */
export function incidentRoutes(incidents: IncidentService, auth: Authenticator): Router {
  const router = Router();
  const signedIn = requireRole(auth);
  const runners = requireRole(auth, 'operator', 'admin');
  const view = async (incident: IncidentRecord) => incidentView(incident, await incidents.camerasOf(incident));

  router.post('/incidents', runners, async (req, res) => {
    const input = parseOr400(incidentCreateSchema, req.body, 'body');
    const incident = await incidents.open(req.user!, input);
    res.status(201).location(`/api/incidents/${incident.id}`).json(await view(incident));
  });

  router.get('/incidents', runners, async (req, res) => {
    const query = parseOr400(incidentQuerySchema, req.query, 'query');
    const page = await incidents.list(req.user!, query);
    res.json({ items: await Promise.all(page.items.map(view)), total: page.total, offset: query.offset, limit: query.limit });
  });

  router.get('/incidents/:id', signedIn, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const incident = await incidents.get(req.user!, id);
    const grants = req.user!.role === 'investigator' ? [] : await incidents.grantsOf(req.user!, id);
    res.json({ ...(await view(incident)), grants: grants.map(grantView) });
  });

  router.post('/incidents/:id/cameras', runners, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const { cameras } = parseOr400(attachSchema, req.body, 'body');
    res.json(await view(await incidents.attach(req.user!, id, cameras)));
  });

  router.delete('/incidents/:id/cameras/:code', runners, async (req, res) => {
    const { id, code } = parseOr400(incidentCameraParam, req.params, 'path');
    res.json(await view(await incidents.detach(req.user!, id, code)));
  });

  router.post('/incidents/:id/close', runners, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const closing = parseOr400(incidentCloseSchema, req.body, 'body');
    res.json(await view(await incidents.closeIncident(req.user!, id, closing)));
  });

  router.post('/incidents/:id/grants', runners, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const input = parseOr400(grantCreateSchema, req.body, 'body');
    const grant = await incidents.grant(req.user!, id, input);
    res.status(201).json(grantView(grant));
  });

  router.get('/incidents/:id/grants', runners, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    res.json({ items: (await incidents.grantsOf(req.user!, id)).map(grantView) });
  });

  router.get('/incidents/:id/report', runners, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const incident = await incidents.get(req.user!, id);
    const [timeline, grants] = await Promise.all([incidents.timeline(id), incidents.grantsOf(req.user!, id)]);
    res.json({ incident: await view(incident), timeline, grants: grants.map(grantView), views: viewsOf(timeline), generatedAt: new Date().toISOString() });
  });

  router.get('/grants/mine', signedIn, async (req, res) => {
    if (req.user!.role !== 'investigator') throw new AppError('forbidden', 'grants are given to investigators');
    res.json({
      items: (await incidents.mine(req.user!)).map(({ grant, incident, cameras }): MyGrantView => ({
        grant: grantView(grant),
        incident: { id: incident.id, title: incident.title, kind: incident.kind, municipality: incident.municipality, location: incident.location, status: incident.status },
        cameras,
      })),
    });
  });

  router.post('/grants/:id/extend', runners, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const { endsAt } = parseOr400(grantExtendSchema, req.body, 'body');
    res.json(grantView(await incidents.extend(req.user!, id, endsAt)));
  });

  router.post('/grants/:id/revoke', runners, async (req, res) => {
    const { id } = parseOr400(idParam, req.params, 'path');
    const { reason } = parseOr400(grantRevokeSchema, req.body, 'body');
    res.json(grantView(await incidents.revoke(req.user!, id, reason)));
  });

  router.get('/investigators', runners, (_req, res) => {
    res.json({ items: incidents.investigators().map((user) => ({ id: user.id, username: user.username, displayName: user.displayName })) });
  });

  router.post('/break-glass', signedIn, async (req, res) => {
    const { camera, reason } = parseOr400(breakGlassSchema, req.body, 'body');
    const glass = await incidents.breakGlass(req.user!, camera, reason, clientIp(req));
    res.status(201).json({ id: glass.id, camera: glass.camera, reason: glass.reason, startedAt: new Date(glass.startedAt).toISOString(), until: new Date(glass.until).toISOString() });
  });

  router.get('/break-glass', requireRole(auth, 'admin'), async (req, res) => {
    const query = parseOr400(breakGlassQuerySchema, req.query, 'query');
    const page = await auth.audit.query({ action: 'break_glass.start' }, { offset: query.offset, limit: query.limit });
    const active = new Set(incidents.activeBreakGlass().map((glass) => glass.id));
    res.json({
      items: page.items.map((entry) => ({
        id: entry.details?.breakGlassId,
        camera: entry.cameraId,
        user: { userId: entry.userId, username: entry.username },
        reason: entry.details?.reason,
        startedAt: entry.at,
        until: entry.details?.until,
        active: active.has(String(entry.details?.breakGlassId)),
        auditSeq: entry.seq,
      })),
      total: page.total,
      offset: query.offset,
      limit: query.limit,
    });
  });

  return router;
}

function clientIp(req: Request): string | undefined {
  return req.ip || undefined;
}

/** Who watched which camera when, paired from the incident's view.start / view.stop entries, with their chain hashes. */
function viewsOf(timeline: AuditEntry[]): Array<Record<string, unknown>> {
  const views = new Map<string, Record<string, unknown>>();
  for (const entry of timeline) {
    const viewId = entry.details?.viewId;
    if (typeof viewId !== 'string' || !entry.action.startsWith('view.')) continue;
    if (entry.action === 'view.start') {
      views.set(viewId, { viewId, user: { userId: entry.userId, username: entry.username }, camera: entry.cameraId, startedAt: entry.at, start: { seq: entry.seq, hash: entry.hash } });
    } else {
      const view = views.get(viewId) ?? { viewId, user: { userId: entry.userId, username: entry.username }, camera: entry.cameraId, startedAt: entry.details?.startedAt };
      views.set(viewId, { ...view, endedAt: entry.at, reason: entry.details?.reason, forced: entry.action === 'view.forced_stop', stop: { seq: entry.seq, hash: entry.hash } });
    }
  }
  return [...views.values()];
}
