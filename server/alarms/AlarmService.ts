import type { Logger } from '../logging/createLogger.ts';
import { AppError } from '../errors/AppError.ts';
import type { AuditLog } from '../audit/AuditLog.ts';
import { VisibilityPolicy, type Viewer } from '../auth/VisibilityPolicy.ts';
import type { CameraCatalog } from '../catalog/CameraCatalog.ts';
import { distanceKm } from '../catalog/geo.ts';
import { KeyedSerializer } from '../util/KeyedSerializer.ts';
import type { IncidentService } from '../incidents/IncidentService.ts';
import type { Actor, Disposition, IncidentRecord } from '../incidents/IncidentRecord.ts';
import type { UserRecord } from '../users/UserRecord.ts';
import type { AlarmCameraView, AlarmDeviceStatusEvent, AlarmView } from '../signalling/protocol.ts';
import type { AlarmDeviceService } from './AlarmDeviceService.ts';
import type { AlarmRepository } from './AlarmRepository.ts';
import type { AlarmDeviceRecord, AlarmDisposition, AlarmRecord, AlarmSource, AlarmStatus } from './AlarmRecord.ts';
import type { AlarmIntake as AlarmIntakeBody } from './alarmSchemas.ts';

export interface AlarmSettings {
  /** Presses within this time of the last one join its alarm (s). */
  joinWindowS: number;
  /** Cameras within this distance are attached after the linked ones (m). */
  radiusM: number;
  /** Unacknowledged this long: announced again, wider (s). */
  reannounceS: number;
  reannounceMax: number;
}

/** Where alarms are shown: the consoles (SignallingServer), wired by the App. */
export interface AlarmNotifier {
  /** Rings the consoles the alarm is announced to; returns how many consoles were reached. */
  raised(alarm: AlarmView): number;
  /** An alarm changed (acknowledged, pressed again while acknowledged, closed). */
  changed(alarm: AlarmView): void;
}

/** What a press came with, beyond the device. */
export interface PressInput {
  body: AlarmIntakeBody;
  source: AlarmSource;
  /** The address it came from (audit). */
  ip?: string;
}

export type PressResult =
  | { outcome: 'opened' | 'joined'; alarm: AlarmView }
  | { outcome: 'test'; cameras: AlarmCameraView[] }
  | { outcome: 'heartbeat' };

/** Alarm dispositions and the incident disposition a 'false' or 'test' alarm closes its incident with. */
const incidentDisposition: Record<Exclude<AlarmDisposition, 'real'>, Disposition> = { false: 'false_alarm', test: 'other' };

interface OpenAlarm {
  record: AlarmRecord;
  view: AlarmView;
  timer?: NodeJS.Timeout;
}

/**
 * The alarm path shared by every intake (signed HTTP, later SIA DC-09): a press opens an incident at
 * the place with the device's linked cameras and then the nearest (or joins the device's alarm still
 * open within the join window), is announced to the operators whose scope covers it, re-announced to
 * every operator and admin while nobody acknowledges it, acknowledged by the first operator (the others
 * see who), and closed with a disposition. Devices in test mode open nothing. Every step is audited
 * with the incident's id. Alarms not closed are kept in memory (loaded at start, timers re-armed).
 */
export class AlarmService {
  readonly #active = new Map<string, OpenAlarm>();
  /** Per alarm ('alarm:<id>', see #serially) and per device ('device:<id>': presses), the changes in progress. */
  readonly #changes = new KeyedSerializer();
  #notifier: AlarmNotifier = { raised: () => 0, changed: () => undefined };
  #closed = false;
  /** Its listener on IncidentService (removed at close). */
  #onIncidentChanged: ((event: { incident: IncidentRecord; change: string }) => void) | undefined;

  private constructor(
    private readonly alarms: AlarmRepository,
    private readonly devices: AlarmDeviceService,
    private readonly incidents: IncidentService,
    private readonly catalog: CameraCatalog,
    private readonly audit: AuditLog,
    private readonly settings: AlarmSettings,
    private readonly logger: Logger,
  ) {}

