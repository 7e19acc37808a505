import { AppError } from '../errors/AppError.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { CameraDirectory, CameraSource } from '../cameras/CameraDirectory.ts';
import type { CameraRepository } from './CameraRepository.ts';
import { healthFilterValues, type ApprovalStatus, type CameraArea, type CameraFilter, type CameraPatch, type CameraRecord, type HealthStatus, type SealedUrl } from './CameraRecord.ts';
import type { CameraCreate, CameraPatchInput, CameraQuery, CameraView } from './cameraSchemas.ts';
import { normaliseRtspUrl, splitCredentials } from './rtspUrl.ts';
import { checkTlsFingerprintUrl } from './tlsFingerprint.ts';
import type { UrlVault } from './UrlVault.ts';
import type { ConfigCamera } from '../config/schema.ts';

export type StatusAction = 'approve' | 'reject' | 'suspend' | 'reinstate' | 'revoke' | 'review';

/**
 * Allowed transitions: pending -> approved | rejected; approved <-> suspended; any -> revoked
 * (final); 'review' (not on the REST API: a citizen owner's new URL) approved | rejected -> pending (a
 * suspended camera stays suspended: the agency's decision).
 */
const transitions: Record<StatusAction, { from: ApprovalStatus[]; to: ApprovalStatus }> = {
  approve: { from: ['pending'], to: 'approved' },
  reject: { from: ['pending'], to: 'rejected' },
  suspend: { from: ['approved'], to: 'suspended' },
  reinstate: { from: ['suspended'], to: 'approved' },
  revoke: { from: ['pending', 'approved', 'rejected', 'suspended'], to: 'revoked' },
  review: { from: ['approved', 'rejected'], to: 'pending' },
};

export type CameraCatalogEvents = {
  /**
   * A camera's record changed. `viewable`: it may still be watched at all; `restart`: what the
   * ingest uses (URL, credentials, transport, engine, pinned certificate) changed, so a running ingest must start again.
   */
  changed: [{ camera: CameraRecord; viewable: boolean; restart: boolean; why: string }];
};

/** The catalog's rules over a repository: validation, sealed URLs, status transitions, retirement. */
export class CameraCatalog extends TypedEmitter<CameraCatalogEvents> {
  constructor(
    readonly repository: CameraRepository,
    private readonly vault: UrlVault,
  ) {
    super();
  }

  async create(input: CameraCreate, options: { status?: ApprovalStatus } = {}): Promise<CameraRecord> {
    const mainUrl = this.#seal(input.mainUrl, 'mainUrl', input.credentials);
    const substreamUrl = input.substreamUrl ? this.#seal(input.substreamUrl, 'substreamUrl', input.credentials) : undefined;
    checkTlsFingerprintUrl(input.mainUrl, input.tlsFingerprint);
    return this.repository.insert({
      code: input.code,
      name: input.name,
      area: input.area,
      owner: input.owner,
      category: input.category,
      municipality: input.municipality,
      ...(input.location && { location: input.location }),
      mainUrl,
      ...(substreamUrl && { substreamUrl }),
      transport: input.transport,
      ...(input.engine !== undefined && { engine: input.engine }),
      ...(input.tlsFingerprint !== undefined && { tlsFingerprint: input.tlsFingerprint }),
      ...(input.area === 'citizen' && { sharing: input.sharing ?? 'incident-only' }),
      status: options.status ?? 'pending',
      alwaysOn: input.alwaysOn,
      tags: input.tags,
    });
  }

