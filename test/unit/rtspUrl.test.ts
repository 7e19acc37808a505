import { expect } from 'chai';
import { AppError } from '../../server/errors/AppError.ts';
import { maskRtspUrl, normaliseRtspUrl, splitCredentials } from '../../server/catalog/rtspUrl.ts';
import { UrlVault } from '../../server/catalog/UrlVault.ts';
import { SecretVault } from '../../server/auth/SecretVault.ts';

describe('camera URLs', () => {
  it('accepts rtsp and rtsps URLs with hosts, IPs, ports and inline or separate credentials', () => {
    expect(normaliseRtspUrl('rtsp://10.1.2.3:554/Streaming/Channels/101', 'mainUrl')).to.equal('rtsp://10.1.2.3:554/Streaming/Channels/101');
    expect(normaliseRtspUrl('rtsps://cam-7.example.org/live?channel=1', 'mainUrl')).to.equal('rtsps://cam-7.example.org/live?channel=1');
    expect(normaliseRtspUrl('rtsp://[fe80::1]:8554/a', 'mainUrl')).to.equal('rtsp://[fe80::1]:8554/a');
    expect(normaliseRtspUrl('rtsp://admin:p%40ss@10.0.0.9/x', 'mainUrl')).to.equal('rtsp://admin:p%40ss@10.0.0.9/x');
    expect(normaliseRtspUrl('rtsp://10.0.0.9/x', 'mainUrl', { username: 'admin', password: 'p@ss;$(rm -rf)' })).to.equal(
      'rtsp://admin:p%40ss%3B%24(rm%20-rf)@10.0.0.9/x',
    );
  });

  it('refuses hostile and malformed URLs, naming the field', () => {
    const hostile = [
      'rtsp://10.0.0.1/a;rm -rf /',
      'rtsp://10.0.0.1/a|nc evil 1',
      'rtsp://10.0.0.1/$(reboot)',
      'rtsp://10.0.0.1/`id`',
      'rtsp://10.0.0.1/a&b',
      'rtsp://10.0.0.1/a\nGET / HTTP/1.1',
      'rtsp://10.0.0.1/a\r\nInjected: 1',
      'rtsp://10.0.0.1/a b',
      "rtsp://10.0.0.1/a'b",
      'rtsp://10.0.0.1/a>out',
      'file:///etc/passwd',
      'http://10.0.0.1/stream',
      'rtmp://10.0.0.1/live',
      'concat:rtsp://a|file:/etc/passwd',
      '-i rtsp://10.0.0.1/x',
      'rtsp:///nohost',
      'rtsp://-bad-.host/x',
      'rtsp://10.0.0.1:99999/x',
      'rtsp://10.0.0.1/x#frag',
      '',
      `rtsp://10.0.0.1/${'a'.repeat(2100)}`,
    ];
    for (const url of hostile) {
      try {
        normaliseRtspUrl(url, 'mainUrl');
        expect.fail(`accepted ${JSON.stringify(url)}`);
      } catch (error) {
        expect(error, url).to.be.instanceOf(AppError);
        expect((error as AppError).code).to.equal('invalid_request');
        expect((error as AppError).message).to.match(/^mainUrl: /);
      }
    }
  });

  it('masks credentials and splits them back out', () => {
    expect(maskRtspUrl('rtsp://admin:secret@10.0.0.9:554/x')).to.equal('rtsp://***@10.0.0.9:554/x');
    expect(maskRtspUrl('rtsp://10.0.0.9/x')).to.equal('rtsp://10.0.0.9/x');
    expect(splitCredentials('rtsp://ad%20min:p%40ss@10.0.0.9/x')).to.deep.equal({ url: 'rtsp://10.0.0.9/x', username: 'ad min', password: 'p@ss' });
  });
});

describe('UrlVault (AES-256-GCM with key ids)', () => {
  const url = 'rtsp://admin:S3cret-value@10.0.0.9/x';

  it('seals with the current key, shows only the masked URL, and opens again', () => {
    const vault = new UrlVault(new SecretVault('k'.repeat(40)));
    const sealed = vault.seal(url);
    expect(sealed.masked).to.equal('rtsp://***@10.0.0.9/x');
    expect(sealed.sealed).to.not.contain('S3cret');
    expect(sealed.sealed.startsWith(`${vault.keyId}:`)).to.equal(true);
    expect(vault.open(sealed)).to.equal(url);
    expect(vault.seal(url).sealed).to.not.equal(sealed.sealed);
  });

  it('opens values sealed before a key rotation, and refuses tampering or unknown keys', () => {
    const old = new UrlVault(new SecretVault('o'.repeat(40)));
    const sealed = old.seal(url);
    const rotated = new UrlVault(new SecretVault('n'.repeat(40), ['o'.repeat(40)]));
    expect(rotated.keyId).to.not.equal(old.keyId);
    expect(rotated.open(sealed)).to.equal(url);
    expect(() => new UrlVault(new SecretVault('n'.repeat(40))).open(sealed)).to.throw(/key/);
    const parts = sealed.sealed.split(':');
    const flipped = Buffer.from(parts[3]!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    parts[3] = flipped.toString('base64url');
    expect(() => old.open({ ...sealed, sealed: parts.join(':') })).to.throw();
  });
});
