import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { connectClient, type ClientSocket } from '../support/signallingClient.ts';

/**
 * incidentsChanged (issue 21) tells the consoles of the users who run the incident, not every
 * operator: an operator of another municipality learns nothing of it (not even that it exists).
 */
describe('incident events over Socket.IO (issue 21)', function () {
  this.timeout(60_000);
  let t: TestApp;
  const sockets: ClientSocket[] = [];

  before(async () => {
    t = await startTestApp({ ingest: { workers: 0 }, media: { workers: 1 } } as never);
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await t.close();
  });

  it("only the operators who run an incident (and admins) hear incidentsChanged about it", async () => {
    const listen = async (token: string) => {
      const socket = await connectClient(t.app.consoleUrl, token);
      sockets.push(socket);
      const heard: string[] = [];
      socket.on('incidentsChanged', (event) => heard.push(event.incidentId));
      return heard;
    };
    const norteId = await t.user('operator', { areas: ['agency', 'citizen'], municipalities: ['Norte'] });
    const norte = await listen(t.app.tokens.issue({ userId: norteId, role: 'operator', authTime: Math.floor(Date.now() / 1000) }).token);
    const sur = await listen(await t.token('operator', { areas: ['agency', 'citizen'], municipalities: ['Sur'] }));
    const everywhere = await listen(await t.token('operator', { areas: ['agency'], municipalities: [] }));
    const admin = await listen(await t.token('admin'));
    const incident = await t.app.incidents.open(t.app.users.get(norteId), { title: 'Robbery', kind: 'robbery', location: { lat: 25, lng: -100 }, municipality: 'Norte', autoAttach: false });
    await t.app.incidents.closeIncident(t.app.users.get(norteId), incident.id, { disposition: 'resolved', note: 'done' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect({ norte, sur, everywhere, admin }).to.deep.equal({ norte: [incident.id, incident.id], sur: [], everywhere: [incident.id, incident.id], admin: [incident.id, incident.id] });
  });
});
