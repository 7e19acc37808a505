import { expect } from 'chai';
import { AppError } from '../../server/errors/AppError.ts';
import { SecretVault } from '../../server/auth/SecretVault.ts';
import { UrlVault } from '../../server/catalog/UrlVault.ts';
import { CameraCatalog } from '../../server/catalog/CameraCatalog.ts';
import { EmbeddedCameraRepository } from '../../server/store/embedded/EmbeddedCameraRepository.ts';
import { EmbeddedEnrolmentRepository } from '../../server/store/embedded/EmbeddedEnrolmentRepository.ts';
import { AddressGuard } from '../../server/enrolment/AddressGuard.ts';
import { EnrolmentLimits } from '../../server/enrolment/EnrolmentLimits.ts';
import { endpointKey, EnrolmentService, type CameraCheckVerdict } from '../../server/enrolment/EnrolmentService.ts';
import type { EnrolmentSubmit } from '../../server/enrolment/enrolmentSchemas.ts';
import type { AuditInput } from '../../server/audit/AuditLog.ts';

/**
 * The citizen program's rules without a network: the duplicate key, the limits, consent changes,
 * URL changes and withdrawal, over the embedded repositories (in memory), a table resolver for
 * the address guard and a scripted RTSP check.
 */
describe('citizen program rules (issue 26)', () => {
  describe('endpointKey (duplicate detection)', () => {
    it('is the lower-cased host, the port (the scheme default when absent) and the path with its query, without credentials', () => {
      expect(endpointKey('rtsp://user:pw@Cam.Example.ORG/Streaming/Channels/101')).to.equal('cam.example.org:554/Streaming/Channels/101');
      expect(endpointKey('rtsp://cam.example.org:554/Streaming/Channels/101')).to.equal('cam.example.org:554/Streaming/Channels/101');
      expect(endpointKey('rtsps://cam.example.org/live')).to.equal('cam.example.org:322/live');
      expect(endpointKey('rtsp://***@cam.example.org:8554/cam/realmonitor?channel=1&subtype=0')).to.equal('cam.example.org:8554/cam/realmonitor?channel=1&subtype=0');
      expect(endpointKey('rtsp://cam.example.org/cam/realmonitor?channel=1&subtype=1')).to.not.equal(endpointKey('rtsp://cam.example.org/cam/realmonitor?channel=1&subtype=0'));
      expect(endpointKey('rtsp://[2001:db8::1]:8554/a')).to.equal('[2001:db8::1]:8554/a');
      expect(() => endpointKey('not a url')).to.throw();
    });
  });

  describe('EnrolmentLimits', () => {
    it('refuses the (N+1)th submission of a source within the hour, with the wait and which limit', async () => {
      const limits = new EnrolmentLimits({ perSourcePerHour: 2, perContactPerHour: 5, statusPerSourcePerHour: 5 });
      await limits.submissionFrom('203.0.113.1');
      await limits.submissionFrom('203.0.113.1');
      const error = await limits.submissionFrom('203.0.113.1').then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(AppError);
      expect((error as AppError).code).to.equal('rate_limited');
      expect((error as AppError).details).to.include({ limit: 'source' });
      expect((error as AppError).details?.retryAfterSeconds).to.be.within(3500, 3600);
      // Another source is counted apart.
      await limits.submissionFrom('203.0.113.2');
    });

    it('keys contacts by the lower-cased e-mail, else the phone digits', async () => {
      expect(EnrolmentLimits.contactKey({ email: ' Maria@Example.ORG ' })).to.equal('email:maria@example.org');
      expect(EnrolmentLimits.contactKey({ phone: '+52 (55) 1234-5678' })).to.equal(EnrolmentLimits.contactKey({ phone: '525512345678' }));
      const limits = new EnrolmentLimits({ perSourcePerHour: 5, perContactPerHour: 1, statusPerSourcePerHour: 5 });
      await limits.submissionFor(EnrolmentLimits.contactKey({ email: 'maria@example.org' }));
      const error = await limits.submissionFor(EnrolmentLimits.contactKey({ email: 'MARIA@example.org' })).then(() => undefined, (e: unknown) => e);
      expect((error as AppError).details).to.include({ limit: 'contact' });
      // Status requests have their own budget.
      await limits.statusFrom('203.0.113.1');
    });

    it('counts an IPv6 client by its /64 and an IPv4-mapped one as its IPv4 address', async () => {
      expect(EnrolmentLimits.sourceKey('2001:db8:1:2:aaaa::1')).to.equal('2001:db8:1:2::/64');
      expect(EnrolmentLimits.sourceKey('2001:DB8:1:2:ffff:ffff:ffff:fffe')).to.equal('2001:db8:1:2::/64');
      expect(EnrolmentLimits.sourceKey('2001:db8:1:3::1')).to.equal('2001:db8:1:3::/64');
      expect(EnrolmentLimits.sourceKey('::ffff:203.0.113.7')).to.equal('203.0.113.7');
      expect(EnrolmentLimits.sourceKey('203.0.113.7')).to.equal('203.0.113.7');
      const limits = new EnrolmentLimits({ perSourcePerHour: 2, perContactPerHour: 5, statusPerSourcePerHour: 5 });
      await limits.submissionFrom('2001:db8:1:2::a');
      await limits.submissionFrom('2001:db8:1:2::b');
      const error = await limits.submissionFrom('2001:db8:1:2:9999::c').then(() => undefined, (e: unknown) => e as AppError);
      expect(error?.details).to.include({ limit: 'source' });
      await limits.submissionFrom('2001:db8:1:3::a');
    });
  });

  describe('EnrolmentService with in-memory stores', () => {
    let cameras: EmbeddedCameraRepository;
    let enrolments: EmbeddedEnrolmentRepository;
    let catalog: CameraCatalog;
    let service: EnrolmentService;
    let audit: AuditInput[];
    let verdict: CameraCheckVerdict;
    let checked: string[];
    const changes: Array<{ code: string; viewable: boolean; status: string; sharing?: string }> = [];
    /** cam.example.org and other.example.org are public; inside.example.org resolves to a private address. */
    const resolver = async (host: string) => ({ 'cam.example.org': [{ address: '198.51.100.7', family: 4 }], 'other.example.org': [{ address: '8.8.4.4', family: 4 }], 'inside.example.org': [{ address: '10.1.2.3', family: 4 }] })[host] ?? [];

    const submission = (overrides: Partial<EnrolmentSubmit> = {}): EnrolmentSubmit => ({
      language: 'es-MX',
      owner: { kind: 'organisation', name: 'Farmacia Centro' },
      contact: { email: 'farmacia@example.org' },
      address: 'Madero 1',
      location: { lat: 19.43, lng: -99.13 },
      camera: { name: 'Entrada', url: 'rtsp://cam.example.org/live', credentials: { username: 'c5', password: 'secret-pass' }, category: 'commercial' },
      sharing: 'live',
      agreement: { version: '2026-12', accepted: true },
      submitUnreachable: false,
      ...overrides,
    });

    beforeEach(async () => {
      cameras = await EmbeddedCameraRepository.open();
      enrolments = await EmbeddedEnrolmentRepository.open();
      catalog = new CameraCatalog(cameras, new UrlVault(new SecretVault('a-credential-key-for-unit-tests-32+chars')));
      catalog.on('changed', ({ camera, viewable }) => changes.push({ code: camera.code, viewable, status: camera.status, ...(camera.sharing && { sharing: camera.sharing }) }));
      audit = [];
      checked = [];
      changes.length = 0;
      verdict = { result: 'reachable', video: { codec: 'h264', width: 640, height: 360 } };
      // Cameras with the address guard's '198.51.100.0/24' (documentation) let through as "public" here.
      const guard = new AddressGuard({ allowedPorts: [554, 322], allow: ['198.51.100.0/24'] }, resolver);
      service = new EnrolmentService(
        enrolments,
        catalog,
        guard,
        async (target) => {
          checked.push(`${target.url}|${target.username ?? ''}:${target.password ?? ''}`);
          return verdict;
        },
        new EnrolmentLimits({ perSourcePerHour: 100, perContactPerHour: 100, statusPerSourcePerHour: 100 }),
        async (entry) => audit.push(entry),
        { agreementVersion: '2026-12', retentionDays: 30, retentionCheckMs: 3_600_000, maxConcurrentChecks: 2 },
      );
    });

    afterEach(async () => {
      await service.close();
      await enrolments.close();
      await cameras.close();
    });

    it('consent: a change to incident-only reaches the camera (its viewers are checked again) and the audit; the same consent again changes nothing', async () => {
      const receipt = await service.submit(submission(), { ip: '203.0.113.9' });
      const code = (await enrolments.findByReference(receipt.reference))!.cameraCode;
      await service.approve(receipt.reference, 'Cuauhtémoc', { userId: 'admin-1' });
      changes.length = 0;
      audit.length = 0;
      const view = await service.ownerChange(receipt.statusToken, { sharing: 'incident-only' }, { ip: '203.0.113.9' });
      expect(view.sharing).to.equal('incident-only');
      expect((await cameras.findByCode(code))!.sharing).to.equal('incident-only');
      expect(changes).to.deep.equal([{ code, viewable: true, status: 'approved', sharing: 'incident-only' }]);
      expect(audit.map((entry) => [entry.action, entry.details])).to.deep.equal([['enrolment.consent_changed', { reference: receipt.reference, before: 'live', after: 'incident-only' }]]);
      await service.ownerChange(receipt.statusToken, { sharing: 'incident-only' }, {});
      expect(changes).to.have.length(1);
      expect(audit).to.have.length(1);
    });

    it('a new URL is checked and sends an approved camera back to review; new credentials alone do not', async () => {
      const receipt = await service.submit(submission(), {});
      const code = (await enrolments.findByReference(receipt.reference))!.cameraCode;
      await service.approve(receipt.reference, 'Cuauhtémoc', {});
      await service.ownerChange(receipt.statusToken, { credentials: { username: 'c5', password: 'rotated-pass' } }, {});
      expect((await cameras.findByCode(code))!.status).to.equal('approved');
      expect(checked.at(-1)).to.equal('rtsp://cam.example.org/live|c5:rotated-pass');
      const moved = await service.ownerChange(receipt.statusToken, { url: 'rtsp://other.example.org/live' }, {});
      expect(moved).to.deep.include({ status: 'pending', cameraStatus: 'pending' });
      // The credentials stay with the camera across a URL change.
      expect(checked.at(-1)).to.equal('rtsp://other.example.org/live|c5:rotated-pass');
      expect((await enrolments.findByReference(receipt.reference))!.endpointKey).to.equal('other.example.org:554/live');
      // A URL inside is refused before any check; an unauthorized check changes nothing.
      const before = checked.length;
      const inside = await service.ownerChange(receipt.statusToken, { url: 'rtsp://inside.example.org/live' }, {}).then(() => undefined, (e: unknown) => e as AppError);
      expect(inside?.details).to.include({ reason: 'address', field: 'url' });
      expect(checked.length).to.equal(before);
      verdict = { result: 'unauthorized' };
      const refused = await service.ownerChange(receipt.statusToken, { url: 'rtsp://cam.example.org/other' }, {}).then(() => undefined, (e: unknown) => e as AppError);
      expect(refused?.details).to.include({ check: 'unauthorized' });
      expect((await enrolments.findByReference(receipt.reference))!.endpointKey).to.equal('other.example.org:554/live');
    });

    it('withdrawal revokes the camera (not viewable), closes the enrolment, and ends every later change', async () => {
      const receipt = await service.submit(submission(), {});
      const code = (await enrolments.findByReference(receipt.reference))!.cameraCode;
      await service.approve(receipt.reference, 'Cuauhtémoc', {});
      changes.length = 0;
      const view = await service.withdraw(receipt.statusToken, 'moving', {});
      expect(view).to.deep.include({ status: 'withdrawn', cameraStatus: 'revoked' });
      expect(changes).to.deep.equal([{ code, viewable: false, status: 'revoked', sharing: 'live' }]);
      expect((await enrolments.findByReference(receipt.reference))!.closedAt).to.be.instanceOf(Date);
      const later = await service.ownerChange(receipt.statusToken, { sharing: 'incident-only' }, {}).then(() => undefined, (e: unknown) => e as AppError);
      expect(later?.code).to.equal('invalid_state');
      // Withdrawing twice is harmless.
      expect((await service.withdraw(receipt.statusToken, undefined, {})).status).to.equal('withdrawn');
    });

    it('flags duplicates: the same host, port and path enrolled twice or already registered, whatever the credentials or host case', async () => {
      await catalog.create({ code: 'AG-1', name: 'Agency', area: 'agency', owner: { kind: 'organisation', name: 'SSC' }, category: 'street', municipality: 'Centro', mainUrl: 'rtsp://admin:x@CAM.example.org:554/live', transport: 'tcp', alwaysOn: false, tags: [] }, { status: 'approved' });
      const first = await service.submit(submission(), {});
      const second = await service.submit(submission({ contact: { phone: '5512345678' }, camera: { name: 'Otra', url: 'rtsp://cam.example.org:554/live', category: 'home' } }), {});
      const lone = await service.submit(submission({ camera: { name: 'Sola', url: 'rtsp://cam.example.org/other', category: 'home' } }), {});
      const { items } = await service.reviewList({ status: ['pending'], offset: 0, limit: 10 });
      const byRef = new Map(items.map((item) => [item.reference, item]));
      expect(byRef.get(second.reference)!.duplicates).to.deep.include.members([
        { cameraCode: 'AG-1', source: 'registered', status: 'approved' },
        { cameraCode: byRef.get(first.reference)!.cameraCode, source: 'enrolment', reference: first.reference, status: 'pending' },
      ]);
      expect(byRef.get(lone.reference)!.duplicates).to.deep.equal([]);
      // A rejected one no longer counts.
      await service.reject(first.reference, 'duplicate', {});
      expect((await service.reviewItem(second.reference)).duplicates.map((d) => d.cameraCode)).to.deep.equal(['AG-1']);
    });

    it('an agency revocation or deletion closes the enrolment as revoked (the owner sees why); approve and reject belong to the review queue', async () => {
      const revoked = await service.submit(submission(), {});
      const revokedCode = (await enrolments.findByReference(revoked.reference))!.cameraCode;
      await service.approve(revoked.reference, 'Cuauhtémoc', {});
      await catalog.changeStatus((await cameras.findByCode(revokedCode))!.id, 'revoke', 'camera faces a private yard');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const owner = await service.ownerStatus(revoked.statusToken);
      expect(owner).to.deep.include({ status: 'revoked', statusReason: 'camera faces a private yard', cameraStatus: 'revoked' });
      expect((await enrolments.findByReference(revoked.reference))!.closedAt).to.be.instanceOf(Date);
      expect(audit.find((entry) => entry.action === 'enrolment.revoked')?.details).to.deep.include({ reference: revoked.reference, statusBefore: 'approved' });
      expect((await service.ownerChange(revoked.statusToken, { sharing: 'incident-only' }, {}).then(() => undefined, (e: unknown) => e as AppError))?.code).to.equal('invalid_state');
      expect((await service.withdraw(revoked.statusToken, undefined, {})).status).to.equal('revoked');

      const retired = await service.submit(submission({ contact: { email: 'retired@example.org' } }), {});
      const retiredCode = (await enrolments.findByReference(retired.reference))!.cameraCode;
      await catalog.retire((await cameras.findByCode(retiredCode))!.id);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await service.ownerStatus(retired.statusToken)).to.deep.include({ status: 'revoked', statusReason: 'the camera was removed from the catalog' });
      // Withdrawing after the agency removed it: nothing left to do, and no internal id in an error.
      expect((await service.withdraw(retired.statusToken, undefined, {})).status).to.equal('revoked');
      // Closed, so their personal data goes after the retention like any other.
      expect(await service.eraseExpired(Date.now() + 31 * 86_400_000)).to.equal(2);
      expect((await service.reviewItem(revoked.reference)).personal).to.equal(undefined);
    });

    it("a suspended camera's address cannot change (a reinstatement would put an unreviewed URL on walls); its owner sees why", async () => {
      const receipt = await service.submit(submission(), {});
      const code = (await enrolments.findByReference(receipt.reference))!.cameraCode;
      await service.approve(receipt.reference, 'Cuauhtémoc', {});
      await catalog.changeStatus((await cameras.findByCode(code))!.id, 'suspend', 'under investigation');
      expect(await service.ownerStatus(receipt.statusToken)).to.deep.include({ status: 'approved', cameraStatus: 'suspended', statusReason: 'under investigation' });
      const refused = await service.ownerChange(receipt.statusToken, { url: 'rtsp://other.example.org/live' }, {}).then(() => undefined, (e: unknown) => e as AppError);
      expect(refused?.code).to.equal('invalid_state');
      expect((await cameras.findByCode(code))!.mainUrl.masked).to.equal('rtsp://***@cam.example.org/live');
      // New credentials for the same address are still the owner's to give.
      await service.ownerChange(receipt.statusToken, { credentials: { username: 'c5', password: 'rotated-pass' } }, {});
      expect((await cameras.findByCode(code))!.status).to.equal('suspended');
    });

    it("the catalog keeps an enrolled camera's tag and leaves its sharing to its owner; approval of an address changed since review is refused", async () => {
      const receipt = await service.submit(submission(), {});
      const camera = (await cameras.findByCode((await enrolments.findByReference(receipt.reference))!.cameraCode))!;
      const retagged = await catalog.update(camera.id, { tags: ['school'] });
      expect(retagged.tags).to.deep.equal(['school', 'enrolled']);
      const sharing = await catalog.update(camera.id, { sharing: 'incident-only' }).then(() => undefined, (e: unknown) => e as AppError);
      expect(sharing?.code).to.equal('invalid_state');
      expect(camera.owner.name).to.equal(`Citizen program (${receipt.reference})`);
      const reviewed = (await service.reviewItem(receipt.reference)).url;
      await service.ownerChange(receipt.statusToken, { url: 'rtsp://other.example.org/live' }, {});
      const stale = await service.approve(receipt.reference, 'Centro', {}, reviewed).then(() => undefined, (e: unknown) => e as AppError);
      expect(stale?.code).to.equal('invalid_state');
      const fresh = (await service.reviewItem(receipt.reference)).url;
      expect((await service.approve(receipt.reference, 'Centro', {}, fresh)).status).to.equal('approved');
    });

    it('a request made with a link that was reissued while it waited is refused; a closed enrolment is not checked again', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let calls = 0;
      const slow = new EnrolmentService(enrolments, catalog, new AddressGuard({ allowedPorts: [554], allow: ['198.51.100.0/24'] }, resolver), async () => {
        if (++calls === 2) await gate;
        return { result: 'reachable' };
      }, new EnrolmentLimits({ perSourcePerHour: 100, perContactPerHour: 100, statusPerSourcePerHour: 100 }), async () => undefined, { agreementVersion: '2026-12', retentionDays: 30, retentionCheckMs: 3_600_000, maxConcurrentChecks: 4 });
      try {
        const receipt = await slow.submit(submission(), {});
        const holding = slow.ownerChange(receipt.statusToken, { url: 'rtsp://other.example.org/live' }, {});
        await new Promise((resolve) => setTimeout(resolve, 20));
        const reissue = slow.reissueLink(receipt.reference, {});
        const late = slow.ownerChange(receipt.statusToken, { sharing: 'incident-only' }, {}).then(() => undefined, (e: unknown) => e as AppError);
        // Both have passed their lookups (the old link was still good) and wait behind the first change.
        await new Promise((resolve) => setTimeout(resolve, 30));
        release();
        await holding;
        const link = await reissue;
        expect((await late)?.code).to.equal('unauthenticated');
        expect((await slow.ownerStatus(link.statusToken)).sharing).to.equal('live');
        await slow.withdraw(link.statusToken, undefined, {});
        expect((await slow.recheck(receipt.reference, {}).then(() => undefined, (e: unknown) => e as AppError))?.code).to.equal('invalid_state');
      } finally {
        await slow.close();
      }
    });

    it("a contact's budget counts enrolments stored, not refused attempts; a closed program takes none", async () => {
      const limited = new EnrolmentService(enrolments, catalog, new AddressGuard({ allowedPorts: [554], allow: ['198.51.100.0/24'] }, resolver), async () => verdict, new EnrolmentLimits({ perSourcePerHour: 100, perContactPerHour: 1, statusPerSourcePerHour: 100 }), async () => undefined, { agreementVersion: '2026-12', retentionDays: 30, retentionCheckMs: 3_600_000, maxConcurrentChecks: 2 });
      try {
        verdict = { result: 'unauthorized' };
        for (let i = 0; i < 3; i++) expect((await limited.submit(submission(), {}).then(() => undefined, (e: unknown) => e as AppError))?.details).to.include({ check: 'unauthorized' });
        verdict = { result: 'reachable' };
        expect((await limited.submit(submission(), {})).status).to.equal('pending');
        const attempts = checked.length;
        const refused = await limited.submit(submission(), {}).then(() => undefined, (e: unknown) => e as AppError);
        expect(refused?.details).to.include({ limit: 'contact' });
        expect(checked.length, 'refused before any check').to.equal(attempts);
      } finally {
        await limited.close();
      }
      const closed = new EnrolmentService(enrolments, catalog, new AddressGuard({ allowedPorts: [554] }, resolver), async () => verdict, new EnrolmentLimits({ perSourcePerHour: 100, perContactPerHour: 100, statusPerSourcePerHour: 100 }), async () => undefined, { agreementVersion: '2026-12', retentionDays: 30, retentionCheckMs: 3_600_000, maxConcurrentChecks: 2, submissionsOpen: false });
      try {
        const error = await closed.submit(submission(), {}).then(() => undefined, (e: unknown) => e as AppError);
        expect(error?.code).to.equal('forbidden');
        expect(error?.details).to.include({ closed: true });
      } finally {
        await closed.close();
      }
    });

    it("looks the camera's host up once: the check connects to the address the guard resolved; a redirect's host is guarded apart", async () => {
      const lookups: string[] = [];
      const counting = async (host: string) => {
        lookups.push(host);
        return resolver(host);
      };
      const answers: Array<string | undefined> = [];
      const once = new EnrolmentService(enrolments, catalog, new AddressGuard({ allowedPorts: [554], allow: ['198.51.100.0/24'] }, counting), async (target, resolveEndpoint) => {
        answers.push((await resolveEndpoint({ url: target.url, host: 'cam.example.org', port: 554, secure: false })).address);
        answers.push(await resolveEndpoint({ url: 'rtsp://inside.example.org/x', host: 'inside.example.org', port: 554, secure: false }).then((a) => a.address, () => undefined));
        return { result: 'reachable' };
      }, new EnrolmentLimits({ perSourcePerHour: 100, perContactPerHour: 100, statusPerSourcePerHour: 100 }), async () => undefined, { agreementVersion: '2026-12', retentionDays: 30, retentionCheckMs: 3_600_000, maxConcurrentChecks: 2 });
      try {
        await once.submit(submission(), {});
        expect(answers).to.deep.equal(['198.51.100.7', undefined]);
        expect(lookups).to.deep.equal(['cam.example.org', 'inside.example.org']);
      } finally {
        await once.close();
      }
    });

    it('runs at most maxConcurrentChecks RTSP checks at once; more are answered 429 at once', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slow = new EnrolmentService(enrolments, catalog, new AddressGuard({ allowedPorts: [554], allow: ['198.51.100.0/24'] }, resolver), async () => {
        await gate;
        return { result: 'reachable' };
      }, new EnrolmentLimits({ perSourcePerHour: 100, perContactPerHour: 100, statusPerSourcePerHour: 100 }), async () => undefined, { agreementVersion: '2026-12', retentionDays: 30, retentionCheckMs: 3_600_000, maxConcurrentChecks: 2 });
      try {
        const running = [slow.submit(submission(), {}), slow.submit(submission(), {})];
        const third = await slow.submit(submission(), {}).then(() => undefined, (e: unknown) => e as AppError);
        expect(third?.code).to.equal('rate_limited');
        expect(third?.details).to.include({ limit: 'checks' });
        release();
        expect((await Promise.all(running)).map((receipt) => receipt.status)).to.deep.equal(['pending', 'pending']);
        expect((await slow.submit(submission(), {})).status).to.equal('pending');
      } finally {
        await slow.close();
      }
    });

    it('erases personal data only of closed enrolments past the retention, once', async () => {
      const kept = await service.submit(submission(), {});
      const rejected = await service.submit(submission({ contact: { email: 'other@example.org' } }), {});
      await service.reject(rejected.reference, 'not in the program area', {});
      expect(await service.eraseExpired(Date.now() + 29 * 86_400_000)).to.equal(0);
      expect(await service.eraseExpired(Date.now() + 31 * 86_400_000)).to.equal(1);
      expect(await service.eraseExpired(Date.now() + 31 * 86_400_000)).to.equal(0);
      expect((await service.reviewItem(rejected.reference)).personal).to.equal(undefined);
      // Nobody connects to a closed enrolment's camera again: its credentials are gone too.
      expect((await service.reviewItem(rejected.reference)).url).to.equal('rtsp://cam.example.org/live');
      expect((await service.reviewItem(kept.reference)).url).to.equal('rtsp://***@cam.example.org/live');
      expect((await service.reviewItem(kept.reference)).personal?.address).to.equal('Madero 1');
      expect(audit.filter((entry) => entry.action === 'enrolment.erased').map((entry) => entry.details?.reference)).to.deep.equal([rejected.reference]);
    });
  });
});
