import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { StatusToken } from '../../server/enrolment/StatusToken.ts';

describe('StatusToken (issue 26: the owner\'s private status link)', () => {
  it('issues 256-bit tokens, shown once, stored as their SHA-256 only', () => {
    const { token, hash } = StatusToken.issue();
    expect(token).to.match(StatusToken.PATTERN);
    expect(Buffer.from(token, 'base64url')).to.have.length(32);
    // An independent computation of the stored hash.
    expect(hash).to.equal(createHash('sha256').update(token).digest('base64url'));
    expect(StatusToken.matches(token, hash)).to.equal(true);
  });

  it('a reissued token voids the old one, and tokens do not repeat', () => {
    const first = StatusToken.issue();
    const second = StatusToken.issue();
    expect(second.token).to.not.equal(first.token);
    expect(StatusToken.matches(first.token, second.hash)).to.equal(false);
    const seen = new Set(Array.from({ length: 1000 }, () => StatusToken.issue().token));
    expect(seen.size).to.equal(1000);
  });

  it('refuses anything else: another token, a near miss, the hash itself, malformed input', () => {
    const { token, hash } = StatusToken.issue();
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const presented of [flipped, hash, '', `${token}=`, token.slice(1), null, undefined, 42, { token }, ' '.repeat(43)]) {
      expect(StatusToken.matches(presented, hash), String(presented)).to.equal(false);
    }
  });
});
