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
