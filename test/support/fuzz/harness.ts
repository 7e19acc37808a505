/**
 * The fuzz harness: starts the server (throw-away data dir, prober off, cameras only on the local
 * simulator), signs in one user per role, reads the error codes from the OpenAPI document, runs
 * each entry point's property with fast-check, and checks afterwards that the server still serves.
 */
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { Simulator } from '../simulator.ts';
import { startTestApp, type TestApp } from '../pipelineApp.ts';
import { io } from 'socket.io-client';
import { connectClient, ok, type ClientSocket } from '../signallingClient.ts';
import { roles, type Role } from '../../../server/auth/Identity.ts';
import { encodeSegment, type RawBody, type PathSegment } from './arbitraries.ts';
import { signedHeaders } from '../../../server/alarms/AlarmSignature.ts';
import { entryName, entryPoints, uncoveredOperations, type Caller, type CameraEntry, type Dc09Entry, type EntryPoint, type FuzzContext, type HandshakeCase, type RestEntry, type SocketEntry } from './entryPoints.ts';
import { tcpWrites, type Dc09Case, type Dc09FuzzAccounts } from './dc09Arbitraries.ts';
import { panelDecodeAnswer, panelFrame } from '../Dc09Panel.ts';
import { encodeAnswer, MAX_BODY_LENGTH, MAX_FRAME_BYTES, openPayload, readEnvelope } from '../../../server/alarms/dc09/Dc09Frame.ts';
import { Dc09FrameReader } from '../../../server/alarms/dc09/Dc09FrameReader.ts';
import type { Dc09Outcome } from '../../../server/alarms/dc09/Dc09Intake.ts';
import { parseContactId } from '../../../server/alarms/dc09/ContactId.ts';
import { parseSiaEvents } from '../../../server/alarms/dc09/SiaEvents.ts';
import { HostileCamera, type CameraScript } from './HostileCamera.ts';
import { RtspClient, RtspError, RTSP_LIMITS, videoInfo, type RtspTrack } from '../../../workers/rtsp.ts';
import { H264RtpRewriter } from '../../../workers/relay/H264RtpRewriter.ts';
import { h264SliceType } from '../../../workers/relay/sliceType.ts';
import { sniffVideoCodec } from '../../../workers/sniffVideoCodec.ts';
import { rtpPayload } from '../../../workers/cameraSession.ts';
import { transcoderSdp } from '../../../workers/ffmpegArgs.ts';

export const LIVE_CAMERA = 'cam-live';
const FUZZED_CAMERA = 'cam-fz';

export interface EntryResult {
  name: string;
  runs: number;
  failed: boolean;
  seed: number;
  /** fast-check's path to the shrunk case: replay with { seed, path }. */
  path?: string;
  counterexample?: string;
  error?: string;
}

/** A JSON rendering of a (shrunk) input with long strings (values and keys) cut, odd characters escaped. */
export function brief(value: unknown): string {
  const cut = (v: string): string => {
    const escaped = v.replace(/[\uD800-\uDFFF\u0000-\u001F\u200B-\u200F\u202A-\u202E\uFEFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return escaped.length > 200 ? `<${v.length} chars: ${escaped.slice(0, 60)}…>` : escaped;
  };
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'number' && (Object.is(v, -0) || !Number.isFinite(v))) return `<number ${Object.is(v, -0) ? '-0' : String(v)}>`;
    if (typeof v === 'string') return cut(v);
    if (!v || typeof v !== 'object') return v;
    if (depth > 12) return '<deeper>';
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, item]) => [cut(k), walk(item, depth + 1)]));
  };
  return JSON.stringify(walk(value, 0)) ?? 'undefined';
}

/** Socket.IO's maxHttpBufferSize on the server: a bigger message ends the connection, by design. */
export const SOCKET_MESSAGE_LIMIT = 256 * 1024;
/** Node's HTTP parser answers 431 (no body, before the app) to a request head over its 16 KB default. */
const NODE_HEADER_LIMIT = 16 * 1024;

export class FuzzTarget {
  readonly entries: EntryPoint[];
  private readonly sockets = new Map<Role, ClientSocket>();
  /** Unexpected-error log lines set aside by compactLogs(). */
  private readonly unexpectedLogged: string[] = [];

  private constructor(
    readonly sim: Simulator,
    readonly t: TestApp,
    readonly base: string,
    private tokens: Record<Role, string>,
    readonly errorCodes: Set<string>,
    readonly ctx: FuzzContext,
    readonly openapi: { paths?: Record<string, Record<string, unknown>> },
    readonly hostileCamera: HostileCamera,
  ) {
    const listed = entryPoints(ctx);
    this.entries = [...listed, ...uncoveredOperations(ctx, openapi, listed)];
    // Every DC-09 frame's outcome, for the case that is running (the harness is the receiver's only client).
    if (t.app.dc09) t.app.dc09.onOutcome = (outcome) => this.dc09Outcomes.push(outcome);
  }

