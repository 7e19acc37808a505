import { randomUUID } from 'node:crypto';
import type { Logger } from '../logging/createLogger.ts';
import { AppError } from '../errors/AppError.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import { KeyedSerializer } from '../util/KeyedSerializer.ts';
import type { AuditLog } from '../audit/AuditLog.ts';
import type { AuditEntry } from '../audit/AuditRecord.ts';
import type { CameraCatalog } from '../catalog/CameraCatalog.ts';
import type { CameraRecord } from '../catalog/CameraRecord.ts';
import { distanceKm } from '../catalog/geo.ts';
import type { UserService } from '../users/UserService.ts';
import type { UserRecord } from '../users/UserRecord.ts';
import { VisibilityPolicy, type IncidentAccess } from '../auth/VisibilityPolicy.ts';
import type { IncidentRepository } from './IncidentRepository.ts';
import type { GrantRepository } from './GrantRepository.ts';
import { grantIsLive, type Actor, type Disposition, type GrantRecord, type GrantStatus, type IncidentRecord, type IncidentStatus } from './IncidentRecord.ts';
import type { GrantCreate, IncidentCreate } from './incidentSchemas.ts';

export interface IncidentSettings {
  autoAttachMax: number;
  maxCameras: number;
  defaultRadiusM: number;
  grantDefaultMinutes: number;
  grantMaxMinutes: number;
  breakGlassMinutes: number;
}

/** A break-glass view: one operator, one incident-only citizen camera, a stated reason, a time limit. */
export interface BreakGlassView {
  id: string;
  userId: string;
  username?: string;
  camera: string;
  reason: string;
  startedAt: number;
  until: number;
}

export type IncidentServiceEvents = {
  /**
   * Views some users hold may no longer be allowed, or be allowed through another incident: recheck
   * them now. `userIds` absent: everyone watching `cameras` (or everyone, when both are absent).
   * `reason` is shown in the tiles that stop (absent: the policy's own refusal).
   */
  accessChanged: [{ userIds?: string[]; cameras?: string[]; reason?: string }];
  /** An incident changed (operators' panels refresh). */
  incidentChanged: [{ incident: IncidentRecord; change: 'opened' | 'attached' | 'detached' | 'closed' | 'grants' }];
  /** A grant was created or changed (its investigator's console refreshes). */
  grantChanged: [{ grant: GrantRecord; change: 'created' | 'extended' | 'revoked' | 'expired' | 'ended' | 'cameras' }];
};

/** Nearest first: the cameras found at opening, with their distance. */
interface NearCamera {
  camera: CameraRecord;
  distanceM: number;
}

const MINUTE = 60_000;
/** setTimeout's longest delay; longer grants are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Incidents, grants and break-glass views: the rules of who runs an incident, who is granted what
 * and until when, applied with VisibilityPolicy; the audit of each change; the expiry timers (re-armed
 * from the store at start, expired while the server was down recorded as such). It keeps the open
 * incidents and the active grants in memory, so access is decided without a query per request.
 */
export class IncidentService extends TypedEmitter<IncidentServiceEvents> {
  readonly #open = new Map<string, IncidentRecord>();
  readonly #activeGrants = new Map<string, GrantRecord>();
  readonly #grantTimers = new Map<string, NodeJS.Timeout>();
  /** Per grant ('grant:<id>') and per incident ('incident:<id>'), the change in progress: extend, revoke and expiry of a grant, attach, detach and close of an incident run one after the other. */
  readonly #changes = new KeyedSerializer();
  readonly #breakGlass = new Map<string, BreakGlassView & { timer: NodeJS.Timeout }>();
  #closed = false;

  private constructor(
    private readonly incidents: IncidentRepository,
    private readonly grants: GrantRepository,
    private readonly catalog: CameraCatalog,
    private readonly users: UserService,
    private readonly audit: AuditLog,
    private readonly settings: IncidentSettings,
    private readonly logger: Logger,
  ) {
    super();
  }

