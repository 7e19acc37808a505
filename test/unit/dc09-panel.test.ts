import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Dc09Panel, panelCrc16, panelDecodeAnswer, panelFrame, panelParseTimestamp, panelTimestamp } from '../support/Dc09Panel.ts';

/**
 * The SIA DC-09 test panel (issue 23) on its own: its encoder and answer decoder against vectors
 * computed outside this code base, then its behaviour (retransmission, NAK clock correction,
 * encrypted ACK, reconnection) against a tiny fake receiver written here. The panel shares no code
 * with the server's codec (server/alarms/dc09/*), so receiver tests that use it cross-check two
 * implementations.
 *
 * Vectors computed at authoring time with Python 3 (a CRC-16/ARC loop and the `cryptography`
 * module), every ciphertext cross-checked with OpenSSL:
 *
 *   from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
 *   def crc(s):
 *       c = 0
 *       for b in s.encode('latin1'):
 *           c ^= b
 *           for _ in range(8):
 *               c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
 *       return c
 *   def frame(body): return '\n%04X%04X%s\r' % (crc(body), len(body), body)
 *   def aes(keyhex, pt):
 *       e = Cipher(algorithms.AES(bytes.fromhex(keyhex)), modes.CBC(bytes(16))).encryptor()
 *       return (e.update(pt.encode('latin1')) + e.finalize()).hex().upper()
 *   frame('"*ADM-CID"0004L0#1234[' + aes(K128, 'ABCDEFGHI|#1234|1120 01 015]_03:04:05,01-02-2024'))
 *
 *   printf 'ABCDEFGHI|#1234|1120 01 015]_03:04:05,01-02-2024' \
 *     | openssl enc -aes-128-cbc -K 000102030405060708090A0B0C0D0E0F \
 *       -iv 00000000000000000000000000000000 -nopad | xxd -p -c 64 | tr a-f A-F
 */

const K128 = '000102030405060708090A0B0C0D0E0F';
const K192 = '000102030405060708090A0B0C0D0E0F1011121314151617';
const K256 = '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F';
const T0 = new Date(Date.UTC(2024, 0, 2, 3, 4, 5)); // _03:04:05,01-02-2024

