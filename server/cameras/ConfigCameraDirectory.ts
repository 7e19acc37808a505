import type { ConfigCamera } from '../config/schema.ts';
import type { CameraDirectory, CameraRecord } from './CameraDirectory.ts';

/** Cameras listed in the configuration (and the demo simulator's), until the catalog holds them. */
export class ConfigCameraDirectory implements CameraDirectory {
  readonly #cameras: Map<string, CameraRecord>;

  constructor(cameras: ReadonlyArray<ConfigCamera>) {
    this.#cameras = new Map(cameras.map((camera) => [camera.id, toRecord(camera)]));
  }

  async get(id: string): Promise<CameraRecord | undefined> {
    return this.#cameras.get(id);
  }

  async list(): Promise<CameraRecord[]> {
    return [...this.#cameras.values()];
  }
}

function toRecord(camera: ConfigCamera): CameraRecord {
  return {
    id: camera.id,
    name: camera.name,
    url: camera.url,
    transport: camera.transport,
    alwaysOn: camera.alwaysOn,
    area: camera.area,
    ...(camera.username !== undefined && { username: camera.username }),
    ...(camera.password !== undefined && { password: camera.password }),
  };
}
