import { SecretVault } from '../auth/SecretVault.ts';
import type { SealedUrl } from './CameraRecord.ts';
import { maskRtspUrl } from './rtspUrl.ts';

/**
 * Encrypts camera URLs (which may carry credentials) with the server's SecretVault, beside a
 * masked form to show. Each sealed value names the key that sealed it, so keys can rotate.
 */
export class UrlVault {
  constructor(private readonly vault: SecretVault) {}

  get keyId(): string {
    return this.vault.keyId;
  }

  seal(url: string): SealedUrl {
    return { masked: maskRtspUrl(url), sealed: this.vault.seal(url) };
  }

  open(sealed: SealedUrl): string {
    return this.vault.open(sealed.sealed, 'a camera URL');
  }
}
