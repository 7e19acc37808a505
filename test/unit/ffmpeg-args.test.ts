import { expect } from 'chai';
import { buildFfmpegArgs, transcoderSdp, type FfmpegArgsOptions } from '../../workers/ffmpegArgs.ts';

// Table tests of the ffmpeg command line one ingest run uses (no ffmpeg is spawned here).

const base: FfmpegArgsOptions = {
  mode: 'copy',
  fps: 25,
  transcodeKbps: 1500,
  target: { ip: '127.0.0.1', rtpPort: 40012, rtcpPort: 40013 },
  ssrc: 123456789,
  payloadType: 102,
};

/** The value following `flag` (asserting the flag occurs exactly once). */
function valueOf(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  if (at < 0) return undefined;
  expect(args.indexOf(flag, at + 1), `${flag} given twice`).to.equal(-1);
  return args[at + 1];
}

describe('buildFfmpegArgs', () => {
  it('copy: the exact argument array', () => {
    expect(buildFfmpegArgs(base)).to.deep.equal([
      '-hide_banner', '-nostdin', '-loglevel', 'error',
      '-fflags', 'nobuffer', '-flags', 'low_delay',
      '-analyzeduration', '500000', '-probesize', '262144',
      '-protocol_whitelist', 'pipe,udp,rtp',
      '-localaddr', '127.0.0.1',
      '-buffer_size', '4194304',
      '-f', 'sdp', '-i', 'pipe:0',
      '-map', '0:v:0', '-an', '-sn', '-dn',
      '-c:v', 'copy', '-bsf:v', 'dump_extra=freq=keyframe',
      '-f', 'rtp',
      '-payload_type', '102',
      '-ssrc', '123456789',
      '-pkt_size', '1200',
      'rtp://127.0.0.1:40012?rtcpport=40013&pkt_size=1200',
      '-progress', 'pipe:1', '-stats_period', '1', '-nostats',
    ]);
  });

  it('transcode: the exact argument array', () => {
    const args = buildFfmpegArgs({
      ...base,
      mode: 'transcode',
      fps: 15,
      transcodeKbps: 800,
      target: { ip: '127.0.0.1', rtpPort: 42100, rtcpPort: 42101 },
      ssrc: 7,
      payloadType: 96,
    });
    expect(args).to.deep.equal([
      '-hide_banner', '-nostdin', '-loglevel', 'error',
      '-fflags', 'nobuffer', '-flags', 'low_delay',
      '-analyzeduration', '500000', '-probesize', '262144',
      '-protocol_whitelist', 'pipe,udp,rtp',
      '-localaddr', '127.0.0.1',
      '-buffer_size', '4194304',
      '-f', 'sdp', '-i', 'pipe:0',
      '-map', '0:v:0', '-an', '-sn', '-dn',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
      '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-bf', '0',
      '-g', '15', '-keyint_min', '15', '-sc_threshold', '0',
      '-b:v', '800k', '-maxrate', '800k', '-bufsize', '400k',
      '-x264-params', 'repeat-headers=1',
      '-f', 'rtp',
      '-payload_type', '96',
      '-ssrc', '7',
      '-pkt_size', '1200',
      'rtp://127.0.0.1:42100?rtcpport=42101&pkt_size=1200',
      '-progress', 'pipe:1', '-stats_period', '1', '-nostats',
    ]);
  });

  // One row per case; `pairs` are flag -> value, `absent` flags that must not appear.
  const rows: Array<{ name: string; options: Partial<FfmpegArgsOptions>; pairs: Record<string, string>; absent?: string[]; output?: string }> = [
    { name: 'copy', options: { mode: 'copy' }, pairs: { '-c:v': 'copy', '-bsf:v': 'dump_extra=freq=keyframe' }, absent: ['-b:v', '-maxrate', '-bufsize', '-g', '-profile:v', '-x264-params'] },
    { name: 'transcode', options: { mode: 'transcode' }, pairs: { '-c:v': 'libx264', '-profile:v': 'baseline', '-bf': '0', '-pix_fmt': 'yuv420p' }, absent: ['-bsf:v'] },
    // The input: an SDP on stdin, RTP on loopback only; no RTSP option, since ffmpeg never talks to the camera.
    { name: 'input from our RTSP client', options: {}, pairs: { '-i': 'pipe:0', '-localaddr': '127.0.0.1', '-protocol_whitelist': 'pipe,udp,rtp' }, absent: ['-rtsp_transport', '-timeout'] },
    // Bit-rate cap: average = peak = transcodeKbps, VBV buffer half of it.
    { name: 'cap 1500 kbit/s (default)', options: { mode: 'transcode', transcodeKbps: 1500 }, pairs: { '-b:v': '1500k', '-maxrate': '1500k', '-bufsize': '750k' } },
    { name: 'cap 100 kbit/s (minimum)', options: { mode: 'transcode', transcodeKbps: 100 }, pairs: { '-b:v': '100k', '-maxrate': '100k', '-bufsize': '50k' } },
    { name: 'cap 20000 kbit/s (maximum)', options: { mode: 'transcode', transcodeKbps: 20_000 }, pairs: { '-b:v': '20000k', '-maxrate': '20000k', '-bufsize': '10000k' } },
    { name: 'odd cap: buffer rounded', options: { mode: 'transcode', transcodeKbps: 1001 }, pairs: { '-bufsize': '501k' } },
    // GOP = one second of the source frame rate, at least one frame.
    { name: 'gop 25 fps', options: { mode: 'transcode', fps: 25 }, pairs: { '-g': '25', '-keyint_min': '25' } },
    { name: 'gop 29.97 fps -> 30', options: { mode: 'transcode', fps: 29.97 }, pairs: { '-g': '30', '-keyint_min': '30' } },
    { name: 'gop 0 fps -> 1', options: { mode: 'transcode', fps: 0 }, pairs: { '-g': '1', '-keyint_min': '1' } },
    { name: 'gop 0.2 fps -> 1', options: { mode: 'transcode', fps: 0.2 }, pairs: { '-g': '1' } },
    // RTP output.
    {
      name: 'rtp target, payload type, ssrc',
      options: { target: { ip: '10.0.0.5', rtpPort: 2000, rtcpPort: 2001 }, payloadType: 125, ssrc: 2 ** 31 - 1 },
      pairs: { '-payload_type': '125', '-ssrc': '2147483647', '-pkt_size': '1200' },
      output: 'rtp://10.0.0.5:2000?rtcpport=2001&pkt_size=1200',
    },
    {
      name: 'rtcp port not adjacent',
      options: { target: { ip: '127.0.0.1', rtpPort: 42000, rtcpPort: 42998 } },
      pairs: {},
      output: 'rtp://127.0.0.1:42000?rtcpport=42998&pkt_size=1200',
    },
  ];

  for (const row of rows) {
    it(`key pairs: ${row.name}`, () => {
      const args = buildFfmpegArgs({ ...base, ...row.options });
      for (const [flag, value] of Object.entries(row.pairs)) expect(valueOf(args, flag), flag).to.equal(value);
      for (const flag of row.absent ?? []) expect(args, flag).not.to.include(flag);
      if (row.output) {
        // The output URL is the single positional argument after the RTP muxer options.
        expect(args[args.indexOf('-pkt_size') + 2]).to.equal(row.output);
        expect(args.filter((arg) => arg.startsWith('rtp://'))).to.deep.equal([row.output]);
      }
    });
  }

  it('no camera URL and no credential on the command line: ffmpeg reads an SDP from stdin', () => {
    for (const mode of ['copy', 'transcode'] as const) {
      const args = buildFfmpegArgs({ ...base, mode });
      expect(args.filter((arg) => /rtsps?:/i.test(arg))).to.deep.equal([]);
      expect(args.filter((arg) => arg.includes('@'))).to.deep.equal([]);
      expect(args.slice(args.indexOf('-i') - 2, args.indexOf('-i') + 2)).to.deep.equal(['-f', 'sdp', '-i', 'pipe:0']);
    }
  });

  it('every argument is a string and progress goes to stdout', () => {
    const args = buildFfmpegArgs({ ...base, mode: 'transcode' });
    for (const arg of args) expect(arg).to.be.a('string');
    expect(valueOf(args, '-progress')).to.equal('pipe:1');
    expect(args.at(-1)).to.equal('-nostats');
    // Input options precede -i, output options follow it.
    expect(args.indexOf('-localaddr')).to.be.lessThan(args.indexOf('-i'));
    expect(args.indexOf('-protocol_whitelist')).to.be.lessThan(args.indexOf('-i'));
    expect(args.indexOf('-c:v')).to.be.greaterThan(args.indexOf('-i'));
  });
});