  /** Outcomes the DC-09 receiver reported during the current case. */
  private dc09Outcomes: Dc09Outcome[] = [];
  /** Sequence of the next NULL that checks the receiver after a DC-09 case. */
  private dc09Sequence = 0;

  static async start(): Promise<FuzzTarget> {
    const sim = await Simulator.start({
      config: {
        cameras: [
          { id: LIVE_CAMERA, tag: 81, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 25, gop: 25 },
          { id: FUZZED_CAMERA, tag: 82, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 25, gop: 25 },
        ],
      },
    });
    let t: TestApp | undefined;
    try {
      t = await startTestApp({
        cameras: [
          { id: LIVE_CAMERA, name: 'Live check', url: sim.url(LIVE_CAMERA) },
          { id: FUZZED_CAMERA, name: 'Fuzzed', url: sim.url(FUZZED_CAMERA) },
        ],
        health: { enabled: false },
        // The DC-09 cases send thousands of frames a minute from 127.0.0.1: the per-address limit (600/min) would drop them unread.
        dc09: { host: '127.0.0.1', ratePerAddressPerMinute: 1_000_000 },
        // The enrolment cases all come from 127.0.0.1: the public limits would answer them 429 unread.
        enrolment: { perSourcePerHour: 1_000_000, perContactPerHour: 1_000, statusPerSourcePerHour: 1_000_000 },
      });
      const base = t.app.consoleUrl;
      const tokens = await signInAll(t);
      const victim = await t.user('investigator');
      const openapi = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths?: Record<string, Record<string, unknown>> };
      const errorCodes = collectErrorCodes(openapi);
      if (errorCodes.size === 0) throw new Error('the OpenAPI document lists no error codes');
      const probe = await connectClient(base, tokens.operator);
      const { rtpCapabilities } = await ok(probe, 'getRouterRtpCapabilities', {});
      probe.close();
      const seeded = await seedIncidents(t, base, tokens.admin, victim);
      const alarmSeed = await seedAlarms(base, tokens.admin);
      const dc09 = await seedDc09(base, tokens.admin);
      const ctx: FuzzContext = {
        cameraCodes: [FUZZED_CAMERA, 'CDMX-0001'],
        userIds: [victim],
        ...seeded,
        ...alarmSeed,
        dc09,
        rtpCapabilities,
        bodyKeys: (path, method) => {
          const body = (openapi.paths?.[path]?.[method.toLowerCase()] as { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } } | undefined)?.requestBody;
          return Object.keys(body?.content?.['application/json']?.schema?.properties ?? {});
        },
      };
      return new FuzzTarget(sim, t, base, tokens, errorCodes, ctx, openapi, await HostileCamera.start());
    } catch (error) {
      await t?.close();
      await sim.stop();
      throw error;
    }
  }

  async close(): Promise<void> {
    agent.destroy();
    for (const socket of this.sockets.values()) socket.close();
    await this.hostileCamera.stop();
    await this.t.close();
    await this.sim.stop();
  }

  /**
   * Signs every role in again and drops the sockets of the old sessions. A full run lasts far longer
   * than an access token (15 min), so each entry point starts with fresh sessions.
   */
  async renewSessions(): Promise<void> {
    this.tokens = await signInAll(this.t);
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }

  /** Runs one entry point's property: `numRuns` cases from `seed` (a fixed one: replayable). */
  async run(entry: EntryPoint, options: { numRuns: number; seed: number; path?: string }): Promise<EntryResult> {
    await this.renewSessions();
    const property = (
      entry.kind === 'rest'
        ? this.restProperty(entry)
        : entry.kind === 'socket'
          ? this.socketProperty(entry)
          : entry.kind === 'camera'
            ? this.cameraProperty(entry)
            : entry.kind === 'handshake'
              ? fc.asyncProperty(entry.auth, (auth) => this.checkHandshake(auth))
              : this.dc09Property(entry)
    ) as fc.IAsyncProperty<[unknown]>;
    const details = await fc.check(property, { numRuns: options.numRuns, seed: options.seed, ...(options.path && { path: options.path }), endOnFailure: false });
    const result: EntryResult = { name: entryName(entry), runs: details.numRuns, failed: details.failed, seed: details.seed };
    if (details.failed) {
      result.path = details.counterexamplePath ?? undefined;
      result.counterexample = brief(details.counterexample?.[0]);
      result.error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    }
    return result;
  }

  private restProperty(entry: RestEntry) {
    const input = fc.record({
      caller: fc.constantFrom(...entry.callers),
      forgedAuthorization: fc.option(fc.constantFrom('Bearer', 'Bearer ', 'Basic YTpi', 'Bearer a.b.c', 'Bearer eyJhbGciOiJub25lIn0.e30.', 'bearer x', `Bearer ${'A'.repeat(8000)}`), { freq: 3 }),
      params: fc.record(entry.params) as fc.Arbitrary<Record<string, PathSegment>>,
      query: fc.option(entry.query, { freq: 3 }),
      body: entry.body ?? fc.constant(undefined),
    });
    return fc.asyncProperty(input, async ({ caller, forgedAuthorization, params, query, body }) => {
      const path = entry.path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeSegment(params[name]!));
      await this.checkRest(entry.method, `${path}${query ? `?${query}` : ''}`, caller, body ?? undefined, forgedAuthorization ?? undefined);
    });
  }

  /** One request: never 5xx, every error a JSON body whose error.code the OpenAPI document lists. */
  async checkRest(method: string, pathAndQuery: string, caller: Caller, body?: RawBody, forgedAuthorization?: string): Promise<void> {
    const headers: Record<string, string> = {};
    if (caller !== 'none') headers.authorization = `Bearer ${this.tokens[caller]}`;
    else if (forgedAuthorization) headers.authorization = forgedAuthorization;
    if (body?.contentType) headers['content-type'] = body.contentType;
    if (body?.contentEncoding) headers['content-encoding'] = body.contentEncoding;
    if (body?.headers) Object.assign(headers, body.headers);
    // node:http, not fetch: the path goes out as generated (fetch would resolve "..", reject odd bytes).
    const res = await rawRequest(`${this.base}`, method, pathAndQuery, headers, body && method !== 'GET' ? body.text : undefined);
    const text = res.text;
    const shown = brief(pathAndQuery);
    if (res.status === 431 && text === '' && pathAndQuery.length + (headers.authorization?.length ?? 0) > NODE_HEADER_LIMIT / 2) return;
    if (res.status >= 500) throw new Error(`${method} ${shown} as ${caller}: ${res.status} ${text.slice(0, 300)}`);
    if (res.status >= 400) {
      let code: unknown;
      try {
        code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
      } catch {
        throw new Error(`${method} ${shown} as ${caller}: ${res.status} without a JSON body: ${text.slice(0, 300)}`);
      }
      if (typeof code !== 'string' || !this.errorCodes.has(code)) {
        throw new Error(`${method} ${shown} as ${caller}: ${res.status} with error code ${String(code)}, not one the OpenAPI document lists`);
      }
    }
  }

  private async socketFor(role: Role): Promise<ClientSocket> {
    const existing = this.sockets.get(role);
    if (existing?.connected) return existing;
    const socket = await connectClient(this.base, this.tokens[role]);
    this.sockets.set(role, socket);
    return socket;
  }

  /**
   * One handshake: it connects and the first event is `session`, or it is refused with a listed
   * error code; the server keeps accepting connections either way. A resume token of the operator's
   * own earlier session ('own') or of the supervisor's ('other') is taken from a live socket.
   */
  async checkHandshake(auth: HandshakeCase): Promise<void> {
    const token = typeof auth.token === 'object' ? auth.token.forged : auth.token === 'none' ? undefined : this.tokens[auth.token];
    let resume: unknown;
    if (auth.resume === 'own' || auth.resume === 'other') {
      const whose = auth.resume === 'own' && typeof auth.token === 'string' && auth.token !== 'none' ? auth.token : 'supervisor';
      const owner: ClientSocket = io(this.base, { path: '/socket.io', auth: { token: this.tokens[whose] }, transports: ['websocket'], reconnection: false, forceNew: true });
      resume = await new Promise<string>((resolve, reject) => {
        owner.once('session', (session) => resolve(session.resumeToken));
        owner.once('connect_error', reject);
      }).finally(() => owner.close());
    } else if (auth.resume !== undefined) {
      resume = auth.resume.value;
    }
    const outcome = await new Promise<{ session?: unknown; error?: { message: string; data?: unknown } }>((resolve) => {
      const socket = io(this.base, { path: '/socket.io', auth: { ...auth.extra, token, ...(auth.resume !== undefined && { resume }) } as never, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 5000 });
      const done = (result: { session?: unknown; error?: { message: string; data?: unknown } }): void => {
        socket.close();
        resolve(result);
      };
      socket.once('session', (session) => done({ session }));
      socket.once('connect_error', (error: Error & { data?: unknown }) => done({ error: { message: error.message, data: error.data } }));
    });
    if (outcome.error) {
      const code = (outcome.error.data as { code?: unknown } | undefined)?.code;
      if (typeof code !== 'string' || !this.errorCodes.has(code)) throw new Error(`handshake ${brief(auth)}: refused without a listed error code (${brief(outcome.error)})`);
    } else if (typeof (outcome.session as { resumeToken?: unknown } | undefined)?.resumeToken !== 'string') {
      throw new Error(`handshake ${brief(auth)}: connected, but the first event was not a session with a resume token (${brief(outcome.session)})`);
    }
    // The server still takes a plain connection.
    const probe = await connectClient(this.base, this.tokens.operator);
    probe.close();
  }

  private socketProperty(entry: SocketEntry) {
    const input = fc.record({ caller: fc.constantFrom(...entry.callers), payload: entry.payload, noAck: fc.nat(9).map((n) => n === 0) });
    return fc.asyncProperty(input, ({ caller, payload, noAck }) => this.checkSocket(caller as Role, entry.event, payload, noAck));
  }

  /** One socket request: acknowledged with an object whose error, if any, has a listed code; the socket keeps answering. */
  async checkSocket(role: Role, event: string, payload: unknown, noAck = false): Promise<void> {
    const socket = await this.socketFor(role);
    const size = Buffer.byteLength(JSON.stringify([event, payload]) ?? '');
    if (size > SOCKET_MESSAGE_LIMIT - 1024) {
      // Over the limit: the server may drop the connection (by design); it must not answer 5xx or crash.
      await emitWithAck(socket, event, payload).catch(() => undefined);
      return;
    }
    if (noAck) {
      (socket as unknown as { emit(event: string, payload: unknown): void }).emit(event, payload);
      // The server answers nothing: it must still answer the next request on the same socket.
      const next = await emitWithAck(socket, 'getRouterRtpCapabilities', {});
      if ((next as { error?: unknown }).error) throw new Error(`after ${event} without an ack, getRouterRtpCapabilities failed: ${brief(next)}`);
      return;
    }
    const answer = await emitWithAck(socket, event, payload);
    if (answer === null || typeof answer !== 'object') throw new Error(`${event} as ${role}: acknowledged with ${brief(answer)}`);
    const error = (answer as { error?: { code?: unknown } }).error;
    if (error !== undefined && (typeof error.code !== 'string' || !this.errorCodes.has(error.code))) {
      throw new Error(`${event} as ${role}: error code ${brief(error.code)} is not one the OpenAPI document lists (${brief(error)})`);
    }
  }

  private cameraProperty(entry: CameraEntry) {
    return fc.asyncProperty(entry.script, (script) => this.checkCamera(script, entry.transport));
  }

  /**
   * Our RTSP client against one generated camera: DESCRIBE, SETUP, PLAY, a moment of packets, close.
   * It must end with success or an RtspError with a known code, in bounded time and memory, with
   * nothing thrown elsewhere.
   */
  async checkCamera(script: CameraScript, transport: 'tcp' | 'udp' = 'tcp'): Promise<void> {
    this.hostileCamera.load(script);
    const client = new RtspClient({ url: this.hostileCamera.url(), credentials: { username: 'fuzz', password: 'fuzz-pass' }, transport, timeoutMs: 120 });
    const started = Date.now();
    let buffered = 0;
    const lost: RtspError[] = [];
    client.on('lost', (error) => lost.push(error));
    // The relay's and the transcoder's receive paths run on every packet the client passes on. A listener's throw would be
    // swallowed by the emitter (it reports, never rethrows), so failures are collected and checked below.
    const rewriter = new H264RtpRewriter({ ssrc: 1, payloadType: 102 });
    const listenerFailures: string[] = [];
    client.on('rtp', (_track, packet) => {
      try {
        if (packet.length < 12) throw new Error(`an RTP packet of ${packet.length} bytes was passed on`);
        h264SliceType(packet.subarray(12));
        const sniffed = sniffVideoCodec(rtpPayload(packet));
        if (sniffed !== undefined && sniffed !== 'h264' && sniffed !== 'h265') throw new Error(`sniffVideoCodec said ${String(sniffed)}`);
        for (const out of rewriter.push(packet)) if (out.length < 12) throw new Error('the rewriter produced a packet shorter than an RTP header');
      } catch (error) {
        listenerFailures.push((error as Error).message);
      }
    });
    try {
      const description = await client.describe();
      for (const track of description.tracks) {
        videoInfo(track);
        transcoderInputOf(track);
      }
      const track = description.tracks[0];
      if (track) {
        await client.setup(track);
        await client.play();
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    } catch (error) {
      if (!(error instanceof RtspError)) throw new Error(`the client threw ${(error as Error)?.name}: ${(error as Error)?.message}`);
      if (!RTSP_ERROR_CODES.has(error.code)) throw new Error(`unknown RtspError code ${error.code}`);
      if (/fuzz-pass/.test(error.message)) throw new Error('an RtspError message holds the password');
    } finally {
      buffered = client.buffered;
      await client.close();
    }
    for (const error of lost) if (!RTSP_ERROR_CODES.has(error.code)) throw new Error(`unknown lost code ${error.code}`);
    if (listenerFailures.length > 0) throw new Error(`the RTP path failed: ${listenerFailures[0]}`);
    if (buffered > RTSP_LIMITS.headerBytes + RTSP_LIMITS.bodyBytes + 70_000) throw new Error(`the client held ${buffered} bytes`);
    if (Date.now() - started > 5000) throw new Error(`a case took ${Date.now() - started} ms`);
  }

  private dc09Property(entry: Dc09Entry) {
    return fc.asyncProperty(entry.input, (input) => (entry.transport === 'codec' ? this.checkDc09Codec(input) : this.checkDc09(input, entry.transport)));
  }

  /**
   * The codec and the TCP frame reader alone (no network): the generated bytes, cut as the TCP case
   * would write them, give frames that start at LF, end at their only CR and fit MAX_FRAME_BYTES;
   * every frame (and every piece as a datagram) reads, opens (with the device's key, none, a bad
   * one) and parses without throwing, with only the documented errors; and every frame that reads
   * gets answers (DUH, NAK, ACK clear or encrypted) that the test panel's own decoder accepts.
   */
  async checkDc09Codec(input: Dc09Case): Promise<void> {
    const keyHex = this.ctx.dc09.encrypted.keyHex;
    const reader = new Dc09FrameReader();
    const frames: Buffer[] = [...input.pieces];
    for (const write of tcpWrites(input)) {
      const read = reader.push(write);
      if (!(read.discarded >= 0)) throw new Error(`the reader discarded ${read.discarded} bytes`);
      for (const frame of read.frames) {
        if (frame[0] !== 0x0a || frame.indexOf(0x0a, 1) >= 0) throw new Error(`the reader cut a frame that does not start with its only LF: ${brief(frame.toString('latin1'))}`);
        if (frame.indexOf(0x0d) !== frame.length - 1) throw new Error(`the reader cut a frame that does not end at its first CR: ${brief(frame.toString('latin1'))}`);
        if (frame.length > MAX_FRAME_BYTES) throw new Error(`the reader gave a frame of ${frame.length} bytes`);
        frames.push(frame);
      }
    }
    const now = new Date();
    for (const frame of frames) {
      const read = readEnvelope(frame);
      if (!read.ok) {
        if (!['crc', 'length', 'syntax'].includes(read.error)) throw new Error(`readEnvelope: unknown error ${read.error}`);
        continue;
      }
      const envelope = read.envelope;
      if (envelope.body.length > MAX_BODY_LENGTH) throw new Error(`readEnvelope took a body of ${envelope.body.length} bytes`);
      for (const key of [keyHex, undefined, 'zz', '00'.repeat(24)]) {
        const opened = openPayload(envelope, key);
        if (!opened.ok) {
          if (!['decrypt', 'syntax', 'no_key'].includes(opened.error)) throw new Error(`openPayload: unknown error ${opened.error}`);
          continue;
        }
        parseContactId(opened.content.data);
        parseSiaEvents(opened.content.data);
      }
      // What the intake would answer: never a throw (it would be an internal error, no answer), always readable by a panel.
      const answers: Array<[string, Buffer]> = [
        ['DUH', encodeAnswer('DUH', envelope, { now })],
        ['NAK', encodeAnswer('NAK', envelope, { now })],
        ['ACK', encodeAnswer('ACK', envelope, { now, ...(envelope.encrypted && { keyHex }) })],
      ];
      for (const [kind, answer] of answers) {
        const decoded = panelDecodeAnswer(answer.toString('latin1'), keyHex);
        if (!decoded.valid || decoded.kind !== kind) throw new Error(`the ${kind} to ${brief(envelope.body)} does not decode: ${decoded.problem ?? decoded.kind} (${brief(decoded.raw)})`);
      }
    }
  }

  /**
   * The receiver over TCP or UDP, from a panel-like client: the case's bytes (one stream cut into
   * writes, or one datagram a piece), then a valid encrypted NULL from the seeded device. Every
   * answer must be a well-formed ACK, NAK or DUH that the test panel's decoder reads (encrypted ACKs
   * decrypted with the device's key), one per answered frame and of the kind the receiver reported;
   * no frame fails inside (outcome 'internal'); the NULL gets its encrypted ACK (over TCP, on the same
   * connection, after every other answer); and the receiver's TCP connections return to 0.
   */
  async checkDc09(input: Dc09Case, transport: 'tcp' | 'udp'): Promise<void> {
    const receiver = this.t.app.dc09;
    if (!receiver) throw new Error('the DC-09 receiver is not running');
    const { account, keyHex } = this.ctx.dc09.encrypted;
    const sequence = (this.dc09Sequence++ % 9999) + 1;
    // R field: only our NULL carries it, so its ACK cannot be mistaken for the answer to a generated frame.
    const nullFrame = Buffer.from(panelFrame({ token: 'NULL', sequence, account, receiver: 'C5F022', keyHex, timestamp: new Date() }), 'latin1');
    const outcomes: Dc09Outcome[] = [];
    this.dc09Outcomes = outcomes;
    const started = Date.now();
    const isNullAck = (raw: string) => {
      const answer = panelDecodeAnswer(raw, keyHex);
      return answer.valid && answer.kind === 'ACK' && answer.encrypted && answer.sequence === sequence && answer.receiver === 'C5F022';
    };
    const answers = transport === 'tcp' ? await dc09OverTcp(receiver.port, tcpWrites(input), nullFrame, isNullAck) : await dc09OverUdp(receiver.port, input.pieces, nullFrame, outcomes);
    try {
      const internal = outcomes.find((o) => o.reason === 'internal');
      if (internal) throw new Error('a frame failed inside the receiver (outcome internal)');
      const last = answers[answers.length - 1];
      if (!answers.some(isNullAck)) throw new Error(`the seeded device's NULL got no ACK afterwards (answers: ${brief(answers)})`);
      if (transport === 'tcp' && (last === undefined || !isNullAck(last))) throw new Error(`over TCP the NULL's ACK is not the last answer: ${brief(answers)}`);
      const kinds: string[] = [];
      for (const raw of answers) {
        const answer = panelDecodeAnswer(raw, keyHex);
        if (!answer.valid || !['ACK', 'NAK', 'DUH'].includes(answer.kind ?? '')) throw new Error(`an answer the panel cannot read: ${answer.problem ?? answer.kind} ${brief(raw)}`);
        kinds.push(answer.kind!);
      }
      const reported = outcomes.map((o) => o.answer).filter((a) => a !== 'none');
      if (kinds.sort().join() !== reported.sort().join()) throw new Error(`answers received ${kinds.join(',')} but the receiver reported ${reported.join(',')}`);
      if (transport === 'tcp') {
        const deadline = Date.now() + 2000;
        while (receiver.connections > 0) {
          if (Date.now() > deadline) throw new Error(`the receiver still holds ${receiver.connections} TCP connections`);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
      if (Date.now() - started > 5000) throw new Error(`a case took ${Date.now() - started} ms`);
    } finally {
      this.dc09Outcomes = [];
    }
  }

  /** Long runs: keeps only the unexpected-error lines of the captured log, so memory stays bounded. */
  compactLogs(): void {
    this.unexpectedLogged.push(...this.t.log.lines.filter((line) => /"msg":"unexpected/.test(line)));
    this.t.log.lines.length = 0;
  }

  /**
   * After a run: /readyz answers 200, nothing logged an unexpected error, and a fresh viewer gets a
   * consumer of the live camera (the ingest starts on the simulator's stream).
   */
  async checkStillServing(): Promise<void> {
    const ready = await fetch(`${this.base}/readyz`);
    if (ready.status !== 200) throw new Error(`/readyz answered ${ready.status}`);
    const unexpected = [...this.unexpectedLogged, ...this.t.log.lines.filter((line) => /"msg":"unexpected/.test(line))];
    if (unexpected.length > 0) throw new Error(`unexpected errors were logged:\n${unexpected.slice(0, 5).map((l) => l.slice(0, 500)).join('\n')}`);
    const viewer = await connectClient(this.base, await this.t.token('operator'));
    try {
      const { rtpCapabilities } = await ok(viewer, 'getRouterRtpCapabilities', {});
      const { transport } = await ok(viewer, 'createTransport', {});
      const { consumer } = await ok(viewer, 'consume', { transportId: transport.id, cameraId: LIVE_CAMERA, rtpCapabilities });
      if (consumer.cameraId !== LIVE_CAMERA || consumer.kind !== 'video') throw new Error(`unexpected consumer ${brief(consumer)}`);
      const dump = await Promise.all(this.t.app.media.workers.map((w) => w.router.dump()));
      if (!dump.flatMap((d) => Object.keys(d.mapConsumerIdProducerId)).includes(consumer.id)) throw new Error('the consumer is not in any router');
    } finally {
      viewer.close();
    }
  }
}

type JsonSchema = { properties?: Record<string, unknown> };

/** Where the fuzzed incidents are: Mexico City's Zócalo. */
const INCIDENT_LOCATION = { lat: 19.4326, lng: -99.1332 };
const CITIZEN_CAMERA = 'cit-fz';
const FAR_CITIZEN_CAMERA = 'cit-fz-far';

/**
 * What the incident entry points work on (issue 21): approved incident-only citizen cameras at
 * INCIDENT_LOCATION and 110 km north of it (never contacted: nothing watches them), an open incident
 * at INCIDENT_LOCATION (the first camera attached at opening, the fuzzed camera by hand) with a live
 * grant to the investigator, and a closed incident whose grant ended with it.
 */
async function seedIncidents(
  t: TestApp,
  base: string,
  adminToken: string,
  investigator: string,
): Promise<Pick<FuzzContext, 'incidentIds' | 'grantIds' | 'incidentCameraCodes' | 'incidentLocation'>> {
  for (const [code, location] of [
    [CITIZEN_CAMERA, INCIDENT_LOCATION],
    [FAR_CITIZEN_CAMERA, { lat: INCIDENT_LOCATION.lat + 1, lng: INCIDENT_LOCATION.lng }],
  ] as const) {
    await t.app.catalog.create(
      {
        code,
        name: 'Fuzzed citizen camera',
        area: 'citizen',
        owner: { kind: 'person', name: 'A neighbour', agreementRef: 'FZ-1', enrolledBy: 'fuzz' },
        category: 'street',
        municipality: 'Fuzz',
        location,
        mainUrl: `rtsp://127.0.0.1:9/${code}-never-contacted`,
        transport: 'tcp',
        sharing: 'incident-only',
        alwaysOn: false,
        tags: [],
      },
      { status: 'approved' },
    );
  }
  const post = async (path: string, body: unknown): Promise<{ id: string }> => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = (await res.json()) as { id: string };
    if (res.status >= 300) throw new Error(`fuzz set-up: POST ${path} answered ${res.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  const incident = (title: string) => post('/api/incidents', { title, kind: 'robbery', location: INCIDENT_LOCATION, municipality: 'Fuzz' });
  const open = await incident('Fuzzed, open');
  await post(`/api/incidents/${open.id}/cameras`, { cameras: [FUZZED_CAMERA] });
  const live = await post(`/api/incidents/${open.id}/grants`, { investigator, scope: 'all' });
  const closed = await incident('Fuzzed, closed');
  const ended = await post(`/api/incidents/${closed.id}/grants`, { investigator, scope: 'cameras', cameras: [CITIZEN_CAMERA] });
  await post(`/api/incidents/${closed.id}/close`, { disposition: 'resolved', note: 'closed before the fuzz' });
  return { incidentIds: [open.id, closed.id], grantIds: [live.id, ended.id], incidentCameraCodes: [CITIZEN_CAMERA, FAR_CITIZEN_CAMERA], incidentLocation: INCIDENT_LOCATION };
}

/**
 * Alarm devices and an alarm for the alarm entry points (issue 22): a device whose key signs the
 * intake's well-formed requests (never rotated or changed by the fuzz), a second device the admin
 * routes change, and one open alarm of the first.
 */
async function seedAlarms(base: string, adminToken: string): Promise<Pick<FuzzContext, 'alarmIds' | 'alarmDeviceIds' | 'alarmDevice'>> {
  const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`fuzz set-up: POST ${path} answered ${res.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  const device = (code: string) =>
    post('/api/alarm-devices', { code, name: `Fuzzed ${code}`, kind: 'mobile_app', owner: { name: 'Fuzz owner', phone: '+52 55 0000 0000' }, location: INCIDENT_LOCATION, area: 'citizen', municipality: 'Fuzz', cameras: [CITIZEN_CAMERA] }) as Promise<{ device: { id: string; code: string }; httpKey: string }>;
  const signing = await device('FUZZ-BTN-1');
  const changed = await device('FUZZ-BTN-2');
  const body = JSON.stringify({ type: 'alarm' });
  const res = await fetch(`${base}/api/alarms`, { method: 'POST', headers: { 'content-type': 'application/json', ...signedHeaders({ deviceCode: signing.device.code, keyHex: signing.httpKey, body }) }, body });
  const alarm = (await res.json()) as { alarmId?: string };
  if (res.status !== 201 || !alarm.alarmId) throw new Error(`fuzz set-up: the signed alarm answered ${res.status} ${JSON.stringify(alarm)}`);
  return { alarmIds: [alarm.alarmId], alarmDeviceIds: [changed.device.id], alarmDevice: { code: signing.device.code, keyHex: signing.httpKey } };
}

/**
 * The SIA DC-09 panels the DC-09 entry points address (issue 23): one with AES-128 required (its key
 * encrypts the well-formed frames and the checking NULL), one sending clear frames (encryption
 * none), both linked to the far citizen camera. Not in alarmDeviceIds: the admin routes never
 * change them.
 */
async function seedDc09(base: string, adminToken: string): Promise<Dc09FuzzAccounts> {
  const panel = async (code: string, dc09: { account: string; encryption: 'aes128' | 'none' }) => {
    const res = await fetch(`${base}/api/alarm-devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code, name: `Fuzzed ${code}`, kind: 'alarm_panel', owner: { name: 'Fuzz owner' }, location: INCIDENT_LOCATION, area: 'citizen', municipality: 'Fuzz', cameras: [FAR_CITIZEN_CAMERA], dc09 }),
    });
    const answer = (await res.json()) as { dc09Key?: string };
    if (res.status !== 201) throw new Error(`fuzz set-up: POST /api/alarm-devices (${code}) answered ${res.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  const encrypted = await panel('FUZZ-PANEL-1', { account: 'FA0001', encryption: 'aes128' });
  await panel('FUZZ-PANEL-2', { account: 'FB0002', encryption: 'none' });
  if (!encrypted.dc09Key) throw new Error('fuzz set-up: the encrypted panel got no dc09Key');
  return { encrypted: { account: 'FA0001', keyHex: encrypted.dc09Key }, clear: { account: 'FB0002' } };
}

/** Answers over TCP are cut at each CR, from the last LF before it (as the test panel reads them). */
function cutAnswers(buffer: string, out: string[]): string {
  let end: number;
  while ((end = buffer.indexOf('\r')) >= 0) {
    const piece = buffer.slice(0, end + 1);
    buffer = buffer.slice(end + 1);
    const start = piece.lastIndexOf('\n');
    out.push(start > 0 ? piece.slice(start) : piece);
  }
  return buffer;
}

/** One TCP connection: the writes, then the NULL; waits for the NULL's ACK (answers come in order), then ends the connection. */
async function dc09OverTcp(port: number, writes: Buffer[], nullFrame: Buffer, isNullAck: (raw: string) => boolean): Promise<string[]> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  const answers: string[] = [];
  let buffer = '';
  let closed = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`over TCP the NULL got no ACK within 3 s (answers: ${brief(answers)}${closed ? ', the receiver closed the connection' : ''})`)), 3000);
      socket.on('data', (chunk: Buffer) => {
        buffer = cutAnswers(buffer + chunk.toString('latin1'), answers);
        if (answers.some(isNullAck)) {
          clearTimeout(timer);
          resolve();
        }
      });
      socket.on('close', () => (closed = true));
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`the DC-09 TCP connection failed: ${error.message}`));
      });
      socket.once('connect', () => {
        for (const write of writes) socket.write(write);
        socket.write(nullFrame);
      });
    });
  } finally {
    await new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 500).unref();
    });
  }
  return answers;
}

