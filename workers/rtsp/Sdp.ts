import { SdpError } from './SdpError.ts';

/** One m= section of a session description (RFC 8866 §5.14) with the attributes an RTSP client needs. */
export interface SdpMedia {
  /** 'video', 'audio', 'application', ... as written. */
  type: string;
  /** The port of the m= line (0 in most RTSP SDPs); 0 when unreadable. */
  port: number;
  /** 'RTP/AVP', 'RTP/AVPF', 'RTP/SAVP', ... as written. */
  protocol: string;
  /** The payload types of the m= line, in order (non-numeric formats are left out). */
  formats: number[];
  /** a=control (RFC 2326 §C.1.1), unresolved: see resolveControl. */
  control?: string;
  /** a=rtpmap of the first format that has one (RFC 8866 §6.6), else the RFC 3551 static assignment of the first format that has one. */
  rtpmap?: {
    payloadType: number;
    /** As written, e.g. 'H264', 'MPEG4-GENERIC', 'PCMU'. */
    encoding: string;
    /** Hz. */
    clockRate: number;
    /** Audio channels, when written. */
    channels?: number;
  };
  /** a=fmtp parameters of that same format (RFC 8866 §6.15), keys lower-cased, values trimmed; {} when none. */
  fmtp: Record<string, string>;
  /** sendrecv, sendonly, recvonly or inactive (RFC 8866 §6.7), from the media section or else the session level. */
  direction?: string;
}

export interface SessionDescription {
  /** The session-level a=control (the aggregate control URL, RFC 2326 §C.1.1). */
  control?: string;
  media: SdpMedia[];
}

/** Largest SDP accepted, in UTF-8 bytes. */
const MAX_SDP_BYTES = 64 * 1024;

const DIRECTIONS = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

type Rtpmap = NonNullable<SdpMedia['rtpmap']>;

/** Static payload types (RFC 3551 §6, tables 4 and 5) that cameras send without an a=rtpmap. */
const STATIC_PAYLOAD_TYPES: Record<number, Omit<Rtpmap, 'payloadType'>> = {
  0: { encoding: 'PCMU', clockRate: 8000, channels: 1 },
  3: { encoding: 'GSM', clockRate: 8000, channels: 1 },
  4: { encoding: 'G723', clockRate: 8000, channels: 1 },
  8: { encoding: 'PCMA', clockRate: 8000, channels: 1 },
  9: { encoding: 'G722', clockRate: 8000, channels: 1 },
  10: { encoding: 'L16', clockRate: 44100, channels: 2 },
  11: { encoding: 'L16', clockRate: 44100, channels: 1 },
  14: { encoding: 'MPA', clockRate: 90000 },
  18: { encoding: 'G729', clockRate: 8000, channels: 1 },
  26: { encoding: 'JPEG', clockRate: 90000 },
  32: { encoding: 'MPV', clockRate: 90000 },
  33: { encoding: 'MP2T', clockRate: 90000 },
  34: { encoding: 'H263', clockRate: 90000 },
};

/** A media section while it is read: rtpmap and fmtp of every format, one chosen at the end. */
interface MediaDraft {
  media: SdpMedia;
  rtpmaps: Map<number, Rtpmap>;
  fmtps: Map<number, Record<string, string>>;
}

