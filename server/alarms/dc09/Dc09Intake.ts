import { createHash } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../../logging/createLogger.ts';
import type { AuditLog } from '../../audit/AuditLog.ts';
import type { AlarmDeviceService } from '../AlarmDeviceService.ts';
import type { AlarmService } from '../AlarmService.ts';
import type { RefusalLog } from '../RefusalLog.ts';
import { parseContactId } from './ContactId.ts';
import { encodeAnswer, openPayload, readEnvelope, type Dc09Content, type Dc09Envelope } from './Dc09Frame.ts';
import { parseSiaEvents } from './SiaEvents.ts';

export interface Dc09IntakeSettings {
  ratePerAddressPerMinute: number;
  retransmissionWindowS: number;
  /** Contact ID codes (3 digits) that raise an alarm when new (qualifier 1). */
  alarmContactIdCodes: readonly string[];
  /** SIA event codes (two letters) that raise an alarm. */
  alarmSiaCodes: readonly string[];
}

/** Where a frame came from. */
export interface Dc09Source {
  address: string;
  transport: 'tcp' | 'udp';
}

/** A frame's timestamp may be at most this far ahead of the receiver's clock (ms), SIA DC-09. */
const AHEAD_MS = 20_000;
/** ...and at most this far behind it (ms). */
const BEHIND_MS = 40_000;
/** Retransmissions remembered at most (the oldest are forgotten first). */
const MAX_REMEMBERED = 100_000;

/** What happened to one frame: the answer sent (none: dropped) and why, for logs, metrics and tests. */
export interface Dc09Outcome {
  answer: 'ACK' | 'NAK' | 'DUH' | 'none';
  /** accepted, retransmission, or the reason of a refusal. */
  reason: string;
  alarmId?: string;
}

/**
 * What the receiver does with one whole frame (SIA DC-09, as described by public implementations):
 * checks its CRC and length (bad: no answer, the panel retries), finds the device by account (unknown:
 * DUH), opens the payload with the device's key (cannot: DUH), refuses clear frames from a device that
 * requires encryption (DUH), checks the timestamp against +20/-40 s of the receiver's clock (outside:
 * NAK with the receiver's time), recognises a retransmission of the account's recent sequence and
 * content (ACK again, nothing new), and otherwise hands the events on: Contact ID panic codes
 * (qualifier 1) and SIA panic codes become alarms through AlarmService, other events go to the device's
 * timeline (audit `alarm_device.event`), NULL (link test) counts as a heartbeat. Answers ACK, encrypted
 * like the frame. Refusals are audited through RefusalLog (aggregated per source). Never throws.
 */
export class Dc09Intake {
  readonly #perAddress: RateLimiterMemory;
  /** key -> when it stops counting as a retransmission (epoch ms), oldest first. */
  readonly #recent = new Map<string, number>();
  /** key -> settles when the frame with that key has been handled (frames in progress only). */
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #cidCodes: Set<string>;
  readonly #siaCodes: Set<string>;

  constructor(
    private readonly devices: AlarmDeviceService,
    private readonly alarms: AlarmService,
    private readonly audit: AuditLog,
    private readonly refusals: RefusalLog,
    private readonly settings: Dc09IntakeSettings,
    private readonly logger: Logger,
  ) {
    this.#perAddress = new RateLimiterMemory({ keyPrefix: 'dc09-address', points: settings.ratePerAddressPerMinute, duration: 60 });
    this.#cidCodes = new Set(settings.alarmContactIdCodes);
    this.#siaCodes = new Set(settings.alarmSiaCodes);
  }

  /** Handles one frame (LF .. CR) and returns the answer to send back, if any. */
  async handle(frame: Buffer, source: Dc09Source, now = new Date()): Promise<{ answer?: Buffer; outcome: Dc09Outcome }> {
    try {
      return await this.#handle(frame, source, now);
    } catch (error) {
      // Whatever failed (the store, shutting down): no answer, so the panel sends the frame again.
      this.logger.error({ err: error, source: source.address }, 'could not handle a DC-09 frame');
      return { outcome: { answer: 'none', reason: 'internal' } };
    }
  }

