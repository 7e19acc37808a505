import type { CameraArea, CameraFilter, CameraRecord } from '../catalog/CameraRecord.ts';
import type { GrantRecord, IncidentRecord } from '../incidents/IncidentRecord.ts';
import type { Role } from './Identity.ts';

/** Who is asking, as far as camera visibility goes. */
export interface Viewer {
  role: Role;
  areas: readonly CameraArea[];
  municipalities: readonly string[];
}

type VisibleFields = Pick<CameraRecord, 'code' | 'area' | 'municipality' | 'sharing' | 'status' | 'retiredAt'>;

/**
 * What incidents add to a viewer's rights at one moment: the open incidents, the viewer's own
 * grants and break-glass views. Built by IncidentService; the policy decides with it.
 */
export interface IncidentAccess {
  /** Every open incident (the policy picks the ones the viewer runs or is granted). */
  openIncidents: ReadonlyArray<Pick<IncidentRecord, 'id' | 'municipality' | 'cameras'>>;
  /** The viewer's grants (live or not: the policy checks). */
  grants: ReadonlyArray<Pick<GrantRecord, 'id' | 'incidentId' | 'scope' | 'cameras' | 'status' | 'endsAt'>>;
  /** The viewer's break-glass views (camera code, until epoch ms). */
  breakGlass: ReadonlyArray<{ id: string; camera: string; until: number }>;
  /** Epoch ms the decision is made for. */
  now: number;
}

/** No incident, no grant, no break-glass view. */
export const NO_INCIDENT_ACCESS: IncidentAccess = { openIncidents: [], grants: [], breakGlass: [], now: 0 };

/** Why a viewer may watch a camera: their own scope, an incident they run, a grant, or a break-glass view. */
export type Allowance =
  | { via: 'scope' }
  | { via: 'incident'; incidentId: string }
  | { via: 'grant'; incidentId: string; grantId: string }
  | { via: 'break_glass'; breakGlassId: string };

/**
 * The one place that decides who may see which camera:
 * - nobody watches a camera that is not approved, or is retired;
 * - admin sees every camera;
 * - operators and supervisors see a camera when its area is one of theirs AND (their municipality
 *   list is empty OR contains the camera's) AND, for a citizen camera, its sharing is `live`;
 * - an operator runs the open incidents whose municipality is in their scope (admins run every
 *   incident) and also sees the citizen cameras attached to them (incident-only ones included) when
 *   `citizen` is among their areas;
 * - an operator with a live break-glass view of a citizen camera sees it until the view's end;
 * - investigators see only what live grants give (their own areas and municipalities are ignored):
 *   an 'all' grant every camera attached to its open incident, a 'cameras' grant the listed ones
 *   while attached.
 */
export class VisibilityPolicy {
  static canView(viewer: Viewer, camera: VisibleFields, access: IncidentAccess = NO_INCIDENT_ACCESS): boolean {
    return VisibilityPolicy.allowance(viewer, camera, access) !== undefined;
  }

  /**
   * Why the viewer may watch the camera now, or undefined. An incident is named whenever one allows
   * the view (even when the viewer's own scope would too), so the audit ties the view to it.
   */
  static allowance(viewer: Viewer, camera: VisibleFields, access: IncidentAccess = NO_INCIDENT_ACCESS): Allowance | undefined {
    if (camera.status !== 'approved' || camera.retiredAt) return undefined;
    switch (viewer.role) {
      case 'admin': {
        const incident = access.openIncidents.find((open) => open.cameras.includes(camera.code));
        return incident ? { via: 'incident', incidentId: incident.id } : { via: 'scope' };
      }
      case 'investigator': {
        for (const grant of access.grants) {
          if (VisibilityPolicy.grantCameras(grant, access).includes(camera.code)) return { via: 'grant', incidentId: grant.incidentId, grantId: grant.id };
        }
        return undefined;
      }
      case 'operator': {
        const own = VisibilityPolicy.inScope(viewer, camera);
        for (const incident of VisibilityPolicy.runs(viewer, access)) {
          if (!incident.cameras.includes(camera.code)) continue;
          if (own || (camera.area === 'citizen' && viewer.areas.includes('citizen'))) return { via: 'incident', incidentId: incident.id };
        }
        if (own) return { via: 'scope' };
        // Break-glass is for citizen cameras only, as scope() selects them (orCameras with area 'citizen').
        const glass = camera.area === 'citizen' ? access.breakGlass.find((view) => view.camera === camera.code && view.until > access.now) : undefined;
        return glass ? { via: 'break_glass', breakGlassId: glass.id } : undefined;
      }
      case 'supervisor':
        return VisibilityPolicy.inScope(viewer, camera) ? { via: 'scope' } : undefined;
    }
  }

