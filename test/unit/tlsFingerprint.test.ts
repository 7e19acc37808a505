import { expect } from 'chai';
import { AppError } from '../../server/errors/AppError.ts';
import { checkTlsFingerprintUrl, isTlsFingerprint, normaliseTlsFingerprint, tlsFingerprintSchema } from '../../server/catalog/tlsFingerprint.ts';

const upper = Array.from({ length: 32 }, (_, i) => (i * 7 + 10).toString(16).toUpperCase().padStart(2, '0')).join(':');

describe('camera certificate fingerprints', () => {
  it('normalises colon-separated or bare hex, any case, surrounding spaces, to upper-case colon-separated bytes', () => {
    for (const input of [upper, upper.toLowerCase(), upper.replace(/:/g, ''), upper.replace(/:/g, '').toLowerCase(), `  ${upper}\n`]) {
      expect(normaliseTlsFingerprint(input), input).to.equal(upper);
      expect(tlsFingerprintSchema.parse(input), input).to.equal(upper);
    }
    expect(upper).to.have.length(95);
  });

  it('refuses anything but 32 bytes of hex, naming the field', () => {
    const bad = ['', 'AB', upper.slice(0, -3), `${upper}:00`, upper.replace(/:/g, '') + '0', upper.replace('0', 'G'), upper.replace(/:/g, '-'), upper.replace(/:/, '::'), `SHA256 Fingerprint=${upper}`, upper.replace(/:/g, ' ')];
    for (const input of bad) {
      expect(isTlsFingerprint(input), input).to.equal(false);
      expect(() => normaliseTlsFingerprint(input, 'cameras.0.tlsFingerprint'), input).to.throw(AppError, /^cameras\.0\.tlsFingerprint: must be a SHA-256 fingerprint/);
      const parsed = tlsFingerprintSchema.safeParse(input);
      expect(parsed.success, input).to.equal(false);
      expect(parsed.error?.issues[0]?.code).to.equal('invalid_format');
    }
    // Half colons, half not: the bytes must be all separated or not at all.
    expect(isTlsFingerprint(upper.replace(/:/g, '').replace(/^(..)/, '$1:'))).to.equal(false);
  });

  it('allows a pin only on an rtsps:// URL', () => {
    expect(() => checkTlsFingerprintUrl('rtsps://10.0.0.1/live', upper)).to.not.throw();
    expect(() => checkTlsFingerprintUrl('RTSPS://10.0.0.1/live', upper)).to.not.throw();
    expect(() => checkTlsFingerprintUrl('rtsp://10.0.0.1/live', undefined)).to.not.throw();
    expect(() => checkTlsFingerprintUrl('rtsp://10.0.0.1/live', upper)).to.throw(AppError, /^tlsFingerprint: only an rtsps:\/\/ camera/);
    try {
      checkTlsFingerprintUrl('rtsp://10.0.0.1/live', upper);
    } catch (error) {
      expect((error as AppError).status).to.equal(400);
      expect((error as AppError).code).to.equal('invalid_request');
    }
  });
});
