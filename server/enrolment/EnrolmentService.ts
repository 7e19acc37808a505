import { randomBytes } from 'node:crypto';
import { AppError } from '../errors/AppError.ts';
import type { AuditInput } from '../audit/AuditLog.ts';
import { ENROLLED_TAG, isEnrolled, type CameraCatalog } from '../catalog/CameraCatalog.ts';
import type { CameraRecord } from '../catalog/CameraRecord.ts';
import { normaliseRtspUrl, splitCredentials } from '../catalog/rtspUrl.ts';
import { KeyedSerializer } from '../util/KeyedSerializer.ts';
import type { AddressGuard, GuardedTarget } from './AddressGuard.ts';
import type { RtspClientOptions } from '../../workers/rtsp.ts';
import { agreements, type AgreementText } from './agreements.ts';
import { EnrolmentLimits } from './EnrolmentLimits.ts';
import type { CheckResult, EnrolmentCheck, EnrolmentLanguage, EnrolmentRecord } from './EnrolmentRecord.ts';
import type { EnrolmentRepository } from './EnrolmentRepository.ts';
import type { AgreementView, EnrolmentReceipt, EnrolmentSubmit, OwnerChange, OwnerStatusView, ReviewItem, StatusLink } from './enrolmentSchemas.ts';
import { StatusToken } from './StatusToken.ts';

/** What the RTSP check of a camera found: the owner sees only `result`. */
export interface CameraCheckVerdict {
  result: CheckResult;
  /** For reviewers: the RTSP client's reason (no credentials, no addresses). */
  detail?: string;
  video?: { codec: string; width?: number; height?: number };
  /** The camera (or a redirect) led to an address the guard refuses. */
  refusedAddress?: boolean;
}

/**
 * Checks a camera (DESCRIBE, SETUP, TEARDOWN) connecting only where `resolveEndpoint` says: the
 * address the guard already resolved for the URL's own endpoint, the guard's answer for any other
 * one a redirect names (the composition root builds it on the RTSP client; the hook is its
 * RtspClientOptions.resolveEndpoint).
 */
export type CameraChecker = (target: { url: string; username?: string; password?: string }, resolveEndpoint: NonNullable<RtspClientOptions['resolveEndpoint']>) => Promise<CameraCheckVerdict>;

export interface EnrolmentSettings {
  agreementVersion: string;
  retentionDays: number;
  retentionCheckMs: number;
  /** RTSP checks running at once (submissions and owners' changes; admins' re-checks too); more wait for none: 429. */
  maxConcurrentChecks: number;
  /** false: no new enrolments (403); owners' links, the review and the erasure go on. Default true. */
  submissionsOpen?: boolean;
  /** Told of a failure in background work (the erasure, closing an enrolment the agency revoked). */
  onBackgroundError?: (error: unknown, what: string) => void;
}

/** Who acted, for the audit: an admin (userId), or the public (the client address). */
export interface Actor {
  userId?: string;
  username?: string;
  ip?: string;
}

