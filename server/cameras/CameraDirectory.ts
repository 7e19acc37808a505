/** A camera as the live pipeline needs it. Credentials stay on the server. */
export interface CameraRecord {
  id: string;
  name: string;
  url: string;
  username?: string;
  password?: string;
  transport: 'tcp' | 'udp';
  alwaysOn: boolean;
  area: 'agency' | 'citizen';
}

/** Where camera sessions look cameras up: config now, the catalog later. */
export interface CameraDirectory {
  get(id: string): Promise<CameraRecord | undefined>;
  list(): Promise<CameraRecord[]>;
}
