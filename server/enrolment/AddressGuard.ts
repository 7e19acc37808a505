import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError } from '../errors/AppError.ts';
import { ipv6Hextets } from '../util/ipv6.ts';

/**
 * The door a public page must not open into the server's own network (issue 26): a camera URL a
 * stranger submits is resolved once, and refused when any of its addresses is not one the public
 * Internet routes (loopback, private, link-local, unique-local, multicast, ... : the special-purpose
 * registries of RFC 6890, with RFC 1918, RFC 6598, RFC 4193, RFC 4291 section 2.7, RFC 3927), or
 * is in the configured deny list; the port must be one of the allowed ones. The caller then
 * connects to the address returned, never to the name again (no second lookup for a rebinding
 * DNS answer to slip through), and checks a redirect's URL the same way.
 *
 *   const guard = new AddressGuard({ allowedPorts: [554, 8554, 322], deny: ['198.51.100.0/24'] });
 *   const target = await guard.check('rtsp://cam.example.org/stream');  // { host, address, family, port }
 *
 * Errors: AppError 'unprocessable' with details.reason 'scheme' | 'port' | 'unresolvable' | 'address'.
 */
export interface AddressGuardSettings {
  /** TCP ports a submitted camera may use (554 rtsp and 322 rtsps are the defaults of their schemes). */
  allowedPorts: readonly number[];
  /** More networks to refuse, as CIDRs ("203.0.113.0/24", "2001:db8::/32") or single addresses. */
  deny?: readonly string[];
  /** Networks let through although refused otherwise (tests: the simulator on 127.0.0.1). Never set in production. */
  allow?: readonly string[];
}

export interface GuardedTarget {
  host: string;
  /** The one address to connect to. */
  address: string;
  family: 4 | 6;
  port: number;
}

type Lookup = (host: string) => Promise<Array<{ address: string; family: number }>>;