  async #handle(frame: Buffer, source: Dc09Source, now: Date): Promise<{ answer?: Buffer; outcome: Dc09Outcome }> {
    if (!(await this.#allowed(source.address))) return this.#drop(source, 'rate_limited', undefined);
    const read = readEnvelope(frame);
    if (!read.ok) return this.#drop(source, `frame_${read.error}`, undefined);
    const envelope = read.envelope;
    if (!['ADM-CID', 'SIA-DCS', 'NULL'].includes(envelope.token)) return this.#duh(envelope, source, 'unsupported_token', now);
    const found = await this.devices.dc09Credentials(envelope.account);
    if (!found) return this.#duh(envelope, source, 'unknown_account', now);
    const { device, keyHex } = found;
    if (device.status === 'suspended' || device.status === 'retired') return this.#duh(envelope, source, `device_${device.status}`, now, device.code);
    if (!envelope.encrypted && device.dc09.encryptionRequired) return this.#duh(envelope, source, 'clear_frame_refused', now, device.code);
    if (envelope.encrypted && !keyHex) return this.#duh(envelope, source, 'no_key', now, device.code);
    const opened = openPayload(envelope, envelope.encrypted ? keyHex : undefined);
    if (!opened.ok) return this.#duh(envelope, source, opened.error === 'decrypt' ? 'decrypt' : 'syntax', now, device.code);
    const content = opened.content;
    if (envelope.encrypted && !content.timestamp) return this.#duh(envelope, source, 'no_timestamp', now, device.code);
    if (content.timestamp) {
      const skew = content.timestamp.getTime() - now.getTime();
      if (skew > AHEAD_MS || skew < -BEHIND_MS) {
        this.refusals.refused(source.address, 'dc09_stale_timestamp', device.code);
        // Never encrypted: the panel must be able to read the receiver's time to correct its clock.
        return { answer: encodeAnswer('NAK', envelope, { now }), outcome: { answer: 'NAK', reason: 'stale_timestamp' } };
      }
    }
    const ack = () => encodeAnswer('ACK', envelope, { now, ...(envelope.encrypted && keyHex && { keyHex }) });
    const key = this.#retransmissionKey(envelope, content);
    // The same frame still being handled (a panel retransmitting before our ACK, over UDP or on a
    // new connection): wait for it, so the copy is recognised as a retransmission, not a second press.
    for (let pending = this.#inFlight.get(key); pending; pending = this.#inFlight.get(key)) await pending;
    if (this.#isRetransmission(key, now.getTime())) {
      return { answer: ack(), outcome: { answer: 'ACK', reason: 'retransmission' } };
    }
    let done!: () => void;
    this.#inFlight.set(key, new Promise<void>((resolve) => (done = resolve)));
    try {
      const handled = await this.#events(device, envelope, content, source);
      if (handled === 'unsupported') return this.#duh(envelope, source, 'unsupported_data', now, device.code);
      this.#remember(key, now.getTime());
      return { answer: ack(), outcome: { answer: 'ACK', reason: 'accepted', ...(handled.alarmId && { alarmId: handled.alarmId }) } };
    } finally {
      this.#inFlight.delete(key);
      done();
    }
  }

  /** Passes the frame's events on; 'unsupported' when its data cannot be read. */
  async #events(
    device: NonNullable<Awaited<ReturnType<AlarmDeviceService['dc09Credentials']>>>['device'],
    envelope: Dc09Envelope,
    content: Dc09Content,
    source: Dc09Source,
  ): Promise<{ alarmId?: string } | 'unsupported'> {
    if (envelope.token === 'NULL') {
      await this.devices.seen(device, new Date());
      return {};
    }
    const events: Array<{ alarm: boolean; details: Record<string, unknown>; note: string }> = [];
    if (envelope.token === 'ADM-CID') {
      const cid = parseContactId(content.data);
      if (!cid || (cid.account !== undefined && cid.account !== envelope.account)) return 'unsupported';
      const alarm = cid.qualifier === '1' && this.#cidCodes.has(cid.code);
      events.push({ alarm, details: { format: 'contact_id', qualifier: cid.qualifier, code: cid.code, partition: cid.partition, zone: cid.zone }, note: `Contact ID ${cid.qualifier}${cid.code} partition ${cid.partition} zone ${cid.zone}` });
    } else {
      const sia = parseSiaEvents(content.data);
      if (!sia || (sia.account !== undefined && sia.account !== envelope.account)) return 'unsupported';
      for (const event of sia.events) {
        const alarm = !sia.old && this.#siaCodes.has(event.code);
        events.push({ alarm, details: { format: 'sia', code: event.code, ...(event.number && { number: event.number }), ...(sia.old && { old: true }) }, note: `SIA ${event.code}${event.number ?? ''}` });
      }
      if (events.length === 0) events.push({ alarm: false, details: { format: 'sia', text: sia.text ?? '' }, note: 'SIA text' });
    }
    let alarmId: string | undefined;
    for (const event of events) {
      if (event.alarm) {
        const result = await this.alarms.press(device, { body: { type: 'alarm', note: `${event.note} (DC-09 ${envelope.token})` }, source: 'dc09', ip: source.address });
        if (result.outcome === 'opened' || result.outcome === 'joined') alarmId = result.alarm.id;
      } else {
        // Restores, previously reported events and other codes: the device's timeline, not an alarm.
        await this.devices.seen(device, new Date());
        await this.audit.record({ action: 'alarm_device.event', deviceId: device.id, ip: source.address, details: { device: device.code, token: envelope.token, sequence: envelope.sequence, transport: source.transport, ...event.details } });
      }
    }
    return alarmId ? { alarmId } : {};
  }

  async #allowed(address: string): Promise<boolean> {
    try {
      await this.#perAddress.consume(address);
      return true;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return false;
      throw rejection;
    }
  }

  #drop(source: Dc09Source, reason: string, device: string | undefined): { outcome: Dc09Outcome } {
    this.refusals.refused(source.address, `dc09_${reason}`, device);
    return { outcome: { answer: 'none', reason } };
  }

  #duh(envelope: Dc09Envelope, source: Dc09Source, reason: string, now: Date, device?: string): { answer: Buffer; outcome: Dc09Outcome } {
    this.refusals.refused(source.address, `dc09_${reason}`, device ?? `#${envelope.account}`);
    return { answer: encodeAnswer('DUH', envelope, { now }), outcome: { answer: 'DUH', reason } };
  }

  /** Account, sequence and content (not the timestamp or padding: a resend after a NAK or re-encryption changes those). */
  #retransmissionKey(envelope: Dc09Envelope, content: Dc09Content): string {
    const digest = createHash('sha256').update(`${envelope.token}\n${content.data}\n${content.extended.join('\n')}`).digest('base64url');
    return `${envelope.account}|${envelope.sequence}|${digest}`;
  }

  #isRetransmission(key: string, now: number): boolean {
    const until = this.#recent.get(key);
    return until !== undefined && until > now;
  }

  #remember(key: string, now: number): void {
    this.#recent.delete(key);
    this.#recent.set(key, now + this.settings.retransmissionWindowS * 1000);
    // Oldest first: drop the expired ones, and the oldest beyond the bound.
    for (const [old, until] of this.#recent) {
      if (until > now && this.#recent.size <= MAX_REMEMBERED) break;
      this.#recent.delete(old);
    }
  }
}