  /**
   * Registers (approved) a camera listed in the configuration or by the demo, once; later starts
   * only bring its URL up to date (the demo simulator's port changes), never its status. A
   * tlsFingerprint in the configuration replaces the stored one; without one, a pin set through the
   * API is kept (while the URL stays rtsps://).
   */
  async ensureConfigured(camera: ConfigCamera): Promise<CameraRecord> {
    const credentials = camera.username ? { username: camera.username, ...(camera.password && { password: camera.password }) } : undefined;
    const existing = await this.repository.findByCode(camera.id);
    if (!existing) {
      return this.create(
        {
          code: camera.id,
          name: camera.name,
          area: camera.area,
          owner: { kind: 'organisation', name: 'C5 configuration', ...(camera.area === 'citizen' && { agreementRef: 'configured', enrolledBy: 'configuration' }) },
          category: 'other',
          municipality: 'unspecified',
          mainUrl: camera.url,
          ...(camera.substreamUrl && { substreamUrl: camera.substreamUrl }),
          ...(credentials && { credentials }),
          transport: camera.transport,
          ...(camera.engine !== undefined && { engine: camera.engine }),
          ...(camera.tlsFingerprint !== undefined && { tlsFingerprint: camera.tlsFingerprint }),
          ...(camera.area === 'citizen' && { sharing: 'live' as const }),
          alwaysOn: camera.alwaysOn,
          tags: ['configured'],
        },
        { status: 'approved' },
      );
    }
    const wanted = normaliseRtspUrl(camera.url, 'url', credentials);
    checkTlsFingerprintUrl(wanted, camera.tlsFingerprint);
    const fingerprint = camera.tlsFingerprint ?? (/^rtsps:/i.test(wanted) ? existing.tlsFingerprint : undefined);
    const engine = camera.engine ?? 'auto';
    const wantedSub = camera.substreamUrl ? normaliseRtspUrl(camera.substreamUrl, 'substreamUrl', credentials) : undefined;
    const sameSub = (existing.substreamUrl ? this.vault.open(existing.substreamUrl) : undefined) === wantedSub;
    if (this.vault.open(existing.mainUrl) === wanted && sameSub && existing.transport === camera.transport && (existing.engine ?? 'auto') === engine && existing.alwaysOn === camera.alwaysOn && existing.tlsFingerprint === fingerprint) return existing;
    const updated = await this.repository.update(existing.id, {
      mainUrl: this.vault.seal(wanted),
      substreamUrl: wantedSub ? this.vault.seal(wantedSub) : null,
      transport: camera.transport,
      engine,
      alwaysOn: camera.alwaysOn,
      tlsFingerprint: fingerprint ?? null,
    });
    return updated ?? existing;
  }

  async get(id: string, options: { includeRetired?: boolean } = {}): Promise<CameraRecord> {
    const camera = await this.repository.findById(id);
    if (!camera || (camera.retiredAt && !options.includeRetired)) throw new AppError('not_found', `no camera ${id}`);
    return camera;
  }

  /**
   * A camera by its code, or by its database id (the REST alias, deprecated): the code always wins,
   * so a code that looks like an id names its own camera. `byAlias` tells that the id was used.
   */
  async resolve(codeOrId: string, options: { includeRetired?: boolean } = {}): Promise<{ camera: CameraRecord; byAlias: boolean }> {
    const byCode = await this.repository.findByCode(codeOrId);
    const camera = byCode ?? (await this.repository.findById(codeOrId));
    if (!camera || (camera.retiredAt && !options.includeRetired)) throw new AppError('not_found', `no camera ${codeOrId}`);
    return { camera, byAlias: !byCode };
  }

  async list(query: CameraQuery, visible: CameraFilter = {}): Promise<{ items: CameraRecord[]; total: number }> {
    const { offset, limit, ...filter } = query;
    return this.repository.list(
      {
        ...visible,
        ...(filter.area && { area: filter.area }),
        ...(filter.status && { status: filter.status }),
        ...(filter.municipality && { municipality: filter.municipality }),
        ...(filter.near && { near: filter.near }),
        ...(filter.q && { q: filter.q }),
        ...(filter.health && { health: filter.health }),
        ...(filter.includeRetired && { includeRetired: true }),
      },
      { offset, limit },
    );
  }

