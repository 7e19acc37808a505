/**
 * The browser's copy of the server's rules (server/enrolment/enrolmentSchemas.ts): the same
 * lengths, characters and ranges, so the owner hears about a mistake by the field before sending.
 * The server still decides; its field errors are shown by the same fields (FieldErrors).
 */
import type { CameraCategory, SharingMode } from '../../../server/catalog/CameraRecord.ts';
import { cameraCategories, sharingModes } from './vocabulary.ts';
import type { EnrolmentSubmit, OwnerChange } from '../../../server/enrolment/enrolmentSchemas.ts';
import type { TextKey, Language } from './texts.ts';
import type { TextParams } from './Translator.ts';

/** A field's problem: its path in the request body and the text explaining it. */
export interface Issue {
  path: string;
  key: TextKey;
  params?: TextParams;
}

/** A number input's state: its text, and whether the browser could not read it as a number. */
export interface NumberInput {
  value: string;
  badInput: boolean;
}

export interface EnrolmentValues {
  language: Language;
  ownerKind: string;
  ownerName: string;
  email: string;
  phone: string;
  address: string;
  lat: NumberInput;
  lng: NumberInput;
  cameraName: string;
  url: string;
  username: string;
  password: string;
  category: string;
  sharing: string | undefined;
  agreementVersion: string | undefined;
  agreementAccepted: boolean;
  submitUnreachable: boolean;
}

