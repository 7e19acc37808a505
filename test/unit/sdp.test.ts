import { expect } from 'chai';
import { decodeSpropParameterSets, parseH264Sps } from '../../workers/h264Sps.ts';
import { parseSdp, resolveControl } from '../../workers/rtsp/Sdp.ts';
import { SdpError } from '../../workers/rtsp/SdpError.ts';

// Camera SDPs as these cameras answer DESCRIBE (addresses moved to the documentation ranges); the
// sprop-parameter-sets are the published ones of test/unit/h264.test.ts. The ffmpeg SDP was written
// by ffmpeg 5.1.9 on this machine (`-f rtp ... -sdp_file`), CRLF line ends as it writes them.
const crlf = (lines: string[]) => lines.join('\r\n') + '\r\n';

const hikvision = crlf([
  'v=0',
  'o=- 1109162014219182 1109162014219192 IN IP4 192.0.2.64',
  's=Media Presentation',
  'e=NONE',
  'b=AS:5050',
  't=0 0',
  'a=control:rtsp://192.0.2.64:554/Streaming/Channels/101/?transportmode=unicast',
  'm=video 0 RTP/AVP 96',
  'c=IN IP4 0.0.0.0',
  'b=AS:5000',
  'a=recvonly',
  'a=x-dimensions:1920,1080',
  'a=control:rtsp://192.0.2.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets=Z2QAKKzZQHgCJ+WEAAADAAQAAAMAwjxgySA=,aO48sA==',
  'a=Media_header:MEDIAINFO=494D4B48010200000400000100000000000000000000000000000000000000000000000000000000;',
  'a=appversion:1.0',
  'm=audio 0 RTP/AVP 0',
  'c=IN IP4 0.0.0.0',
  'b=AS:50',
  'a=recvonly',
  'a=control:rtsp://192.0.2.64:554/Streaming/Channels/101/trackID=2?transportmode=unicast',
  'a=rtpmap:0 PCMU/8000',
]);

const axis = crlf([
  'v=0',
  'o=- 1256300394383440 1 IN IP4 192.0.2.90',
  's=Session streamed with GStreamer',
  'i=rtsp-server',
  't=0 0',
  'a=tool:GStreamer',
  'a=type:broadcast',
  'a=range:npt=now-',
  'a=control:rtsp://192.0.2.90/axis-media/media.amp?videocodec=h264',
  'm=video 0 RTP/AVP 96',
  'c=IN IP4 0.0.0.0',
  'b=AS:50000',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 packetization-mode=1;profile-level-id=4d0029;sprop-parameter-sets=Z00AKeKQWJ2AtwEBAaQeJEVA,aO48gA==',
  'a=ts-refclk:local',
  'a=mediaclk:sender',
  'a=recvonly',
  'a=control:rtsp://192.0.2.90/axis-media/media.amp/stream=0?videocodec=h264',
  'a=framerate:30.000000',
  'a=transform:1.000000,0.000000,0.000000;0.000000,1.000000,0.000000;0.000000,0.000000,1.000000',
  'm=audio 0 RTP/AVP 97',
  'c=IN IP4 0.0.0.0',
  'b=AS:32',
  'a=rtpmap:97 MPEG4-GENERIC/16000/1',
  'a=fmtp:97 streamtype=5;profile-level-id=2;mode=AAC-hbr;config=1408;sizelength=13;indexlength=3;indexdeltalength=3;bitrate=32000',
  'a=recvonly',
  'a=control:rtsp://192.0.2.90/axis-media/media.amp/stream=1?videocodec=h264',
]);

// Dahua answers DESCRIBE with Content-Base: rtsp://192.0.2.108:554/cam/realmonitor?channel=1&subtype=0/
const dahua = crlf([
  'v=0',
  'o=- 2251938202 2251938202 IN IP4 0.0.0.0',
  's=Media Server',
  'c=IN IP4 0.0.0.0',
  't=0 0',
  'a=control:*',
  'a=packetization-supported:DH',
  'a=rtppayload-supported:DH',
  'a=range:npt=now-',
  'm=video 0 RTP/AVP 96',
  'a=control:trackID=0',
  'a=framerate:15.000000',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 packetization-mode=1;profile-level-id=4D0028;sprop-parameter-sets=Z00AKpY1QPAET8s3AQEBQAAA+kAAHUwB,aO48gA==',
  'a=recvonly',
  'm=audio 0 RTP/AVP 8',
  'a=control:trackID=1',
  'a=rtpmap:8 PCMA/8000',
  'a=recvonly',
]);