describe('transcoderSdp (what ffmpeg reads on stdin)', () => {
  it('H.264 with the camera\'s parameter sets: the exact SDP', () => {
    const sdp = transcoderSdp({ port: 40000, payloadType: 96, encoding: 'H264', clockRate: 90000, fmtp: { 'packetization-mode': '1', 'sprop-parameter-sets': 'Z00AKeKQWJ2AtwEBAaQeJEVA,aO48gA==' } });
    expect(sdp).to.equal(
      ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=C5 Live transcoder input', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=video 40000 RTP/AVP 96', 'a=rtpmap:96 H264/90000', 'a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z00AKeKQWJ2AtwEBAaQeJEVA,aO48gA==', 'a=recvonly', ''].join('\r\n'),
    );
  });

  it('MJPEG (static payload type 26) without fmtp', () => {
    const sdp = transcoderSdp({ port: 40002, payloadType: 26, encoding: 'JPEG', clockRate: 90000, fmtp: {} });
    expect(sdp).to.include('m=video 40002 RTP/AVP 26\r\na=rtpmap:26 JPEG/90000\r\na=recvonly');
    expect(sdp).not.to.include('a=fmtp');
  });

  it('a camera\'s value that would add a line or an attribute is left out', () => {
    const sdp = transcoderSdp({
      port: 40004,
      payloadType: 97,
      encoding: 'H265',
      clockRate: 90000,
      fmtp: { 'sprop-vps': 'QAEMAf//', evil: 'x\r\na=control:rtsp://10.0.0.1/', 'semi': 'a;b', 'bad key': '1', '': '2', long: 'A'.repeat(5000) },
    });
    expect(sdp.split('\r\n').filter((line) => line.startsWith('a='))).to.deep.equal(['a=rtpmap:97 H265/90000', 'a=fmtp:97 sprop-vps=QAEMAf//', 'a=recvonly']);
  });

  it('refuses an encoding name or payload type ffmpeg would misread', () => {
    expect(() => transcoderSdp({ port: 1, payloadType: 96, encoding: 'H264/90000\r\na=x', clockRate: 90000, fmtp: {} })).to.throw(/token/);
    expect(() => transcoderSdp({ port: 1, payloadType: 128, encoding: 'H264', clockRate: 90000, fmtp: {} })).to.throw(/payload type/);
  });
});