  /**
   * `byEnrolment`: the change comes from the citizen program (EnrolmentService). A camera its owner
   * enrolled keeps its 'enrolled' tag whatever a patch or an import says (the address pin and the
   * owner's link depend on it), and its sharing is its owner's consent: changed only by the owner.
   */
  async update(id: string, input: CameraPatchInput, options: { byEnrolment?: boolean } = {}): Promise<CameraRecord> {
    const current = await this.get(id);
    if (input.sharing && current.area !== 'citizen') throw new AppError('invalid_request', 'sharing: only citizen cameras have a sharing mode');
    const enrolled = isEnrolled(current);
    if (enrolled && !options.byEnrolment && input.sharing !== undefined && input.sharing !== current.sharing) {
      throw new AppError('invalid_state', `sharing: camera ${current.code} was enrolled by its owner (${current.owner.agreementRef ?? 'enrolment'}), whose consent only the owner changes (status link)`);
    }
    const { credentials, mainUrl, substreamUrl, ...plain } = input;
    const patch: CameraPatch = { ...plain };
    if (enrolled && patch.tags && !patch.tags.includes(ENROLLED_TAG)) patch.tags = [...patch.tags, ENROLLED_TAG];
    if (mainUrl !== undefined || credentials !== undefined) {
      // A new URL, new credentials (null removes them), or both; otherwise what is stored stays.
      const stored = splitCredentials(this.vault.open(current.mainUrl));
      const storedCredentials = stored.username ? { username: stored.username, ...(stored.password && { password: stored.password }) } : undefined;
      const inline = mainUrl !== undefined && /^[a-z]+:\/\/[^/]*@/i.test(mainUrl);
      const creds = credentials === null ? undefined : credentials ?? (inline ? undefined : storedCredentials);
      patch.mainUrl = this.#seal(mainUrl ?? stored.url, 'mainUrl', creds);
    }
    if (substreamUrl !== undefined) patch.substreamUrl = substreamUrl === null ? null : this.#seal(substreamUrl, 'substreamUrl', credentials ?? undefined);
    // The pin (kept or new) must still fit the URL (new or kept): an rtsp:// camera has no certificate.
    const fingerprint = input.tlsFingerprint === undefined ? current.tlsFingerprint : input.tlsFingerprint ?? undefined;
    checkTlsFingerprintUrl(mainUrl ?? current.mainUrl.masked, fingerprint);
    const updated = await this.repository.update(id, patch);
    if (!updated) throw new AppError('not_found', `no camera ${id}`);
    // A new substream URL restarts the camera's streams too: a running substream would go on pulling the old one.
    const restart = ['mainUrl', 'substreamUrl', 'credentials', 'transport', 'engine', 'tlsFingerprint'].some((key) => key in input);
    this.emit('changed', { camera: updated, viewable: isViewable(updated), restart, why: 'camera updated' });
    return updated;
  }

  async changeStatus(id: string, action: StatusAction, reason: string): Promise<CameraRecord> {
    const current = await this.get(id);
    const transition = transitions[action];
    if (!transition.from.includes(current.status)) {
      throw new AppError('invalid_state', `cannot ${action} a camera that is ${current.status}`);
    }
    const updated = await this.repository.changeStatus(id, { ...transition, reason });
    if (!updated) throw new AppError('invalid_state', `the camera changed meanwhile: cannot ${action} it now`);
    this.emit('changed', { camera: updated, viewable: isViewable(updated), restart: false, why: `camera ${updated.status}: ${reason}` });
    return updated;
  }

  /** Deleting retires: the record stays for the audit trail and its code is never reused. */
  async retire(id: string): Promise<CameraRecord> {
    await this.get(id);
    const retired = await this.repository.retire(id);
    if (!retired) throw new AppError('not_found', `no camera ${id}`);
    this.emit('changed', { camera: retired, viewable: false, restart: false, why: 'camera retired' });
    return retired;
  }