// GStreamer gst-rtsp-server (test-launch), Content-Base: rtsp://127.0.0.1:8554/test/ ; LF line ends.
const gstreamer = [
  'v=0',
  'o=- 1188340656180883 1 IN IP4 127.0.0.1',
  's=Session streamed with GStreamer',
  'i=rtsp-server',
  't=0 0',
  'a=tool:GStreamer',
  'a=type:broadcast',
  'a=range:npt=now-',
  'a=control:rtsp://127.0.0.1:8554/test',
  'm=video 0 RTP/AVP 96',
  'c=IN IP4 0.0.0.0',
  'a=rtpmap:96 H264/90000',
  'a=framerate:30',
  'a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHoyNQFAe0A8IhGo=,aM48gA==;profile-level-id=42c01e;level-asymmetry-allowed=1',
  'a=control:stream=0',
  'a=ts-refclk:local',
  'a=mediaclk:sender',
].join('\n');

const ffmpegRtp = crlf([
  'v=0',
  'o=- 0 0 IN IP4 127.0.0.1',
  's=No Name',
  't=0 0',
  'a=tool:libavformat LIBAVFORMAT_VERSION',
  'm=video 45004 RTP/AVP 96',
  'c=IN IP4 127.0.0.1',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z2QAHqyyAUBf8uAiAAADAAIAAAMAZB4sXJA=,aOvDyyLA; profile-level-id=64001E',
  'm=audio 45006 RTP/AVP 97',
  'c=IN IP4 127.0.0.1',
  'b=AS:64',
  'a=rtpmap:97 opus/48000/2',
]);

describe('parseSdp: camera SDPs', () => {
  it('Hikvision: absolute controls with a query, PCMU audio, session-level control', () => {
    const sdp = parseSdp(hikvision);
    expect(sdp.control).to.equal('rtsp://192.0.2.64:554/Streaming/Channels/101/?transportmode=unicast');
    expect(sdp.media).to.have.length(2);
    const [video, audio] = sdp.media;
    expect(video).to.deep.include({ type: 'video', port: 0, protocol: 'RTP/AVP', formats: [96], direction: 'recvonly' });
    expect(video!.control).to.equal('rtsp://192.0.2.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast');
    expect(video!.rtpmap).to.deep.equal({ payloadType: 96, encoding: 'H264', clockRate: 90000 });
    expect(video!.fmtp).to.deep.equal({
      'profile-level-id': '420029',
      'packetization-mode': '1',
      'sprop-parameter-sets': 'Z2QAKKzZQHgCJ+WEAAADAAQAAAMAwjxgySA=,aO48sA==',
    });
    expect(audio!.rtpmap).to.deep.equal({ payloadType: 0, encoding: 'PCMU', clockRate: 8000 });
    expect(audio!.fmtp).to.deep.equal({});
    // The declared profile-level-id (Baseline) is not the SPS's (High): the SPS is what counts.
    const [sps] = decodeSpropParameterSets(video!.fmtp['sprop-parameter-sets']!);
    expect(parseH264Sps(sps!)).to.include({ profileLevelId: '640028', width: 1920, height: 1080 });
  });

  it('Axis: AAC (MPEG4-GENERIC with channels) and its fmtp parameters', () => {
    const [video, audio] = parseSdp(axis).media;
    expect(video!.control).to.equal('rtsp://192.0.2.90/axis-media/media.amp/stream=0?videocodec=h264');
    expect(audio!.rtpmap).to.deep.equal({ payloadType: 97, encoding: 'MPEG4-GENERIC', clockRate: 16000, channels: 1 });
    expect(audio!.fmtp).to.include({ mode: 'AAC-hbr', config: '1408', sizelength: '13', streamtype: '5' });
  });

  it('Dahua: control * at session level, relative track controls, PCMA', () => {
    const sdp = parseSdp(dahua);
    expect(sdp.control).to.equal('*');
    expect(sdp.media.map((m) => m.control)).to.deep.equal(['trackID=0', 'trackID=1']);
    expect(sdp.media[0]!.fmtp['profile-level-id']).to.equal('4D0028');
    expect(sdp.media[1]!.rtpmap).to.deep.equal({ payloadType: 8, encoding: 'PCMA', clockRate: 8000 });
    const base = 'rtsp://192.0.2.108:554/cam/realmonitor?channel=1&subtype=0/';
    expect(resolveControl(base, sdp.control)).to.equal(base);
    expect(resolveControl(base, sdp.media[0]!.control)).to.equal('rtsp://192.0.2.108:554/cam/realmonitor?channel=1&subtype=0/trackID=0');
  });

  it('GStreamer rtsp-server (LF line ends): stream=0 under the Content-Base', () => {
    const sdp = parseSdp(gstreamer);
    const [video] = sdp.media;
    expect(video!.control).to.equal('stream=0');
    expect(video!.fmtp['sprop-parameter-sets']).to.equal('Z0LAHoyNQFAe0A8IhGo=,aM48gA==');
    expect(video!.fmtp['level-asymmetry-allowed']).to.equal('1');
    expect(video!.direction).to.equal(undefined);
    expect(resolveControl('rtsp://127.0.0.1:8554/test/', video!.control)).to.equal('rtsp://127.0.0.1:8554/test/stream=0');
  });

  it('ffmpeg RTP muxer: ports, spaces after the fmtp semicolons, opus with 2 channels, no control', () => {
    const sdp = parseSdp(ffmpegRtp);
    expect(sdp.control).to.equal(undefined);
    const [video, audio] = sdp.media;
    expect(video).to.deep.include({ port: 45004, formats: [96] });
    expect(video!.control).to.equal(undefined);
    expect(video!.fmtp).to.deep.equal({
      'packetization-mode': '1',
      'sprop-parameter-sets': 'Z2QAHqyyAUBf8uAiAAADAAIAAAMAZB4sXJA=,aOvDyyLA',
      'profile-level-id': '64001E',
    });
    expect(audio!.rtpmap).to.deep.equal({ payloadType: 97, encoding: 'opus', clockRate: 48000, channels: 2 });
    expect(resolveControl('rtsp://h/live', video!.control)).to.equal('rtsp://h/live');
  });
});