describe('DC-09 test panel: encoder and answer decoder (vectors from Python/OpenSSL)', () => {
  it('is independent of the server codec: the panel imports Node built-ins only', () => {
    const source = readFileSync(new URL('../support/Dc09Panel.ts', import.meta.url), 'utf8');
    const imports = [...source.matchAll(/^import\s[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
    expect(imports).to.not.be.empty;
    for (const specifier of imports) expect(specifier).to.match(/^node:/);
  });

  it('CRC-16/ARC check value: "123456789" -> 0xBB3D', () => {
    expect(panelCrc16('123456789')).to.equal(0xbb3d);
    expect(panelCrc16('')).to.equal(0);
  });

  it('timestamps are _HH:MM:SS,MM-DD-YYYY in UTC and parse back', () => {
    expect(panelTimestamp(T0)).to.equal('_03:04:05,01-02-2024');
    expect(panelParseTimestamp('03:04:05,01-02-2024')?.getTime()).to.equal(T0.getTime());
    expect(panelParseTimestamp('03:04:05,02-30-2024')).to.equal(undefined);
    expect(panelParseTimestamp('3:04:05,01-02-2024')).to.equal(undefined);
  });

  it('clear frames: ADM-CID with receiver and timestamp, SIA-DCS without, NULL', () => {
    expect(panelFrame({ token: 'ADM-CID', sequence: 1, account: '1234', receiver: '12', linePrefix: '0', data: '1130 01 015', timestamp: T0 }))
      .to.equal('\nF453003E"ADM-CID"0001R12L0#1234[#1234|1130 01 015]_03:04:05,01-02-2024\r');
    expect(panelFrame({ token: 'SIA-DCS', sequence: 2, account: '1234', data: 'Nri1/PA501' }))
      .to.equal('\n476C0026"SIA-DCS"0002L0#1234[#1234|Nri1/PA501]\r');
    expect(panelFrame({ token: 'NULL', sequence: 3, account: '1234' }))
      .to.equal('\n11020013"NULL"0003L0#1234[]\r');
  });

  it('encrypted frames with fixed padding: AES-128 ADM-CID, AES-256 SIA-DCS with extended blocks, AES-192 NULL', () => {
    // plaintext 'ABCDEFGHI|#1234|1120 01 015]_03:04:05,01-02-2024' (48 chars)
    expect(panelFrame({ token: 'ADM-CID', sequence: 4, account: '1234', data: '1120 01 015', timestamp: T0, keyHex: K128, padding: 'ABCDEFGHI' }))
      .to.equal('\n94640076"*ADM-CID"0004L0#1234[1BAC7E37F18E5C46289F442A53E8642A1E19A2AE2F5ED000C2D7A24BFB828F4CA9C317F913A8D163EB56A92ADB94297F\r');
    // plaintext 'pad!0123456789~|#1234|Nri1/PA501][X000E00000W00N51][Y000N51]_03:04:05,01-02-2024' (80 chars)
    expect(panelFrame({
      token: 'SIA-DCS', sequence: 5, account: '1234', receiver: 'R1', data: 'Nri1/PA501', extended: ['X000E00000W00N51', '[Y000N51]'],
      timestamp: T0, keyHex: K256, padding: 'pad!0123456789~',
    })).to.equal('\n10DA00B8"*SIA-DCS"0005R1L0#1234[361FD2BC6338CE38D3B38147A0B8C9D3EA030CE3621C9D57E2935DF7190574178E8089A576CE06B7655F48D377DE07E4ED28886C446D1A9B99C1AB37858EFA59683BDE554FD5C5528177DBC069998402\r');
    // plaintext 'zzzzzzzzzz|]_03:04:05,01-02-2024' (32 chars)
    expect(panelFrame({ token: 'NULL', sequence: 6, account: '1234', timestamp: T0, keyHex: K192, padding: 'zzzzzzzzzz' }))
      .to.equal('\n125F0053"*NULL"0006L0#1234[2B5C66A413306BB47D49DA08F16466636FE09F81E1C4D0C450BBF80417CE5862\r');
  });

  it('random padding: 1-16 chars, none of [ ] |, the plaintext a multiple of 16, different each time', () => {
    const frames = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const frame = panelFrame({ token: 'ADM-CID', sequence: 7, account: '1234', data: '1130 01 015', timestamp: T0, keyHex: K128 });
      frames.add(frame);
      const plaintext = decrypt(K128, /\[([0-9A-F]+)\r$/.exec(frame)![1]!);
      const bar = plaintext.indexOf('|');
      expect(bar).to.be.within(1, 16);
      expect(plaintext.slice(0, bar)).to.match(/^[^[\]|]+$/);
      expect(plaintext.slice(bar)).to.equal('|#1234|1130 01 015]_03:04:05,01-02-2024');
    }
    expect(frames.size).to.be.greaterThan(45);
  });

  it('corrupt frames: the CRC or the length is wrong, the rest unchanged', () => {
    const base = { token: 'NULL', sequence: 3, account: '1234' } as const;
    expect(panelFrame({ ...base, corrupt: 'crc' })).to.equal('\n10030013"NULL"0003L0#1234[]\r');
    expect(panelFrame({ ...base, corrupt: 'length' })).to.equal('\n11020014"NULL"0003L0#1234[]\r');
  });

  it('refuses what it cannot encode (bad account, sequence, key, padding; encrypted without timestamp)', () => {
    expect(() => panelFrame({ token: 'NULL', sequence: 1, account: '12' })).to.throw(/account/);
    expect(() => panelFrame({ token: 'NULL', sequence: 10000, account: '1234' })).to.throw(/sequence/);
    expect(() => panelFrame({ token: 'NULL', sequence: 1, account: '1234', keyHex: '0011', timestamp: T0 })).to.throw(/key/);
    expect(() => panelFrame({ token: 'NULL', sequence: 1, account: '1234', keyHex: K128 })).to.throw(/timestamp/);
    expect(() => panelFrame({ token: 'NULL', sequence: 1, account: '1234', keyHex: K128, timestamp: T0, padding: 'abc' })).to.throw(/multiple of 16/);
    expect(() => panelFrame({ token: 'NULL', sequence: 1, account: '1234', keyHex: K128, timestamp: T0, padding: 'zzzzzzzzz|' })).to.throw(/padding/);
  });

  it('decodes answers: ACK, NAK with the receiver clock, encrypted *ACK (zero-filled, as pysiaalarm pads it)', () => {
    const ack = panelDecodeAnswer('\n71710015"ACK"0001R12L0#1234[]\r');
    expect(ack).to.include({ valid: true, kind: 'ACK', encrypted: false, sequence: 1, receiver: '12', linePrefix: '0', account: '1234' });
    expect(ack.timestamp).to.equal(undefined);

    const nak = panelDecodeAnswer('\n223C0025"NAK"0000R0L0A0[]_23:59:58,12-31-2023\r');
    expect(nak).to.include({ valid: true, kind: 'NAK', sequence: 0 });
    expect(nak.timestamp?.toISOString()).to.equal('2023-12-31T23:59:58.000Z');

    // plaintext '00000000000]_03:04:07,01-02-2024'
    const star = panelDecodeAnswer('\nBD1F0052"*ACK"0004L0#1234[3C5CF84C906A8881B834A7309AAF451087414F3946EEF98776BFF8851EA2E575\r', K128);
    expect(star).to.include({ valid: true, kind: 'ACK', encrypted: true, sequence: 4, plaintext: '00000000000]_03:04:07,01-02-2024' });
    expect(star.timestamp?.toISOString()).to.equal('2024-01-02T03:04:07.000Z');
  });

  it('flags bad answers: CRC, length, no key, wrong key, no CR', () => {
    expect(panelDecodeAnswer('\n71720015"ACK"0001R12L0#1234[]\r')).to.include({ valid: false }).and.to.have.property('problem').that.matches(/CRC/);
    expect(panelDecodeAnswer('\n71710016"ACK"0001R12L0#1234[]\r').problem).to.match(/length/);
    const star = '\nBD1F0052"*ACK"0004L0#1234[3C5CF84C906A8881B834A7309AAF451087414F3946EEF98776BFF8851EA2E575\r';
    expect(panelDecodeAnswer(star).problem).to.match(/no key/);
    expect(panelDecodeAnswer(star, K256).valid).to.equal(false);
    expect(panelDecodeAnswer('\n71710015"ACK"0001R12L0#1234[]').problem).to.match(/CR/);
  });

  it('numbers new events 0001..9999 and wraps to 0001', () => {
    const panel = new Dc09Panel({ host: '127.0.0.1', port: 9, transport: 'udp', account: '1234' });
    expect(panel.buildFrame({ token: 'NULL' }).sequence).to.equal(1);
    expect(panel.buildFrame({ token: 'NULL' }, { sequence: 42 }).sequence).to.equal(42);
    expect(panel.nextSequence).to.equal(2);
    for (let i = 2; i < 9999; i++) panel.buildFrame({ token: 'NULL' });
    const last = panel.buildFrame({ token: 'NULL' });
    expect(last.sequence).to.equal(9999);
    expect(last.text).to.contain('"NULL"9999L0#1234[]');
    expect(panel.buildFrame({ token: 'NULL' }).sequence).to.equal(1);
  });
});

// ---------------------------------------------------------------------------------------------
// A tiny fake receiver: checks CRC/length (silent when wrong, like a receiver must be), decrypts,
// and answers what the scenario says. Its answer encoding is written here, not borrowed from the
// panel (only the CRC, checked above against the Python vector).

interface Received {
  raw: string;
  token: string;
  encrypted: boolean;
  sequence: string;
  account: string;
  /** Clear content after the header's `[`, decrypted when encrypted (padding stripped up to the `|`). */
  content: string;
  timestamp?: Date;
}

type Scenario = (frame: Received, index: number) => string | 'silence' | 'close';

function decrypt(keyHex: string, hex: string): string {
  const key = Buffer.from(keyHex, 'hex');
  const decipher = createDecipheriv(`aes-${key.length * 8}-cbc`, key, Buffer.alloc(16)).setAutoPadding(false);
  return Buffer.concat([decipher.update(Buffer.from(hex, 'hex')), decipher.final()]).toString('latin1');
}

function encryptHex(keyHex: string, text: string): string {
  const key = Buffer.from(keyHex, 'hex');
  const cipher = createCipheriv(`aes-${key.length * 8}-cbc`, key, Buffer.alloc(16)).setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.from(text, 'latin1')), cipher.final()]).toString('hex').toUpperCase();
}

function receiverTimestamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `_${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())},${p(date.getUTCMonth() + 1)}-${p(date.getUTCDate())}-${date.getUTCFullYear()}`;
}

function wrap(body: string): string {
  return `\n${panelCrc16(body).toString(16).toUpperCase().padStart(4, '0')}${body.length.toString(16).toUpperCase().padStart(4, '0')}${body}\r`;
}

const answers = {
  ack: (f: Received) => wrap(`"ACK"${f.sequence}L0#${f.account}[]`),
  duh: (f: Received) => wrap(`"DUH"${f.sequence}L0#${f.account}[]`),
  nak: (clock: Date) => wrap(`"NAK"0000R0L0A0[]${receiverTimestamp(clock)}`),
  /** *ACK: `]_timestamp` left-filled with '0' to a multiple of 16 (as pysiaalarm does). */
  starAck: (f: Received, keyHex: string, clock: Date) => {
    const plain = `]${receiverTimestamp(clock)}`;
    return wrap(`"*ACK"${f.sequence}L0#${f.account}[${encryptHex(keyHex, plain.padStart(Math.ceil((plain.length + 1) / 16) * 16, '0'))}`);
  },
};

function parseReceived(raw: string, keyHex?: string): Received | undefined {
  const m = /^\n([0-9A-F]{4})([0-9A-F]{4})(".*)\r$/s.exec(raw);
  if (!m || parseInt(m[1]!, 16) !== panelCrc16(m[3]!) || parseInt(m[2]!, 16) !== m[3]!.length) return undefined;
  const h = /^"(\*?)([A-Z-]+)"(\d{4})(?:R[0-9A-F]+)?L[0-9A-F]+#([0-9A-F]+)\[(.*)$/s.exec(m[3]!);
  if (!h) return undefined;
  const encrypted = h[1] === '*';
  let content = h[5]!;
  if (encrypted) {
    if (!keyHex) return undefined;
    const plain = decrypt(keyHex, content);
    content = plain.slice(plain.indexOf('|') + 1);
  }
  const ts = /_(\d\d:\d\d:\d\d,\d\d-\d\d-\d{4})$/.exec(content);
  return { raw, token: h[2]!, encrypted, sequence: h[3]!, account: h[4]!, content, timestamp: ts ? panelParseTimestamp(ts[1]!) : undefined };
}

class FakeReceiver {
  readonly frames: Received[] = [];
  readonly garbage: string[] = [];
  connections = 0;
  private tcp!: net.Server;
  private udp!: dgram.Socket;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  udpPort = 0;

  constructor(private readonly scenario: Scenario, private readonly keyHex?: string) {}

  async start(): Promise<this> {
    this.tcp = net.createServer((socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1');
        let end: number;
        while ((end = buffer.indexOf('\r')) >= 0) {
          const raw = buffer.slice(Math.max(0, buffer.lastIndexOf('\n', end)), end + 1);
          buffer = buffer.slice(end + 1);
          const reply = this.handle(raw);
          if (reply === 'close') socket.destroy();
          else if (reply) socket.write(reply, 'latin1');
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => this.tcp.listen(0, '127.0.0.1', resolve));
    this.port = (this.tcp.address() as AddressInfo).port;
    this.udp = dgram.createSocket('udp4');
    this.udp.on('message', (message, peer) => {
      const reply = this.handle(message.toString('latin1'));
      if (reply && reply !== 'close') this.udp.send(Buffer.from(reply, 'latin1'), peer.port, peer.address);
    });
    await new Promise<void>((resolve) => this.udp.bind(0, '127.0.0.1', resolve));
    this.udpPort = (this.udp.address() as AddressInfo).port;
    return this;
  }

  private handle(raw: string): string | undefined {
    const frame = parseReceived(raw, this.keyHex);
    if (!frame) {
      this.garbage.push(raw);
      return undefined;
    }
    this.frames.push(frame);
    const reply = this.scenario(frame, this.frames.length - 1);
    return reply === 'silence' ? undefined : reply;
  }

  portFor(transport: 'tcp' | 'udp'): number {
    return transport === 'tcp' ? this.port : this.udpPort;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
  }
}

for (const transport of ['tcp', 'udp'] as const) {
  describe(`DC-09 test panel against a fake receiver over ${transport.toUpperCase()}`, () => {
    let receiver: FakeReceiver | undefined;
    let panel: Dc09Panel | undefined;

    async function setUp(scenario: Scenario, panelOptions: { keyHex?: string; clockOffsetMs?: number; retries?: number } = {}): Promise<[FakeReceiver, Dc09Panel]> {
      receiver = await new FakeReceiver(scenario, panelOptions.keyHex).start();
      panel = new Dc09Panel({ host: '127.0.0.1', port: receiver.portFor(transport), transport, account: '1234', ackTimeoutMs: 300, retries: 3, ...panelOptions });
      return [receiver, panel];
    }

    afterEach(async () => {
      await panel?.close();
      await receiver?.stop();
      panel = undefined;
      receiver = undefined;
    });

    it('gets an ACK at once (1 attempt), next event takes the next sequence', async () => {
      const [rx, p] = await setUp((f) => answers.ack(f));
      const first = await p.send({ token: 'ADM-CID', data: '1130 01 015' });
      expect(first).to.include({ answer: 'ACK', attempts: 1, sequence: 1 });
      expect(first.rttMs).to.be.lessThan(300);
      const second = await p.send({ token: 'SIA-DCS', data: 'Nri1/PA501' });
      expect(second).to.include({ answer: 'ACK', attempts: 1, sequence: 2 });
      expect(rx.frames.map((f) => [f.token, f.sequence, f.content.replace(/_.*$/, '')])).to.deep.equal([
        ['ADM-CID', '0001', '#1234|1130 01 015]'],
        ['SIA-DCS', '0002', '#1234|Nri1/PA501]'],
      ]);
      if (transport === 'tcp') expect(rx.connections).to.equal(1); // one persistent link
    });

    it('retransmits the same frame when the first gets no answer (2 attempts, same sequence)', async () => {
      const [rx, p] = await setUp((f, i) => (i === 0 ? 'silence' : answers.ack(f)));
      const result = await p.send({ token: 'ADM-CID', data: '1120 01 015' });
      expect(result).to.include({ answer: 'ACK', attempts: 2, sequence: 1 });
      expect(result.frames).to.have.length(2);
      expect(result.frames[1]).to.equal(result.frames[0]); // clear: byte for byte
      expect(rx.frames.map((f) => f.sequence)).to.deep.equal(['0001', '0001']);
    });

    it('retransmits an encrypted frame with new padding, same sequence and content', async () => {
      const [rx, p] = await setUp((f, i) => (i === 0 ? 'silence' : answers.starAck(f, K128, new Date())), { keyHex: K128 });
      const result = await p.send({ token: 'ADM-CID', data: '1120 01 015' });
      expect(result).to.include({ answer: 'ACK', attempts: 2, sequence: 1 });
      expect(result.frames[1]).to.not.equal(result.frames[0]);
      expect(rx.frames[1]!.content).to.equal(rx.frames[0]!.content);
      expect(rx.frames[0]!.content).to.match(/^#1234\|1120 01 015\]_\d\d:\d\d:\d\d,\d\d-\d\d-\d{4}$/);
    });

    it('gives up after the retries when the receiver stays silent (answer none)', async () => {
      const [rx, p] = await setUp(() => 'silence', { retries: 2 });
      const result = await p.send({ token: 'NULL' });
      expect(result).to.include({ answer: 'none', attempts: 3 });
      expect(rx.frames).to.have.length(3);
      expect(result.elapsedMs).to.be.at.least(850);
    });

    it('a corrupted CRC or length gets no answer from a correct receiver: the panel retries, then none', async () => {
      const [rx, p] = await setUp((f) => answers.ack(f), { retries: 1 });
      for (const corrupt of ['crc', 'length'] as const) {
        const result = await p.send({ token: 'ADM-CID', data: '1130 01 015' }, { corrupt });
        expect(result).to.include({ answer: 'none', attempts: 2 });
      }
      expect(rx.frames).to.have.length(0);
      expect(rx.garbage).to.have.length(4);
      expect((await p.send({ token: 'NULL' })).answer).to.equal('ACK');
    });

    it('ignores an answer with a bad CRC or another sequence, and retransmits', async () => {
      const [, p] = await setUp((f, i) => {
        if (i === 0) return answers.ack(f).replace(/^\n..../, '\n0000');
        if (i === 1) return answers.ack({ ...f, sequence: '0077' });
        return answers.ack(f);
      });
      const result = await p.send({ token: 'NULL' });
      expect(result).to.include({ answer: 'ACK', attempts: 3 });
      expect(result.raw).to.have.length(3);
      expect(result.answers.map((a) => a.valid)).to.deep.equal([false, false, true]);
      expect(result.answers[0]!.problem).to.match(/CRC/);
      expect(result.answers[1]!.problem).to.match(/sequence/);
    });

    it('on a NAK 100 s ahead, adopts the receiver clock and resends with a corrected timestamp (same sequence) -> ACK', async () => {
      const skew = 100_000;
      const [rx, p] = await setUp((f, i) => {
        const clock = new Date(Date.now() + skew);
        if (i === 0) return answers.nak(clock);
        return f.timestamp && Math.abs(f.timestamp.getTime() - clock.getTime()) <= 2000 ? answers.ack(f) : answers.nak(clock);
      });
      const result = await p.send({ token: 'ADM-CID', data: '1130 01 015' });
      expect(result).to.include({ answer: 'ACK', attempts: 2, sequence: 1 });
      expect(result.answers.map((a) => a.kind)).to.deep.equal(['NAK', 'ACK']);
      expect(p.clockOffsetMs).to.be.within(skew - 1500, skew + 1500);
      expect(rx.frames.map((f) => f.sequence)).to.deep.equal(['0001', '0001']);
      const [sent, resent] = [rx.frames[0]!.timestamp!.getTime(), rx.frames[1]!.timestamp!.getTime()];
      expect(Math.abs(sent - Date.now())).to.be.lessThan(3000);
      expect(resent - sent).to.be.within(skew - 3000, skew + 3000);
    });

    it('NAK without resendAfterNak: one attempt, answer NAK, the clock still corrected', async () => {
      const [, p] = await setUp(() => answers.nak(new Date(Date.now() - 50_000)));
      const result = await p.send({ token: 'NULL' }, { resendAfterNak: false });
      expect(result).to.include({ answer: 'NAK', attempts: 1 });
      expect(result.ackTimestamp).to.be.instanceOf(Date);
      expect(p.clockOffsetMs).to.be.within(-51_500, -48_500);
    });

    it('a second NAK after the resend ends it (answer NAK, 2 attempts)', async () => {
      const [, p] = await setUp(() => answers.nak(new Date()));
      expect(await p.send({ token: 'NULL' })).to.include({ answer: 'NAK', attempts: 2 });
    });

    it('DUH is an answer (no retransmission)', async () => {
      const [, p] = await setUp((f) => answers.duh(f));
      expect(await p.send({ token: 'SIA-DCS', data: 'Nri1/ZZ501' })).to.include({ answer: 'DUH', attempts: 1 });
    });

    it('encrypted: the receiver decrypts the frame; the panel decrypts the *ACK and exposes its timestamp', async () => {
      const clock = new Date(Date.UTC(2030, 5, 7, 8, 9, 10));
      const [rx, p] = await setUp((f) => answers.starAck(f, K256, clock), { keyHex: K256 });
      const result = await p.send({ token: 'SIA-DCS', data: 'Nri1/PA501', extended: ['Vhttp://cam/1'] });
      expect(result).to.include({ answer: 'ACK', attempts: 1 });
      expect(result.answers[0]).to.include({ encrypted: true, valid: true });
      expect(result.ackTimestamp?.toISOString()).to.equal(clock.toISOString());
      expect(rx.frames[0]).to.include({ encrypted: true, token: 'SIA-DCS', sequence: '0001' });
      expect(rx.frames[0]!.content).to.match(/^#1234\|Nri1\/PA501\]\[Vhttp:\/\/cam\/1\]_/);
    });

    it('encrypted: a clear ACK is not taken for an answer (retransmits, then *ACK)', async () => {
      const [, p] = await setUp((f, i) => (i === 0 ? answers.ack(f) : answers.starAck(f, K128, new Date())), { keyHex: K128 });
      const result = await p.send({ token: 'NULL' });
      expect(result).to.include({ answer: 'ACK', attempts: 2 });
      expect(result.answers[0]!.problem).to.match(/clear ACK/);
    });

    it('reuses a given sequence (a forced retransmission) without moving the counter', async () => {
      const [rx, p] = await setUp((f) => answers.ack(f));
      await p.send({ token: 'NULL' });
      expect(await p.send({ token: 'NULL' }, { sequence: 1 })).to.include({ answer: 'ACK', sequence: 1 });
      expect((await p.send({ token: 'NULL' })).sequence).to.equal(2);
      expect(rx.frames.map((f) => f.sequence)).to.deep.equal(['0001', '0001', '0002']);
    });

    it('raw(): bytes on the link, a frame in pieces (trickle) is still one frame', async () => {
      const [rx, p] = await setUp((f) => answers.ack(f));
      await p.raw('garbage\r');
      if (transport === 'tcp') {
        const { text } = p.buildFrame({ token: 'NULL' });
        for (const piece of [text.slice(0, 5), text.slice(5, 20), text.slice(20)]) {
          await p.raw(piece);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } else {
        await p.raw(Buffer.from(p.buildFrame({ token: 'NULL' }).text, 'latin1'));
      }
      const got = await p.collectAnswers(300);
      expect(got).to.have.length(1);
      expect(panelDecodeAnswer(got[0]!)).to.include({ valid: true, kind: 'ACK', sequence: 1 });
      expect(rx.garbage).to.deep.equal(['garbage\r']);
    });

    if (transport === 'tcp') {
      it('reconnects when the receiver closes the link, and retransmits on the new connection', async () => {
        const [rx, p] = await setUp((f, i) => (i === 0 ? 'close' : answers.ack(f)));
        const result = await p.send({ token: 'ADM-CID', data: '1130 01 015' });
        expect(result).to.include({ answer: 'ACK', attempts: 2 });
        expect(p.connections).to.equal(2);
        expect(rx.connections).to.equal(2);
        expect((await p.send({ token: 'NULL' })).answer).to.equal('ACK');
        expect(p.connections).to.equal(2);
      });

      it('counts a refused connection as an attempt and reports the error', async () => {
        const [rx, p] = await setUp((f) => answers.ack(f), { retries: 1 });
        await rx.stop();
        receiver = undefined;
        const result = await p.send({ token: 'NULL' });
        expect(result).to.include({ answer: 'none', attempts: 2 });
        expect(result.errors.join()).to.match(/ECONNREFUSED/);
      });
    }
  });
}