  /**
   * A page of the cameras that may be watched, with the fleet's health counts and municipalities
   * (over every watchable camera, whatever the filter) for the console's fleet view.
   */
  async fleetPage(query: { area?: CameraArea; municipality?: string; health?: HealthStatus | 'unknown'; q?: string; offset: number; limit: number }, visible: CameraFilter = {}) {
    const scope: CameraFilter = { ...visible, status: ['approved'] };
    const { offset, limit, ...filters } = query;
    const [page, municipalities, counts] = await Promise.all([
      this.repository.list({ ...scope, ...filters }, { offset, limit }),
      this.repository.municipalities(scope),
      Promise.all(healthFilterValues.map(async (health) => [health, await this.repository.count({ ...scope, health })] as const)),
    ]);
    const healthCounts = Object.fromEntries(counts) as Record<(typeof healthFilterValues)[number], number>;
    return { ...page, municipalities, healthCounts };
  }

  /** Whether a stored camera already holds exactly what `input` would register (imports are idempotent). */
  sameAs(camera: CameraRecord, input: CameraCreate): boolean {
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    const url = (value: string | undefined) => (value === undefined ? undefined : normaliseRtspUrl(value, 'url', input.credentials));
    return (
      camera.name === input.name &&
      camera.area === input.area &&
      same(sortKeys(camera.owner), sortKeys(input.owner)) &&
      camera.category === input.category &&
      camera.municipality === input.municipality &&
      same(camera.location && { lat: camera.location.lat, lng: camera.location.lng }, input.location && { lat: input.location.lat, lng: input.location.lng }) &&
      this.vault.open(camera.mainUrl) === url(input.mainUrl) &&
      (camera.substreamUrl ? this.vault.open(camera.substreamUrl) : undefined) === url(input.substreamUrl) &&
      camera.transport === input.transport &&
      (camera.engine ?? 'auto') === (input.engine ?? 'auto') &&
      camera.tlsFingerprint === input.tlsFingerprint &&
      (camera.area !== 'citizen' || camera.sharing === (input.sharing ?? 'incident-only')) &&
      camera.alwaysOn === input.alwaysOn &&
      same(camera.tags, input.tags)
    );
  }

  /** The public view: masked URLs only. */
  view(camera: CameraRecord): CameraView {
    return {
      id: camera.id,
      code: camera.code,
      name: camera.name,
      area: camera.area,
      owner: camera.owner,
      category: camera.category,
      municipality: camera.municipality,
      ...(camera.location && { location: camera.location }),
      mainUrl: camera.mainUrl.masked,
      ...(camera.substreamUrl && { substreamUrl: camera.substreamUrl.masked }),
      hasCredentials: camera.mainUrl.masked.includes('***@'),
      transport: camera.transport,
      engine: camera.engine ?? 'auto',
      ...(camera.tlsFingerprint && { tlsFingerprint: camera.tlsFingerprint }),
      ...(camera.sharing && { sharing: camera.sharing }),
      status: camera.status,
      ...(camera.statusReason && { statusReason: camera.statusReason }),
      statusChangedAt: camera.statusChangedAt.toISOString(),
      alwaysOn: camera.alwaysOn,
      tags: camera.tags,
      createdAt: camera.createdAt.toISOString(),
      updatedAt: camera.updatedAt.toISOString(),
      ...(camera.retiredAt && { retiredAt: camera.retiredAt.toISOString() }),
      ...(camera.health && {
        health: {
          status: camera.health.status,
          since: camera.health.since.toISOString(),
          ...(camera.health.lastSeenAt && { lastSeenAt: camera.health.lastSeenAt.toISOString() }),
          ...(camera.health.message && { message: camera.health.message }),
          ...(camera.health.stream && { stream: camera.health.stream }),
          ...(camera.health.redirectedTo && { redirectedTo: camera.health.redirectedTo }),
        },
      }),
    };
  }

