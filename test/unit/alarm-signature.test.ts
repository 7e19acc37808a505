import { expect } from 'chai';
import { canonicalString, isTimestamp, newDeviceKey, sign, signatureHeaders, signedHeaders, verify, type SignedParts } from '../../server/alarms/AlarmSignature.ts';

/**
 * The signature of the alarm intake (issue 22): the canonical string, sign/verify, and known-answer
 * vectors computed outside this code base (OpenSSL and coreutils), so a change of the scheme (field
 * order, separators, the method's case, the body hash's encoding) fails here instead of locking out
 * every device in the field.
 */

/**
 * Vector 1: an empty body. Computed at authoring time with:
 *
 *   KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
 *   E=$(printf '' | sha256sum | cut -d' ' -f1)
 *   printf '%s\n%s\n%s\n%s\n%s' 1700000000 req-00000001 POST /api/alarms "$E" \
 *     | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY
 *
 * (cross-checked with Python's hmac/hashlib modules)
 */
const VECTOR_EMPTY = {
  key: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  timestamp: '1700000000',
  requestId: 'req-00000001',
  body: '',
  bodySha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  signature: 'ebc024e4549e89be818803d7833fdbb6c4d09093c64b88b41a21cce8a9e140d6',
};

/**
 * Vector 2: a UTF-8 body (70 bytes: an em dash, ñ, Ú and ☎ are multi-byte). Computed with:
 *
 *   KEY2=c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00
 *   BODY='{"type":"alarm","note":"Auxilio — tienda de la señora Núñez ☎"}'
 *   B=$(printf '%s' "$BODY" | sha256sum | cut -d' ' -f1)
 *   printf '%s\n%s\n%s\n%s\n%s' 1767225600 app.Press_2026-01-01 POST /api/alarms "$B" \
 *     | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY2
 *
 * (in a UTF-8 shell; cross-checked with Python's hmac/hashlib modules)
 */
const VECTOR_UTF8 = {
  key: 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00',
  timestamp: '1767225600',
  requestId: 'app.Press_2026-01-01',
  body: '{"type":"alarm","note":"Auxilio — tienda de la señora Núñez ☎"}',
  bodyBytes: 70,
  bodySha256: '649a0e0de69a0bfa8a496163a036757a115d8aa93697beb29f2015f339416467',
  signature: 'dc55c3cf77b5f7e95ae35bc91d645b2feb1298002a25398a483d1c16d0e20473',
};

const partsOf = (vector: { timestamp: string; requestId: string; body: string }, extra: Partial<SignedParts> = {}): SignedParts => ({
  timestamp: vector.timestamp,
  requestId: vector.requestId,
  method: 'POST',
  path: '/api/alarms',
  body: Buffer.from(vector.body, 'utf8'),
  ...extra,
});

