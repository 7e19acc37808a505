import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { VisibilityPolicy } from '../../server/auth/VisibilityPolicy.ts';
import type { IncidentRepository } from '../../server/incidents/IncidentRepository.ts';
import type { GrantRepository } from '../../server/incidents/GrantRepository.ts';
import type { UserRecord } from '../../server/users/UserRecord.ts';

/**
 * An incident changed by two operators at once (issue 21): an attach whose store write has landed
 * but whose answer is still on its way (a MongoDB round trip) while another operator closes the
 * incident or detaches a camera. The open incidents the server decides access with must stay what
 * the store holds: a closed incident gives nobody its cameras, a detached camera is gone.
 */
describe('incident change races (issue 21)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let operator: UserRecord;
  let repository: IncidentRepository;
  let attachAnswerDelayMs = 0;
  let insertAnswerDelayMs = 0;

  before(async () => {
    t = await startTestApp({ ingest: { workers: 0 }, media: { workers: 1 } } as never);
    for (const code of ['R1', 'R2', 'R3']) {
      await t.app.catalog.create(
        { code, name: code, area: 'citizen', owner: { kind: 'organisation', name: 'O', agreementRef: 'A', enrolledBy: 'x' }, category: 'street', municipality: 'Norte', location: { lat: 25, lng: -100 }, mainUrl: 'rtsp://127.0.0.1:1/x', transport: 'tcp', sharing: 'incident-only', alwaysOn: false, tags: [] } as never,
        { status: 'approved' },
      );
    }
    operator = t.app.users.get(await t.user('operator', { areas: ['agency', 'citizen'], municipalities: ['Norte'] }));
    // The store applies an attach at once; its answer reaches the service `attachAnswerDelayMs` later.
    repository = (t.app.incidents as unknown as { incidents: IncidentRepository }).incidents;
    const attach = repository.attach.bind(repository);
    repository.attach = async (id, codes) => {
      const attached = await attach(id, codes);
      await new Promise((resolve) => setTimeout(resolve, attachAnswerDelayMs));
      return attached;
    };
    // The same for a new grant.
    const grants = (t.app.incidents as unknown as { grants: GrantRepository }).grants;
    const insert = grants.insert.bind(grants);
    grants.insert = async (grant) => {
      const inserted = await insert(grant);
      await new Promise((resolve) => setTimeout(resolve, insertAnswerDelayMs));
      return inserted;
    };
  });
  after(() => t.close());

  const open = () => t.app.incidents.open(operator, { title: 'Race', kind: 'robbery', location: { lat: 25, lng: -100 }, municipality: 'Norte', autoAttach: false });
  const inMemory = (id: string) => t.app.incidents.accessFor(operator.id).openIncidents.find((incident) => incident.id === id);
  const settle = (promise: Promise<unknown>) => promise.catch((error: Error) => error);

  it('a close during an attach: the incident is closed for access too', async () => {
    const incident = await open();
    attachAnswerDelayMs = 100;
    const attaching = settle(t.app.incidents.attach(operator, incident.id, ['R1']));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await t.app.incidents.closeIncident(operator, incident.id, { disposition: 'resolved', note: 'done' });
    await attaching;
    attachAnswerDelayMs = 0;
    expect((await repository.findById(incident.id))!.status).to.equal('closed');
    expect(inMemory(incident.id), 'the closed incident among the open ones access is decided with').to.equal(undefined);
    const camera = (await t.app.catalog.repository.findByCode('R1'))!;
    expect(VisibilityPolicy.canView(operator, camera, t.app.incidents.accessFor(operator.id)), 'the operator still sees its incident-only camera').to.equal(false);
  });

  it('a detach during an attach: the cameras access is decided with are the stored ones', async () => {
    const incident = await open();
    await t.app.incidents.attach(operator, incident.id, ['R1']);
    attachAnswerDelayMs = 100;
    const attaching = settle(t.app.incidents.attach(operator, incident.id, ['R2']));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await t.app.incidents.detach(operator, incident.id, 'R1');
    await attaching;
    attachAnswerDelayMs = 0;
    expect(inMemory(incident.id)?.cameras).to.deep.equal((await repository.findById(incident.id))!.cameras);
  });

  it('a grant created while the incident closes: refused, and the audit has its creation as well as its end', async () => {
    const incident = await open();
    const investigatorId = await t.user('investigator', {});
    insertAnswerDelayMs = 100;
    const granting = settle(t.app.incidents.grant(operator, incident.id, { investigator: investigatorId, scope: 'all' }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await t.app.incidents.closeIncident(operator, incident.id, { disposition: 'resolved', note: 'done' });
    const refused = await granting;
    insertAnswerDelayMs = 0;
    expect((refused as { code?: string }).code).to.equal('invalid_state');
    const timeline = await t.app.incidents.timeline(incident.id);
    const grantEntries = timeline.filter((entry) => entry.action.startsWith('grant.')).map((entry) => entry.action);
    expect(grantEntries).to.deep.equal(['grant.create', 'grant.end']);
  });
});