  static async create(options: { alarms: AlarmRepository; devices: AlarmDeviceService; incidents: IncidentService; catalog: CameraCatalog; audit: AuditLog; settings: AlarmSettings; logger: Logger }): Promise<AlarmService> {
    const service = new AlarmService(options.alarms, options.devices, options.incidents, options.catalog, options.audit, options.settings, options.logger);
    for (let offset = 0; ; offset += 500) {
      const page = await options.alarms.list({ status: ['open', 'acknowledged'] }, { offset, limit: 500 });
      for (const record of page.items) {
        const device = await options.devices.repository.findById(record.deviceId);
        service.#active.set(record.id, { record, view: await service.#view(record, device) });
        if (record.status === 'open') service.#arm(record.id);
      }
      if (page.items.length < 500) break;
    }
    // An incident closed by an operator closes its alarm too (nothing left to acknowledge).
    service.#onIncidentChanged = ({ incident, change }) => {
      if (change === 'closed') void service.#incidentClosed(incident);
    };
    options.incidents.on('incidentChanged', service.#onIncidentChanged);
    options.logger.info({ activeAlarms: service.#active.size }, 'alarms loaded');
    return service;
  }

  /** Where alarms are announced (set once the consoles' server exists). */
  connect(notifier: AlarmNotifier): void {
    this.#notifier = notifier;
  }

  /**
   * A press (or heartbeat) from an authenticated device. Heartbeats and presses of devices in test
   * mode open nothing; the others open or join an alarm and ring the consoles.
   */
  async press(device: AlarmDeviceRecord, input: PressInput): Promise<PressResult> {
    if (this.#closed) throw new AppError('shutting_down', 'the server is shutting down');
    const now = new Date();
    await this.devices.seen(device, now);
    if (input.body.type === 'heartbeat') return { outcome: 'heartbeat' };
    const position = device.kind === 'mobile_app' ? input.body.position : undefined;
    if (device.status === 'test') {
      const cameras = await this.#camerasNear(device, position ?? device.location);
      await this.audit.record({
        action: 'alarm.test',
        deviceId: device.id,
        ...(input.ip && { ip: input.ip }),
        details: { device: device.code, source: input.source, cameras: cameras.map((camera) => camera.code), ...(position && { position }), ...(input.body.note && { note: input.body.note }) },
      });
      return { outcome: 'test', cameras };
    }
    // One press at a time per device: ten quick presses are one alarm and one incident.
    return this.#changes.run(`device:${device.id}`, () => this.#press(device, input, position, now));
  }

  /** Alarms not closed that are announced to the viewer, newest first. */
  activeFor(viewer: Viewer): AlarmView[] {
    return [...this.#active.values()]
      .filter((entry) => VisibilityPolicy.announcedTo(viewer, entry.record))
      .map((entry) => entry.view)
      .sort((a, b) => (a.firstAt < b.firstAt ? 1 : -1));
  }

  /** Supervised devices offline now whose place the viewer covers (admins: all). */
  offlineFor(viewer: Viewer): AlarmDeviceStatusEvent[] {
    return this.devices
      .offline()
      .filter((device) => viewer.role === 'admin' || VisibilityPolicy.announcedTo(viewer, { area: device.area, municipality: device.municipality, announceLevel: 0 }))
      .map(({ area: _area, ...event }) => event);
  }

  /** One alarm (closed ones too) for someone it is announced to (admins: any). Throws not_found. */
  async get(viewer: UserRecord, id: string): Promise<AlarmView> {
    const active = this.#active.get(id);
    if (active) {
      if (!this.#mayHandle(viewer, active.record)) throw new AppError('not_found', `no alarm ${id}`);
      return active.view;
    }
    const record = await this.alarms.findById(id);
    if (!record || !this.#mayHandle(viewer, record)) throw new AppError('not_found', `no alarm ${id}`);
    return this.#view(record, await this.devices.repository.findById(record.deviceId));
  }

  /** Alarms by status (default: not closed), those the viewer handles, newest first. */
  async list(viewer: UserRecord, query: { status?: AlarmStatus[]; offset: number; limit: number }): Promise<{ items: AlarmView[]; total: number }> {
    const status = query.status ?? ['open', 'acknowledged'];
    if (status.every((value) => value !== 'closed')) {
      // Admins see every alarm not closed (their consoles ring only once one is re-announced).
      const active = viewer.role === 'admin' ? [...this.#active.values()].map((entry) => entry.view).sort((a, b) => (a.firstAt < b.firstAt ? 1 : -1)) : this.activeFor(viewer);
      const items = active.filter((alarm) => (status as readonly AlarmStatus[]).includes(alarm.status));
      return { items: items.slice(query.offset, query.offset + query.limit), total: items.length };
    }
    if (viewer.role !== 'admin' && viewer.role !== 'operator') throw new AppError('forbidden', 'only operators and admins see alarms');
    const page = await this.alarms.list(
      {
        status,
        ...(viewer.role === 'operator' && { areas: [...viewer.areas] }),
        ...(viewer.role === 'operator' && viewer.municipalities.length > 0 && { municipalities: [...viewer.municipalities] }),
      },
      { offset: query.offset, limit: query.limit },
    );
    const items = await Promise.all(page.items.map(async (record) => this.#active.get(record.id)?.view ?? this.#view(record, await this.devices.repository.findById(record.deviceId))));
    return { items, total: page.total };
  }

  /**
   * The first operator to acknowledge takes the alarm: ringing stops everywhere, the others see who.
   * Throws not_found, invalid_state (acknowledged by someone else, with who and when; or closed).
   */
  acknowledge(actor: UserRecord, id: string): Promise<AlarmView> {
    return this.#serially(id, () => this.#acknowledge(actor, id));
  }

  async #acknowledge(actor: UserRecord, id: string): Promise<AlarmView> {
    const entry = await this.#handled(actor, id);
    const updated = await this.alarms.acknowledge(id, actorOf(actor), new Date());
    if (!updated) {
      const current = (await this.alarms.findById(id)) ?? entry.record;
      if (current.status === 'acknowledged' && current.acknowledgedBy) {
        throw new AppError('invalid_state', `alarm already acknowledged by ${current.acknowledgedBy.username}`, {
          acknowledgedBy: current.acknowledgedBy.username,
          ...(current.acknowledgedAt && { acknowledgedAt: current.acknowledgedAt.toISOString() }),
        });
      }
      throw new AppError('invalid_state', `alarm ${id} is ${current.status}`);
    }
    clearTimeout(entry.timer);
    const view = await this.#remember(updated);
    await this.#audit(actor, 'alarm.acknowledge', updated, { afterMs: updated.acknowledgedAt!.getTime() - updated.firstAt.getTime(), announceLevel: updated.announceLevel });
    this.#notifier.changed(view);
    return view;
  }

  /**
   * Closes an alarm with its disposition: 'real' leaves the incident open for the operators to run;
   * 'false' and 'test' close the incident too. Throws not_found, invalid_state (closed already).
   */
  closeAlarm(actor: UserRecord, id: string, closing: { disposition: AlarmDisposition; note?: string }): Promise<AlarmView> {
    return this.#serially(id, () => this.#close(actor, id, closing));
  }

  async #close(actor: UserRecord, id: string, closing: { disposition: AlarmDisposition; note?: string }): Promise<AlarmView> {
    const entry = await this.#handled(actor, id);
    const closed = await this.alarms.markClosed(id, { closedBy: actorOf(actor), closedAt: new Date(), disposition: closing.disposition, ...(closing.note && { closingNote: closing.note }) });
    if (!closed) throw new AppError('invalid_state', `alarm ${id} is closed already`);
    clearTimeout(entry.timer);
    this.#active.delete(id);
    const view = await this.#view(closed, await this.devices.repository.findById(closed.deviceId));
    await this.#audit(actor, 'alarm.close', closed, { disposition: closing.disposition, ...(closing.note && { note: closing.note }), openMs: closed.closedAt!.getTime() - closed.firstAt.getTime() });
    if (closing.disposition !== 'real') {
      await this.incidents.closeForAlarm(closed.incidentId, actor, { disposition: incidentDisposition[closing.disposition], note: closing.note ?? `alarm closed as ${closing.disposition}` });
    }
    this.#notifier.changed(view);
    return view;
  }

  close(): void {
    this.#closed = true;
    if (this.#onIncidentChanged) this.incidents.off('incidentChanged', this.#onIncidentChanged);
    for (const entry of this.#active.values()) clearTimeout(entry.timer);
  }

  // ---- internals ---------------------------------------------------------------------------------

  async #press(device: AlarmDeviceRecord, input: PressInput, position: AlarmIntakeBody['position'], now: Date): Promise<PressResult> {
    const joinable = await this.alarms.findJoinable(device.id, new Date(now.getTime() - this.settings.joinWindowS * 1000));
    if (joinable && this.incidents.isOpen(joinable.incidentId)) {
      // After an acknowledgement, close or re-announcement of it in progress (which it would otherwise undo in memory).
      const joined = await this.#serially(joinable.id, async (): Promise<PressResult | undefined> => {
        const pressed = await this.alarms.press(joinable.id, now);
        if (!pressed) return undefined;
        const view = await this.#remember(pressed);
        await this.#audit(undefined, 'alarm.receive', pressed, { device: device.code, source: input.source, joined: true, presses: pressed.presses, ...(input.ip && { ip: input.ip }) });
        // Still unacknowledged: ring again; acknowledged: the operator who took it sees the count.
        if (pressed.status === 'open') this.#notifier.raised(view);
        else this.#notifier.changed(view);
        return { outcome: 'joined', alarm: view };
      });
      if (joined) return joined;
    }
    const location = position ? { lat: position.lat, lng: position.lng } : { ...device.location };
    const openedBy: Actor = { userId: `device:${device.id}`, username: `alarm device ${device.code}` };
    const { incident, cameras } = await this.incidents.openForAlarm(
      { title: `Panic alarm: ${device.name}`, location, radiusM: this.settings.radiusM, municipality: device.municipality, linked: device.cameras },
      openedBy,
      { alarm: true, device: device.code },
    );
    const record = await this.alarms.insert({
      deviceId: device.id,
      deviceCode: device.code,
      incidentId: incident.id,
      source: input.source,
      location,
      positionSource: position ? 'app' : 'device',
      ...(position?.accuracyM !== undefined && { accuracyM: position.accuracyM }),
      area: device.area,
      municipality: device.municipality,
      status: 'open',
      presses: 1,
      firstAt: now,
      lastAt: now,
      announceLevel: 0,
      announcedAt: now,
      ...(input.body.note && { note: input.body.note }),
    });
    const view = await this.#remember(record, device, cameras);
    await this.#audit(undefined, 'alarm.receive', record, {
      device: device.code,
      source: input.source,
      joined: false,
      location,
      positionSource: record.positionSource,
      cameras: cameras.map((camera) => ({ code: camera.code, linked: camera.linked, ...(camera.distanceM !== undefined && { distanceM: camera.distanceM }) })),
      ...(input.ip && { ip: input.ip }),
    });
    const reached = this.#notifier.raised(view);
    if (reached === 0) {
      // Nobody whose scope covers the place is connected: announce it to everyone now, not in N seconds.
      await this.#reannounce(record.id, 'no operator covering the place is connected');
    } else {
      this.#arm(record.id);
    }
    return { outcome: 'opened', alarm: this.#active.get(record.id)?.view ?? view };
  }

  /** Re-announces an open alarm one level wider after settings.reannounceS, up to reannounceMax times. */
  #arm(id: string): void {
    const entry = this.#active.get(id);
    if (!entry || this.#closed || entry.record.status !== 'open' || entry.record.announceLevel >= this.settings.reannounceMax) return;
    clearTimeout(entry.timer);
    const due = entry.record.announcedAt.getTime() + this.settings.reannounceS * 1000;
    entry.timer = setTimeout(() => {
      void this.#reannounce(id, `not acknowledged within ${this.settings.reannounceS} s`).catch((error: unknown) => this.logger.error({ err: error, alarm: id }, 'could not re-announce an alarm'));
    }, Math.max(0, due - Date.now()));
    entry.timer.unref();
  }

  #reannounce(id: string, why: string): Promise<void> {
    return this.#serially(id, () => this.#reannounceNow(id, why));
  }

  async #reannounceNow(id: string, why: string): Promise<void> {
    const entry = this.#active.get(id);
    if (!entry || entry.record.status !== 'open' || this.#closed) return;
    const updated = await this.alarms.reannounce(id, entry.record.announceLevel + 1, new Date());
    if (!updated) return;
    const view = await this.#remember(updated);
    await this.#audit(undefined, 'alarm.reannounce', updated, { level: updated.announceLevel, why, unacknowledgedMs: Date.now() - updated.firstAt.getTime() });
    this.#notifier.raised(view);
    this.#arm(id);
  }

  async #incidentClosed(incident: IncidentRecord): Promise<void> {
    for (const { record } of [...this.#active.values()].filter((active) => active.record.incidentId === incident.id)) {
      await this.#serially(record.id, () => this.#closeWithIncident(record.id, incident));
    }
  }

  async #closeWithIncident(id: string, incident: IncidentRecord): Promise<void> {
    const entry = this.#active.get(id);
    if (!entry) return;
    const disposition: AlarmDisposition = incident.disposition === 'false_alarm' ? 'false' : 'real';
    const closedBy = incident.closedBy ?? { userId: 'system', username: 'system' };
    const closed = await this.alarms.markClosed(entry.record.id, { closedBy, closedAt: new Date(), disposition, closingNote: 'its incident was closed' }).catch(() => undefined);
    if (!closed) return;
    clearTimeout(entry.timer);
    this.#active.delete(entry.record.id);
    await this.audit.record({ action: 'alarm.close', userId: closedBy.userId, username: closedBy.username, incidentId: incident.id, deviceId: closed.deviceId, details: { alarmId: closed.id, device: closed.deviceCode, disposition, why: 'incident closed' } }).catch(() => undefined);
    this.#notifier.changed(await this.#view(closed, await this.devices.repository.findById(closed.deviceId)));
  }

  /**
   * Runs `change` once the earlier changes of the same alarm have settled: press (join), acknowledge,
   * close and re-announce each read the alarm, write it and keep the result in memory, so one must not
   * put back in memory what another just changed (a closed alarm ringing again).
   */
  #serially<T>(id: string, change: () => Promise<T>): Promise<T> {
    return this.#changes.run(`alarm:${id}`, change);
  }

  /** The active alarm, if the actor may handle it. */
  async #handled(actor: UserRecord, id: string): Promise<OpenAlarm> {
    const entry = this.#active.get(id);
    if (entry && this.#mayHandle(actor, entry.record)) return entry;
    const record = entry ? undefined : await this.alarms.findById(id);
    if (record && this.#mayHandle(actor, record)) throw new AppError('invalid_state', `alarm ${id} is ${record.status}`);
    throw new AppError('not_found', `no alarm ${id}`);
  }

  /** Announced to them now, or (a closed alarm, a past level) an admin or an operator covering its place. */
  #mayHandle(viewer: UserRecord, record: AlarmRecord): boolean {
    return VisibilityPolicy.announcedTo(viewer, record) || viewer.role === 'admin' || VisibilityPolicy.announcedTo(viewer, { ...record, announceLevel: 0 });
  }

  /** Keeps an alarm not closed in memory with its view (cameras computed once, at opening). */
  async #remember(record: AlarmRecord, device?: AlarmDeviceRecord, cameras?: Array<{ code: string; linked: boolean; distanceM?: number }>): Promise<AlarmView> {
    const previous = this.#active.get(record.id);
    const view = await this.#view(record, device ?? (await this.devices.repository.findById(record.deviceId)), cameras);
    if (record.status === 'closed') this.#active.delete(record.id);
    else this.#active.set(record.id, { record, view, ...(previous?.timer && { timer: previous.timer }) });
    return view;
  }

  async #view(record: AlarmRecord, device: AlarmDeviceRecord | undefined, known?: Array<{ code: string; linked: boolean; distanceM?: number }>): Promise<AlarmView> {
    const cameras = known ?? (await this.#incidentCameras(record, device));
    const names = new Map((await this.catalog.repository.findByCodes(cameras.map((camera) => camera.code))).map((camera) => [camera.code, camera.name]));
    return {
      id: record.id,
      incidentId: record.incidentId,
      source: record.source,
      device: {
        id: record.deviceId,
        code: record.deviceCode,
        name: device?.name ?? record.deviceCode,
        kind: device?.kind ?? 'fixed_button',
        owner: device ? { name: device.owner.name, ...(device.owner.phone && { phone: device.owner.phone }) } : { name: '' },
        ...(device?.address && { address: device.address }),
      },
      location: { ...record.location },
      positionSource: record.positionSource,
      ...(record.accuracyM !== undefined && { accuracyM: record.accuracyM }),
      area: record.area,
      municipality: record.municipality,
      status: record.status,
      presses: record.presses,
      firstAt: record.firstAt.toISOString(),
      lastAt: record.lastAt.toISOString(),
      cameras: cameras.map((camera) => ({ code: camera.code, name: names.get(camera.code) ?? camera.code, linked: camera.linked, ...(camera.distanceM !== undefined && { distanceM: camera.distanceM }) })),
      ...(record.note && { note: record.note }),
      announceLevel: record.announceLevel,
      ...(record.acknowledgedBy && { acknowledgedBy: record.acknowledgedBy }),
      ...(record.acknowledgedAt && { acknowledgedAt: record.acknowledgedAt.toISOString() }),
      ...(record.closedBy && { closedBy: record.closedBy }),
      ...(record.closedAt && { closedAt: record.closedAt.toISOString() }),
      ...(record.disposition && { disposition: record.disposition }),
    };
  }

  /** The cameras of the alarm's incident now, linked ones marked, with their distance from the alarm. */
  async #incidentCameras(record: AlarmRecord, device: AlarmDeviceRecord | undefined): Promise<Array<{ code: string; linked: boolean; distanceM?: number }>> {
    const previous = this.#active.get(record.id)?.view.cameras;
    if (previous) return previous;
    const incident = await this.incidents.findRecord(record.incidentId);
    if (!incident) return [];
    const located = await this.catalog.repository.findByCodes(incident.cameras);
    return incident.cameras.map((code) => {
      const camera = located.find((found) => found.code === code);
      return { code, linked: device?.cameras.includes(code) ?? false, ...(camera?.location && { distanceM: Math.round(distanceM(record.location, camera.location)) }) };
    });
  }