  /**
   * Loads the open incidents and the active grants, ends the grants that expired while the server
   * was down (recorded as expired at their end time, `whileServerDown`) or whose incident closed,
   * and arms the timers of the others.
   */
  static async create(options: {
    incidents: IncidentRepository;
    grants: GrantRepository;
    catalog: CameraCatalog;
    users: UserService;
    audit: AuditLog;
    settings: IncidentSettings;
    logger: Logger;
  }): Promise<IncidentService> {
    const service = new IncidentService(options.incidents, options.grants, options.catalog, options.users, options.audit, options.settings, options.logger);
    for (let offset = 0; ; offset += 500) {
      const page = await options.incidents.list({ status: 'open' }, { offset, limit: 500 });
      for (const incident of page.items) service.#open.set(incident.id, incident);
      if (page.items.length < 500) break;
    }
    let expired = 0;
    for (const grant of await options.grants.listActive()) {
      if (!service.#open.has(grant.incidentId)) {
        await service.#end(grant, { status: 'ended', endReason: 'the incident closed' }, undefined);
      } else if (grant.endsAt.getTime() <= Date.now()) {
        await service.#end(grant, { status: 'expired', endReason: 'the grant expired while the server was down', endedAt: grant.endsAt }, undefined, { whileServerDown: true });
        expired++;
      } else {
        service.#activeGrants.set(grant.id, grant);
        service.#arm(grant);
      }
    }
    options.logger.info({ openIncidents: service.#open.size, activeGrants: service.#activeGrants.size, expiredWhileDown: expired }, 'incidents loaded');
    return service;
  }

  // ---- access ------------------------------------------------------------------------------------

  /** What incidents add to this user's rights now (for VisibilityPolicy). */
  accessFor(userId: string): IncidentAccess {
    const now = Date.now();
    return {
      openIncidents: [...this.#open.values()],
      grants: [...this.#activeGrants.values()].filter((grant) => grant.investigator.userId === userId && grantIsLive(grant, now)),
      breakGlass: [...this.#breakGlass.values()].filter((view) => view.userId === userId && view.until > now),
      now,
    };
  }

  // ---- incidents ---------------------------------------------------------------------------------

  /**
   * Opens an incident (operators of its municipality, admins) and attaches the approved cameras
   * within its radius, nearest first, up to incidents.autoAttachMax. Throws forbidden.
   */
  async open(actor: UserRecord, input: IncidentCreate): Promise<IncidentRecord> {
    if (!VisibilityPolicy.runsIncident(actor, { municipality: input.municipality })) {
      throw new AppError('forbidden', actor.role === 'operator' ? `municipality ${input.municipality} is not in your scope` : 'only operators and admins open incidents');
    }
    const radiusM = input.radiusM ?? this.settings.defaultRadiusM;
    const near = input.autoAttach ? await this.#nearest(input.location, radiusM, Math.min(this.settings.autoAttachMax, this.settings.maxCameras)) : [];
    const incident = await this.incidents.insert({
      title: input.title,
      kind: input.kind,
      location: input.location,
      radiusM,
      municipality: input.municipality,
      status: 'open',
      cameras: near.map((found) => found.camera.code),
      openedBy: actorOf(actor),
      openedAt: new Date(),
    });
    this.#open.set(incident.id, incident);
    await this.#audit(actor, 'incident.open', incident.id, {
      title: incident.title,
      kind: incident.kind,
      municipality: incident.municipality,
      location: incident.location,
      radiusM,
      cameras: near.map((found) => ({ code: found.camera.code, distanceM: found.distanceM })),
    });
    this.#announceOpened(incident);
    return incident;
  }

  /**
   * Opens the incident of an alarm, on behalf of the device (`openedBy`): the device's linked cameras
   * first (approved and not retired, in the device's order), then the nearest approved cameras within
   * `radiusM` until incidents.autoAttachMax (at most incidents.maxCameras in all). Returns the
   * incident and each attached camera's distance (m, when located) and whether it is linked.
   */
  async openForAlarm(
    input: { title: string; location: { lat: number; lng: number }; radiusM: number; municipality: string; linked: string[] },
    openedBy: Actor,
    details: Record<string, unknown>,
  ): Promise<{ incident: IncidentRecord; cameras: Array<{ code: string; linked: boolean; distanceM?: number }> }> {
    const max = this.settings.maxCameras;
    const linkedRecords = input.linked.length > 0 ? await this.catalog.repository.findByCodes(input.linked) : [];
    const linked = input.linked
      .map((code) => linkedRecords.find((camera) => camera.code === code))
      .filter((camera): camera is CameraRecord => camera !== undefined && camera.status === 'approved' && !camera.retiredAt)
      .slice(0, max)
      .map((camera) => ({ code: camera.code, linked: true, ...(camera.location && { distanceM: Math.round(distanceKm(input.location, camera.location) * 1000) }) }));
    const room = Math.max(0, Math.min(this.settings.autoAttachMax, max) - linked.length);
    const near = (await this.#nearest(input.location, input.radiusM, room + linked.length))
      .filter((found) => !linked.some((camera) => camera.code === found.camera.code))
      .slice(0, room)
      .map((found) => ({ code: found.camera.code, linked: false, distanceM: found.distanceM }));
    const cameras = [...linked, ...near];
    const incident = await this.incidents.insert({
      title: input.title,
      kind: 'panic_alarm',
      location: input.location,
      radiusM: input.radiusM,
      municipality: input.municipality,
      status: 'open',
      cameras: cameras.map((camera) => camera.code),
      openedBy,
      openedAt: new Date(),
    });
    this.#open.set(incident.id, incident);
    await this.audit.record({
      action: 'incident.open',
      incidentId: incident.id,
      details: { ...details, openedBy, title: incident.title, kind: incident.kind, municipality: incident.municipality, location: incident.location, radiusM: input.radiusM, cameras },
    });
    this.#announceOpened(incident);
    return { incident, cameras };
  }

  /** An incident as stored, for other services that decided access themselves (undefined: unknown). */
  findRecord(id: string): Promise<IncidentRecord | undefined> {
    return this.incidents.findById(id);
  }

  /** Whether an incident is open now (from memory). */
  isOpen(id: string): boolean {
    return this.#open.has(id);
  }

  /**
   * Closes an alarm's incident for the operator who closed the alarm (whose right to was checked by
   * the alarm's rules, which reach beyond the incident's municipality once re-announced). Undefined
   * when it was closed already.
   */
  closeForAlarm(id: string, actor: UserRecord, closing: { disposition: Disposition; note: string }): Promise<IncidentRecord | undefined> {
    return this.#serially(`incident:${id}`, async () => {
      if (!this.#open.has(id)) return undefined;
      return this.#closeOpen(actor, id, closing);
    });
  }

  /** Incidents the viewer runs (admins: all), newest first. Throws forbidden for other roles. */
  async list(viewer: UserRecord, query: { status?: IncidentStatus; municipality?: string; offset: number; limit: number }): Promise<{ items: IncidentRecord[]; total: number }> {
    if (viewer.role !== 'admin' && viewer.role !== 'operator') throw new AppError('forbidden', 'only operators and admins list incidents');
    return this.incidents.list(
      {
        ...(query.status && { status: query.status }),
        ...(query.municipality && { municipality: query.municipality }),
        ...(viewer.role === 'operator' && viewer.municipalities.length > 0 && { municipalities: [...viewer.municipalities] }),
      },
      { offset: query.offset, limit: query.limit },
    );
  }

  /** One incident, for whoever runs it or holds a live grant on it. Throws not_found (also when not allowed). */
  async get(viewer: UserRecord, id: string): Promise<IncidentRecord> {
    const incident = await this.incidents.findById(id);
    if (!incident || !this.#mayRead(viewer, incident)) throw new AppError('not_found', `no incident ${id}`);
    return incident;
  }

  /** Cameras of an incident with their records (unknown codes left out), in attachment order. */
  async camerasOf(incident: IncidentRecord): Promise<CameraRecord[]> {
    const records = await this.catalog.repository.findByCodes(incident.cameras);
    const byCode = new Map(records.map((camera) => [camera.code, camera]));
    return incident.cameras.map((code) => byCode.get(code)).filter((camera): camera is CameraRecord => camera !== undefined);
  }

  /**
   * Attaches cameras by hand. Throws not_found, invalid_state (closed), unprocessable (a camera
   * unknown, not approved or retired; over incidents.maxCameras).
   */
  attach(actor: UserRecord, id: string, codes: string[]): Promise<IncidentRecord> {
    return this.#serially(`incident:${id}`, () => this.#attach(actor, id, codes));
  }

  async #attach(actor: UserRecord, id: string, codes: string[]): Promise<IncidentRecord> {
    const incident = await this.#runnable(actor, id);
    const wanted = [...new Set(codes)].filter((code) => !incident.cameras.includes(code));
    const records = await this.catalog.repository.findByCodes(wanted);
    const problems: string[] = [];
    for (const code of wanted) {
      const camera = records.find((record) => record.code === code);
      if (!camera) problems.push(`camera ${code} is not registered`);
      else if (camera.retiredAt) problems.push(`camera ${code} is retired`);
      else if (camera.status !== 'approved') problems.push(`camera ${code} is ${camera.status}`);
      else if (!this.#mayAttachByHand(actor, incident, camera)) {
        problems.push(`camera ${code} is in ${camera.municipality}, outside your municipalities and beyond the incident's ${incident.radiusM} m`);
      }
    }
    if (problems.length > 0) throw new AppError('unprocessable', problems.join('; '), { cameras: wanted });
    if (incident.cameras.length + wanted.length > this.settings.maxCameras) {
      throw new AppError('unprocessable', `an incident has at most ${this.settings.maxCameras} cameras (this one has ${incident.cameras.length})`);
    }
    if (wanted.length === 0) return incident;
    const updated = await this.incidents.attach(id, wanted);
    if (!updated) throw new AppError('invalid_state', `incident ${id} is closed`);
    this.#open.set(updated.id, updated);
    await this.#audit(actor, 'incident.attach', id, { cameras: wanted });
    this.emit('incidentChanged', { incident: updated, change: 'attached' });
    this.#grantsCamerasChanged(updated);
    this.emit('accessChanged', { cameras: wanted });
    return updated;
  }

  /** Detaches a camera: views it allowed through this incident stop. Throws not_found, invalid_state. */
  detach(actor: UserRecord, id: string, code: string): Promise<IncidentRecord> {
    return this.#serially(`incident:${id}`, () => this.#detach(actor, id, code));
  }

  async #detach(actor: UserRecord, id: string, code: string): Promise<IncidentRecord> {
    const incident = await this.#runnable(actor, id);
    if (!incident.cameras.includes(code)) throw new AppError('not_found', `camera ${code} is not attached to incident ${id}`);
    const updated = await this.incidents.detach(id, [code]);
    if (!updated) throw new AppError('invalid_state', `incident ${id} is closed`);
    this.#open.set(updated.id, updated);
    await this.#audit(actor, 'incident.detach', id, { cameras: [code] }, code);
    this.emit('incidentChanged', { incident: updated, change: 'detached' });
    this.#grantsCamerasChanged(updated);
    this.emit('accessChanged', { cameras: [code], reason: `camera ${code} was detached from incident "${updated.title}"` });
    return updated;
  }

  /** Closes an incident and ends its grants. Throws not_found, invalid_state (closed already). */
  closeIncident(actor: UserRecord, id: string, closing: { disposition: Disposition; note: string }): Promise<IncidentRecord> {
    return this.#serially(`incident:${id}`, () => this.#close(actor, id, closing));
  }

  async #close(actor: UserRecord, id: string, closing: { disposition: Disposition; note: string }): Promise<IncidentRecord> {
    await this.#runnable(actor, id);
    const closed = await this.#closeOpen(actor, id, closing);
    if (!closed) throw new AppError('invalid_state', `incident ${id} is closed already`);
    return closed;
  }

  /** Marks an open incident closed, ends its grants, tells everyone. Undefined when it was not open. */
  async #closeOpen(actor: UserRecord, id: string, closing: { disposition: Disposition; note: string }): Promise<IncidentRecord | undefined> {
    const closed = await this.incidents.markClosed(id, { closedBy: actorOf(actor), closedAt: new Date(), disposition: closing.disposition, closingNote: closing.note });
    if (!closed) return undefined;
    this.#open.delete(id);
    await this.#audit(actor, 'incident.close', id, { disposition: closing.disposition, note: closing.note });
    for (const grant of [...this.#activeGrants.values()].filter((active) => active.incidentId === id)) {
      // After an extend of it in progress, which would otherwise put it back in memory.
      await this.#serially(`grant:${grant.id}`, () => this.#end(grant, { status: 'ended', endReason: 'the incident closed' }, actor));
    }
    this.emit('incidentChanged', { incident: closed, change: 'closed' });
    this.emit('accessChanged', { cameras: closed.cameras, reason: `incident "${closed.title}" was closed` });
    return closed;
  }

  /** The audit entries of an incident, oldest first (its timeline and the views it allowed). */
  async timeline(id: string): Promise<AuditEntry[]> {
    // Pages come newest first: an entry written meanwhile pushes older ones into the next page again.
    const entries = new Map<number, AuditEntry>();
    for (let offset = 0; ; offset += 500) {
      const page = await this.audit.query({ incidentId: id }, { offset, limit: 500 });
      for (const entry of page.items) entries.set(entry.seq, entry);
      if (page.items.length < 500 || offset + 500 >= page.total) break;
    }
    return [...entries.values()].sort((a, b) => a.seq - b.seq);
  }

  // ---- grants ------------------------------------------------------------------------------------

  /**
   * Grants an investigator the incident's cameras (all, or the listed attached ones) until `endsAt`
   * (default incidents.grantDefaultMinutes, at most incidents.grantMaxMinutes from now). Throws
   * not_found, invalid_state (incident closed), unprocessable (not an investigator, an end in the past
   * or beyond the maximum, a camera not attached).
   */
  async grant(actor: UserRecord, incidentId: string, input: GrantCreate): Promise<GrantRecord> {
    const incident = await this.#runnable(actor, incidentId);
    const investigator = this.#investigator(input.investigator);
    const endsAt = this.#endTime(input.endsAt);
    if (input.scope === 'cameras') {
      const missing = input.cameras!.filter((code) => !incident.cameras.includes(code));
      if (missing.length > 0) throw new AppError('unprocessable', `not attached to the incident: ${missing.join(', ')}`);
    }
    const grant = await this.grants.insert({
      incidentId,
      investigator: actorOf(investigator),
      scope: input.scope,
      ...(input.scope === 'cameras' && { cameras: [...new Set(input.cameras!)] }),
      grantedBy: actorOf(actor),
      createdAt: new Date(),
      endsAt,
    });
    await this.#audit(actor, 'grant.create', incidentId, { grantId: grant.id, investigator: grant.investigator, scope: grant.scope, ...(grant.cameras && { cameras: grant.cameras }), endsAt: grant.endsAt.toISOString() });
    // The incident may have closed while the grant was written: it ends at once then (its creation
    // is audited first, so the report's timeline has both).
    if (!this.#open.has(incidentId)) {
      await this.#end(grant, { status: 'ended', endReason: 'the incident closed' }, actor);
      throw new AppError('invalid_state', `incident ${incidentId} is closed`);
    }
    this.#activeGrants.set(grant.id, grant);
    this.#arm(grant);
    this.emit('grantChanged', { grant, change: 'created' });
    this.emit('incidentChanged', { incident, change: 'grants' });
    return grant;
  }

  /** The incident's grants, oldest first. Throws not_found. */
  async grantsOf(viewer: UserRecord, incidentId: string): Promise<GrantRecord[]> {
    await this.#runnable(viewer, incidentId, { allowClosed: true });
    return this.grants.listByIncident(incidentId);
  }

  /** Moves a grant's end later (at most incidents.grantMaxMinutes from now). Throws not_found, invalid_state, unprocessable. */
  extend(actor: UserRecord, grantId: string, endsAtIso: string): Promise<GrantRecord> {
    return this.#serially(`grant:${grantId}`, () => this.#extend(actor, grantId, endsAtIso));
  }

  async #extend(actor: UserRecord, grantId: string, endsAtIso: string): Promise<GrantRecord> {
    const grant = await this.#grantOf(actor, grantId);
    const endsAt = this.#endTime(endsAtIso);
    if (endsAt.getTime() <= grant.endsAt.getTime()) throw new AppError('unprocessable', `the new end must be later than the current one (${grant.endsAt.toISOString()})`);
    const extended = await this.grants.extend(grantId, endsAt);
    if (!extended) throw new AppError('invalid_state', `grant ${grantId} is no longer active`);
    this.#activeGrants.set(extended.id, extended);
    this.#arm(extended);
    await this.#audit(actor, 'grant.extend', extended.incidentId, { grantId, investigator: extended.investigator, from: grant.endsAt.toISOString(), endsAt: extended.endsAt.toISOString() });
    this.emit('grantChanged', { grant: extended, change: 'extended' });
    return extended;
  }

