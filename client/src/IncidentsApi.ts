/**
 * The incidents REST API as the console uses it (issue #21): incidents, their cameras and grants,
 * the investigator's own grants, break-glass. JSON over fetch with the session's bearer token; a
 * refused request throws ApiError with the server's `{error:{code,message}}` (the message is what
 * the user sees).
 *
 * The REST views are declared in protocol.ts (types only), shared with the server's routes.
 */
import { ApiError, RestClient } from './RestClient.ts';

export { ApiError };
import type { BreakGlassView, Disposition, GrantScope, GrantView, IncidentKind, IncidentView, MyGrantView } from '../../server/signalling/protocol.ts';

export type { BreakGlassView, Disposition, GrantScope, GrantView, IncidentKind, IncidentView };
export type { GrantStatus, ActorView as Actor } from '../../server/signalling/protocol.ts';
/** One of the investigator's grants (GET /api/grants/mine). */
export type MyGrant = MyGrantView;
export type IncidentCamera = IncidentView['cameras'][number];
export type GeoPoint = IncidentView['location'];

/** Fails to compile, naming the value, when the server has a value a list below lacks. */
type NoneMissing<Missing extends never> = Missing;
export const INCIDENT_KINDS = ['panic_alarm', 'robbery', 'assault', 'missing_person', 'traffic', 'fire', 'public_order', 'other'] as const satisfies readonly IncidentKind[];
export const DISPOSITIONS = ['resolved', 'false_alarm', 'referred', 'no_action', 'other'] as const satisfies readonly Disposition[];
export type ListsComplete = [NoneMissing<Exclude<IncidentKind, (typeof INCIDENT_KINDS)[number]>>, NoneMissing<Exclude<Disposition, (typeof DISPOSITIONS)[number]>>];

export type IncidentDetail = IncidentView & { grants: GrantView[] };

export interface Investigator {
  id: string;
  username: string;
  displayName: string;
}

export interface NewIncident {
  title: string;
  kind: IncidentKind;
  location: GeoPoint;
  radiusM?: number;
  municipality: string;
  autoAttach?: boolean;
}

export interface NewGrant {
  investigator: string;
  scope: GrantScope;
  cameras?: string[];
  endsAt?: string;
}

/** The text to show for a failed request. */
export function errorText(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return String(error);
}

export class IncidentsApi {
  /** `getToken` is read at every request (the session refreshes it). */
  readonly #rest: RestClient;

  constructor(getToken: () => string | undefined) {
    this.#rest = new RestClient(getToken);
  }

  listIncidents(query: { status?: 'open' | 'closed'; municipality?: string; offset?: number; limit?: number } = {}): Promise<{ items: IncidentView[]; total: number }> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const search = params.toString();
    return this.#call('GET', `/api/incidents${search ? `?${search}` : ''}`);
  }

  incident(id: string): Promise<IncidentDetail> {
    return this.#call('GET', `/api/incidents/${enc(id)}`);
  }

  openIncident(incident: NewIncident): Promise<IncidentView> {
    return this.#call('POST', '/api/incidents', incident);
  }

  attachCameras(id: string, cameras: string[]): Promise<IncidentView> {
    return this.#call('POST', `/api/incidents/${enc(id)}/cameras`, { cameras });
  }

  detachCamera(id: string, code: string): Promise<IncidentView> {
    return this.#call('DELETE', `/api/incidents/${enc(id)}/cameras/${enc(code)}`);
  }

  closeIncident(id: string, disposition: Disposition, note: string): Promise<IncidentView> {
    return this.#call('POST', `/api/incidents/${enc(id)}/close`, { disposition, note });
  }

  grant(incidentId: string, grant: NewGrant): Promise<GrantView> {
    return this.#call('POST', `/api/incidents/${enc(incidentId)}/grants`, grant);
  }

  grants(incidentId: string): Promise<{ items: GrantView[] }> {
    return this.#call('GET', `/api/incidents/${enc(incidentId)}/grants`);
  }

  extendGrant(grantId: string, endsAt: string): Promise<GrantView> {
    return this.#call('POST', `/api/grants/${enc(grantId)}/extend`, { endsAt });
  }

  revokeGrant(grantId: string, reason: string): Promise<GrantView> {
    return this.#call('POST', `/api/grants/${enc(grantId)}/revoke`, { reason });
  }

  myGrants(): Promise<{ items: MyGrant[] }> {
    return this.#call('GET', '/api/grants/mine');
  }

  investigators(): Promise<{ items: Investigator[] }> {
    return this.#call('GET', '/api/investigators');
  }

  breakGlass(camera: string, reason: string): Promise<BreakGlassView> {
    return this.#call('POST', '/api/break-glass', { camera, reason });
  }

  /** The incident's report (timeline, grants, views) as JSON text, for a download. */
  async report(id: string): Promise<string> {
    return JSON.stringify(await this.#call<unknown>('GET', `/api/incidents/${enc(id)}/report`), null, 2);
  }

  #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#rest.call<T>(method, path, body === undefined ? undefined : { json: body });
  }
}

function enc(part: string): string {
  return encodeURIComponent(part);
}
