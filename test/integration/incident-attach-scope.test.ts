import { expect } from 'chai';
import { AppError } from '../../server/errors/AppError.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';

/**
 * Attaching shows a camera to the incident's operators, incident-only citizen cameras included
 * (issue 21), so an operator attaches by hand only cameras of their municipalities or within the
 * incident's radius; otherwise attaching would be a break-glass view without a reason. Admins attach any.
 */
describe('attaching cameras by hand: within the operator\'s municipalities or the incident\'s radius (issue 21)', function () {
  this.timeout(60_000);
  let t: TestApp;

  before(async () => {
    t = await startTestApp({ ingest: { workers: 0 }, media: { workers: 1 }, health: { enabled: false } } as never);
    const camera = (code: string, municipality: string, lat: number) =>
      t.app.catalog.create(
        {
          code,
          name: code,
          area: 'citizen',
          owner: { kind: 'organisation', name: 'Owner', agreementRef: 'AG', enrolledBy: 'op' },
          category: 'commercial',
          municipality,
          location: { lat, lng: -100 },
          mainUrl: 'rtsp://127.0.0.1:1/x',
          transport: 'tcp',
          sharing: 'incident-only',
          alwaysOn: false,
          tags: [],
        } as never,
        { status: 'approved' },
      );
    await camera('NORTE-1', 'Norte', 25.0);
    // Across the border, 111 m from the incident: inside its 500 m radius.
    await camera('SUR-NEAR', 'Sur', 25.001);
    // Across the border, about 11 km away.
    await camera('SUR-FAR', 'Sur', 25.1);
  });
  after(async () => t?.close());

  const refusal = async (attempt: Promise<unknown>): Promise<AppError | undefined> => attempt.then(() => undefined, (error: unknown) => error as AppError);

  it('an operator of Norte attaches a Norte camera and a Sur one within the radius, not a far Sur one; an admin attaches any', async () => {
    const norte = t.app.users.get(await t.user('operator', { areas: ['citizen'], municipalities: ['Norte'] }));
    const incident = await t.app.incidents.open(norte, { title: 'Robbery', kind: 'robbery', location: { lat: 25, lng: -100 }, radiusM: 500, municipality: 'Norte', autoAttach: false });
    expect((await t.app.incidents.attach(norte, incident.id, ['NORTE-1', 'SUR-NEAR'])).cameras).to.deep.equal(['NORTE-1', 'SUR-NEAR']);

    const refused = await refusal(t.app.incidents.attach(norte, incident.id, ['SUR-FAR']));
    expect(refused?.code).to.equal('unprocessable');
    expect(refused?.message).to.match(/SUR-FAR is in Sur, outside your municipalities and beyond the incident's 500 m/);
    expect((await t.app.incidents.get(norte, incident.id)).cameras, 'nothing attached by the refused request').to.deep.equal(['NORTE-1', 'SUR-NEAR']);

    const everywhere = t.app.users.get(await t.user('operator', { areas: ['citizen'], municipalities: [] }));
    const admin = t.app.users.get(await t.user('admin'));
    expect((await t.app.incidents.attach(admin, incident.id, ['SUR-FAR'])).cameras).to.include('SUR-FAR');
    await t.app.incidents.detach(admin, incident.id, 'SUR-FAR');
    expect((await t.app.incidents.attach(everywhere, incident.id, ['SUR-FAR'])).cameras, 'an operator of every municipality').to.include('SUR-FAR');
  });
});