describe('parseSdp: tolerance', () => {
  it('trailing spaces, blank lines, bare CR line ends and unknown lines', () => {
    const text = 'v=0  \r\r\ns=-\rX-garbage\r\nm=video 0 RTP/AVP 96   \r\na=rtpmap:96 H265/90000  \r\na=control: trackID=5 \r\n';
    const [video] = parseSdp(text).media;
    expect(video).to.deep.include({ type: 'video', formats: [96], control: 'trackID=5' });
    expect(video!.rtpmap).to.deep.equal({ payloadType: 96, encoding: 'H265', clockRate: 90000 });
  });

  it('several formats: rtpmap/fmtp of the first format that has an rtpmap', () => {
    const text = ['v=0', 'm=video 0 RTP/AVP 26 98 96', 'a=fmtp:96 packetization-mode=0', 'a=rtpmap:96 H264/90000', 'a=rtpmap:98 H264/90000', 'a=fmtp:98 packetization-mode=1'].join('\n');
    const [video] = parseSdp(text).media;
    expect(video!.formats).to.deep.equal([26, 98, 96]);
    expect(video!.rtpmap!.payloadType).to.equal(98);
    expect(video!.fmtp).to.deep.equal({ 'packetization-mode': '1' });
  });

  it('a missing rtpmap falls back on the RFC 3551 static payload type; an unknown dynamic one has none', () => {
    const sdp = parseSdp('v=0\nm=video 0 RTP/AVP 26\nm=audio 0 RTP/AVP 96\na=control:audio\n');
    expect(sdp.media[0]!.rtpmap).to.deep.equal({ payloadType: 26, encoding: 'JPEG', clockRate: 90000 });
    expect(sdp.media[1]!.rtpmap).to.equal(undefined);
    expect(sdp.media[1]!.fmtp).to.deep.equal({});
  });

  it('a session-level direction is the default of every media; a media-level one wins', () => {
    const sdp = parseSdp('v=0\na=sendonly\nm=video 0 RTP/AVP 96\nm=audio 0 RTP/AVP 0\na=inactive\n');
    expect(sdp.media.map((m) => m.direction)).to.deep.equal(['sendonly', 'inactive']);
  });

  it('missing fields on the m= line', () => {
    const [media] = parseSdp('v=0\nm=video\n').media;
    expect(media).to.deep.include({ type: 'video', port: 0, protocol: '', formats: [], fmtp: {} });
  });

  it('fmtp values keep their "=" and keys are lower-cased', () => {
    const [video] = parseSdp('v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 Sprop-Parameter-Sets=Z0IAKeKQFAe2AtwEBAaQeJEV,aM48gA==;Profile-Level-Id=420029;flag\n').media;
    expect(video!.fmtp).to.deep.equal({ 'sprop-parameter-sets': 'Z0IAKeKQFAe2AtwEBAaQeJEV,aM48gA==', 'profile-level-id': '420029', flag: '' });
  });
});