  /** Revokes a grant: its views stop within a second. Throws not_found, invalid_state. */
  revoke(actor: UserRecord, grantId: string, reason: string): Promise<GrantRecord> {
    return this.#serially(`grant:${grantId}`, async () => {
      const grant = await this.#grantOf(actor, grantId);
      const ended = await this.#end(grant, { status: 'revoked', endReason: reason }, actor);
      if (!ended) throw new AppError('invalid_state', `grant ${grantId} is no longer active`);
      return ended;
    });
  }

  /** The investigator's live grants with their incidents and the cameras each lets them watch now (approved and current, as the policy decides). */
  async mine(viewer: UserRecord): Promise<Array<{ grant: GrantRecord; incident: IncidentRecord; cameras: string[] }>> {
    const access = this.accessFor(viewer.id);
    const granted = access.grants.flatMap((grant) => {
      // A grant whose incident closed a moment ago is being ended: not listed.
      const incident = this.#open.get(grant.incidentId);
      return incident ? [{ grant: grant as GrantRecord, incident, cameras: VisibilityPolicy.grantCameras(grant, access) }] : [];
    });
    // An attached camera suspended, revoked or retired since is not one they may watch.
    const records = await this.catalog.repository.findByCodes([...new Set(granted.flatMap((mine) => mine.cameras))]);
    const watchable = new Set(records.filter((camera) => VisibilityPolicy.canView(viewer, camera, access)).map((camera) => camera.code));
    return granted.map((mine) => ({ ...mine, cameras: mine.cameras.filter((code) => watchable.has(code)) }));
  }

  /**
   * Why an investigator may no longer watch a camera, when an ended grant of theirs covered it (the
   * latest one): "your grant on incident "T" was revoked: why", "... expired at <ISO>", "... ended:
   * the incident was closed". Undefined when no grant of theirs ever covered the camera.
   */
  async endedGrantReason(userId: string, code: string): Promise<string | undefined> {
    const grants = (await this.grants.listByInvestigator(userId, false)).filter((grant) => !grantIsLive(grant)).reverse();
    for (const grant of grants) {
      if (grant.scope === 'cameras' && !grant.cameras?.includes(code)) continue;
      const incident = this.#open.get(grant.incidentId) ?? (await this.incidents.findById(grant.incidentId));
      if (!incident || (grant.scope === 'all' && !incident.cameras.includes(code))) continue;
      const title = `your grant on incident "${incident.title}"`;
      if (grant.status === 'revoked') return `${title} was revoked: ${grant.endReason ?? 'no reason given'}`;
      if (grant.status === 'ended') return `${title} ended: the incident was closed`;
      return `${title} expired at ${grant.endsAt.toISOString()}`;
    }
    return undefined;
  }

  /** Users an operator may grant to: enabled investigators. */
  investigators(): UserRecord[] {
    return this.users.list().filter((user) => user.role === 'investigator' && !user.disabled);
  }

  // ---- break-glass -------------------------------------------------------------------------------

  /**
   * An operator watches an incident-only citizen camera of their scope outside any open incident,
   * stating why, for incidents.breakGlassMinutes at most. Throws forbidden (not an operator, the
   * camera outside their scope), not_found, unprocessable (the camera is not incident-only, or an
   * open incident of theirs already shows it).
   */
  async breakGlass(actor: UserRecord, code: string, reason: string, ip?: string): Promise<BreakGlassView> {
    if (actor.role !== 'operator') throw new AppError('forbidden', 'break-glass views are for operators');
    const camera = await this.catalog.repository.findByCode(code);
    if (!camera || camera.retiredAt) throw new AppError('not_found', `no camera ${code}`);
    if (camera.status !== 'approved') throw new AppError('unprocessable', `camera ${code} is ${camera.status}`);
    if (camera.area !== 'citizen' || camera.sharing !== 'incident-only') throw new AppError('unprocessable', `camera ${code} is not an incident-only citizen camera: no break-glass is needed or possible`);
    if (!VisibilityPolicy.inScope(actor, { ...camera, sharing: 'live' })) throw new AppError('forbidden', `camera ${code} is outside your areas or municipalities`);
    const through = VisibilityPolicy.allowance(actor, camera, { ...this.accessFor(actor.id), breakGlass: [] });
    if (through) throw new AppError('unprocessable', `an open incident you run already shows camera ${code}`);
    const now = Date.now();
    const view: BreakGlassView = { id: randomUUID(), userId: actor.id, username: actor.username, camera: code, reason, startedAt: now, until: now + this.settings.breakGlassMinutes * MINUTE };
    const timer = setTimeout(() => void this.#breakGlassEnded(view.id), view.until - now);
    timer.unref();
    this.#breakGlass.set(view.id, { ...view, timer });
    await this.audit.record({
      action: 'break_glass.start',
      userId: actor.id,
      username: actor.username,
      cameraId: code,
      ...(ip && { ip }),
      details: { breakGlassId: view.id, reason, until: new Date(view.until).toISOString(), minutes: this.settings.breakGlassMinutes },
    });
    return view;
  }

  /** Break-glass views in force now (admins). */
  activeBreakGlass(): BreakGlassView[] {
    return [...this.#breakGlass.values()].map(({ timer: _timer, ...view }) => view);
  }

  /** Stops the timers (grants stay active in the store and are re-armed at the next start). */
  close(): void {
    this.#closed = true;
    for (const timer of this.#grantTimers.values()) clearTimeout(timer);
    this.#grantTimers.clear();
    for (const view of this.#breakGlass.values()) clearTimeout(view.timer);
    this.#breakGlass.clear();
  }

  // ---- internals ---------------------------------------------------------------------------------

  async #nearest(location: { lat: number; lng: number }, radiusM: number, max: number): Promise<NearCamera[]> {
    if (max === 0) return [];
    const found: CameraRecord[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await this.catalog.repository.list({ status: ['approved'], near: { ...location, radiusKm: radiusM / 1000 } }, { offset, limit: 1000 });
      found.push(...page.items);
      if (page.items.length < 1000) break;
    }
    return found
      .filter((camera) => camera.location)
      .map((camera) => ({ camera, distanceM: Math.round(distanceKm(location, camera.location!) * 1000) }))
      .sort((a, b) => a.distanceM - b.distanceM || (a.camera.code < b.camera.code ? -1 : 1))
      .slice(0, max);
  }

  /**
   * Attaching shows the camera to the incident's operators (incident-only citizen cameras included),
   * so by hand an operator attaches only cameras of their municipalities or within the incident's
   * radius (a camera across a border but near the place); admins attach any.
   */
  #mayAttachByHand(actor: UserRecord, incident: IncidentRecord, camera: CameraRecord): boolean {
    if (actor.role === 'admin' || actor.municipalities.length === 0 || actor.municipalities.includes(camera.municipality)) return true;
    return camera.location !== undefined && distanceKm(incident.location, camera.location) * 1000 <= incident.radiusM;
  }

  /** The incident, if the actor runs it and it is open (or closed, when allowed). */
  async #runnable(actor: UserRecord, id: string, options: { allowClosed?: boolean } = {}): Promise<IncidentRecord> {
    const incident = await this.incidents.findById(id);
    if (!incident || !VisibilityPolicy.runsIncident(actor, incident)) throw new AppError('not_found', `no incident ${id}`);
    if (incident.status !== 'open' && !options.allowClosed) throw new AppError('invalid_state', `incident ${id} is closed`);
    return incident;
  }

  #mayRead(viewer: UserRecord, incident: IncidentRecord): boolean {
    if (VisibilityPolicy.runsIncident(viewer, incident)) return true;
    return viewer.role === 'investigator' && this.accessFor(viewer.id).grants.some((grant) => grant.incidentId === incident.id);
  }

  async #grantOf(actor: UserRecord, grantId: string): Promise<GrantRecord> {
    const grant = await this.grants.findById(grantId);
    if (!grant) throw new AppError('not_found', `no grant ${grantId}`);
    const incident = await this.incidents.findById(grant.incidentId);
    if (!incident || !VisibilityPolicy.runsIncident(actor, incident)) throw new AppError('not_found', `no grant ${grantId}`);
    if (!grantIsLive(grant)) throw new AppError('invalid_state', `grant ${grantId} is ${grant.status === 'active' ? 'expired' : grant.status}`);
    return grant;
  }

  #investigator(userId: string): UserRecord {
    let user: UserRecord;
    try {
      user = this.users.get(userId);
    } catch {
      throw new AppError('unprocessable', `no user ${userId}`);
    }
    if (user.role !== 'investigator') throw new AppError('unprocessable', `${user.username} is not an investigator (role ${user.role})`);
    if (user.disabled) throw new AppError('unprocessable', `${user.username} is disabled`);
    return user;
  }

  /** A requested end time: in the future and within the maximum; the default when absent. */
  #endTime(iso: string | undefined): Date {
    const now = Date.now();
    if (iso === undefined) return new Date(now + this.settings.grantDefaultMinutes * MINUTE);
    const endsAt = new Date(iso);
    if (endsAt.getTime() <= now) throw new AppError('unprocessable', 'the end time is in the past');
    if (endsAt.getTime() > now + this.settings.grantMaxMinutes * MINUTE) {
      throw new AppError('unprocessable', `a grant lasts at most ${this.settings.grantMaxMinutes} minutes from now`);
    }
    return endsAt;
  }

  #arm(grant: GrantRecord): void {
    clearTimeout(this.#grantTimers.get(grant.id));
    if (this.#closed) return;
    const delay = Math.max(0, grant.endsAt.getTime() - Date.now());
    const timer = setTimeout(() => {
      this.#grantTimers.delete(grant.id);
      // After an extend in progress: it may have moved the end (the store has it already).
      void this.#serially(`grant:${grant.id}`, async () => {
        const current = this.#activeGrants.get(grant.id);
        if (!current) return;
        if (current.endsAt.getTime() > Date.now()) return this.#arm(current);
        await this.#end(current, { status: 'expired', endReason: 'the grant expired', endedAt: current.endsAt }, undefined);
      }).catch((error: unknown) => this.logger.error({ err: error, grant: grant.id }, 'could not record a grant expiry'));
    }, Math.min(delay, MAX_TIMER_MS));
    timer.unref();
    this.#grantTimers.set(grant.id, timer);
  }

  /**
   * Runs `change` once the earlier changes of the same grant or incident (`key`) have settled: a
   * change whose write landed but whose answer has not would otherwise put back in memory a grant a
   * revoke or the expiry just ended, or an incident's cameras (or the incident) as they were before
   * another operator's detach or close.
   */
  #serially<T>(key: string, change: () => Promise<T>): Promise<T> {
    return this.#changes.run(key, change);
  }

  /** Ends an active grant (compare-and-set), audits it and stops what it allowed. Undefined when it was no longer active. */
  async #end(
    grant: GrantRecord,
    end: { status: Exclude<GrantStatus, 'active'>; endReason: string; endedAt?: Date },
    actor: UserRecord | undefined,
    extra: Record<string, unknown> = {},
  ): Promise<GrantRecord | undefined> {
    clearTimeout(this.#grantTimers.get(grant.id));
    this.#grantTimers.delete(grant.id);
    this.#activeGrants.delete(grant.id);
    const ended = await this.grants.end(grant.id, { status: end.status, endedAt: end.endedAt ?? new Date(), endReason: end.endReason, ...(actor && { endedBy: actorOf(actor) }) });
    if (!ended) return undefined;
    const action = { revoked: 'grant.revoke', expired: 'grant.expire', ended: 'grant.end' }[end.status];
    await this.#audit(actor, action, grant.incidentId, { grantId: grant.id, investigator: grant.investigator, reason: end.endReason, ...extra });
    const change = end.status === 'revoked' ? 'revoked' : end.status === 'expired' ? 'expired' : 'ended';
    this.emit('grantChanged', { grant: ended, change });
    const incident = this.#open.get(grant.incidentId);
    if (incident) this.emit('incidentChanged', { incident, change: 'grants' });
    const words = { revoked: `your grant was revoked: ${end.endReason}`, expired: 'your grant expired', ended: 'the incident was closed' }[end.status];
    this.emit('accessChanged', { userIds: [grant.investigator.userId], reason: words });
    return ended;
  }

  /** An incident was opened: its operators' panels refresh, and views of its cameras in progress are allowed through it from now on (their records name it). */
  #announceOpened(incident: IncidentRecord): void {
    this.emit('incidentChanged', { incident, change: 'opened' });
    if (incident.cameras.length > 0) this.emit('accessChanged', { cameras: [...incident.cameras] });
  }

  /** 'all' grants of the incident follow its cameras: their investigators' consoles refresh. */
  #grantsCamerasChanged(incident: IncidentRecord): void {
    for (const grant of this.#activeGrants.values()) {
      if (grant.incidentId === incident.id) this.emit('grantChanged', { grant, change: 'cameras' });
    }
  }

  async #breakGlassEnded(id: string): Promise<void> {
    const view = this.#breakGlass.get(id);
    if (!view) return;
    this.#breakGlass.delete(id);
    await this.audit
      .record({ action: 'break_glass.end', userId: view.userId, ...(view.username && { username: view.username }), cameraId: view.camera, details: { breakGlassId: id, reason: 'time limit reached', durationMs: Date.now() - view.startedAt } })
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not record a break-glass end'));
    this.emit('accessChanged', { userIds: [view.userId], cameras: [view.camera], reason: `break-glass view of camera ${view.camera} ended: ${this.settings.breakGlassMinutes} minutes at most` });
  }

  #audit(actor: UserRecord | undefined, action: string, incidentId: string, details: Record<string, unknown>, cameraId?: string): Promise<AuditEntry> {
    return this.audit.record({
      action,
      incidentId,
      ...(actor && { userId: actor.id, username: actor.username }),
      ...(cameraId && { cameraId }),
      details,
    });
  }
}

function actorOf(user: UserRecord): Actor {
  return { userId: user.id, username: user.username };
}