/** Special-purpose networks that are not globally reachable (RFC 6890 and its updates). */
const NOT_PUBLIC: ReadonlyArray<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'this network (RFC 791)'],
  ['10.0.0.0', 8, 'ipv4', 'private (RFC 1918)'],
  ['100.64.0.0', 10, 'ipv4', 'shared address space (RFC 6598)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback (RFC 1122)'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (RFC 3927)'],
  ['172.16.0.0', 12, 'ipv4', 'private (RFC 1918)'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments (RFC 6890)'],
  ['192.0.2.0', 24, 'ipv4', 'documentation (RFC 5737)'],
  ['192.88.99.0', 24, 'ipv4', 'deprecated 6to4 relay anycast (RFC 7526)'],
  ['192.168.0.0', 16, 'ipv4', 'private (RFC 1918)'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking (RFC 2544)'],
  ['198.51.100.0', 24, 'ipv4', 'documentation (RFC 5737)'],
  ['203.0.113.0', 24, 'ipv4', 'documentation (RFC 5737)'],
  ['224.0.0.0', 4, 'ipv4', 'multicast (RFC 5771)'],
  ['240.0.0.0', 4, 'ipv4', 'reserved, and broadcast (RFC 1112, RFC 919)'],
  ['::', 128, 'ipv6', 'unspecified (RFC 4291)'],
  ['::1', 128, 'ipv6', 'loopback (RFC 4291)'],
  ['::', 96, 'ipv6', 'IPv4-compatible, deprecated (RFC 4291 section 2.5.5.1)'],
  ['64:ff9b:1::', 48, 'ipv6', 'local-use IPv4/IPv6 translation (RFC 8215)'],
  ['100::', 64, 'ipv6', 'discard-only (RFC 6666)'],
  ['2001::', 23, 'ipv6', 'IETF protocol assignments, Teredo included (RFC 2928, RFC 4380)'],
  ['2001:db8::', 32, 'ipv6', 'documentation (RFC 3849)'],
  ['fc00::', 7, 'ipv6', 'unique-local (RFC 4193)'],
  ['fe80::', 10, 'ipv6', 'link-local (RFC 4291)'],
  ['fec0::', 10, 'ipv6', 'site-local, deprecated (RFC 3879)'],
  ['ff00::', 8, 'ipv6', 'multicast (RFC 4291)'],
];

export class AddressGuard {
  readonly #ports: ReadonlySet<number>;
  readonly #deny = new BlockList();
  readonly #allow = new BlockList();
  readonly #lookup: Lookup;

  /** `lookup`: the resolver (every address of the name); tests pass their own. */
  constructor(settings: AddressGuardSettings, lookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true })) {
    this.#ports = new Set(settings.allowedPorts);
    this.#lookup = lookup;
    for (const [network, prefix, type] of NOT_PUBLIC) this.#deny.addSubnet(network, prefix, type);
    for (const cidr of settings.deny ?? []) addCidr(this.#deny, cidr);
    for (const cidr of settings.allow ?? []) addCidr(this.#allow, cidr);
  }

  /** Checks a submitted camera URL; resolves with the one address to connect to (errors: see the class). */
  async check(url: string): Promise<GuardedTarget> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw refused('scheme', 'not a URL');
    }
    const scheme = parsed.protocol.toLowerCase();
    if (scheme !== 'rtsp:' && scheme !== 'rtsps:') throw refused('scheme', 'only rtsp:// and rtsps:// cameras can be enrolled');
    const port = parsed.port === '' ? (scheme === 'rtsps:' ? 322 : 554) : Number(parsed.port);
    if (!this.#ports.has(port)) throw refused('port', `port ${port} is not allowed (allowed: ${[...this.#ports].join(', ')})`);
    // URL keeps IPv6 literals in brackets.
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host === '') throw refused('scheme', 'the URL has no host');
    let addresses: Array<{ address: string; family: number }>;
    if (isIP(host) !== 0) {
      addresses = [{ address: host, family: isIP(host) }];
    } else {
      try {
        addresses = await this.#lookup(host);
      } catch {
        throw refused('unresolvable', `${host} does not resolve`);
      }
      if (addresses.length === 0) throw refused('unresolvable', `${host} does not resolve`);
    }
    // Every address must pass: a name answering with one public and one private address is refused.
    for (const { address, family } of addresses) {
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (this.#deny.check(address, type) && !this.#allow.check(address, type)) throw refused('address', `${host} is not a public address`);
      // NAT64 (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16, RFC 3056) carry an IPv4 address that a
      // translator or relay on the way may deliver to: it must pass as well.
      const embedded = type === 'ipv6' ? embeddedIpv4(address) : undefined;
      if (embedded && this.#deny.check(embedded, 'ipv4') && !this.#allow.check(embedded, 'ipv4')) throw refused('address', `${host} is not a public address`);
    }
    const first = addresses[0]!;
    return { host, address: first.address, family: first.family === 6 ? 6 : 4, port };
  }
}

/** The IPv4 address inside a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address, if it is one. */
function embeddedIpv4(address: string): string | undefined {
  const hextets = ipv6Hextets(address);
  const v4 = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  if (hextets[0] === 0x64 && hextets[1] === 0xff9b && hextets.slice(2, 6).every((h) => h === 0)) return v4(hextets[6]!, hextets[7]!);
  if (hextets[0] === 0x2002) return v4(hextets[1]!, hextets[2]!);
  return undefined;
}

function addCidr(list: BlockList, cidr: string): void {
  const [address, prefix] = cidr.split('/');
  const family = isIP(address ?? '');
  if (family === 0) throw new Error(`not an address or CIDR: ${cidr}`);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (prefix === undefined) list.addAddress(address!, type);
  else {
    const bits = Number(prefix);
    if (!Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) throw new Error(`not a CIDR prefix: ${cidr}`);
    list.addSubnet(address!, bits, type);
  }
}

function refused(reason: 'scheme' | 'port' | 'unresolvable' | 'address', message: string): AppError {
  return new AppError('unprocessable', message, { reason });
}
