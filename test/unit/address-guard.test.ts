import { expect } from 'chai';
import { AddressGuard } from '../../server/enrolment/AddressGuard.ts';

// The public enrolment page's camera URLs (issue 26): no door into the server's own network.

/** A resolver answering from a table (no DNS here): the addresses a hostile name could answer with. */
const table: Record<string, Array<{ address: string; family: number }>> = {
  'cam.example.org': [{ address: '8.8.8.8', family: 4 }],
  'v6.example.org': [{ address: '2606:4700:4700::1111', family: 6 }],
  'internal.example.org': [{ address: '10.0.0.5', family: 4 }],
  'mixed.example.org': [
    { address: '8.8.4.4', family: 4 },
    { address: '192.168.1.10', family: 4 },
  ],
  'metadata.example.org': [{ address: '169.254.169.254', family: 4 }],
};
const lookup = async (host: string) => {
  const found = table[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};
const guard = new AddressGuard({ allowedPorts: [554, 8554, 322], deny: ['8.8.4.0/24'] }, lookup);

async function reason(url: string, using = guard): Promise<string | undefined> {
  try {
    await using.check(url);
    return undefined;
  } catch (error) {
    const e = error as { code?: string; details?: { reason?: string } };
    expect(e.code).to.equal('unprocessable');
    return e.details?.reason;
  }
}

describe('AddressGuard (issue 26)', () => {
  it('lets a public camera through, to the address it resolved (connect to it, never look the name up again)', async () => {
    expect(await guard.check('rtsp://user:pass@cam.example.org/stream')).to.deep.equal({ host: 'cam.example.org', address: '8.8.8.8', family: 4, port: 554 });
    expect(await guard.check('rtsps://v6.example.org:322/live')).to.deep.equal({ host: 'v6.example.org', address: '2606:4700:4700::1111', family: 6, port: 322 });
    expect((await guard.check('rtsp://1.1.1.1:8554/x')).address).to.equal('1.1.1.1');
    expect((await guard.check('rtsp://[2606:4700::1]:8554/x')).address).to.equal('2606:4700::1');
    // NAT64 and 6to4 addresses of public IPv4 ones pass: only what they carry inside is checked.
    expect((await guard.check('rtsp://[64:ff9b::808:808]/x')).address).to.equal('64:ff9b::808:808');
    expect((await guard.check('rtsp://[2002:808:808::1]/x')).address).to.equal('2002:808:808::1');
  });

  for (const [url, why] of [
    ['rtsp://127.0.0.1/stream', 'loopback'],
    ['rtsp://127.1.2.3:8554/stream', 'loopback'],
    ['rtsp://10.0.0.1/stream', 'private'],
    ['rtsp://172.16.5.4/stream', 'private'],
    ['rtsp://192.168.0.10/stream', 'private'],
    ['rtsp://169.254.169.254/latest', 'link-local (cloud metadata)'],
    ['rtsp://100.64.0.1/stream', 'shared address space'],
    ['rtsp://0.0.0.0/stream', 'this network'],
    ['rtsp://224.0.0.1/stream', 'multicast'],
    ['rtsp://255.255.255.255/stream', 'broadcast'],
    ['rtsp://[::1]/stream', 'IPv6 loopback'],
    ['rtsp://[fe80::1]/stream', 'IPv6 link-local'],
    ['rtsp://[fd12:3456::1]/stream', 'unique-local'],
    ['rtsp://[ff02::1]/stream', 'IPv6 multicast'],
    ['rtsp://[::ffff:10.0.0.1]/stream', 'IPv4-mapped private'],
    ['rtsp://[::ffff:127.0.0.1]/stream', 'IPv4-mapped loopback'],
    ['rtsp://[::7f00:1]/stream', 'IPv4-compatible loopback (deprecated ::/96)'],
    ['rtsp://[64:ff9b::7f00:1]/stream', 'NAT64 of a loopback address'],
    ['rtsp://[64:ff9b::a00:1]/stream', 'NAT64 of a private address'],
    ['rtsp://[64:ff9b::192.168.1.1]/stream', 'NAT64 written with an IPv4 tail'],
    ['rtsp://[2002:7f00:1::]/stream', '6to4 of a loopback address'],
    ['rtsp://[2002:a9fe:a9fe::1]/stream', '6to4 of the cloud metadata address'],
    ['rtsp://[fec0::1]/stream', 'site-local (deprecated)'],
    ['rtsp://[2001:10::1]/stream', 'IETF protocol assignments (2001::/23)'],
    ['rtsp://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/stream', 'Teredo'],
    ['rtsp://192.88.99.1/stream', '6to4 relay anycast'],
    ['rtsp://internal.example.org/stream', 'a name resolving to a private address'],
    ['rtsp://metadata.example.org/stream', 'a name resolving to link-local'],
    ['rtsp://mixed.example.org/stream', 'a name with one public and one private address'],
    ['rtsp://8.8.4.4/stream', 'the configured deny list'],
  ] as const) {
    it(`refuses ${url}: ${why}`, async () => {
      expect(await reason(url)).to.equal('address');
    });
  }

  it('refuses other schemes, ports outside the list, names that do not resolve, and what is not a URL', async () => {
    expect(await reason('http://cam.example.org/stream')).to.equal('scheme');
    expect(await reason('file:///etc/passwd')).to.equal('scheme');
    expect(await reason('rtsp://cam.example.org;reboot/stream')).to.be.oneOf(['unresolvable', 'scheme']);
    expect(await reason('not a url')).to.equal('scheme');
    expect(await reason('rtsp://cam.example.org:22/stream')).to.equal('port');
    expect(await reason('rtsp://cam.example.org:80/stream')).to.equal('port');
    expect(await reason('rtsps://cam.example.org/stream', new AddressGuard({ allowedPorts: [554] }, lookup))).to.equal('port');
    expect(await reason('rtsp://nowhere.example.org/stream')).to.equal('unresolvable');
  });

  it('lets the test simulator through only with a test-only allow list', async () => {
    expect(await reason('rtsp://127.0.0.1:8554/cam')).to.equal('address');
    const forTests = new AddressGuard({ allowedPorts: [8554], allow: ['127.0.0.1/32'] }, lookup);
    expect((await forTests.check('rtsp://127.0.0.1:8554/cam')).address).to.equal('127.0.0.1');
    expect(await reason('rtsp://10.0.0.1:8554/cam', forTests)).to.equal('address');
  });

  it('refuses a deny or allow entry that is not an address or CIDR', () => {
    expect(() => new AddressGuard({ allowedPorts: [554], deny: ['10.0.0.0/33'] })).to.throw(/CIDR/);
    expect(() => new AddressGuard({ allowedPorts: [554], allow: ['nope'] })).to.throw(/CIDR/);
  });
});
