/**
 * Token and session attacks against a running app (issue 17, part 2), and server-side sign-out
 * (part 3): every forged, stale or signed-out token is refused with 401 `unauthenticated` on REST
 * and on the Socket.IO handshake; refused sign-ins are in the audit trail.
 *
 * Each forgery is built from claims that pass with the real secret (the control case), so a
 * refusal is due to the one thing changed.
 */
import { createHmac, generateKeyPairSync, randomBytes, sign as rsaSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { connectClient, request, type ClientSocket } from '../support/signallingClient.ts';
import { SecretsScan } from '../support/SecretsScan.ts';

const PASSWORD = 'a-long-test-password';
const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('token and session attacks (refused with 401, audited where a sign-in)', function () {
  this.timeout(120_000);
  let t: TestApp;
  let secret: string;
  let userId: string;
  let username: string;
  const sockets: ClientSocket[] = [];

  const base = () => t.app.consoleUrl;
  const me = (token: string) => fetch(`${base()}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${base()}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
  const login = async (name = username): Promise<string> => {
    const res = await post('/api/auth/login', { username: name, password: PASSWORD });
    expect(res.status, 'sign-in').to.equal(200);
    return ((await res.json()) as { token: string }).token;
  };
  const expect401 = async (res: Response, what: string) => {
    const body = (await res.json()) as { error?: { code?: string } };
    expect(res.status, what).to.equal(401);
    expect(body.error?.code, what).to.equal('unauthenticated');
  };
  const handshakeRefusal = async (token: unknown): Promise<string | undefined> => {
    try {
      const socket = await connectClient(base(), token as string);
      sockets.push(socket);
    } catch (error) {
      return (error as { data?: { code?: string } }).data?.code ?? 'refused';
    }
    return undefined;
  };
  const connect = async (token: string) => {
    const socket = await connectClient(base(), token);
    sockets.push(socket);
    return socket;
  };
  const auditEntries = async (action: string) => ((await t.app.audit.query({ action }, { offset: 0, limit: 200 })) as unknown as { items: Array<Record<string, unknown>> }).items;
  /** Claims that pass with the real secret (see the control case). */
  const claims = (overrides: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return { sub: userId, role: 'operator', auth_time: now, sid: randomBytes(18).toString('base64url'), iss: 'c5-live', aud: 'c5-console', iat: now, exp: now + 600, ...overrides };
  };
  const hs = (alg: 'HS256' | 'HS384' | 'HS512', payload: object, key = secret) => {
    const head = `${b64url({ alg, typ: 'JWT' })}.${b64url(payload)}`;
    return `${head}.${createHmac(`sha${alg.slice(2)}`, key).update(head).digest('base64url')}`;
  };

  before(async () => {
    t = await startTestApp({});
    secret = readFileSync(join(t.app.config.dataDir, 'secrets', 'jwt-secret'), 'utf8').trim();
    expect(secret.length).to.be.greaterThan(30);
    username = `attacked-${process.pid}`;
    userId = (await t.app.users.createUser({ username, displayName: 'Attacked', role: 'operator', areas: ['agency'], municipalities: [], password: PASSWORD })).id;
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await t?.close();
  });

  it('accepts the control token (hand-made, HS256, real secret), so each refusal below is due to its one change', async () => {
    expect((await me(hs('HS256', claims()))).status).to.equal(200);
    expect(await handshakeRefusal(hs('HS256', claims()))).to.equal(undefined);
  });

  const forgeries: Array<[string, () => string]> = [
    ['alg none (no signature)', () => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims())}.`],
    ['alg none (upper-case, HMAC signature kept)', () => { const [, p, s] = hs('HS256', claims()).split('.'); return `${b64url({ alg: 'NONE', typ: 'JWT' })}.${p}.${s}`; }],
    ['HS384 with the real secret', () => hs('HS384', claims())],
    ['HS512 with the real secret', () => hs('HS512', claims())],
    ['RS256 header, HMAC-SHA256 over the secret as the "public key"', () => {
      const head = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims())}`;
      return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
    }],
    ['RS256 header, the secret wrapped as a PEM public key', () => {
      const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(secret).toString('base64')}\n-----END PUBLIC KEY-----\n`;
      const head = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims())}`;
      return `${head}.${createHmac('sha256', pem).update(head).digest('base64url')}`;
    }],
    ['RS256 signed with an attacker RSA key', () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const head = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims())}`;
      return `${head}.${rsaSign('sha256', Buffer.from(head), privateKey).toString('base64url')}`;
    }],
    ['expired', () => hs('HS256', claims({ iat: Math.floor(Date.now() / 1000) - 1200, exp: Math.floor(Date.now() / 1000) - 600 }))],
    ['not yet valid (nbf in the future)', () => hs('HS256', claims({ nbf: Math.floor(Date.now() / 1000) + 600 }))],
    ['signed with another key', () => hs('HS256', claims(), randomBytes(48).toString('base64url'))],
    ['wrong issuer', () => hs('HS256', claims({ iss: 'someone-else' }))],
    ['wrong audience', () => hs('HS256', claims({ aud: 'another-app' }))],
    ['no session id', () => { const { sid: _sid, ...rest } = claims(); return hs('HS256', rest); }],
    ['made-up role', () => hs('HS256', claims({ role: 'emperor' }))],
    ['payload changed after signing (admin)', () => { const [h, , s] = hs('HS256', claims()).split('.'); return `${h}.${b64url(claims({ role: 'admin' }))}.${s}`; }],
    ['jsonwebtoken HS512 (library-made)', () => jwt.sign({ role: 'operator', auth_time: Math.floor(Date.now() / 1000), sid: 'x'.repeat(20) }, secret, { algorithm: 'HS512', subject: userId, issuer: 'c5-live', audience: 'c5-console' })],
  ];
  for (const [name, forge] of forgeries) {
    it(`refuses ${name} on REST and on the Socket.IO handshake`, async () => {
      const token = forge();
      await expect401(await me(token), name);
      expect(await handshakeRefusal(token), name).to.equal('unauthenticated');
    });
  }

  it('refuses a Socket.IO handshake with no token, an empty one, a non-string one and garbage', async () => {
    for (const token of [undefined, '', 42, { token: 'x' }, 'not.a.jwt', 'a'.repeat(5000)]) {
      expect(await handshakeRefusal(token), JSON.stringify(token)?.slice(0, 40)).to.equal('unauthenticated');
    }
  });

  it('refuses the token of a disabled user (REST, handshake, open socket) and audits the refused password sign-in', async () => {
    const name = `disabled-${process.pid}`;
    const id = (await t.app.users.createUser({ username: name, displayName: 'Disabled', role: 'operator', areas: ['agency'], municipalities: [], password: PASSWORD })).id;
    const token = await login(name);
    const socket = await connect(token);
    const ended = new Promise<string>((resolve) => socket.once('sessionEnded', (event) => resolve(event.reason)));
    await t.app.users.updateUser(id, { disabled: true });
    expect(await ended).to.contain('disabled');
    await expect401(await me(token), 'disabled user token');
    expect(await handshakeRefusal(token)).to.equal('unauthenticated');
    await expect401(await post('/api/auth/login', { username: name, password: PASSWORD }), 'disabled user sign-in');
    const failed = await auditEntries('auth.login_failed');
    expect(failed.some((entry) => entry.username === name)).to.equal(true);
  });

  it('refuses a login code used twice, and audits the refusal (without the code)', async () => {
    const code = t.app.loginCodes.issue({ userId, role: 'operator' });
    const first = await post('/api/auth/code', { code });
    expect(first.status).to.equal(200);
    const before = (await auditEntries('auth.login_failed')).length;
    await expect401(await post('/api/auth/code', { code }), 'second use of a login code');
    const failed = await auditEntries('auth.login_failed');
    expect(failed.length).to.equal(before + 1);
    expect(JSON.stringify(failed[0])).to.contain('login code');
    expect(JSON.stringify(failed)).not.to.contain(code);
  });

  describe('server-side sign-out', () => {
    it('refuses the signed-out session everywhere, ends its sockets within a second, and leaves another session of the user alone', async () => {
      const a = await login();
      const b = await login();
      const sidOf = (token: string) => (jwt.decode(token) as { sid: string }).sid;
      expect(sidOf(a)).to.be.a('string').and.not.equal(sidOf(b));

      const socketA = await connect(a);
      const socketB = await connect(b);
      // A refreshed token keeps its session.
      const refreshedA = await request(socketA, 'refreshToken', {});
      expect(refreshedA.error).to.equal(undefined);
      const aNewer = (refreshedA as { token: string }).token;
      expect(sidOf(aNewer)).to.equal(sidOf(a));

      let endedAfterMs = -1;
      const start = Date.now();
      const ended = new Promise<string>((resolve) =>
        socketA.once('sessionEnded', (event) => {
          endedAfterMs = Date.now() - start;
          resolve(event.reason);
        }),
      );
      const disconnected = new Promise<void>((resolve) => socketA.once('disconnect', () => resolve()));
      const out = await post('/api/auth/logout', {}, a);
      expect(out.status).to.equal(204);
      expect(await ended).to.contain('signed out');
      await disconnected;
      console.log(`      open socket of the signed-out session got sessionEnded after ${endedAfterMs} ms`);
      expect(endedAfterMs).to.be.within(0, 1000);

      for (const token of [a, aNewer]) {
        await expect401(await me(token), 'REST after sign-out');
        expect(await handshakeRefusal(token)).to.equal('unauthenticated');
        await expect401(await post('/api/auth/logout', {}, token), 'second sign-out');
      }

      // The other session of the same user: still connected, refreshes, REST works.
      expect(socketB.connected).to.equal(true);
      const refreshedB = await request(socketB, 'refreshToken', {});
      expect(refreshedB.error).to.equal(undefined);
      expect(sidOf((refreshedB as { token: string }).token)).to.equal(sidOf(b));
      expect((await me(b)).status).to.equal(200);

      const logouts = await auditEntries('auth.logout');
      expect(logouts.some((entry) => entry.userId === userId)).to.equal(true);
    });

    it('refuses a refresh over a socket of a signed-out session (with its disconnect held back)', async () => {
      const token = await login();
      const socket = await connect(token);
      const signalling = t.app.signalling as unknown as { sessionRevoked: (sid: string) => void };
      const held: string[] = [];
      const original = signalling.sessionRevoked;
      signalling.sessionRevoked = (sid: string) => void held.push(sid);
      try {
        expect((await post('/api/auth/logout', {}, token)).status).to.equal(204);
        expect(held).to.have.length(1);
        expect(socket.connected).to.equal(true);
        const answer = await request(socket, 'refreshToken', {});
        expect(answer.error?.code).to.equal('unauthenticated');
      } finally {
        signalling.sessionRevoked = original;
      }
      const ended = new Promise<void>((resolve) => socket.once('sessionEnded', () => resolve()));
      for (const sid of held) t.app.signalling.sessionRevoked(sid);
      await ended;
    });

    it('keeps revocations only until the longest-lived token of the session would have expired', () => {
      const revocations = t.app.tokens.revocations;
      const soon = `soon-${randomBytes(9).toString('base64url')}`;
      revocations.revoke(soon, Date.now() + 50);
      expect(revocations.isRevoked(soon)).to.equal(true);
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          expect(revocations.isRevoked(soon)).to.equal(false);
          resolve();
        }, 80),
      );
    });

    it('documents the sign-out in the OpenAPI document', async () => {
      const doc = (await (await fetch(`${base()}/api/openapi.json`)).json()) as { paths: Record<string, { post?: { responses: Record<string, unknown> } }> };
      expect(doc.paths['/api/auth/logout']?.post?.responses).to.have.keys('204', '400', '401', '413');
    });
  });

  describe('after the attacks', () => {
    it('no secret in the logs, /metrics or the audit (JWT secret, keys, the password)', async () => {
      const scan = new SecretsScan().registerApp(t.app).register('password', PASSWORD).watchLog(t.log);
      await scan.collectApp(t.app);
      expect(scan.counts.logLines).to.be.greaterThan(0);
      scan.assertClean();
    });
  });
});
