import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';

/**
 * An incident's timeline (the report's, issue 21) read while its incident goes on: the audit is
 * paged newest first, so an entry written between two pages shifts the older ones into the next
 * page. Each audit entry must be in the timeline once, oldest first.
 */
describe("an incident's timeline read while entries are written (issue 21)", function () {
  this.timeout(60_000);
  let t: TestApp;

  before(async () => {
    t = await startTestApp({ ingest: { workers: 0 }, media: { workers: 1 } } as never);
  });
  after(() => t.close());

  it('has each entry once, in chain order, when an entry is written between two pages', async () => {
    const operator = t.app.users.get(await t.user('operator', { areas: ['agency'], municipalities: ['Norte'] }));
    const incident = await t.app.incidents.open(operator, { title: 'Long', kind: 'traffic', location: { lat: 25, lng: -100 }, municipality: 'Norte', autoAttach: false });
    for (let i = 0; i < 600; i++) await t.app.audit.record({ action: 'test.entry', incidentId: incident.id, details: { i } });
    // A view starts while the report reads its second page.
    const query = t.app.audit.query.bind(t.app.audit);
    let pages = 0;
    t.app.audit.query = async (filter, page) => {
      const answer = await query(filter, page);
      if (++pages === 1) await t.app.audit.record({ action: 'view.start', incidentId: incident.id, details: { viewId: 'late' } });
      return answer;
    };
    const timeline = await t.app.incidents.timeline(incident.id);
    t.app.audit.query = query;
    const seqs = timeline.map((entry) => entry.seq);
    expect(new Set(seqs).size, 'entries read twice').to.equal(seqs.length);
    expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
    expect(timeline[0]!.action).to.equal('incident.open');
  });
});
