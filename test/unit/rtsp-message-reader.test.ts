import { expect } from 'chai';
import { RtspMessageReader, RTSP_LIMITS, type RtspResponse } from '../../workers/rtsp/RtspMessageReader.ts';
import { RtspError } from '../../workers/rtsp/RtspError.ts';

function collect() {
  const responses: RtspResponse[] = [];
  const frames: Array<[number, Buffer]> = [];
  const requests: string[] = [];
  const reader = new RtspMessageReader({
    response: (r) => responses.push(r),
    request: (r) => requests.push(`${r.method} ${r.uri}`),
    frame: (channel, payload) => frames.push([channel, Buffer.from(payload)]),
  });
  return { reader, responses, frames, requests };
}

// A DESCRIBE answer as a Hikvision camera writes it (RFC 2326 §10.2), then an interleaved RTP frame
// and a GET_PARAMETER the camera sends us: bytes written by hand from captures, not by our client.
const SDP = 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=Media Presentation\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\n';
const WIRE = Buffer.concat([
  Buffer.from(`RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Type: application/sdp\r\nContent-Base: rtsp://10.0.0.5/Streaming/Channels/101/\r\nContent-Length: ${SDP.length}\r\n\r\n${SDP}`),
  Buffer.from([0x24, 0x00, 0x00, 0x0c, 0x80, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef]),
  Buffer.from('GET_PARAMETER rtsp://10.0.0.5/ RTSP/1.0\r\nCSeq: 1\r\n\r\n'),
  Buffer.from('RTSP/1.0 401 Unauthorized\nCSeq: 4\nWWW-Authenticate: Digest realm="IP Camera", nonce="abc"\nWWW-Authenticate: Basic realm="IP Camera"\nX-Folded: first\n  second\n\n'),
]);

describe('RTSP message reader', () => {
  it('splits responses, interleaved frames and camera requests, whatever the chunking (every split point)', () => {
    for (let split = 1; split < WIRE.length; split++) {
      const { reader, responses, frames, requests } = collect();
      reader.push(WIRE.subarray(0, split));
      reader.push(WIRE.subarray(split));
      expect(responses.map((r) => r.status), `split ${split}`).to.deep.equal([200, 401]);
      expect(responses[0]!.body.toString()).to.equal(SDP);
      expect(responses[0]!.headers.get('content-base')).to.equal('rtsp://10.0.0.5/Streaming/Channels/101/');
      expect(responses[1]!.headers.all('WWW-Authenticate')).to.have.length(2);
      expect(responses[1]!.headers.get('x-folded')).to.equal('first second');
      expect(frames).to.have.length(1);
      expect(frames[0]![1].readUInt32BE(8)).to.equal(0xdeadbeef);
      expect(requests).to.deep.equal(['GET_PARAMETER rtsp://10.0.0.5/']);
    }
  });

  it('one byte at a time', () => {
    const { reader, responses } = collect();
    for (const byte of WIRE) reader.push(Buffer.from([byte]));
    expect(responses).to.have.length(2);
    expect(reader.buffered).to.equal(0);
  });

  it('refuses oversized or malformed input with protocol_error and stays failed', () => {
    const cases = [
      `RTSP/1.0 200 OK\r\nX: ${'a'.repeat(RTSP_LIMITS.headerBytes)}`,
      `RTSP/1.0 200 OK\r\nContent-Length: ${RTSP_LIMITS.bodyBytes + 1}\r\n\r\n`,
      'RTSP/1.0 200 OK\r\nContent-Length: 1e3\r\n\r\n',
      'HTTP/1.1 200 OK\r\n\r\n',
      'RTSP/1.0 200 OK\r\nBad Header Line\r\n\r\n',
      '\u0000\u0001garbage',
    ];
    for (const text of cases) {
      const { reader } = collect();
      let error: unknown;
      try {
        reader.push(Buffer.from(text, 'latin1'));
      } catch (caught) {
        error = caught;
      }
      expect(error, text.slice(0, 30)).to.be.instanceOf(RtspError);
      expect((error as RtspError).code).to.equal('protocol_error');
      expect(() => reader.push(Buffer.from('RTSP/1.0 200 OK\r\n\r\n'))).to.throw(RtspError);
      expect(reader.buffered).to.equal(0);
    }
  });

  it('does linear work for a camera trickling one byte per segment (16 KiB of headers, a 64 KiB body)', () => {
    const { reader, responses } = collect();
    const headers = Array.from({ length: 120 }, (_, i) => `X-Pad-${i}: ${'v'.repeat(120)}`).join('\r\n');
    const body = 'a'.repeat(RTSP_LIMITS.bodyBytes);
    const wire = Buffer.from(`RTSP/1.0 200 OK\r\nCSeq: 1\r\n${headers}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const started = process.hrtime.bigint();
    for (let i = 0; i < wire.length; i++) reader.push(wire.subarray(i, i + 1));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`      ${wire.length} bytes one at a time: ${ms.toFixed(0)} ms`);
    expect(responses).to.have.length(1);
    expect(responses[0]!.body.length).to.equal(body.length);
    // Quadratic parsing (re-scanning and re-copying what is held on every byte) takes many seconds here.
    expect(ms).to.be.below(3000);
  });

  it('applies the header limit the same way whatever the split', () => {
    for (const size of [RTSP_LIMITS.headerBytes - 2, RTSP_LIMITS.headerBytes + 2]) {
      const head = `RTSP/1.0 200 OK\r\nX: ${'a'.repeat(size - 21)}`;
      const verdicts = [1, 4, 1000].map((tail) => {
        const wire = Buffer.from(`${head}\r\n\r\n`);
        const { reader, responses } = collect();
        try {
          reader.push(wire.subarray(0, wire.length - tail));
          reader.push(wire.subarray(wire.length - tail));
          return responses.length === 1 ? 'ok' : 'none';
        } catch {
          return 'refused';
        }
      });
      expect(new Set(verdicts).size, `${size}: ${verdicts.join(',')}`).to.equal(1);
    }
  });
});