const MUNICIPALITY_UNASSIGNED = 'unassigned';
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The citizen program (issue 26): a stranger's enrolment of a camera becomes a pending citizen
 * camera after the guard and an RTSP check; admins review it (approve with a municipality, or reject
 * with a reason); the owner, through a private status link, changes the sharing, the URL or
 * credentials (a new URL returns the camera to review), or withdraws it (revoked at once). Rejected
 * and withdrawn enrolments lose their personal data after `retentionDays`.
 *
 * Every change is audited without personal data (the reference names the enrolment): enrolment.
 * submitted, .checked, .approved, .rejected, .consent_changed, .updated, .withdrawn,
 * .link_reissued, .erased. Changes to one enrolment run one at a time (KeyedSerializer).
 *
 * Errors (AppError): invalid_request (a field, an unknown agreement version), unprocessable with
 * details.check = 'unauthorized' | 'unreachable' (the camera's check; nothing stored) or
 * details.reason = 'scheme' | 'port' | 'address' (the URL cannot be used), rate_limited,
 * unauthenticated (a status link that is not valid), not_found, invalid_state.
 */
export class EnrolmentService {
  readonly #serial = new KeyedSerializer();
  #retentionTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #checksRunning = 0;
  readonly #onCameraChanged: (event: { camera: CameraRecord }) => void;
  /** Background work in flight (close() waits for it). */
  readonly #background = new Set<Promise<unknown>>();
  #erasing: Promise<unknown> | undefined;

  constructor(
    private readonly repository: EnrolmentRepository,
    private readonly catalog: CameraCatalog,
    private readonly guard: AddressGuard,
    private readonly check: CameraChecker,
    readonly limits: EnrolmentLimits,
    private readonly audit: (input: AuditInput) => Promise<unknown>,
    private readonly settings: EnrolmentSettings,
  ) {
    if (!agreements[settings.agreementVersion]) throw new AppError('invalid_request', `no program agreement of version ${settings.agreementVersion}`);
    // The agency revoked or deleted an enrolled camera (camera routes): its enrolment closes, and the owner sees why.
    this.#onCameraChanged = ({ camera }) => {
      if (isEnrolled(camera) && (camera.status === 'revoked' || camera.retiredAt)) this.#track(this.#agencyRemoved(camera), 'closing the enrolment of a camera the agency removed');
    };
    catalog.on('changed', this.#onCameraChanged);
  }

  /** The agreement in force, in `language`. */
  agreement(language: EnrolmentLanguage): AgreementView {
    const text: AgreementText = agreements[this.settings.agreementVersion]![language];
    return { version: this.settings.agreementVersion, language, ...text };
  }

  /** A public submission (limits counted by the route before: source; here: contact). */
  async submit(input: EnrolmentSubmit, actor: Actor): Promise<EnrolmentReceipt> {
    if (this.settings.submissionsOpen === false) throw new AppError('forbidden', 'the program takes no new enrolments now', { closed: true });
    if (input.agreement.version !== this.settings.agreementVersion) {
      throw new AppError('invalid_request', `agreement.version: the agreement in force is ${this.settings.agreementVersion}; read it again and accept it`, { field: 'agreement.version' });
    }
    // A contact's budget counts enrolments stored, not attempts: fixing a typo costs nothing here
    // (the source's limit still counts every attempt, each of which checks a camera).
    const contactKey = EnrolmentLimits.contactKey(input.contact);
    await this.limits.contactMayEnrol(contactKey);
    const url = this.#normalise(input.camera.url, input.camera.credentials);
    const verdict = await this.#check(url);
    if (verdict.result === 'unauthorized' || (verdict.result === 'unreachable' && !input.submitUnreachable)) {
      await this.audit({ action: 'enrolment.checked', ...actorFields(actor), details: { result: verdict.result, stage: 'submission', stored: false } });
      refuseUnlessAccepted(verdict, input.submitUnreachable);
    }
    await this.limits.submissionFor(contactKey);

    const reference = newReference();
    const cameraCode = `cit-${reference.slice(4).toLowerCase()}`;
    const { token, hash } = StatusToken.issue();
    const camera = await this.catalog.create({
      code: cameraCode,
      name: input.camera.name,
      area: 'citizen',
      // The owner's name stays in the enrolment (admins only, erased in time), never on the camera operators see.
      owner: { kind: input.owner.kind, name: `Citizen program (${reference})`, agreementRef: reference, enrolledBy: 'self-service enrolment' },
      category: input.camera.category,
      municipality: MUNICIPALITY_UNASSIGNED,
      location: input.location,
      mainUrl: url,
      transport: 'tcp',
      sharing: input.sharing,
      alwaysOn: false,
      tags: [ENROLLED_TAG],
    });
    let enrolment: EnrolmentRecord;
    try {
      enrolment = await this.repository.insert({
        reference,
        cameraCode,
        ownerKind: input.owner.kind,
        personal: { ownerName: input.owner.name, ...(input.contact.email && { email: input.contact.email }), ...(input.contact.phone && { phone: input.contact.phone }), address: input.address },
        contactKey,
        category: input.camera.category,
        location: input.location,
        sharing: input.sharing,
        agreementVersion: input.agreement.version,
        agreementAcceptedAt: new Date(),
        language: input.language,
        statusTokenHash: hash,
        status: 'pending',
        endpointKey: endpointKey(url),
        check: toCheck(verdict),
      });
    } catch (error) {
      // The camera must not stay without its enrolment.
      await this.catalog.retire(camera.id).catch(() => undefined);
      throw error;
    }
    await this.audit({ action: 'enrolment.checked', ...actorFields(actor), cameraId: cameraCode, details: { reference, result: verdict.result, stage: 'submission' } });
    await this.audit({
      action: 'enrolment.submitted',
      ...actorFields(actor),
      cameraId: cameraCode,
      details: { reference, ownerKind: input.owner.kind, category: input.camera.category, sharing: input.sharing, agreementVersion: input.agreement.version, check: verdict.result },
    });
    return { reference, statusToken: token, statusPath: statusPath(token), check: { result: verdict.result }, status: enrolment.status };
  }

  /** The enrolment a status link opens; unauthenticated when the token is not a live one. */
  async byToken(token: string | undefined): Promise<EnrolmentRecord> {
    if (typeof token !== 'string' || !StatusToken.PATTERN.test(token)) throw new AppError('unauthenticated', 'this status link is not valid');
    const enrolment = await this.repository.findByTokenHash(StatusToken.hash(token));
    if (!enrolment || !StatusToken.matches(token, enrolment.statusTokenHash)) throw new AppError('unauthenticated', 'this status link is not valid (it may have been replaced by a newer one)');
    return enrolment;
  }

  async ownerStatus(token: string | undefined): Promise<OwnerStatusView> {
    return this.#ownerView(await this.byToken(token));
  }

  /**
   * The owner's change: sharing, URL, credentials. A new URL (or credentials) is checked like a
   * submission; a new URL returns an approved or rejected camera to review. A change to
   * incident-only ends live views that no incident allows (through the catalog's change event).
   */
  async ownerChange(token: string | undefined, change: OwnerChange & { submitUnreachable?: boolean }, actor: Actor): Promise<OwnerStatusView> {
    const found = await this.byToken(token);
    return this.#serial.run(found.id, async () => {
      const enrolment = await this.#reloadForToken(found.id, token);
      if (enrolment.status === 'withdrawn') throw new AppError('invalid_state', 'this camera was withdrawn from the program');
      if (enrolment.status === 'revoked') throw new AppError('invalid_state', 'the agency removed this camera from the program');
      const camera = await this.#camera(enrolment);
      let current = enrolment;
      if (change.url !== undefined || change.credentials !== undefined) {
        const stored = this.catalog.connectionOf(camera);
        const given = change.url !== undefined ? splitCredentials(this.#normalise(change.url, undefined, 'url')) : undefined;
        // Credentials: given apart (null removes them), else inline in the new URL, else the stored ones.
        const credentials = change.credentials === null ? undefined : (change.credentials ?? (given?.username !== undefined ? credentialsOf(given) : credentialsOf(stored)));
        const bare = given?.url ?? stored.url;
        const url = this.#normalise(bare, credentials, 'url');
        const verdict = await this.#check(url, 'url');
        await this.audit({ action: 'enrolment.checked', ...actorFields(actor), cameraId: camera.code, details: { reference: enrolment.reference, result: verdict.result, stage: 'owner_update' } });
        refuseUnlessAccepted(verdict, change.submitUnreachable ?? false);
        const urlChanged = bare !== stored.url;
        if (urlChanged && camera.status === 'suspended') throw new AppError('invalid_state', 'the C5 suspended this camera: its address cannot change until the C5 lifts the suspension', { field: 'url' });
        // Back to review before the new URL is stored, so no viewer's stream restarts on an unreviewed
        // camera (their views end as not allowed). A suspended camera stays suspended: the agency decided.
        const backToReview = urlChanged && (camera.status === 'approved' || camera.status === 'rejected');
        if (backToReview) await this.catalog.changeStatus(camera.id, 'review', 'the owner changed the camera URL');
        await this.catalog.update(camera.id, { mainUrl: bare, credentials: credentials ?? null }, { byEnrolment: true });
        current = (await this.repository.update(enrolment.id, { endpointKey: endpointKey(url), check: toCheck(verdict) })) ?? current;
        if (backToReview && current.status !== 'pending') current = (await this.repository.changeStatus(enrolment.id, { from: ['approved', 'rejected'], to: 'pending', reason: 'the owner changed the camera URL' })) ?? current;
        await this.audit({ action: 'enrolment.updated', ...actorFields(actor), cameraId: camera.code, details: { reference: enrolment.reference, urlChanged, credentialsChanged: change.credentials !== undefined, returnedToReview: backToReview } });
      }
      if (change.sharing !== undefined && change.sharing !== current.sharing) {
        const before = current.sharing;
        await this.catalog.update(camera.id, { sharing: change.sharing }, { byEnrolment: true });
        current = (await this.repository.update(enrolment.id, { sharing: change.sharing })) ?? current;
        await this.audit({ action: 'enrolment.consent_changed', ...actorFields(actor), cameraId: camera.code, details: { reference: enrolment.reference, before, after: change.sharing } });
      }
      return this.#ownerView(current);
    });
  }

  /** The owner takes the camera out: revoked at once (its live views end), the enrolment closed. */
  async withdraw(token: string | undefined, reason: string | undefined, actor: Actor): Promise<OwnerStatusView> {
    const found = await this.byToken(token);
    return this.#serial.run(found.id, async () => {
      const enrolment = await this.#reloadForToken(found.id, token);
      if (enrolment.status === 'withdrawn' || enrolment.status === 'revoked') return this.#ownerView(enrolment);
      const camera = await this.#camera(enrolment);
      const why = 'withdrawn by its owner';
      if (camera.status !== 'revoked' && !camera.retiredAt) await this.catalog.changeStatus(camera.id, 'revoke', why);
      const closed = await this.repository.changeStatus(enrolment.id, { from: ['pending', 'approved', 'rejected'], to: 'withdrawn', ...(reason && { reason }), close: true });
      await this.audit({ action: 'enrolment.withdrawn', ...actorFields(actor), cameraId: camera.code, details: { reference: enrolment.reference, statusBefore: enrolment.status, cameraStatusBefore: camera.status } });
      return this.#ownerView(closed ?? (await this.#reload(enrolment.id)));
    });
  }

  /** Admins: enrolments with these statuses, oldest first, with duplicates flagged. */
  async reviewList(filter: { status: EnrolmentRecord['status'][]; offset: number; limit: number }): Promise<{ items: ReviewItem[]; total: number }> {
    const { items, total } = await this.repository.list({ status: filter.status }, { offset: filter.offset, limit: filter.limit });
    const duplicates = await this.#duplicateIndex();
    return { items: await Promise.all(items.map((enrolment) => this.#reviewView(enrolment, duplicates))), total };
  }

  async reviewItem(reference: string): Promise<ReviewItem> {
    return this.#reviewView(await this.#byReference(reference), await this.#duplicateIndex());
  }

  /**
   * Admins: approve a pending enrolment, setting the camera's municipality. `reviewedUrl`: the
   * (masked) URL the reviewer saw; when the owner changed it since, nothing is approved (409).
   */
  async approve(reference: string, municipality: string, actor: Actor, reviewedUrl?: string): Promise<ReviewItem> {
    const found = await this.#byReference(reference);
    return this.#serial.run(found.id, async () => {
      const enrolment = await this.#reload(found.id);
      if (enrolment.status !== 'pending') throw new AppError('invalid_state', `enrolment ${reference} is ${enrolment.status}, not pending`);
      const camera = await this.#camera(enrolment);
      if (reviewedUrl !== undefined && reviewedUrl !== camera.mainUrl.masked) throw new AppError('invalid_state', `the owner changed the camera's address since it was reviewed: review ${reference} again`, { url: camera.mainUrl.masked });
      if (camera.municipality !== municipality) await this.catalog.update(camera.id, { municipality });
      await this.catalog.changeStatus(camera.id, 'approve', `enrolment ${reference} approved`);
      const approved = await this.repository.changeStatus(enrolment.id, { from: ['pending'], to: 'approved' });
      if (!approved) throw new AppError('invalid_state', `enrolment ${reference} changed meanwhile`);
      await this.audit({ action: 'enrolment.approved', ...actorFields(actor), cameraId: camera.code, details: { reference, municipality } });
      return this.reviewItem(reference);
    });
  }

  /** Admins: reject a pending enrolment; the reason is shown to the owner. */
  async reject(reference: string, reason: string, actor: Actor): Promise<ReviewItem> {
    const found = await this.#byReference(reference);
    return this.#serial.run(found.id, async () => {
      const enrolment = await this.#reload(found.id);
      if (enrolment.status !== 'pending') throw new AppError('invalid_state', `enrolment ${reference} is ${enrolment.status}, not pending`);
      const camera = await this.#camera(enrolment);
      await this.catalog.changeStatus(camera.id, 'reject', reason);
      const rejected = await this.repository.changeStatus(enrolment.id, { from: ['pending'], to: 'rejected', reason, close: true });
      if (!rejected) throw new AppError('invalid_state', `enrolment ${reference} changed meanwhile`);
      await this.audit({ action: 'enrolment.rejected', ...actorFields(actor), cameraId: camera.code, details: { reference, reason } });
      return this.reviewItem(reference);
    });
  }

  /** Admins: check the camera again now. */
  async recheck(reference: string, actor: Actor): Promise<ReviewItem> {
    const found = await this.#byReference(reference);
    return this.#serial.run(found.id, async () => {
      const enrolment = await this.#reload(found.id);
      // A closed enrolment's camera is not contacted again (its owner withdrew it, or it was refused).
      if (enrolment.status !== 'pending' && enrolment.status !== 'approved') throw new AppError('invalid_state', `enrolment ${reference} is ${enrolment.status}: its camera is not checked any more`);
      const camera = await this.#camera(enrolment);
      const verdict = await this.#check(this.#stored(camera));
      await this.repository.update(enrolment.id, { check: toCheck(verdict) });
      await this.audit({ action: 'enrolment.checked', ...actorFields(actor), cameraId: camera.code, details: { reference, result: verdict.result, stage: 'review' } });
      return this.reviewItem(reference);
    });
  }

  /** Admins: a new status link for the owner; the old one stops working at once. */
  async reissueLink(reference: string, actor: Actor): Promise<StatusLink> {
    const found = await this.#byReference(reference);
    return this.#serial.run(found.id, async () => {
      const { token, hash } = StatusToken.issue();
      const updated = await this.repository.update(found.id, { statusTokenHash: hash });
      if (!updated) throw new AppError('not_found', `no enrolment ${reference}`);
      await this.audit({ action: 'enrolment.link_reissued', ...actorFields(actor), cameraId: updated.cameraCode, details: { reference } });
      return { reference, statusToken: token, statusPath: statusPath(token) };
    });
  }

  /** Erases the personal data of enrolments closed more than `retentionDays` ago; returns how many. */
  async eraseExpired(now = Date.now()): Promise<number> {
    const erased = await this.repository.eraseClosedBefore(new Date(now - this.settings.retentionDays * 86_400_000));
    for (const enrolment of erased) {
      // The camera's credentials go too: nobody connects to a closed enrolment's camera again.
      const camera = await this.catalog.repository.findByCode(enrolment.cameraCode);
      if (camera && !camera.retiredAt && camera.mainUrl.masked.includes('***@')) await this.catalog.update(camera.id, { credentials: null }, { byEnrolment: true });
      await this.audit({ action: 'enrolment.erased', cameraId: enrolment.cameraCode, details: { reference: enrolment.reference, closedAt: enrolment.closedAt?.toISOString(), retentionDays: this.settings.retentionDays } });
    }
    return erased.length;
  }

  /** Runs the erasure now and then every `retentionCheckMs`. */
  startRetention(onError: (error: unknown) => void): void {
    if (this.#closed || this.#retentionTimer) return;
    const run = (): void => {
      // One run at a time: a slow store never stacks erasures.
      if (this.#erasing || this.#closed) return;
      this.#erasing = this.eraseExpired()
        .catch(onError)
        .finally(() => (this.#erasing = undefined));
    };
    run();
    this.#retentionTimer = setInterval(run, this.settings.retentionCheckMs);
    this.#retentionTimer.unref();
  }

  /** Stops the erasure timer and the catalog listener, then waits for background work in flight. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.catalog.off('changed', this.#onCameraChanged);
    if (this.#retentionTimer) clearInterval(this.#retentionTimer);
    this.#retentionTimer = undefined;
    await Promise.allSettled([...this.#background, ...(this.#erasing ? [this.#erasing] : [])]);
  }

  #track(work: Promise<unknown>, what: string): void {
    const tracked = work.catch((error: unknown) => this.settings.onBackgroundError?.(error, what)).finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
  }

  /** The enrolment again, inside its queue, still opened by `token` (a link reissued meanwhile is void). */
  async #reloadForToken(id: string, token: string | undefined): Promise<EnrolmentRecord> {
    const enrolment = await this.#reload(id);
    if (!StatusToken.matches(token, enrolment.statusTokenHash)) throw new AppError('unauthenticated', 'this status link is not valid (it was replaced by a newer one)');
    return enrolment;
  }

  /** The agency revoked or deleted an enrolled camera: the enrolment closes as revoked (unless the owner withdrew it). */
  async #agencyRemoved(camera: CameraRecord): Promise<void> {
    const found = await this.repository.findByCameraCode(camera.code);
    if (!found) return;
    await this.#serial.run(found.id, async () => {
      const enrolment = await this.#reload(found.id);
      if (enrolment.status === 'withdrawn' || enrolment.status === 'revoked') return;
      const reason = camera.retiredAt ? 'the camera was removed from the catalog' : (camera.statusReason ?? 'revoked by the agency');
      const closed = await this.repository.changeStatus(enrolment.id, { from: ['pending', 'approved', 'rejected'], to: 'revoked', reason, close: true });
      if (closed) await this.audit({ action: 'enrolment.revoked', cameraId: camera.code, details: { reference: enrolment.reference, statusBefore: enrolment.status, reason } });
    });
  }

  /** `field`: the request's name for the URL ('camera.url' in a submission, 'url' in an owner's change), for the error's details. */
  async #check(url: string, field = 'camera.url'): Promise<CameraCheckVerdict> {
    if (this.#checksRunning >= this.settings.maxConcurrentChecks) throw new AppError('rate_limited', 'the server is checking many cameras now: try again in a few seconds', { limit: 'checks', retryAfterSeconds: 5 });
    this.#checksRunning++;
    try {
      return await this.#checkNow(url, field);
    } finally {
      this.#checksRunning--;
    }
  }

  async #checkNow(url: string, field: string): Promise<CameraCheckVerdict> {
    const { url: bare, username, password } = splitCredentials(url);
    // The URL's own host first: a scheme, port or address refused is the owner's input error. The
    // check then connects to the address resolved here (one lookup); a redirect's host is guarded apart.
    let own: GuardedTarget;
    try {
      own = await this.guard.check(bare);
    } catch (error) {
      if (error instanceof AppError && error.details?.reason === 'unresolvable') return { result: 'unreachable', detail: 'the host name does not resolve' };
      throw withField(error, field);
    }
    const resolveEndpoint = async (target: { url: string; host: string; port: number }) => ({ address: target.host === own.host.toLowerCase() && target.port === own.port ? own.address : (await this.guard.check(target.url)).address });
    const verdict = await this.check({ url: bare, ...(username !== undefined && { username }), ...(password !== undefined && { password }) }, resolveEndpoint);
    if (verdict.refusedAddress) throw new AppError('unprocessable', 'the camera sent us on to an address that is not public; it cannot be enrolled', { reason: 'address', field });
    return verdict;
  }

  #normalise(url: string, credentials: { username: string; password?: string } | undefined, field = 'camera.url'): string {
    try {
      return normaliseRtspUrl(url, field, credentials);
    } catch (error) {
      throw withField(error, field);
    }
  }

  #stored(camera: CameraRecord): string {
    const stored = this.catalog.connectionOf(camera);
    return normaliseRtspUrl(stored.url, 'url', credentialsOf(stored));
  }

  async #reload(id: string): Promise<EnrolmentRecord> {
    const enrolment = await this.repository.findById(id);
    if (!enrolment) throw new AppError('not_found', 'no such enrolment');
    return enrolment;
  }

  async #byReference(reference: string): Promise<EnrolmentRecord> {
    const enrolment = await this.repository.findByReference(reference);
    if (!enrolment) throw new AppError('not_found', `no enrolment ${reference}`);
    return enrolment;
  }

  async #camera(enrolment: EnrolmentRecord): Promise<CameraRecord> {
    const camera = await this.catalog.repository.findByCode(enrolment.cameraCode);
    if (!camera) throw new AppError('not_found', `the camera of enrolment ${enrolment.reference} is gone`);
    return camera;
  }

  async #ownerView(enrolment: EnrolmentRecord): Promise<OwnerStatusView> {
    const camera = await this.catalog.repository.findByCode(enrolment.cameraCode);
    return {
      reference: enrolment.reference,
      status: enrolment.status,
      ...(enrolment.statusReason && (enrolment.status === 'rejected' || enrolment.status === 'revoked') && { statusReason: enrolment.statusReason }),
      // The agency suspended the approved camera: the owner learns why.
      ...(enrolment.status === 'approved' && camera?.status === 'suspended' && camera.statusReason && { statusReason: camera.statusReason }),
      ...(camera && { cameraStatus: camera.status }),
      statusChangedAt: enrolment.statusChangedAt.toISOString(),
      submittedAt: enrolment.createdAt.toISOString(),
      cameraName: camera?.name ?? enrolment.cameraCode,
      category: enrolment.category,
      sharing: enrolment.sharing,
      url: camera?.mainUrl.masked ?? '',
      ...(enrolment.check && { check: { result: enrolment.check.result, at: enrolment.check.at.toISOString() } }),
      agreementVersion: enrolment.agreementVersion,
      language: enrolment.language,
    };
  }

  async #reviewView(enrolment: EnrolmentRecord, duplicates: Map<string, Array<{ code: string; status: string; enrolled: boolean }>>): Promise<ReviewItem> {
    const camera = await this.catalog.repository.findByCode(enrolment.cameraCode);
    const others = (duplicates.get(enrolment.endpointKey) ?? []).filter((other) => other.code !== enrolment.cameraCode);
    const references = new Map<string, string>();
    for (const other of others.filter((o) => o.enrolled)) {
      const theirs = await this.repository.findByCameraCode(other.code);
      if (theirs) references.set(other.code, theirs.reference);
    }
    return {
      reference: enrolment.reference,
      cameraCode: enrolment.cameraCode,
      status: enrolment.status,
      ...(enrolment.statusReason && { statusReason: enrolment.statusReason }),
      submittedAt: enrolment.createdAt.toISOString(),
      statusChangedAt: enrolment.statusChangedAt.toISOString(),
      ownerKind: enrolment.ownerKind,
      ...(enrolment.personal && { personal: { ...enrolment.personal } }),
      ...(enrolment.erasedAt && { erasedAt: enrolment.erasedAt.toISOString() }),
      cameraName: camera?.name ?? enrolment.cameraCode,
      category: enrolment.category,
      location: camera?.location ?? enrolment.location,
      municipality: camera?.municipality ?? MUNICIPALITY_UNASSIGNED,
      sharing: enrolment.sharing,
      url: camera?.mainUrl.masked ?? '',
      cameraStatus: camera?.status ?? 'retired',
      ...(enrolment.check && {
        check: {
          result: enrolment.check.result,
          at: enrolment.check.at.toISOString(),
          ...(enrolment.check.detail && { detail: enrolment.check.detail }),
          ...(enrolment.check.video && { video: enrolment.check.video }),
        },
      }),
      duplicates: others.map((other) => ({
        cameraCode: other.code,
        source: other.enrolled ? ('enrolment' as const) : ('registered' as const),
        ...(references.has(other.code) && { reference: references.get(other.code)! }),
        status: other.status,
      })),
      agreementVersion: enrolment.agreementVersion,
      language: enrolment.language,
    };
  }

  /** Every current camera by endpoint key (host:port/path of its masked URL): duplicates share a key. */
  async #duplicateIndex(): Promise<Map<string, Array<{ code: string; status: string; enrolled: boolean }>>> {
    const { items } = await this.catalog.repository.list({}, { offset: 0, limit: 1_000_000 });
    const index = new Map<string, Array<{ code: string; status: string; enrolled: boolean }>>();
    for (const camera of items) {
      if (camera.status === 'revoked' || camera.status === 'rejected') continue;
      let key: string;
      try {
        key = endpointKey(camera.mainUrl.masked);
      } catch {
        continue;
      }
      const list = index.get(key) ?? [];
      list.push({ code: camera.code, status: camera.status, enrolled: isEnrolled(camera) });
      index.set(key, list);
    }
    return index;
  }
}

