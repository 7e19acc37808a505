/** A session description that cannot be used (no v= line, no m= line, or over 64 KiB). */
export class SdpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SdpError';
  }
}
