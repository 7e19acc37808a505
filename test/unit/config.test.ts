import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../../server/config/loadConfig.ts';
import { ConfigError } from '../../server/config/ConfigError.ts';

describe('config', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'c5-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function problemsOf(fn: () => unknown): string[] {
    try {
      fn();
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
    expect.fail('expected a ConfigError');
  }

  it('loads defaults with no file and no environment, frozen', () => {
    const config = loadConfig({ configDir: dir, env: {} });
    expect(config.http.port).to.equal(8080);
    expect(config.env).to.equal('development');
    expect(config.media.workers).to.be.at.least(1);
    expect(config.ingest.backoffMaxMs).to.equal(30_000);
    expect(config.cameras).to.deep.equal([]);
    expect(Object.isFrozen(config)).to.equal(true);
    expect(Object.isFrozen(config.media)).to.equal(true);
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).to.throw(TypeError);
  });

  it('applies file, then environment', () => {
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ http: { port: 9000 }, media: { workers: 3 } }));
    writeFileSync(join(dir, 'server.test.json'), JSON.stringify({ media: { workers: 2 } }));
    const config = loadConfig({ configDir: dir, env: { NODE_ENV: 'test', PORT: '9100' } });
    expect(config.http.port).to.equal(9100);
    expect(config.media.workers).to.equal(2);
    expect(config.env).to.equal('test');
  });

  it('rejects a wrong type and names the field', () => {
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ http: { port: '8080' } }));
    const problems = problemsOf(() => loadConfig({ configDir: dir, env: {} }));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^http\.port: .*expected number/i);
  });

  it('rejects an out-of-range value and names the field and the source variable', () => {
    const problems = problemsOf(() => loadConfig({ configDir: dir, env: { MEDIA_WORKERS: '0' } }));
    expect(problems[0]).to.match(/^media\.workers \(from MEDIA_WORKERS\): .*>=1/);
    const tooHigh = problemsOf(() => loadConfig({ configDir: dir, env: { PORT: '70000' } }));
    expect(tooHigh[0]).to.match(/^http\.port \(from PORT\): .*<=65535/);
  });

  it('refuses a longest grant below the default grant length, naming both variables and values', () => {
    // Only GRANT_MAX_MINUTES set below the default 240: the message says what else to set.
    const problems = problemsOf(() => loadConfig({ configDir: dir, env: { GRANT_MAX_MINUTES: '120' } }));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^incidents\.grantDefaultMinutes: /);
    expect(problems[0]).to.include('GRANT_DEFAULT_MINUTES').and.include('240').and.include('GRANT_MAX_MINUTES').and.include('120');
    expect(loadConfig({ configDir: dir, env: { GRANT_MAX_MINUTES: '120', GRANT_DEFAULT_MINUTES: '60' } }).incidents).to.include({ grantDefaultMinutes: 60, grantMaxMinutes: 120 });
  });

  it('takes the HTTP connection limits from the environment, and refuses a timeout below 1 s', () => {
    const config = loadConfig({ configDir: dir, env: { HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '9000', HTTP_MAX_CONNECTIONS: '50', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0' } });
    expect(config.http).to.include({ headersTimeoutMs: 5000, requestTimeoutMs: 9000, maxConnections: 50, maxConnectionsPerAddress: 0 });
    expect(loadConfig({ configDir: dir, env: {} }).http).to.include({ headersTimeoutMs: 20_000, requestTimeoutMs: 30_000, maxConnections: 10_000, maxConnectionsPerAddress: 512 });
    expect(problemsOf(() => loadConfig({ configDir: dir, env: { HTTP_HEADERS_TIMEOUT_MS: '10' } })).join('\n')).to.match(/http\.headersTimeoutMs.*HTTP_HEADERS_TIMEOUT_MS/);
  });

  it('rejects an unknown enum value', () => {
    const problems = problemsOf(() => loadConfig({ configDir: dir, env: { LOG_LEVEL: 'loud' } }));
    expect(problems[0]).to.match(/^logLevel \(from LOG_LEVEL\): .*"info"/);
  });

  it('rejects an unknown key, nested or top-level', () => {
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ media: { wrkers: 2 }, colour: 'blue' }));
    const problems = problemsOf(() => loadConfig({ configDir: dir, env: {} }));
    expect(problems).to.include('media.wrkers: unknown configuration key');
    expect(problems).to.include('colour: unknown configuration key');
  });

  it('rejects an environment value that is not a number', () => {
    const problems = problemsOf(() => loadConfig({ configDir: dir, env: { PORT: 'eighty' } }));
    expect(problems[0]).to.equal('http.port: environment variable PORT="eighty" is not a valid int');
  });

  it('rejects a file that is not JSON, naming the file', () => {
    writeFileSync(join(dir, 'server.json'), '{ nope');
    const problems = problemsOf(() => loadConfig({ configDir: dir, env: {} }));
    expect(problems[0]).to.contain('server.json');
  });

  it('validates camera entries', () => {
    const problems = problemsOf(() =>
      loadConfig({ configDir: dir, env: {}, overrides: { cameras: [{ id: 'a b', name: 'x', url: 'http://x' }] } }),
    );
    expect(problems.some((p) => p.startsWith('cameras.0.id:'))).to.equal(true);
    expect(problems.some((p) => p.startsWith('cameras.0.url:'))).to.equal(true);
  });

  it('takes a camera engine (auto, relay or ffmpeg; absent: left to the catalog as auto) and names the field when it is unknown', () => {
    const cameras = [
      { id: 'cam-1', name: 'x', url: 'rtsp://10.0.0.1/live', engine: 'relay' },
      { id: 'cam-2', name: 'x', url: 'rtsp://10.0.0.2/live', engine: 'ffmpeg' },
      { id: 'cam-3', name: 'x', url: 'rtsp://10.0.0.3/live', engine: 'auto' },
      { id: 'cam-4', name: 'x', url: 'rtsp://10.0.0.4/live' },
    ];
    const config = loadConfig({ configDir: dir, env: {}, overrides: { cameras } });
    expect(config.cameras.map((camera) => camera.engine)).to.deep.equal(['relay', 'ffmpeg', 'auto', undefined]);
    expect(config.cameras[3]).to.not.have.property('engine');
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ cameras: [{ id: 'cam-5', name: 'x', url: 'rtsp://10.0.0.5/live', engine: 'relay' }] }));
    expect(loadConfig({ configDir: dir, env: {} }).cameras[0]!.engine).to.equal('relay');
    const unknown = problemsOf(() => loadConfig({ configDir: dir, env: {}, overrides: { cameras: [{ id: 'cam-1', name: 'x', url: 'rtsp://10.0.0.1/live', engine: 'gstreamer' }] } }));
    expect(unknown).to.have.length(1);
    expect(unknown[0]).to.match(/^cameras\.0\.engine: /);
  });

  it('normalises a camera tlsFingerprint and refuses a malformed one or one on an rtsp:// camera', () => {
    const hex = 'ab'.repeat(32);
    const config = loadConfig({ configDir: dir, env: {}, overrides: { cameras: [{ id: 'cam-1', name: 'x', url: 'rtsps://10.0.0.1:322/live', tlsFingerprint: hex }] } });
    expect(config.cameras[0]!.tlsFingerprint).to.equal(Array(32).fill('AB').join(':'));
    expect(loadConfig({ configDir: dir, env: {}, overrides: { cameras: [{ id: 'cam-1', name: 'x', url: 'rtsps://10.0.0.1/live' }] } }).cameras[0]).to.not.have.property('tlsFingerprint');
    const malformed = problemsOf(() => loadConfig({ configDir: dir, env: {}, overrides: { cameras: [{ id: 'cam-1', name: 'x', url: 'rtsps://10.0.0.1/live', tlsFingerprint: 'ab:cd' }] } }));
    expect(malformed).to.have.length(1);
    expect(malformed[0]).to.match(/^cameras\.0\.tlsFingerprint: .*SHA-256/);
    const plain = problemsOf(() => loadConfig({ configDir: dir, env: {}, overrides: { cameras: [{ id: 'cam-1', name: 'x', url: 'rtsp://10.0.0.1/live', tlsFingerprint: hex }] } }));
    expect(plain).to.have.length(1);
    expect(plain[0]).to.match(/^cameras\.0\.tlsFingerprint: only an rtsps:\/\/ camera/);
  });
});
