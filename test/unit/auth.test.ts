import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { AppError } from '../../server/errors/AppError.ts';
import { LoginCodes } from '../../server/auth/LoginCodes.ts';
import { TokenService } from '../../server/auth/TokenService.ts';

const SECRET = 'x'.repeat(48);
const now = () => Math.floor(Date.now() / 1000);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as AppError).code;
  }
  return undefined;
}

describe('TokenService', () => {
  const tokens = new TokenService(SECRET, 900, 12 * 3600);

  it('issues a short-lived token that verifies to the same identity', () => {
    const issued = tokens.issue({ userId: 'u1', role: 'supervisor', authTime: now() });
    const verified = tokens.verify(issued.token);
    expect(verified.userId).to.equal('u1');
    expect(verified.role).to.equal('supervisor');
    expect(issued.expiresAt - Date.now()).to.be.within(890_000, 900_000);
    expect(verified.expiresAt).to.equal(issued.expiresAt);
  });

  it('pins the algorithm, issuer and audience', () => {
    const claims = { role: 'admin', auth_time: now() };
    const forged = [
      jwt.sign(claims, SECRET, { algorithm: 'HS512', subject: 'u', issuer: 'c5-live', audience: 'c5-console' }),
      jwt.sign(claims, '', { algorithm: 'none', subject: 'u', issuer: 'c5-live', audience: 'c5-console' } as jwt.SignOptions),
      jwt.sign(claims, SECRET, { algorithm: 'HS256', subject: 'u', issuer: 'someone-else', audience: 'c5-console' }),
      jwt.sign(claims, SECRET, { algorithm: 'HS256', subject: 'u', issuer: 'c5-live', audience: 'other' }),
      jwt.sign(claims, 'y'.repeat(48), { algorithm: 'HS256', subject: 'u', issuer: 'c5-live', audience: 'c5-console' }),
      jwt.sign({ role: 'emperor', auth_time: now() }, SECRET, { algorithm: 'HS256', subject: 'u', issuer: 'c5-live', audience: 'c5-console' }),
    ];
    for (const token of forged) expect(codeOf(() => tokens.verify(token))).to.equal('unauthenticated');
    expect(codeOf(() => tokens.verify(undefined))).to.equal('unauthenticated');
  });

  it('rejects an expired token with a message saying so', () => {
    const expired = jwt.sign({ role: 'operator', auth_time: now() - 100 }, SECRET, {
      algorithm: 'HS256', subject: 'u', issuer: 'c5-live', audience: 'c5-console', expiresIn: -10,
    });
    try {
      tokens.verify(expired);
      expect.fail('accepted an expired token');
    } catch (error) {
      expect((error as AppError).message).to.equal('the token has expired');
    }
  });

  it('never extends a session past its maximum length', () => {
    const short = new TokenService(SECRET, 900, 3600);
    const late = short.issue({ userId: 'u', role: 'operator', authTime: now() - 3590 });
    expect(late.expiresAt - Date.now()).to.be.at.most(10_000);
    expect(codeOf(() => short.issue({ userId: 'u', role: 'operator', authTime: now() - 3601 }))).to.equal('unauthenticated');
  });
});

describe('TokenService sessions (sign-out)', () => {
  it('gives each sign-in its own session id, keeps it on refresh, and refuses every token of a revoked session', () => {
    const tokens = new TokenService(SECRET, 900, 3600);
    try {
      const first = tokens.verify(tokens.issue({ userId: 'u', role: 'operator', authTime: now() }).token);
      const other = tokens.verify(tokens.issue({ userId: 'u', role: 'operator', authTime: now() }).token);
      expect(first.sessionId).to.be.a('string').with.length.greaterThan(16);
      expect(other.sessionId).not.to.equal(first.sessionId);
      const refreshed = tokens.issue(first);
      expect(tokens.verify(refreshed.token).sessionId).to.equal(first.sessionId);
      const ended: string[] = [];
      tokens.onRevoked((sid) => ended.push(sid));
      tokens.revoke(first);
      expect(ended).to.deep.equal([first.sessionId]);
      expect(codeOf(() => tokens.verify(refreshed.token))).to.equal('unauthenticated');
      expect(codeOf(() => tokens.issue(first))).to.equal('unauthenticated');
      expect(tokens.verify(tokens.issue(other).token).userId).to.equal('u');
    } finally {
      tokens.close();
    }
  });

  it('forgets a revocation once the session could have no valid token left', () => {
    const tokens = new TokenService(SECRET, 900, 3600);
    try {
      tokens.revoke({ userId: 'u', role: 'operator', authTime: now() - 7200, sessionId: 'a'.repeat(24) });
      expect(tokens.revocations.size).to.equal(0);
      tokens.revoke({ userId: 'u', role: 'operator', authTime: now(), sessionId: 'b'.repeat(24) });
      expect(tokens.revocations.size).to.equal(1);
    } finally {
      tokens.close();
    }
  });
});

describe('LoginCodes', () => {
  it('redeems a code once', () => {
    const codes = new LoginCodes(60_000);
    const code = codes.issue({ userId: 'demo', role: 'operator' });
    expect(codes.redeem(code).userId).to.equal('demo');
    expect(codeOf(() => codes.redeem(code))).to.equal('unauthenticated');
    expect(codeOf(() => codes.redeem('guess'))).to.equal('unauthenticated');
  });

  it('refuses a code after it expires', async () => {
    const codes = new LoginCodes(100);
    const code = codes.issue({ userId: 'demo', role: 'operator' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(codeOf(() => codes.redeem(code))).to.equal('unauthenticated');
  });
});
