import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Seals secrets the server must use again (camera URLs with credentials, alarm devices' HMAC keys)
 * with AES-256-GCM. A sealed value is `keyId:iv:tag:ciphertext` (base64url parts, the key id also
 * authenticated as additional data), so keys rotate: the current key seals, every known key opens.
 */
export class SecretVault {
  readonly #keys = new Map<string, Buffer>();
  readonly #currentId: string;

  /** Secrets of any length; each becomes a 256-bit key (SHA-256) named by a hash of itself. */
  constructor(current: string, previous: string[] = []) {
    this.#currentId = this.#add(current);
    for (const secret of previous) this.#add(secret);
  }

  get keyId(): string {
    return this.#currentId;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#currentId)!, iv);
    cipher.setAAD(Buffer.from(this.#currentId));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [this.#currentId, ...[iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url'))].join(':');
  }

  /** Throws when the value was sealed by an unknown key or was altered (`what` names it in the message). */
  open(sealed: string, what = 'a secret'): string {
    const [keyId, iv, tag, ciphertext] = sealed.split(':');
    const key = keyId ? this.#keys.get(keyId) : undefined;
    if (!key || !iv || !tag || ciphertext === undefined) throw new Error(`cannot open ${what} sealed with key ${keyId ?? '?'}`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(keyId!));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }

  #add(secret: string): string {
    const key = createHash('sha256').update(secret).digest();
    const id = createHash('sha256').update(key).digest('hex').slice(0, 8);
    this.#keys.set(id, key);
    return id;
  }
}
