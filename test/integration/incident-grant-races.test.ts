import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import type { GrantRepository } from '../../server/incidents/GrantRepository.ts';
import type { UserRecord } from '../../server/users/UserRecord.ts';

/**
 * Grants changed by two hands at once (issue 21): an extend whose store write has landed but whose
 * answer is still on its way (a MongoDB round trip) while another operator revokes the grant, or
 * while its expiry timer fires. Whatever the order, the grant the store holds and the access the
 * server gives must agree: a revoked or expired grant in the store gives no access.
 */
describe('grant races (issue 21)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let operator: UserRecord;
  let investigatorId: string;
  let incidentId: string;
  let repository: GrantRepository;
  let extendAnswerDelayMs = 0;

  before(async () => {
    t = await startTestApp({ ingest: { workers: 0 }, media: { workers: 1 } } as never);
    const operatorId = await t.user('operator', { areas: ['agency', 'citizen'], municipalities: ['Norte'] });
    operator = t.app.users.get(operatorId);
    investigatorId = await t.user('investigator', {});
    incidentId = (await t.app.incidents.open(operator, { title: 'Race', kind: 'robbery', location: { lat: 25, lng: -100 }, municipality: 'Norte', autoAttach: false })).id;
    // The store applies an extend at once; its answer reaches the service `extendAnswerDelayMs` later.
    repository = (t.app.incidents as unknown as { grants: GrantRepository }).grants;
    const extend = repository.extend.bind(repository);
    repository.extend = async (id, endsAt) => {
      const extended = await extend(id, endsAt);
      await new Promise((resolve) => setTimeout(resolve, extendAnswerDelayMs));
      return extended;
    };
  });
  after(() => t.close());

  const live = (grantId: string) => t.app.incidents.accessFor(investigatorId).grants.some((grant) => grant.id === grantId);
  const stored = async (grantId: string) => (await repository.findById(grantId))!;

  it('a revoke during an extend: the grant ends, in the store and in the access given', async () => {
    const grant = await t.app.incidents.grant(operator, incidentId, { investigator: investigatorId, scope: 'all' });
    extendAnswerDelayMs = 100;
    const extending = t.app.incidents.extend(operator, grant.id, new Date(Date.now() + 600 * 60_000).toISOString()).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const revoked = await t.app.incidents.revoke(operator, grant.id, 'no longer needed').catch((error: Error) => error);
    await extending;
    extendAnswerDelayMs = 0;
    const record = await stored(grant.id);
    expect(live(grant.id), `stored ${record.status}: live in memory`).to.equal(record.status === 'active');
    expect(revoked instanceof Error ? 'refused' : 'revoked', 'the revoke was answered').to.equal(record.status === 'revoked' ? 'revoked' : 'refused');
  });

  it('the expiry timer fires during an extend: the grant is either extended (and live) or expired (and not)', async () => {
    const grant = await t.app.incidents.grant(operator, incidentId, { investigator: investigatorId, scope: 'all', endsAt: new Date(Date.now() + 300).toISOString() });
    extendAnswerDelayMs = 300;
    await new Promise((resolve) => setTimeout(resolve, 150));
    const extended = await t.app.incidents.extend(operator, grant.id, new Date(Date.now() + 600 * 60_000).toISOString()).catch((error: Error) => error);
    extendAnswerDelayMs = 0;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const record = await stored(grant.id);
    expect(live(grant.id), `stored ${record.status}: live in memory`).to.equal(record.status === 'active');
    expect(extended instanceof Error ? 'refused' : 'extended', 'the extend was answered').to.equal(record.status === 'active' ? 'extended' : 'refused');
  });

  it('a close during an extend: the grant ends with the incident, in the store and in memory', async () => {
    const closing = await t.app.incidents.open(operator, { title: 'Race close', kind: 'robbery', location: { lat: 25, lng: -100 }, municipality: 'Norte', autoAttach: false });
    const grant = await t.app.incidents.grant(operator, closing.id, { investigator: investigatorId, scope: 'all' });
    extendAnswerDelayMs = 100;
    const extending = t.app.incidents.extend(operator, grant.id, new Date(Date.now() + 600 * 60_000).toISOString()).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await t.app.incidents.closeIncident(operator, closing.id, { disposition: 'resolved', note: 'done' });
    await extending;
    extendAnswerDelayMs = 0;
    expect((await stored(grant.id)).status).to.equal('ended');
    expect(live(grant.id), 'the ended grant still live in memory').to.equal(false);
    // Nor does it let the investigator read the closed incident.
    const error = await t.app.incidents.get(t.app.users.get(investigatorId), closing.id).catch((failure: { code?: string }) => failure);
    expect((error as { code?: string }).code).to.equal('not_found');
  });
});