describe('alarm intake signature (issue 22)', () => {
  describe('known-answer vectors (OpenSSL, not this code)', () => {
    it('an empty body: canonical string and signature', () => {
      const parts = partsOf(VECTOR_EMPTY);
      expect(canonicalString(parts)).to.equal(`1700000000\nreq-00000001\nPOST\n/api/alarms\n${VECTOR_EMPTY.bodySha256}`);
      expect(sign(VECTOR_EMPTY.key, parts)).to.equal(VECTOR_EMPTY.signature);
      expect(verify(VECTOR_EMPTY.key, parts, VECTOR_EMPTY.signature)).to.equal(true);
    });

    it('a UTF-8 body is hashed byte for byte as sent', () => {
      const parts = partsOf(VECTOR_UTF8);
      expect(parts.body.length).to.equal(VECTOR_UTF8.bodyBytes);
      expect(canonicalString(parts)).to.equal(`1767225600\napp.Press_2026-01-01\nPOST\n/api/alarms\n${VECTOR_UTF8.bodySha256}`);
      expect(sign(VECTOR_UTF8.key, parts)).to.equal(VECTOR_UTF8.signature);
      expect(verify(VECTOR_UTF8.key, parts, VECTOR_UTF8.signature)).to.equal(true);
    });

    it('signedHeaders produces the vector signature for the same inputs', () => {
      const headers = signedHeaders({ deviceCode: 'BTN-1', keyHex: VECTOR_UTF8.key, body: VECTOR_UTF8.body, timestampS: Number(VECTOR_UTF8.timestamp), requestId: VECTOR_UTF8.requestId });
      expect(headers).to.deep.equal({
        [signatureHeaders.device]: 'BTN-1',
        [signatureHeaders.timestamp]: VECTOR_UTF8.timestamp,
        [signatureHeaders.requestId]: VECTOR_UTF8.requestId,
        [signatureHeaders.signature]: VECTOR_UTF8.signature,
      });
      // A Buffer body signs the same as its string.
      expect(signedHeaders({ deviceCode: 'BTN-1', keyHex: VECTOR_UTF8.key, body: Buffer.from(VECTOR_UTF8.body), timestampS: Number(VECTOR_UTF8.timestamp), requestId: VECTOR_UTF8.requestId })[signatureHeaders.signature]).to.equal(VECTOR_UTF8.signature);
    });
  });

  describe('canonical string', () => {
    it('is timestamp, request id, METHOD, path and the hex SHA-256 of the body, joined by LF with no trailing LF', () => {
      const text = canonicalString(partsOf(VECTOR_EMPTY, { method: 'post' }));
      expect(text.split('\n')).to.deep.equal(['1700000000', 'req-00000001', 'POST', '/api/alarms', VECTOR_EMPTY.bodySha256]);
      expect(text.endsWith('\n')).to.equal(false);
    });

    it('the method is upper-cased before signing (a lower-case method signs the same)', () => {
      expect(sign(VECTOR_EMPTY.key, partsOf(VECTOR_EMPTY, { method: 'post' }))).to.equal(VECTOR_EMPTY.signature);
    });
  });

  describe('sign / verify', () => {
    const key = VECTOR_UTF8.key;
    const parts = partsOf(VECTOR_UTF8);
    const good = VECTOR_UTF8.signature;

    it('a signature in upper-case hex is the same signature', () => {
      expect(verify(key, parts, good.toUpperCase())).to.equal(true);
    });

    it('every signed field matters', () => {
      const changed: Array<[string, Partial<SignedParts>]> = [
        ['timestamp', { timestamp: '1767225601' }],
        ['request id', { requestId: 'app.Press_2026-01-02' }],
        ['method', { method: 'PUT' }],
        ['path', { path: '/api/alarms/' }],
        ['path with a query', { path: '/api/alarms?x=1' }],
        ['body (one byte more)', { body: Buffer.concat([Buffer.from(VECTOR_UTF8.body), Buffer.from(' ')]) }],
        ['body (re-encoded as latin1)', { body: Buffer.from(VECTOR_UTF8.body, 'latin1') }],
      ];
      for (const [what, change] of changed) {
        expect(verify(key, { ...parts, ...change }, good), what).to.equal(false);
      }
      // Another key.
      expect(verify(VECTOR_EMPTY.key, parts, good), 'another key').to.equal(false);
    });

    it('rejects malformed signatures without throwing: wrong length, non-hex, case-mixed garbage, empty', () => {
      const malformed = [
        '',
        good.slice(0, 63),
        `${good}0`,
        good.slice(0, 62),
        `${good}${good}`,
        `${good.slice(0, 63)}g`,
        'Zz'.repeat(32),
        'DeAdBeEf'.repeat(7) + 'xYz!' + 'AbCd',
        ` ${good.slice(1)}`,
        `${good.slice(0, 32)}\n${good.slice(33)}`,
        Buffer.from(good, 'hex').toString('base64'),
        Buffer.from(good, 'hex').toString('binary'),
      ];
      for (const signature of malformed) {
        expect(() => verify(key, parts, signature), JSON.stringify(signature)).to.not.throw();
        expect(verify(key, parts, signature), JSON.stringify(signature)).to.equal(false);
      }
    });

    it('rejects a well-formed 64-hex signature that differs in one digit, in any position', () => {
      for (const position of [0, 31, 63]) {
        const digit = good[position] === '0' ? '1' : '0';
        const altered = `${good.slice(0, position)}${digit}${good.slice(position + 1)}`;
        expect(verify(key, parts, altered), `digit ${position}`).to.equal(false);
      }
    });

    it('a device key is 64 lower-case hex digits: anything else throws when signing', () => {
      for (const bad of ['', key.slice(0, 62), key.toUpperCase(), `${key}00`, 'g'.repeat(64)]) {
        expect(() => sign(bad, parts), JSON.stringify(bad)).to.throw(/64 lower-case hex/);
      }
    });

    it('new keys are 64 lower-case hex digits, different each time, and sign', () => {
      const a = newDeviceKey();
      const b = newDeviceKey();
      expect(a).to.match(/^[0-9a-f]{64}$/);
      expect(b).to.match(/^[0-9a-f]{64}$/);
      expect(a).to.not.equal(b);
      expect(verify(a, parts, sign(a, parts))).to.equal(true);
      expect(verify(b, parts, sign(a, parts))).to.equal(false);
    });
  });

  describe('headers', () => {
    it('timestamps are decimal seconds (1-12 digits)', () => {
      for (const good of ['0', '1700000000', '999999999999']) expect(isTimestamp(good), good).to.equal(true);
      for (const bad of ['', '-1', '1.5', '1e9', '1700000000000', ' 1700000000', '0x10']) expect(isTimestamp(bad), bad).to.equal(false);
    });

    it('signedHeaders defaults: now in seconds, a fresh well-formed request id, POST /api/alarms', () => {
      const before = Math.floor(Date.now() / 1000);
      const one = signedHeaders({ deviceCode: 'BTN-1', keyHex: VECTOR_EMPTY.key, body: '' });
      const two = signedHeaders({ deviceCode: 'BTN-1', keyHex: VECTOR_EMPTY.key, body: '' });
      const after = Math.floor(Date.now() / 1000);
      const ts = Number(one[signatureHeaders.timestamp]);
      expect(ts).to.be.within(before, after);
      expect(one[signatureHeaders.requestId]).to.match(/^[A-Za-z0-9._-]{8,128}$/);
      expect(one[signatureHeaders.requestId]).to.not.equal(two[signatureHeaders.requestId]);
      const parts = { timestamp: one[signatureHeaders.timestamp]!, requestId: one[signatureHeaders.requestId]!, method: 'POST', path: '/api/alarms', body: Buffer.alloc(0) };
      expect(verify(VECTOR_EMPTY.key, parts, one[signatureHeaders.signature]!)).to.equal(true);
    });
  });
});
