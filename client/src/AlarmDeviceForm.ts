/**
 * The admin's form registering an alarm device: code, name, kind, owner (name, phone, email),
 * location (latitude and longitude, or "lat, lng" pasted into the latitude), address, area,
 * municipality, linked cameras, supervision interval, whether it starts in test, and, for alarm
 * panels reporting over SIA DC-09, their account, encryption (AES-128 unless chosen otherwise) and
 * whether their clear frames are refused (yes unless unencrypted). Emits `created` with the device
 * and its key(s) (which the caller shows once).
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { busy, field, humanise, input, select, StatusLine, uniqueId } from './forms.ts';
import {
  ALARM_DEVICE_KINDS,
  DC09_ENCRYPTIONS,
  dc09EncryptionText,
  type AlarmDeviceKind,
  type AlarmsApi,
  type Dc09Encryption,
  type KeyedAlarmDevice,
  type NewAlarmDevice,
} from './AlarmsApi.ts';
import { readCameraCodes } from './incidentInput.ts';

export interface AlarmDeviceFormEvents {
  created: [created: KeyedAlarmDevice];
}

const MIN_INTERVAL_S = 60;
const MAX_INTERVAL_S = 86_400;
const DC09_ACCOUNT = /^[0-9A-Fa-f]{3,16}$/;

type FieldName =
  | 'code'
  | 'name'
  | 'kind'
  | 'ownerName'
  | 'ownerPhone'
  | 'ownerEmail'
  | 'lat'
  | 'lng'
  | 'address'
  | 'area'
  | 'municipality'
  | 'cameras'
  | 'interval'
  | 'status'
  | 'dc09Account'
  | 'dc09Encryption';

export class AlarmDeviceForm extends Emitter<AlarmDeviceFormEvents> {
  readonly el: HTMLFormElement;
  readonly #controls: Record<FieldName, HTMLInputElement | HTMLSelectElement>;
  readonly #submit: HTMLButtonElement;
  readonly #status = new StatusLine();
  /** Checked: the device reports over SIA DC-09 (the section below it is shown). */
  readonly #dc09: HTMLInputElement;
  readonly #dc09Section: HTMLFieldSetElement;
  readonly #dc09Required: HTMLInputElement;

  constructor(private readonly api: AlarmsApi) {
    super();
    const c: Record<FieldName, HTMLInputElement | HTMLSelectElement> = {
      code: input({ maxlength: '64', required: '', 'data-field': 'code', spellcheck: 'false' }),
      name: input({ maxlength: '200', required: '', 'data-field': 'name' }),
      kind: select([['', 'Choose…'], ...ALARM_DEVICE_KINDS.map((k): [string, string] => [k, humanise(k)])], { required: '', 'data-field': 'kind' }),
      ownerName: input({ maxlength: '200', required: '', 'data-field': 'ownerName' }),
      ownerPhone: input({ type: 'tel', maxlength: '40', 'data-field': 'ownerPhone' }),
      ownerEmail: input({ type: 'email', maxlength: '200', 'data-field': 'ownerEmail' }),
      lat: input({ inputmode: 'decimal', required: '', placeholder: '19.4326', 'data-field': 'lat' }),
      lng: input({ inputmode: 'decimal', required: '', placeholder: '-99.1332', 'data-field': 'lng' }),
      address: input({ maxlength: '300', 'data-field': 'address' }),
      area: select([['citizen', 'Citizen'], ['agency', 'Agency']], { 'data-field': 'area' }),
      municipality: input({ maxlength: '100', required: '', 'data-field': 'municipality' }),
      cameras: input({ 'data-field': 'cameras', placeholder: 'CAM-1, CAM-2', spellcheck: 'false' }),
      interval: input({ inputmode: 'numeric', placeholder: 'not supervised', 'data-field': 'supervisionIntervalS' }),
      status: select([['active', 'Active'], ['test', 'Test (no incident)']], { 'data-field': 'status' }),
      dc09Account: input({ maxlength: '16', placeholder: '3-16 hex digits', 'data-field': 'dc09Account', spellcheck: 'false', autocapitalize: 'characters' }),
      dc09Encryption: select(
        DC09_ENCRYPTIONS.map((e): [string, string] => [e, e === 'none' ? 'None' : dc09EncryptionText(e)]),
        { 'data-field': 'dc09Encryption' },
      ),
    };
    this.#controls = c;
    this.#dc09 = element('input', { attrs: { type: 'checkbox', id: uniqueId('alarm-dc09'), 'data-field': 'dc09' } });
    this.#dc09Required = element('input', { attrs: { type: 'checkbox', id: uniqueId('alarm-dc09-required'), 'data-field': 'dc09EncryptionRequired' } });
    const dc09Hint = element('span', {
      className: 'field-hint',
      text: 'The account (#acct) the panel sends, 3-16 hex digits. With encryption (AES-128 unless chosen), the AES key is issued on registering and shown once.',
      attrs: { id: uniqueId('alarm-dc09-hint') },
    });
    c.dc09Account.setAttribute('aria-describedby', dc09Hint.id);
    c.dc09Encryption.setAttribute('aria-describedby', dc09Hint.id);
    this.#dc09Section = element('fieldset', { className: 'choice-group alarm-dc09-section', attrs: { id: uniqueId('alarm-dc09-section'), 'data-section': 'dc09' } }, [
      element('legend', { text: 'SIA DC-09 (alarm panel)' }),
      element('div', { className: 'field-row' }, [field('DC-09 account', c.dc09Account), field('Encryption', c.dc09Encryption)]),
      dc09Hint,
      element('label', { className: 'choice', attrs: { for: this.#dc09Required.id } }, [this.#dc09Required, ' Refuse clear (unencrypted) frames']),
    ]);
    this.#dc09.setAttribute('aria-controls', this.#dc09Section.id);
    this.#dc09.addEventListener('change', () => this.#showDc09());
    c.dc09Encryption.addEventListener('change', () => this.#encryptionChanged());
    this.#resetDc09();
    this.#submit = element('button', { className: 'form-button primary', text: 'Register device', attrs: { type: 'submit', 'data-action': 'create-device' } });
    this.el = element('form', { className: 'inline-form alarm-device-form', attrs: { 'aria-label': 'Register an alarm device', novalidate: '' } }, [
      element('div', { className: 'field-row' }, [field('Code', c.code), field('Kind', c.kind)]),
      field('Name', c.name),
      field('Owner', c.ownerName),
      element('div', { className: 'field-row' }, [field('Owner phone', c.ownerPhone), field('Owner email', c.ownerEmail)]),
      element('div', { className: 'field-row' }, [field('Latitude', c.lat), field('Longitude', c.lng)]),
      field('Address', c.address),
      element('div', { className: 'field-row' }, [field('Area', c.area), field('Municipality', c.municipality)]),
      field('Linked cameras', c.cameras, 'Camera codes, separated by commas.'),
      element('div', { className: 'field-row' }, [field('Heartbeat every (s)', c.interval), field('Status', c.status)]),
      element('label', { className: 'choice', attrs: { for: this.#dc09.id } }, [this.#dc09, ' Reports over SIA DC-09']),
      this.#dc09Section,
      element('div', { className: 'form-actions' }, [this.#submit]),
      this.#status.el,
    ]);
    this.el.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#create();
    });
  }

  async #create(): Promise<void> {
    const c = this.#controls;
    for (const control of Object.values(c)) control.removeAttribute('aria-invalid');
    const read = this.#read();
    if ('field' in read) {
      this.#status.error(read.message);
      c[read.field].setAttribute('aria-invalid', 'true');
      c[read.field].focus();
      return;
    }
    const created = await busy(this.#submit, this.#status, () => this.api.createDevice(read));
    if (!created) return;
    for (const name of ['code', 'name', 'ownerName', 'ownerPhone', 'ownerEmail', 'lat', 'lng', 'address', 'cameras', 'interval'] as const) c[name].value = '';
    c.kind.value = '';
    this.#resetDc09();
    this.#status.info(`${created.device.code} registered.`);
    this.emit('created', created);
  }

  /** The DC-09 section's defaults: not a DC-09 panel; AES-128, clear frames refused. */
  #resetDc09(): void {
    this.#dc09.checked = false;
    this.#controls.dc09Account.value = '';
    this.#controls.dc09Encryption.value = 'aes128';
    this.#dc09Required.checked = true;
    this.#encryptionChanged();
    this.#showDc09();
  }

  #showDc09(): void {
    this.#dc09Section.hidden = !this.#dc09.checked;
  }

  /** A panel without encryption cannot refuse clear frames; an encrypted one refuses them unless unticked. */
  #encryptionChanged(): void {
    const none = this.#controls.dc09Encryption.value === 'none';
    if (none) this.#dc09Required.checked = false;
    else if (this.#dc09Required.disabled) this.#dc09Required.checked = true;
    this.#dc09Required.disabled = none;
  }

  #read(): NewAlarmDevice | { field: FieldName; message: string } {
    const c = this.#controls;
    const text = (name: FieldName): string => c[name].value.trim();
    if (!text('code')) return { field: 'code', message: 'enter the device code' };
    if (!(ALARM_DEVICE_KINDS as readonly string[]).includes(c.kind.value)) return { field: 'kind', message: 'choose the kind of device' };
    if (!text('name')) return { field: 'name', message: 'enter a name' };
    if (!text('ownerName')) return { field: 'ownerName', message: "enter the owner's name" };
    let latText = text('lat');
    let lngText = text('lng');
    const pair = /^(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)$/.exec(latText);
    if (pair && !lngText) [, latText = '', lngText = ''] = pair;
    const lat = parseNumber(latText);
    if (lat === undefined || lat < -90 || lat > 90) return { field: 'lat', message: 'the latitude is a number from -90 to 90' };
    const lng = parseNumber(lngText);
    if (lng === undefined || lng < -180 || lng > 180) return { field: 'lng', message: 'the longitude is a number from -180 to 180' };
    if (!text('municipality')) return { field: 'municipality', message: 'enter the municipality' };
    let supervisionIntervalS: number | undefined;
    if (text('interval')) {
      supervisionIntervalS = parseNumber(text('interval'));
      if (supervisionIntervalS === undefined || !Number.isInteger(supervisionIntervalS) || supervisionIntervalS < MIN_INTERVAL_S || supervisionIntervalS > MAX_INTERVAL_S) {
        return { field: 'interval', message: `the heartbeat interval is a whole number of seconds from ${MIN_INTERVAL_S} to ${MAX_INTERVAL_S}` };
      }
    }
    let dc09: NewAlarmDevice['dc09'];
    if (this.#dc09.checked) {
      if (!DC09_ACCOUNT.test(text('dc09Account'))) return { field: 'dc09Account', message: 'the DC-09 account is 3 to 16 hex digits (0-9, A-F)' };
      const encryption = c.dc09Encryption.value as Dc09Encryption;
      if (!(DC09_ENCRYPTIONS as readonly string[]).includes(encryption)) return { field: 'dc09Encryption', message: 'choose the encryption of the DC-09 frames' };
      dc09 = { account: text('dc09Account').toUpperCase(), encryption, encryptionRequired: encryption !== 'none' && this.#dc09Required.checked };
    }
    const phone = text('ownerPhone');
    const email = text('ownerEmail');
    const address = text('address');
    const cameras = readCameraCodes(c.cameras.value);
    return {
      code: text('code'),
      name: text('name'),
      kind: c.kind.value as AlarmDeviceKind,
      owner: { name: text('ownerName'), ...(phone && { phone }), ...(email && { email }) },
      location: { lat, lng },
      ...(address && { address }),
      area: c.area.value === 'agency' ? 'agency' : 'citizen',
      municipality: text('municipality'),
      ...(cameras.length > 0 && { cameras }),
      ...(supervisionIntervalS !== undefined && { supervisionIntervalS }),
      status: c.status.value === 'test' ? 'test' : 'active',
      ...(dc09 && { dc09 }),
    };
  }
}

function parseNumber(text: string): number | undefined {
  if (!/^-?\d+(?:\.\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}
