import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SealedUrl } from './CameraRecord.ts';
import { maskRtspUrl } from './rtspUrl.ts';

/**
 * Encrypts camera URLs (which may carry credentials) with AES-256-GCM. Each sealed value names the
 * key that sealed it, so keys can rotate: the current key seals, every known key opens.
 */
export class UrlVault {
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

  seal(url: string): SealedUrl {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#currentId)!, iv);
    cipher.setAAD(Buffer.from(this.#currentId));
    const ciphertext = Buffer.concat([cipher.update(url, 'utf8'), cipher.final()]);
    const parts = [this.#currentId, iv, cipher.getAuthTag(), ciphertext].map((p) => (typeof p === 'string' ? p : p.toString('base64url')));
    return { masked: maskRtspUrl(url), sealed: parts.join(':') };
  }

  open(sealed: SealedUrl): string {
    const [keyId, iv, tag, ciphertext] = sealed.sealed.split(':');
    const key = keyId ? this.#keys.get(keyId) : undefined;
    if (!key || !iv || !tag || ciphertext === undefined) throw new Error(`cannot open a camera URL sealed with key ${keyId ?? '?'}`);
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
