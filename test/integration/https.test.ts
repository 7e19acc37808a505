import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { io } from 'socket.io-client';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';

function get(request: typeof httpsRequest | typeof httpRequest, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

describe('HTTPS', function () {
  this.timeout(60_000);
  let dir: string;
  let t: TestApp;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'c5-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    t = await startTestApp({ http: { tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'key.pem') } });
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the console, the API and Socket.IO over HTTPS/WSS only', async () => {
    expect(t.app.consoleUrl).to.match(/^https:\/\//);
    const page = await get(httpsRequest, `${t.app.consoleUrl}/`);
    expect(page.status).to.equal(200);
    expect(page.body).to.contain('app.js');
    expect((await get(httpsRequest, `${t.app.consoleUrl}/healthz`)).status).to.equal(200);
    // The same port does not speak plain HTTP.
    let plainFailed = false;
    try {
      const plain = await get(httpRequest, t.app.consoleUrl.replace('https://', 'http://') + '/healthz');
      plainFailed = plain.status !== 200;
    } catch {
      plainFailed = true;
    }
    expect(plainFailed, 'plain HTTP answered').to.equal(true);
    const socket = io(t.app.consoleUrl, { path: '/socket.io', auth: { token: await t.token('operator') }, transports: ['websocket'], rejectUnauthorized: false, reconnection: false, forceNew: true });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      expect(socket.connected).to.equal(true);
    } finally {
      socket.close();
    }
  });
});