/**
 * The key duplicates share: lower-cased host, the port (the scheme's default when absent) and the
 * path with its query, without credentials. Throws on what is not a URL.
 */
export function endpointKey(url: string): string {
  const parsed = new URL(url.replace(/^rtsps?:\/\/[^/@]*@/i, (prefix) => prefix.slice(0, prefix.indexOf('//') + 2)));
  const secure = parsed.protocol.toLowerCase() === 'rtsps:';
  const port = parsed.port === '' ? (secure ? 322 : 554) : Number(parsed.port);
  const path = `${parsed.pathname || '/'}${parsed.search}`;
  return `${parsed.hostname.toLowerCase()}:${port}${path === '' ? '/' : path}`;
}

function newReference(): string {
  const bytes = randomBytes(8);
  let out = '';
  for (const byte of bytes) out += CROCKFORD[byte & 31];
  return `ENR-${out}`;
}

function statusPath(token: string): string {
  return `/enrol/status#t=${token}`;
}

function toCheck(verdict: CameraCheckVerdict): EnrolmentCheck {
  return { result: verdict.result, at: new Date(), ...(verdict.detail && { detail: verdict.detail }), ...(verdict.video && { video: verdict.video }) };
}

function refuseUnlessAccepted(verdict: CameraCheckVerdict, submitUnreachable: boolean): void {
  if (verdict.result === 'unauthorized') throw new AppError('unprocessable', 'the camera refused the user name or password', { check: 'unauthorized', field: 'camera.credentials' });
  if (verdict.result === 'unreachable' && !submitUnreachable) throw new AppError('unprocessable', 'the camera did not answer; check the address, or submit it anyway to be checked again at review', { check: 'unreachable', field: 'camera.url' });
}

function withField(error: unknown, field: string): unknown {
  if (error instanceof AppError && (error.code === 'unprocessable' || error.code === 'invalid_request')) return new AppError(error.code, error.message, { ...error.details, field });
  return error;
}

function credentialsOf(connection: { username?: string; password?: string }): { username: string; password?: string } | undefined {
  return connection.username === undefined ? undefined : { username: connection.username, ...(connection.password !== undefined && { password: connection.password }) };
}

function actorFields(actor: Actor): Pick<AuditInput, 'userId' | 'username' | 'ip'> {
  return { ...(actor.userId && { userId: actor.userId }), ...(actor.username && { username: actor.username }), ...(actor.ip && { ip: actor.ip }) };
}