  /**
   * The live path's directory, by camera code: only approved, unretired cameras can be viewed.
   * `pin` (issue 26): the address an enrolled citizen camera's URL may be connected to (the address
   * guard's answer), asked for its main URL (and substream URL), without credentials, each time a
   * session starts; the ingest then connects to that address only (CameraSource.pinned). A refusal
   * makes get() throw camera_unavailable (its reason, never the address); list() leaves the camera out.
   */
  asDirectory(options: { pin?: (url: string) => Promise<{ address: string }> } = {}): CameraDirectory {
    const { pin } = options;
    const live = async (camera: CameraRecord): Promise<CameraSource> => {
      const source = this.#live(camera);
      if (!pin || !isEnrolled(camera)) return source;
      try {
        const pinned = { address: (await pin(source.url)).address };
        const substream = source.substream && { ...source.substream, pinned: { address: (await pin(source.substream.url)).address } };
        return { ...source, pinned, ...(substream && { substream }) };
      } catch (error) {
        const reason = (error as { details?: { reason?: unknown } }).details?.reason;
        const word = typeof reason === 'string' && /^[a-z_]{1,32}$/.test(reason) ? ` (${reason})` : '';
        throw new AppError('camera_unavailable', `the camera's address is not allowed${word}`, { reason: 'address_refused' });
      }
    };
    return {
      get: async (code) => {
        const camera = await this.repository.findByCode(code);
        if (!camera || camera.retiredAt) return undefined;
        // A pending camera's stream may run for an admin's review (LiveViewing.authorize decides who).
        if (!isViewable(camera) && camera.status !== 'pending') throw new AppError('forbidden', `camera ${camera.code} is ${camera.status} and cannot be viewed`);
        return live(camera);
      },
      list: async () => {
        const { items } = await this.repository.list({ status: ['approved'] }, { offset: 0, limit: 100_000 });
        const sources = await Promise.all(items.map((camera) => live(camera).catch(() => undefined)));
        return sources.filter((source): source is CameraSource => source !== undefined);
      },
    };
  }

  /** The URL without credentials and the credentials apart: only for the ingest and the prober. */
  connectionOf(camera: CameraRecord): { url: string; username?: string; password?: string } {
    return splitCredentials(this.vault.open(camera.mainUrl));
  }

  #live(camera: CameraRecord): CameraSource {
    const { url, username, password } = this.connectionOf(camera);
    return {
      id: camera.code,
      name: camera.name,
      url,
      transport: camera.transport,
      // 'auto' (or none) leaves the choice to the server's default (config ingest.engine, itself 'auto' by default).
      ...(camera.engine !== undefined && camera.engine !== 'auto' && { engine: camera.engine }),
      alwaysOn: camera.alwaysOn,
      area: camera.area,
      ...(username !== undefined && { username }),
      ...(password !== undefined && { password }),
      ...(camera.tlsFingerprint !== undefined && { tls: { verify: true, fingerprint256: camera.tlsFingerprint } }),
      ...(camera.substreamUrl && { substream: splitCredentials(this.vault.open(camera.substreamUrl)) }),
      ...(camera.streamSizes && { streamSizes: camera.streamSizes }),
    };
  }

  #seal(url: string, field: string, credentials: CameraCreate['credentials'] | undefined): SealedUrl {
    return this.vault.seal(normaliseRtspUrl(url, field, credentials));
  }
}

function sortKeys(value: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
}

/** The tag of cameras their owners enrolled through the citizen program's page. */
export const ENROLLED_TAG = 'enrolled';

/** Whether the camera's owner enrolled it (public page): pinned to its guarded address, decided in the review queue. */
export function isEnrolled(camera: Pick<CameraRecord, 'tags'>): boolean {
  return camera.tags.includes(ENROLLED_TAG);
}

export function isViewable(camera: CameraRecord): boolean {
  return camera.status === 'approved' && !camera.retiredAt;
}