/** `<pt> <encoding>/<clock rate>[/<channels>]` (RFC 8866 §6.6). */
function parseRtpmap(value: string): Rtpmap | undefined {
  const match = /^(\d+)\s+([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(value);
  if (!match) return undefined;
  const rtpmap: Rtpmap = { payloadType: Number(match[1]), encoding: match[2]!, clockRate: Number(match[3]) };
  if (match[4] !== undefined) rtpmap.channels = Number(match[4]);
  return rtpmap;
}

/** `<pt> key=value;key=value` (RFC 8866 §6.15); a value may itself hold '=' (base64 padding). */
function parseFmtp(value: string): { payloadType: number; params: Record<string, string> } | undefined {
  const match = /^(\d+)\s*(.*)$/.exec(value);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const pair of match[2]!.split(';')) {
    const equals = pair.indexOf('=');
    const key = (equals < 0 ? pair : pair.slice(0, equals)).trim().toLowerCase();
    if (key) params[key] = equals < 0 ? '' : pair.slice(equals + 1).trim();
  }
  return { payloadType: Number(match[1]), params };
}

/** Picks the format rtpmap/fmtp describe: the first with an a=rtpmap, else the first with a static assignment. */
function finish(draft: MediaDraft): SdpMedia {
  const { media, rtpmaps, fmtps } = draft;
  let chosen = media.formats.find((format) => rtpmaps.has(format));
  let rtpmap = chosen === undefined ? undefined : rtpmaps.get(chosen);
  if (chosen === undefined) {
    chosen = media.formats.find((format) => STATIC_PAYLOAD_TYPES[format] !== undefined);
    if (chosen !== undefined) rtpmap = { payloadType: chosen, ...STATIC_PAYLOAD_TYPES[chosen]! };
  }
  if (rtpmap) media.rtpmap = rtpmap;
  media.fmtp = (chosen === undefined ? undefined : fmtps.get(chosen)) ?? {};
  return media;
}

/**
 * Parses a session description (RFC 8866) as RTSP cameras send it in a DESCRIBE answer. Tolerant of
 * \n, \r\n or \r line ends, trailing spaces, lines it does not know and missing fields; the order of
 * lines is not checked. Attributes apply to the media section after the m= line, those before the
 * first m= line to the session (only control and the direction are used there; a session-level
 * direction is the default of every media section). When a media has several formats,
 * rtpmap/fmtp describe the first format that has an a=rtpmap (or else an RFC 3551 static payload
 * type, such as 0 for PCMU that cameras often send without one).
 *
 * @throws SdpError when the text is over 64 KiB (UTF-8), has no v= line or has no m= line.
 */
export function parseSdp(text: string): SessionDescription {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_SDP_BYTES) throw new SdpError(`SDP is ${bytes} bytes, more than the ${MAX_SDP_BYTES} accepted`);
  const session: SessionDescription = { media: [] };
  let sessionDirection: string | undefined;
  let sawVersion = false;
  const drafts: MediaDraft[] = [];
  let current: MediaDraft | undefined;

  for (const rawLine of text.split(/\r\n|\r|\n/)) {
    const line = rawLine.trim();
    const match = /^([a-z])\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const [, kind, value] = match as unknown as [string, string, string];
    if (kind === 'v') {
      sawVersion = true;
    } else if (kind === 'm') {
      const [type = '', port = '', protocol = '', ...formats] = value.split(/\s+/);
      const portNumber = Number.parseInt(port, 10); // "<port>/<number of ports>" reads as its port
      current = {
        media: {
          type,
          port: Number.isFinite(portNumber) ? portNumber : 0,
          protocol,
          formats: formats.filter((format) => /^\d+$/.test(format)).map(Number),
          fmtp: {},
        },
        rtpmaps: new Map(),
        fmtps: new Map(),
      };
      drafts.push(current);
    } else if (kind === 'a') {
      const colon = value.indexOf(':');
      const name = (colon < 0 ? value : value.slice(0, colon)).trim().toLowerCase();
      const attribute = colon < 0 ? '' : value.slice(colon + 1).trim();
      if (name === 'control') {
        if (current) current.media.control = attribute;
        else session.control = attribute;
      } else if (DIRECTIONS.has(name)) {
        if (current) current.media.direction = name;
        else sessionDirection = name;
      } else if (name === 'rtpmap' && current) {
        const rtpmap = parseRtpmap(attribute);
        if (rtpmap && !current.rtpmaps.has(rtpmap.payloadType)) current.rtpmaps.set(rtpmap.payloadType, rtpmap);
      } else if (name === 'fmtp' && current) {
        const fmtp = parseFmtp(attribute);
        if (fmtp && !current.fmtps.has(fmtp.payloadType)) current.fmtps.set(fmtp.payloadType, fmtp.params);
      }
    }
  }

  if (!sawVersion) throw new SdpError('SDP has no v= line (not a session description)');
  if (drafts.length === 0) throw new SdpError('SDP has no m= line (no media to play)');
  for (const draft of drafts) {
    const media = finish(draft);
    if (media.direction === undefined && sessionDirection !== undefined) media.direction = sessionDirection;
    session.media.push(media);
  }
  return session;
}

/**
 * Resolves a control attribute (RFC 2326 §C.1.1) against a base URL: Content-Base of the DESCRIBE
 * answer, else its Content-Location, else the request URL (the caller picks which).
 *
 * - absent, empty or '*': the base itself, unchanged;
 * - an absolute URL (any scheme, e.g. rtsp://, rtsps://): as is;
 * - a path starting with '/': the base's scheme and authority (credentials included) with that path
 *   (RFC 3986 §5.2.2);
 * - otherwise appended to the base, with a '/' added when the base does not end with one
 *   (rtsp://h/live + trackID=1 -> rtsp://h/live/trackID=1). This is the concatenation of ffmpeg and
 *   LIVE555 rather than RFC 3986 resolution (which would replace the last path segment: rtsp://h/trackID=1),
 *   and it is what cameras expect.
 *
 * A query in the base stays where it is and the control goes after it: rtsp://h/cam?channel=1 +
 * trackID=0 -> rtsp://h/cam?channel=1/trackID=0. Dahua cameras answer with exactly that shape of
 * Content-Base (rtsp://h/cam/realmonitor?channel=1&subtype=0/) and expect it; moving the control
 * into the path before the query would break them.
 */
export function resolveControl(base: string, control: string | undefined): string {
  const trimmed = control?.trim() ?? '';
  if (trimmed === '' || trimmed === '*') return base;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) return trimmed;
  if (trimmed.startsWith('/')) {
    const origin = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(base);
    if (origin) return origin[0] + trimmed;
  }
  return base.endsWith('/') ? base + trimmed : `${base}/${trimmed}`;
}