const PLAIN = /^[^\u0000-\u001f\u007f`$;|&<>\\{}]*$/u;
// zod 4's e-mail pattern.
const EMAIL = /^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$/;
const PHONE = /^\+?[0-9 ()-]{7,20}$/;
const URL_SCHEME = /^rtsps?:\/\//i;
const URL_CHARS = /^[^\s`$;|&<>\\{}'"]*$/u;
const USERNAME = /^[^\u0000-\u001f\u007f:]*$/u;
const PASSWORD = /^[^\u0000-\u001f\u007f]*$/u;

export function validateEnrolment(values: EnrolmentValues): { issues: Issue[]; body?: EnrolmentSubmit } {
  const issues: Issue[] = [];
  const ownerName = plainText(values.ownerName, 120, 'owner.name', issues);
  const ownerKind = values.ownerKind === 'person' || values.ownerKind === 'organisation' ? values.ownerKind : undefined;
  if (!ownerKind) issues.push({ path: 'owner.kind', key: 'err.choose' });

  const email = values.email.trim();
  const phone = values.phone.trim();
  if (email && (email.length > 254 || !EMAIL.test(email))) issues.push({ path: 'contact.email', key: 'err.email' });
  if (phone && !PHONE.test(phone)) issues.push({ path: 'contact.phone', key: 'err.phone' });
  if (!email && !phone) issues.push({ path: 'contact', key: 'err.contact' });

  const address = plainText(values.address, 300, 'address', issues);
  const lat = coordinate(values.lat, 90, 'location.lat', 'err.lat', issues);
  const lng = coordinate(values.lng, 180, 'location.lng', 'err.lng', issues);

  const cameraName = plainText(values.cameraName, 80, 'camera.name', issues);
  const url = cameraUrl(values.url, 'camera.url', issues, true);
  const credentials = cameraCredentials(values.username, values.password, 'camera.credentials', issues);
  const category = cameraCategories.find((candidate) => candidate === values.category);
  if (!category) issues.push({ path: 'camera.category', key: 'err.choose' });
  const sharing = sharingMode(values.sharing);
  if (!sharing) issues.push({ path: 'sharing', key: 'err.choose' });

  if (!values.agreementVersion) issues.push({ path: 'agreement', key: 'err.agreementMissing' });
  else if (!values.agreementAccepted) issues.push({ path: 'agreement.accepted', key: 'err.agreement' });

  if (issues.length > 0 || !ownerKind || ownerName === undefined || address === undefined || lat === undefined || lng === undefined) return { issues };
  if (cameraName === undefined || url === undefined || credentials === 'invalid' || !category || !sharing || !values.agreementVersion) return { issues };
  return {
    issues,
    body: {
      language: values.language,
      owner: { kind: ownerKind, name: ownerName },
      contact: { ...(email && { email }), ...(phone && { phone }) },
      address,
      location: { lat, lng },
      camera: { name: cameraName, url, ...(credentials && { credentials }), category: category satisfies CameraCategory },
      sharing,
      agreement: { version: values.agreementVersion, accepted: true },
      submitUnreachable: values.submitUnreachable,
    },
  };
}

export interface CameraChangeValues {
  url: string;
  username: string;
  password: string;
  removeCredentials: boolean;
}

/** The owner's new URL and/or credentials (status page); an empty form is an issue on `url`. */
export function validateCameraChange(values: CameraChangeValues): { issues: Issue[]; change?: OwnerChange } {
  const issues: Issue[] = [];
  const change: OwnerChange = {};
  if (values.url.trim()) {
    const url = cameraUrl(values.url, 'url', issues, false);
    if (url !== undefined) change.url = url;
  }
  if (values.removeCredentials) change.credentials = null;
  else {
    const credentials = cameraCredentials(values.username, values.password, 'credentials', issues);
    if (credentials && credentials !== 'invalid') change.credentials = credentials;
  }
  if (issues.length === 0 && Object.keys(change).length === 0) issues.push({ path: 'url', key: 'err.nothingToChange' });
  return issues.length > 0 ? { issues } : { issues, change };
}

export function sharingMode(value: string | undefined): SharingMode | undefined {
  return sharingModes.find((mode) => mode === value);
}

/** zod's `plain(max)`: trimmed, 1..max characters, no control or shell characters. */
function plainText(value: string, max: number, path: string, issues: Issue[]): string | undefined {
  const trimmed = value.trim();
  if (!trimmed) issues.push({ path, key: 'err.required' });
  else if (trimmed.length > max) issues.push({ path, key: 'err.tooLong', params: { max } });
  else if (!PLAIN.test(trimmed)) issues.push({ path, key: 'err.plain' });
  else return trimmed;
  return undefined;
}

function coordinate(input: NumberInput, limit: number, path: string, rangeKey: TextKey, issues: Issue[]): number | undefined {
  const text = input.value.trim().replace(',', '.');
  if (input.badInput) issues.push({ path, key: 'err.number' });
  else if (!text) issues.push({ path, key: 'err.required' });
  else {
    const value = Number(text);
    if (!Number.isFinite(value)) issues.push({ path, key: 'err.number' });
    else if (value < -limit || value > limit) issues.push({ path, key: rangeKey });
    else return value;
  }
  return undefined;
}

function cameraUrl(value: string, path: string, issues: Issue[], required: boolean): string | undefined {
  const url = value.trim();
  if (!url) {
    if (required) issues.push({ path, key: 'err.required' });
  } else if (!URL_SCHEME.test(url)) issues.push({ path, key: 'err.urlScheme' });
  else if (!URL_CHARS.test(url)) issues.push({ path, key: 'err.urlChars' });
  else if (url.length < 10 || !/^rtsps?:\/\/[^/?#]+/i.test(url)) issues.push({ path, key: 'err.urlShort' });
  else if (url.length > 512) issues.push({ path, key: 'err.tooLong', params: { max: 512 } });
  else return url;
  return undefined;
}

/** Both empty: none (undefined). A password alone needs its user name. Not trimmed: a password is exact. */
function cameraCredentials(
  username: string,
  password: string,
  path: string,
  issues: Issue[],
): { username: string; password: string } | undefined | 'invalid' {
  if (!username && !password) return undefined;
  const before = issues.length;
  if (!username) issues.push({ path: `${path}.username`, key: 'err.usernameNeeded' });
  else if (username.length > 64) issues.push({ path: `${path}.username`, key: 'err.tooLong', params: { max: 64 } });
  else if (!USERNAME.test(username)) issues.push({ path: `${path}.username`, key: 'err.username' });
  if (password.length > 128) issues.push({ path: `${path}.password`, key: 'err.tooLong', params: { max: 128 } });
  else if (!PASSWORD.test(password)) issues.push({ path: `${path}.password`, key: 'err.password' });
  return issues.length > before ? 'invalid' : { username, password };
}

/** The owner's optional withdrawal note: `plain(300)` when given. */
export function validateReason(value: string): { issues: Issue[]; reason?: string | undefined } {
  if (!value.trim()) return { issues: [], reason: undefined };
  const issues: Issue[] = [];
  const reason = plainText(value, 300, 'reason', issues);
  return issues.length > 0 ? { issues } : { issues, reason };
}