  /** The same rule without the approval condition and without incidents (admins listing the catalog see every status). */
  static inScope(viewer: Viewer, camera: Pick<CameraRecord, 'area' | 'municipality' | 'sharing'>): boolean {
    switch (viewer.role) {
      case 'admin':
        return true;
      case 'investigator':
        return false;
      case 'operator':
      case 'supervisor':
        return (
          viewer.areas.includes(camera.area) &&
          (viewer.municipalities.length === 0 || viewer.municipalities.includes(camera.municipality)) &&
          (camera.area !== 'citizen' || camera.sharing === 'live')
        );
    }
  }

  /**
   * The catalog filter selecting exactly the cameras `allowance` allows, except approval (the
   * caller adds it): the viewer's scope, or for investigators their granted cameras, plus for
   * operators the citizen cameras of the incidents they run and their break-glass cameras.
   */
  static scope(viewer: Viewer, access: IncidentAccess = NO_INCIDENT_ACCESS): CameraFilter {
    switch (viewer.role) {
      case 'admin':
        return {};
      case 'investigator':
        return { codes: [...new Set(access.grants.flatMap((grant) => VisibilityPolicy.grantCameras(grant, access)))] };
      case 'supervisor':
        return VisibilityPolicy.#ownScope(viewer);
      case 'operator': {
        const incidentCameras = viewer.areas.includes('citizen') ? VisibilityPolicy.runs(viewer, access).flatMap((incident) => incident.cameras) : [];
        const glass = access.breakGlass.filter((view) => view.until > access.now).map((view) => view.camera);
        const extra = [...new Set([...incidentCameras, ...glass])];
        return { ...VisibilityPolicy.#ownScope(viewer), ...(extra.length > 0 && { orCameras: { codes: extra, area: 'citizen' as const } }) };
      }
    }
  }

  /** Whether the viewer runs the incident: admins every one, operators those of their municipalities. */
  static runsIncident(viewer: Viewer, incident: Pick<IncidentRecord, 'municipality'>): boolean {
    if (viewer.role === 'admin') return true;
    return viewer.role === 'operator' && (viewer.municipalities.length === 0 || viewer.municipalities.includes(incident.municipality));
  }

  /**
   * Whether an alarm is announced to the viewer (rings their console, and they may acknowledge and
   * close it): at level 0, operators whose areas and municipalities cover its place; once
   * re-announced (level 1 and up), every operator and admin.
   */
  static announcedTo(viewer: Viewer, alarm: { area: CameraArea; municipality: string; announceLevel: number }): boolean {
    if (viewer.role !== 'operator' && viewer.role !== 'admin') return false;
    if (alarm.announceLevel >= 1) return true;
    return viewer.role === 'operator' && viewer.areas.includes(alarm.area) && (viewer.municipalities.length === 0 || viewer.municipalities.includes(alarm.municipality));
  }

  /** The open incidents the viewer runs. */
  static runs<I extends Pick<IncidentRecord, 'municipality'>>(viewer: Viewer, access: { openIncidents: readonly I[] }): I[] {
    return access.openIncidents.filter((incident) => VisibilityPolicy.runsIncident(viewer, incident));
  }

  /** The codes a grant lets its investigator watch now: none unless live and its incident open. */
  static grantCameras(grant: IncidentAccess['grants'][number], access: Pick<IncidentAccess, 'openIncidents' | 'now'>): string[] {
    if (grant.status !== 'active' || grant.endsAt.getTime() <= access.now) return [];
    const incident = access.openIncidents.find((open) => open.id === grant.incidentId);
    if (!incident) return [];
    return grant.scope === 'all' ? [...incident.cameras] : incident.cameras.filter((code) => grant.cameras?.includes(code));
  }

  static canAdminister(viewer: Pick<Viewer, 'role'>): boolean {
    return viewer.role === 'admin';
  }

  static #ownScope(viewer: Viewer): CameraFilter {
    return {
      areas: [...viewer.areas],
      ...(viewer.municipalities.length > 0 && { municipalities: [...viewer.municipalities] }),
      citizenSharing: 'live',
    };
  }
}
