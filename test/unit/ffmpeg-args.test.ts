import { expect } from 'chai';
import { buildFfmpegArgs, withCredentials, type FfmpegArgsOptions } from '../../workers/ffmpegArgs.ts';

// Table tests of the ffmpeg command line one ingest run uses (no ffmpeg is spawned here).

const base: FfmpegArgsOptions = {
  url: 'rtsp://10.20.30.40:554/Streaming/Channels/101',
  transport: 'tcp',
  timeoutMs: 5000,
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
  it('copy over TCP: the exact argument array', () => {
    expect(buildFfmpegArgs(base)).to.deep.equal([
      '-hide_banner', '-nostdin', '-loglevel', 'error',
      '-fflags', 'nobuffer', '-flags', 'low_delay',
      '-analyzeduration', '500000', '-probesize', '262144',
      '-rtsp_transport', 'tcp',
      '-timeout', '5000000',
      '-i', 'rtsp://10.20.30.40:554/Streaming/Channels/101',
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

  it('transcode over UDP: the exact argument array', () => {
    const args = buildFfmpegArgs({
      ...base,
      url: 'rtsp://192.168.1.108:554/cam/realmonitor?channel=1&subtype=0',
      transport: 'udp',
      timeoutMs: 2500,
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
      '-rtsp_transport', 'udp',
      '-timeout', '2500000',
      '-i', 'rtsp://192.168.1.108:554/cam/realmonitor?channel=1&subtype=0',
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
    { name: 'copy, tcp', options: { mode: 'copy', transport: 'tcp' }, pairs: { '-rtsp_transport': 'tcp', '-c:v': 'copy', '-bsf:v': 'dump_extra=freq=keyframe' }, absent: ['-b:v', '-maxrate', '-bufsize', '-g', '-profile:v', '-x264-params'] },
    { name: 'copy, udp', options: { mode: 'copy', transport: 'udp' }, pairs: { '-rtsp_transport': 'udp', '-c:v': 'copy' }, absent: ['-b:v'] },
    { name: 'transcode, tcp', options: { mode: 'transcode', transport: 'tcp' }, pairs: { '-rtsp_transport': 'tcp', '-c:v': 'libx264', '-profile:v': 'baseline', '-bf': '0', '-pix_fmt': 'yuv420p' }, absent: ['-bsf:v'] },
    { name: 'transcode, udp', options: { mode: 'transcode', transport: 'udp' }, pairs: { '-rtsp_transport': 'udp', '-c:v': 'libx264' } },
    // -timeout is the RTSP socket I/O timeout in microseconds.
    { name: 'timeout 500 ms -> 500000 us', options: { timeoutMs: 500 }, pairs: { '-timeout': '500000' } },
    { name: 'timeout 60 s -> 60000000 us', options: { timeoutMs: 60_000 }, pairs: { '-timeout': '60000000' } },
    { name: 'fractional timeout is rounded to whole microseconds', options: { timeoutMs: 1234.5678 }, pairs: { '-timeout': '1234568' } },
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
      pairs: { '-f': 'rtp', '-payload_type': '125', '-ssrc': '2147483647', '-pkt_size': '1200' },
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

  it('the camera URL is one argument, never split or quoted, right after -i', () => {
    const url = 'rtsp://user:p%40ss%20word@10.0.0.9:554/path with space?x=1&y=$(id)';
    const args = buildFfmpegArgs({ ...base, url });
    expect(valueOf(args, '-i')).to.equal(url);
    expect(args.filter((arg) => arg.includes('10.0.0.9'))).to.deep.equal([url]);
  });

  it('every argument is a string and progress goes to stdout', () => {
    const args = buildFfmpegArgs({ ...base, mode: 'transcode' });
    for (const arg of args) expect(arg).to.be.a('string');
    expect(valueOf(args, '-progress')).to.equal('pipe:1');
    expect(args.at(-1)).to.equal('-nostats');
    // Input options precede -i, output options follow it.
    expect(args.indexOf('-rtsp_transport')).to.be.lessThan(args.indexOf('-i'));
    expect(args.indexOf('-timeout')).to.be.lessThan(args.indexOf('-i'));
    expect(args.indexOf('-c:v')).to.be.greaterThan(args.indexOf('-i'));
  });
});

describe('withCredentials', () => {
  // Verified by hand against ffmpeg 5.1 and a stub RTSP server answering 401 Basic: for the
  // URL of row 'reserved characters' the camera received `Authorization: Basic` of exactly
  // "admin@site:p@ss:w/rd#?% ok" (ffmpeg decodes the userinfo before authenticating).
  const rows: Array<{ name: string; url: string; username?: string; password?: string; expected: string }> = [
    { name: 'no username: URL unchanged', url: 'rtsp://10.0.0.9:554/Streaming/Channels/101', expected: 'rtsp://10.0.0.9:554/Streaming/Channels/101' },
    { name: 'no username, password only: URL unchanged', url: 'rtsp://10.0.0.9/live', password: 'secret', expected: 'rtsp://10.0.0.9/live' },
    { name: 'empty username: URL unchanged', url: 'rtsp://10.0.0.9/live', username: '', password: 'secret', expected: 'rtsp://10.0.0.9/live' },
    { name: 'plain credentials', url: 'rtsp://10.0.0.9:554/Streaming/Channels/101', username: 'admin', password: 'Hik12345', expected: 'rtsp://admin:Hik12345@10.0.0.9:554/Streaming/Channels/101' },
    { name: 'username without password', url: 'rtsp://10.0.0.9/axis-media/media.amp', username: 'viewer', expected: 'rtsp://viewer@10.0.0.9/axis-media/media.amp' },
    {
      name: 'reserved characters',
      url: 'rtsp://127.0.0.1:18700/Streaming/Channels/101',
      username: 'admin@site',
      password: 'p@ss:w/rd#?% ok',
      expected: 'rtsp://admin%40site:p%40ss%3Aw%2Frd%23%3F%25%20ok@127.0.0.1:18700/Streaming/Channels/101',
    },
    { name: 'shell and URL metacharacters', url: 'rtsp://10.0.0.9/live', username: 'op', password: 'a;b&c|d$e=f+g', expected: 'rtsp://op:a%3Bb%26c%7Cd%24e%3Df%2Bg@10.0.0.9/live' },
    { name: 'non-ASCII', url: 'rtsp://10.0.0.9/live', username: 'operación', password: 'contraseña', expected: 'rtsp://operaci%C3%B3n:contrase%C3%B1a@10.0.0.9/live' },
    { name: 'replaces credentials already in the URL', url: 'rtsp://old:gone@10.0.0.9/live', username: 'new', password: 'pw', expected: 'rtsp://new:pw@10.0.0.9/live' },
    { name: 'query string kept (Dahua path)', url: 'rtsp://192.168.1.108:554/cam/realmonitor?channel=1&subtype=0', username: 'admin', password: 'x', expected: 'rtsp://admin:x@192.168.1.108:554/cam/realmonitor?channel=1&subtype=0' },
    { name: 'rtsps and IPv6 host', url: 'rtsps://[fe80::1]:322/live', username: 'u', password: 'p', expected: 'rtsps://u:p@[fe80::1]:322/live' },
  ];

  for (const row of rows) {
    it(row.name, () => {
      const result = withCredentials(row.url, row.username, row.password);
      expect(result).to.equal(row.expected);
      if (row.username) {
        // What the camera receives after ffmpeg decodes the userinfo.
        const parsed = new URL(result);
        expect(decodeURIComponent(parsed.username)).to.equal(row.username);
        expect(decodeURIComponent(parsed.password)).to.equal(row.password ?? '');
      }
    });
  }
});