describe('parseSdp: malformed input', () => {
  it('no v= line', () => {
    expect(() => parseSdp('m=video 0 RTP/AVP 96\n')).to.throw(SdpError, /no v= line/);
    expect(() => parseSdp('<html>401 Unauthorized</html>')).to.throw(SdpError, /no v= line/);
    expect(() => parseSdp('')).to.throw(SdpError);
  });

  it('no m= line', () => {
    expect(() => parseSdp('v=0\r\ns=Media Server\r\nt=0 0\r\na=control:*\r\n')).to.throw(SdpError, /no m= line/);
  });

  it('over 64 KiB', () => {
    const padding = 'a=x-padding:' + 'x'.repeat(65536) + '\n';
    expect(() => parseSdp(`v=0\nm=video 0 RTP/AVP 96\n${padding}`)).to.throw(SdpError, /more than the 65536/);
    // 64 KiB counts UTF-8 bytes: 22,000 three-byte characters are 66,000 bytes.
    expect(() => parseSdp(`v=0\nm=video 0 RTP/AVP 96\ni=${'€'.repeat(22000)}\n`)).to.throw(SdpError);
    expect(parseSdp(`v=0\nm=video 0 RTP/AVP 96\ni=${'x'.repeat(60000)}\n`).media).to.have.length(1);
  });

  it('SdpError is an Error with its name', () => {
    try {
      parseSdp('garbage');
      expect.fail('no error');
    } catch (error) {
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).name).to.equal('SdpError');
    }
  });
});

describe('resolveControl (RFC 2326 §C.1.1)', () => {
  it('an absolute URL is used as is', () => {
    expect(resolveControl('rtsp://h/live/', 'rtsp://other:8554/x/trackID=1')).to.equal('rtsp://other:8554/x/trackID=1');
    expect(resolveControl('rtsp://h/live/', 'RTSPS://h:322/x')).to.equal('RTSPS://h:322/x');
  });

  it("'*', empty and absent controls mean the base itself", () => {
    for (const control of ['*', '', undefined]) expect(resolveControl('rtsp://h/live', control)).to.equal('rtsp://h/live');
  });

  it('relative controls: a slash is added to a base without one', () => {
    expect(resolveControl('rtsp://h/live', 'trackID=1')).to.equal('rtsp://h/live/trackID=1');
    expect(resolveControl('rtsp://h/live/', 'trackID=1')).to.equal('rtsp://h/live/trackID=1');
    expect(resolveControl('rtsp://192.0.2.5:8554/test.264/', 'track1')).to.equal('rtsp://192.0.2.5:8554/test.264/track1');
    expect(resolveControl('rtsp://h:554', 'track1')).to.equal('rtsp://h:554/track1');
  });

  it('a query in the base stays before the appended control', () => {
    expect(resolveControl('rtsp://h/cam/realmonitor?channel=1&subtype=0', 'trackID=0')).to.equal('rtsp://h/cam/realmonitor?channel=1&subtype=0/trackID=0');
  });

  it('a control starting with / replaces the path, keeping scheme, credentials and authority', () => {
    expect(resolveControl('rtsp://user:p%40ss@h:554/live/main?x=1', '/live/main/track2')).to.equal('rtsp://user:p%40ss@h:554/live/main/track2');
  });
});