  /** What a test-mode press would have attached (shown to the installer, attached to nothing). */
  async #camerasNear(device: AlarmDeviceRecord, location: { lat: number; lng: number }): Promise<AlarmCameraView[]> {
    const found = await this.catalog.repository.list({ status: ['approved'], near: { ...location, radiusKm: this.settings.radiusM / 1000 } }, { offset: 0, limit: 50 });
    const linked = await this.catalog.repository.findByCodes(device.cameras);
    return [
      ...linked.map((camera) => ({ code: camera.code, name: camera.name, linked: true })),
      ...found.items
        .filter((camera) => !device.cameras.includes(camera.code) && camera.location)
        .map((camera) => ({ code: camera.code, name: camera.name, linked: false, distanceM: Math.round(distanceM(location, camera.location!)) }))
        .sort((a, b) => a.distanceM - b.distanceM),
    ];
  }

  #audit(actor: UserRecord | undefined, action: string, record: AlarmRecord, details: Record<string, unknown>): Promise<unknown> {
    return this.audit.record({ action, incidentId: record.incidentId, deviceId: record.deviceId, ...(actor && { userId: actor.id, username: actor.username }), details: { alarmId: record.id, device: record.deviceCode, ...details } });
  }
}

function actorOf(user: UserRecord): Actor {
  return { userId: user.id, username: user.username };
}

function distanceM(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  return distanceKm(a, b) * 1000;
}