/**
 * A fresh UDP socket: one datagram a piece, then the NULL; waits until the receiver reported an
 * outcome for every datagram it takes (those over MAX_FRAME_BYTES are dropped unread) and every
 * answer it reported sending arrived.
 */
async function dc09OverUdp(port: number, pieces: Buffer[], nullFrame: Buffer, outcomes: Dc09Outcome[]): Promise<string[]> {
  const socket = dgram.createSocket('udp4');
  const answers: string[] = [];
  socket.on('message', (message) => answers.push(message.toString('latin1')));
  const send = (bytes: Buffer) => new Promise<void>((resolve, reject) => socket.send(bytes, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  try {
    let expected = 0;
    for (const piece of pieces) {
      await send(piece);
      if (piece.length <= MAX_FRAME_BYTES) expected++;
    }
    await send(nullFrame);
    expected++;
    const deadline = Date.now() + 3000;
    const answered = () => outcomes.filter((o) => o.answer !== 'none').length;
    while (outcomes.length < expected || answers.length < answered()) {
      if (Date.now() > deadline) throw new Error(`over UDP: ${outcomes.length} of ${expected} datagrams handled, ${answers.length} of ${answered()} answers arrived within 3 s`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (outcomes.length > expected) throw new Error(`over UDP: ${outcomes.length} outcomes for ${expected} datagrams`);
    return answers;
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

const RTSP_ERROR_CODES = new Set(['unreachable', 'timeout', 'unauthorized', 'locked_out', 'busy', 'not_found', 'redirect_loop', 'tls_mismatch', 'protocol_error', 'unsupported', 'closed', 'address_refused']);

/** A fresh access token for a new user of each role. */
async function signInAll(t: TestApp): Promise<Record<Role, string>> {
  return Object.fromEntries(await Promise.all(roles.map(async (role) => [role, await t.token(role)]))) as Record<Role, string>;
}

/** Every `error.code` enum value of every response in the OpenAPI document. */
export function collectErrorCodes(document: unknown): Set<string> {
  const codes = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    const error = (record.properties as Record<string, { properties?: { code?: { enum?: unknown[] } } }> | undefined)?.error;
    for (const code of error?.properties?.code?.enum ?? []) if (typeof code === 'string') codes.add(code);
    Object.values(record).forEach(visit);
  };
  visit(document);
  return codes;
}

/** One HTTP request with the path as given (no normalisation), answered status and body text. */
function rawRequest(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  const url = new URL(base);
  const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, agent, headers: { ...headers, ...(payload && { 'content-length': String(payload.length) }) }, timeout: 20_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${brief(path)}: no answer within 20 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** Emits with an acknowledgement; fails at once if the socket drops instead of answering. */
function emitWithAck(socket: ClientSocket, event: string, payload: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onDisconnect = (reason: string) => reject(new Error(`the server dropped the socket on ${event} (${reason})`));
    socket.once('disconnect', onDisconnect);
    const emit = socket.timeout(15_000).emit as unknown as (event: string, payload: unknown, ack: (err: Error | null, answer: unknown) => void) => void;
    emit.call(socket.timeout(15_000), event, payload, (err, answer) => {
      socket.off('disconnect', onDisconnect);
      if (err) reject(new Error(`${event}: no acknowledgement within 15 s`));
      else resolve(answer);
    });
  });
}

/**
 * The SDP the transcoder would hand ffmpeg for a hostile camera's track: either refused with the
 * documented errors, or exactly the fixed lines (nothing the camera wrote adds a line or attribute).
 */
function transcoderInputOf(track: RtspTrack): void {
  let sdp: string;
  try {
    sdp = transcoderSdp({ port: 40000, payloadType: track.payloadType, encoding: track.media.rtpmap?.encoding ?? track.codec.toUpperCase(), clockRate: track.clockRate || 90000, fmtp: track.media.fmtp });
  } catch (error) {
    if (/not a token|payload type/.test((error as Error).message)) return;
    throw new Error(`transcoderSdp threw ${(error as Error).message}`);
  }
  const lines = sdp.split('\r\n');
  if (lines.length > 10) throw new Error(`the transcoder SDP has ${lines.length} lines`);
  const attributes = lines.filter((line) => line.startsWith('a='));
  if (attributes.length > 3 || attributes.some((line) => !/^a=(rtpmap|fmtp):\d+ |^a=recvonly$/.test(line))) throw new Error(`the transcoder SDP has a foreign attribute: ${attributes.join(' | ')}`);
}
