import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { parseChallenges, RtspAuthenticator } from '../../workers/rtsp/RtspAuthenticator.ts';

// Expected responses come from the RFCs' own examples, or (for combinations the RFCs do not print)
// from Python's hashlib computing the RFC 7616 §3.4.1 formulas, recorded here once.

/** The Authorization header's parameters, unquoted (the test's own small reader, not the code under test). */
function params(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of header.replace(/^\w+ /, '').matchAll(/([\w-]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    out[match[1]!] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
  }
  return out;
}

const mufasa = { username: 'Mufasa', password: 'Circle of Life' };
const rfc7616Nonce = '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v';
const rfc7616Opaque = 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS';
const rfc7616Cnonce = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
const rfc7616Challenge = (algorithm: string) =>
  `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="${rfc7616Nonce}", opaque="${rfc7616Opaque}"`;

describe('RtspAuthenticator: RFC examples', () => {
  it('RFC 7616 §3.9.1, SHA-256 (both challenges offered, SHA-256 listed first)', () => {
    const auth = new RtspAuthenticator(mufasa, { cnonce: () => rfc7616Cnonce });
    expect(auth.challenge([rfc7616Challenge('SHA-256'), rfc7616Challenge('MD5')])).to.equal('retry');
    expect(auth.scheme).to.equal('digest-sha256');
    const header = auth.authorization('GET', '/dir/index.html')!;
    expect(header.startsWith('Digest ')).to.equal(true);
    expect(params(header)).to.deep.equal({
      username: 'Mufasa',
      realm: 'http-auth@example.org',
      uri: '/dir/index.html',
      algorithm: 'SHA-256',
      nonce: rfc7616Nonce,
      nc: '00000001',
      cnonce: rfc7616Cnonce,
      qop: 'auth',
      response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
      opaque: rfc7616Opaque,
    });
    // algorithm, qop and nc are unquoted tokens (RFC 7616 §3.4).
    expect(header).to.match(/algorithm=SHA-256(,|$)/).and.match(/qop=auth(,|$)/).and.match(/nc=00000001(,|$)/);
  });

  it('RFC 7616 §3.9.1, MD5', () => {
    const auth = new RtspAuthenticator(mufasa, { cnonce: () => rfc7616Cnonce });
    expect(auth.challenge([rfc7616Challenge('MD5')])).to.equal('retry');
    expect(auth.scheme).to.equal('digest-md5');
    expect(params(auth.authorization('GET', '/dir/index.html')!).response).to.equal('8ca523f5e9506fed4657c9700eebdbec');
  });

  it('RFC 2617 §3.5 (MD5 without an algorithm parameter, which is then not sent)', () => {
    const auth = new RtspAuthenticator({ username: 'Mufasa', password: 'Circle Of Life' }, { cnonce: () => '0a4f113b' });
    auth.challenge(['Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"']);
    const header = auth.authorization('GET', '/dir/index.html')!;
    expect(params(header)).to.deep.equal({
      username: 'Mufasa',
      realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      uri: '/dir/index.html',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0a4f113b',
      response: '6629fae49393a05397450978507c4ef1',
      opaque: '5ccc069c403ebaf9f0171e9517f40e41',
    });
  });

  it('RFC 2069 §2.4 form without qop (the corrected response of the RFC errata: the printed e966c932... is wrong)', () => {
    const auth = new RtspAuthenticator({ username: 'Mufasa', password: 'CircleOfLife' }, { cnonce: () => 'unused' });
    auth.challenge(['Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"']);
    const fields = params(auth.authorization('GET', '/dir/index.html')!);
    expect(fields.response).to.equal('1949323746fe6a43ef61f9606e7febea');
    expect(fields).to.not.have.any.keys('qop', 'nc', 'cnonce', 'algorithm');
  });

  it('-sess variants hash HA1 with nonce and cnonce (RFC 7616 §3.4.2; values from Python hashlib)', () => {
    for (const [algorithm, scheme, response] of [
      ['MD5-sess', 'digest-md5-sess', 'e783283f46242139c486a698fec7211d'],
      ['SHA-256-sess', 'digest-sha256-sess', '2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7'],
    ] as const) {
      let calls = 0;
      const auth = new RtspAuthenticator(mufasa, { cnonce: () => (calls++ === 0 ? rfc7616Cnonce : 'another') });
      auth.challenge([rfc7616Challenge(algorithm)]);
      expect(auth.scheme).to.equal(scheme);
      const first = params(auth.authorization('GET', '/dir/index.html')!);
      expect(first.response, algorithm).to.equal(response);
      expect(first.algorithm).to.equal(algorithm);
      // The session key stays on the first cnonce for the life of the nonce.
      expect(params(auth.authorization('GET', '/dir/index.html')!).cnonce).to.equal(rfc7616Cnonce);
    }
  });
});

describe('RtspAuthenticator: choosing a challenge', () => {
  const basic = 'Basic realm="IP Camera"';
  const md5 = 'Digest realm="IP Camera", nonce="n1"';
  const sha = 'Digest realm="IP Camera", nonce="n2", algorithm="SHA-256"';

  it('Basic listed first, Digest second: Digest', () => {
    const auth = new RtspAuthenticator({ username: 'admin', password: 'x' });
    expect(auth.challenge([basic, md5])).to.equal('retry');
    expect(auth.scheme).to.equal('digest-md5');
    expect(auth.authorization('DESCRIBE', 'rtsp://h/')!.startsWith('Digest ')).to.equal(true);
  });

  it('MD5 then SHA-256: SHA-256, also when both share one header value', () => {
    for (const values of [[md5, sha], [`${md5}, ${sha}`], [`${basic}, ${md5}, ${sha}`]]) {
      const auth = new RtspAuthenticator({ username: 'admin', password: 'x' });
      expect(auth.challenge(values)).to.equal('retry');
      expect(auth.scheme, values.join(' | ')).to.equal('digest-sha256');
      expect(params(auth.authorization('DESCRIBE', 'rtsp://h/')!).nonce).to.equal('n2');
    }
  });

  it('unknown schemes and algorithms are skipped; nothing usable is unsupported', () => {
    expect(parseChallenges(['Negotiate abc==, NTLM', 'Digest realm="r", nonce="n", algorithm=SHA-512-256', 'Digest realm="r"'])).to.deep.equal([]);
    const auth = new RtspAuthenticator({ username: 'a', password: 'b' });
    expect(auth.challenge(['Negotiate abc==', 'Digest realm="r", nonce="n", algorithm=SHA-512-256'])).to.equal('unsupported');
    expect(auth.challenge([])).to.equal('unsupported');
    expect(auth.authorization('DESCRIBE', 'rtsp://h/')).to.equal(undefined);
    // qop="auth-int" alone is answered (our requests have no body): Digest is taken over Basic, never Basic in clear.
    expect(auth.challenge(['Digest realm="r", nonce="n", qop="auth-int"', 'Basic realm="r"'])).to.equal('retry');
    expect(auth.scheme).to.equal('digest-md5');
  });

  it('answers qop=auth-int with the hash of the empty body (RFC 7616 §3.4.3), checked by hand', () => {
    const auth = new RtspAuthenticator({ username: 'u', password: 'p' }, { cnonce: () => 'cn' });
    auth.challenge(['Digest realm="r", nonce="n", qop="auth-int"']);
    const header = auth.authorization('DESCRIBE', 'rtsp://h/s')!;
    const md5 = (text: string) => createHash('md5').update(text).digest('hex');
    const expected = md5(`${md5('u:r:p')}:n:00000001:cn:auth-int:${md5(`DESCRIBE:rtsp://h/s:${md5('')}`)}`);
    expect(header).to.include('qop=auth-int');
    expect(header).to.include(`response="${expected}"`);
  });

  it('no credentials configured', () => {
    const auth = new RtspAuthenticator(undefined);
    expect(auth.challenge([md5])).to.equal('no_credentials');
    expect(auth.authorization('DESCRIBE', 'rtsp://h/')).to.equal(undefined);
    expect(auth.scheme).to.equal(undefined);
  });
});

describe('parseChallenges (RFC 7235 §4.1)', () => {
  it('several challenges in one value, quoted strings with commas, escaped quotes and backslashes', () => {
    const challenges = parseChallenges([
      'Basic realm="a, b", Digest realm="Dahua \\"NVR\\", 2nd floor", nonce="x,y=z", qop="auth,auth-int", opaque="o\\\\p", stale=TRUE, algorithm=md5',
    ]);
    expect(challenges).to.deep.equal([
      { scheme: 'basic', realm: 'a, b', stale: false },
      { scheme: 'digest-md5', realm: 'Dahua "NVR", 2nd floor', nonce: 'x,y=z', qop: ['auth', 'auth-int'], opaque: 'o\\p', stale: true, algorithm: 'md5' },
    ]);
  });

  it('a token68 challenge before a Digest one, odd spacing, unquoted values and case', () => {
    const challenges = parseChallenges(['Negotiate YIIB==,DIGEST   REALM = "r" ,NONCE=abc123 , Qop=auth']);
    expect(challenges).to.deep.equal([{ scheme: 'digest-md5', realm: 'r', nonce: 'abc123', qop: ['auth'], stale: false }]);
  });

  it('garbage does not throw or hang', () => {
    for (const value of ['', ',,,', '=', '"', 'Digest "', 'Digest realm="unterminated', 'Digest ===,=,"', '\u0000\uffff Basic']) {
      expect(() => parseChallenges([value]), JSON.stringify(value)).to.not.throw();
    }
    expect(parseChallenges(['\u0000\uffff Basic'])).to.deep.equal([{ scheme: 'basic', realm: '', stale: false }]);
  });
});

describe('RtspAuthenticator: retries', () => {
  const credentials = { username: 'admin', password: 'wrong' };
  const challenge = (nonce: string, extra = '') => `Digest realm="IP Camera(C0123)", nonce="${nonce}"${extra}`;

  it('Basic is never sent before a challenge', () => {
    const auth = new RtspAuthenticator(credentials);
    expect(auth.authorization('OPTIONS', 'rtsp://h/')).to.equal(undefined);
  });

  it('a second 401 with the same nonce is rejected (wrong password)', () => {
    const auth = new RtspAuthenticator(credentials);
    expect(auth.challenge([challenge('n1')])).to.equal('retry');
    auth.authorization('DESCRIBE', 'rtsp://h/');
    expect(auth.challenge([challenge('n1')])).to.equal('rejected');
  });

  it('the same Basic realm twice is rejected', () => {
    const auth = new RtspAuthenticator(credentials);
    expect(auth.challenge(['Basic realm="r"'])).to.equal('retry');
    auth.authorization('DESCRIBE', 'rtsp://h/');
    expect(auth.challenge(['Basic realm="r"'])).to.equal('rejected');
  });

  it('stale=true retries with the new nonce and restarts nc', () => {
    const auth = new RtspAuthenticator(credentials, { cnonce: () => 'c' });
    auth.challenge([challenge('old', ', qop="auth"')]);
    auth.authorization('DESCRIBE', 'rtsp://h/');
    auth.authorization('SETUP', 'rtsp://h/trackID=1');
    auth.authorization('PLAY', 'rtsp://h/');
    expect(auth.challenge([challenge('new', ', qop="auth", stale=true')])).to.equal('retry');
    const fields = params(auth.authorization('GET_PARAMETER', 'rtsp://h/')!);
    expect(fields.nonce).to.equal('new');
    expect(fields.nc).to.equal('00000001');
  });

  it('stale=true right after our credentials is still a retry (the nonce expired, the password is right), but not forever', () => {
    const auth = new RtspAuthenticator(credentials);
    auth.challenge([challenge('n0')]);
    const verdicts: string[] = [];
    for (let n = 1; n <= 5; n++) {
      auth.authorization('DESCRIBE', 'rtsp://h/');
      verdicts.push(auth.challenge([challenge(`n${n}`, ', stale=true')]));
    }
    expect(verdicts).to.deep.equal(['retry', 'retry', 'retry', 'rejected', 'rejected']);
  });

  it('credentials refused on the request that carried them are rejected at once, even with a new nonce (one failed login, not two)', () => {
    const auth = new RtspAuthenticator(credentials);
    expect(auth.challenge([challenge('a')])).to.equal('retry');
    auth.authorization('DESCRIBE', 'rtsp://h/');
    expect(auth.challenge([challenge('b')])).to.equal('rejected');
  });

  it('a changed challenge after requests went through is retried', () => {
    const auth = new RtspAuthenticator(credentials);
    auth.challenge([challenge('a')]);
    auth.authorization('DESCRIBE', 'rtsp://h/');
    auth.authorization('SETUP', 'rtsp://h/trackID=1');
    expect(auth.challenge([challenge('b')])).to.equal('retry');
    expect(params(auth.authorization('SETUP', 'rtsp://h/trackID=1')!).nonce).to.equal('b');
  });

  it('nc counts requests under one nonce as 8 hex digits, with a fresh cnonce each time', () => {
    let n = 0;
    const auth = new RtspAuthenticator(credentials, { cnonce: () => `c${n++}` });
    auth.challenge([challenge('n', ', qop="auth"')]);
    const seen = Array.from({ length: 17 }, () => params(auth.authorization('OPTIONS', '*')!));
    expect(seen.map((f) => f.nc).slice(0, 2)).to.deep.equal(['00000001', '00000002']);
    expect(seen[15]!.nc).to.equal('00000010');
    expect(seen[16]!.nc).to.equal('00000011');
    expect(new Set(seen.map((f) => f.cnonce)).size).to.equal(17);
  });
});

describe('RtspAuthenticator: awkward credentials', () => {
  it('Basic with @ : / # % in the password (RFC 7617 §2: user-id ":" password, UTF-8, base64)', () => {
    const auth = new RtspAuthenticator({ username: 'admin', password: 'p@ss:w/rd#50%' });
    auth.challenge(['Basic realm="Axis"']);
    const header = auth.authorization('DESCRIBE', 'rtsp://h/axis-media/media.amp')!;
    // base64 of "admin:p@ss:w/rd#50%", as `printf 'admin:p@ss:w/rd#50%%' | base64` prints it.
    expect(header).to.equal('Basic YWRtaW46cEBzczp3L3JkIzUwJQ==');
  });

  it('Basic with a unicode password is UTF-8', () => {
    const auth = new RtspAuthenticator({ username: 'opérateur', password: 'mot de passe ✓' });
    auth.challenge(['Basic realm="r"']);
    const value = auth.authorization('DESCRIBE', 'rtsp://h/')!.slice('Basic '.length);
    expect(Buffer.from(value, 'base64').toString('utf8')).to.equal('opérateur:mot de passe ✓');
  });

  it('Digest with " and \\ in the username (escaped in the quoted string) and unicode, hashed as UTF-8 (Python hashlib)', () => {
    const auth = new RtspAuthenticator({ username: 'admin@"x\\:Zoë', password: 'p@ss:/w#%"ö' });
    auth.challenge(['Digest realm="IP Camera(12345)", nonce="abc123"']);
    const uri = 'rtsp://192.0.2.10:554/Streaming/Channels/101';
    const header = auth.authorization('DESCRIBE', uri)!;
    expect(header).to.contain('username="admin@\\"x\\\\:Zoë"');
    expect(params(header)).to.include({ username: 'admin@"x\\:Zoë', uri, response: '855db39a390b98b49f114d85e8c875fc' });
  });
});
