/**
 * The deployment files under docker/: Docker is not run here (no engine), so this checks what can
 * be checked without it. The compose file, the Prometheus and Grafana files parse; the server
 * accepts the compose environment and the seeded camera config; no secret is written in them; every
 * metric the dashboard queries is one the server exports (docker/metrics.json, which a live test
 * compares with a real /metrics scrape); the Dockerfiles are multi-stage / non-root / Debian 12,
 * build the worker with the project's script, copy files that exist and install Debian packages
 * that exist.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { environmentMap } from '../../server/config/schema.ts';
import { loadConfig } from '../../server/config/loadConfig.ts';
import { workerCacheDir } from '../../server/toolchain.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dockerDir = join(root, 'docker');
const read = (path: string): string => readFileSync(join(dockerDir, path), 'utf8');

// No YAML parser is a dependency of the project; mocha (a pinned devDependency) depends on js-yaml,
// so resolve it from mocha's own location rather than relying on npm's hoisting.
const requireHere = createRequire(import.meta.url);
const yaml = createRequire(requireHere.resolve('mocha'))('js-yaml') as { load(text: string): unknown };
const readYaml = (path: string): Record<string, unknown> => {
  const value = yaml.load(read(path));
  expect(value, path).to.be.an('object');
  return value as Record<string, unknown>;
};

type Obj = Record<string, unknown>;
const obj = (value: unknown, what: string): Obj => {
  expect(value, what).to.be.an('object').and.not.be.an('array');
  return value as Obj;
};

// ---------------------------------------------------------------------------------------------
// Compose interpolation (the subset the compose file uses): ${VAR}, ${VAR:-default}, ${VAR:?error}.
// ---------------------------------------------------------------------------------------------
const INTERPOLATION = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g;

function interpolate(value: string, shell: Record<string, string>): string {
  return value.replace(INTERPOLATION, (_all, name: string, op: string | undefined, arg: string | undefined) => {
    const set = shell[name];
    if (op === ':-' || op === '-') return set !== undefined && (op === '-' || set !== '') ? set : (arg ?? '');
    if (op === ':?' || op === '?') {
      if (set === undefined || (op === ':?' && set === '')) throw new Error(`compose would refuse: ${arg}`);
      return set;
    }
    return set ?? '';
  });
}

/** A value that is exactly one interpolation of a required variable (no default): `${VAR:?msg}` or `${VAR}`. */
function isRequiredInterpolation(value: string): boolean {
  return /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*)?\}$/.test(value);
}

function environmentOf(service: Obj, what: string): Record<string, string> {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry: unknown) => {
        const text = String(entry);
        const eq = text.indexOf('=');
        return eq < 0 ? [text, ''] : [text.slice(0, eq), text.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(obj(env, what)).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

// ---------------------------------------------------------------------------------------------
// PromQL: the metric names an expression selects.
// ---------------------------------------------------------------------------------------------
const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

function promqlMetricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""'); // string literals
  s = s.replace(/\{[^}]*\}/g, ' '); // label matchers
  s = s.replace(/\[[^\]]*\]/g, ' '); // range selectors and subqueries
  s = s.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  s = s.replace(/\$\{?\w+\}?/g, ' '); // Grafana variables
  const names = new Set<string>();
  // A whole identifier (not part of a number or another name) not followed by "(" (a function).
  for (const match of s.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(?![\w:]|\s*\()/g)) {
    const name = match[1]!;
    if (!PROMQL_KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}

/** Histograms expose <name>_bucket, <name>_sum and <name>_count. */
const HISTOGRAMS = new Set(['c5_time_to_first_frame_seconds', 'c5_http_request_duration_seconds']);

function exportedName(series: string): string {
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  return m && HISTOGRAMS.has(m[1]!) ? m[1]! : series;
}

// ---------------------------------------------------------------------------------------------
// Dockerfile: instructions with their stage, continuation lines joined, comments dropped.
// ---------------------------------------------------------------------------------------------
interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

function parseDockerfile(text: string): { instructions: Instruction[]; args: Record<string, string> } {
  const instructions: Instruction[] = [];
  const args: Record<string, string> = {};
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '') continue;
    const m = /^(\S+)\s*(.*)$/s.exec(full)!;
    const keyword = m[1]!.toUpperCase();
    if (keyword === 'FROM') stage++;
    if (keyword === 'ARG' && stage === -1) {
      const [name, value] = m[2]!.split('=', 2);
      args[name!.trim()] = (value ?? '').trim();
    }
    instructions.push({ keyword, args: m[2]!.trim(), stage });
  }
  return { instructions, args };
}

function baseImage(from: string, args: Record<string, string>): string {
  const image = from.split(/\s+/)[0]!;
  return image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, a: string | undefined, b: string | undefined) => args[(a ?? b)!] ?? '');
}

/** Source paths of a COPY without --from (relative to the build context, the repository root). */
function copySources(instruction: Instruction): string[] {
  const parts = instruction.args.split(/\s+/).filter((part) => !part.startsWith('--'));
  return parts.slice(0, -1);
}

/** Debian packages named by `apt-get install` commands in RUN instructions of one stage. */
function aptPackages(instructions: Instruction[], stage: number): string[] {
  const packages: string[] = [];
  for (const i of instructions.filter((x) => x.keyword === 'RUN' && x.stage === stage)) {
    for (const command of i.args.split(/&&|;/)) {
      const m = /apt-get\s+install\s+(.*)$/.exec(command.trim());
      if (m) packages.push(...m[1]!.split(/\s+/).filter((word) => word !== '' && !word.startsWith('-')));
    }
  }
  return packages;
}

/** Which of these packages this machine's apt knows, or undefined when apt cannot tell (not Debian 12). */
function knownToApt(packages: string[]): Set<string> | undefined {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  if (!/^ID=debian$/m.test(osRelease) || !/^VERSION_ID="?12"?$/m.test(osRelease)) return undefined;
  const run = spawnSync('apt-cache', ['show', '--no-all-versions', ...packages], { encoding: 'utf8' });
  if (run.error || !run.stdout) return undefined;
  return new Set([...run.stdout.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]!));
}

const SECRET_NAME = /SECRET|PASSWORD|PASSWD|CREDENTIAL|TOKEN|(^|_)KEY$/i;

describe('deployment files (docker/)', () => {
  const metrics = JSON.parse(read('metrics.json')) as unknown;

  describe('docker/metrics.json', () => {
    it('is an array of distinct Prometheus metric names', () => {
      expect(metrics).to.be.an('array').that.is.not.empty;
      for (const name of metrics as unknown[]) expect(name).to.be.a('string').and.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      expect(new Set(metrics as string[]).size).to.equal((metrics as string[]).length);
    });
  });

  describe('docker-compose.yml', () => {
    const compose = readYaml('docker-compose.yml');
    const services = obj(compose.services, 'services');
    const c5 = obj(services['c5-live'], 'services.c5-live');
    const c5Env = environmentOf(c5, 'c5-live environment');

    it('has the five services', () => {
      expect(services).to.include.all.keys('mongo', 'c5-live', 'camsim', 'prometheus', 'grafana');
      expect(obj(services.mongo, 'mongo').image).to.match(/^mongo:7(\.|$)/);
      expect(obj(c5.build, 'c5-live build')).to.deep.include({ context: '..', dockerfile: 'docker/Dockerfile' });
      expect(obj(obj(services.camsim, 'camsim').build, 'camsim build')).to.deep.include({ context: '..', dockerfile: 'docker/Dockerfile.camsim' });
      expect(String(obj(services.prometheus, 'prometheus').image)).to.match(/^prom\/prometheus(:|$)/);
      expect(String(obj(services.grafana, 'grafana').image)).to.match(/^grafana\/grafana(:|$)/);
    });

    it('gives c5-live only environment variables the server reads', () => {
      const known = new Set([...environmentMap.map((entry) => entry.name), 'NODE_ENV']);
      const unknown = Object.keys(c5Env).filter((name) => !known.has(name));
      expect(unknown, 'not in server/config/schema.ts environmentMap').to.deep.equal([]);
      expect(c5Env).to.include({ NODE_ENV: 'production', MONGODB_URI: 'mongodb://mongo:27017/c5', MEDIA_LISTEN_IP: '0.0.0.0' });
      expect(c5Env.MEDIA_ANNOUNCED_IP).to.equal('${C5_ANNOUNCED_IP:-127.0.0.1}');
      expect(obj(obj(c5.depends_on, 'c5-live depends_on').mongo, 'depends_on.mongo')).to.deep.equal({ condition: 'service_healthy' });
    });

    it('writes no secret literally: secrets are required interpolations, URIs carry no credentials', () => {
      for (const [serviceName, service] of Object.entries(services)) {
        for (const [name, value] of Object.entries(environmentOf(obj(service, serviceName), serviceName))) {
          if (SECRET_NAME.test(name)) expect(isRequiredInterpolation(value), `${serviceName}.${name}=${value}`).to.equal(true);
          expect(value, `${serviceName}.${name}`).not.to.match(/:\/\/[^/\s:@]+:[^/\s@]+@/);
        }
      }
      expect(c5Env.JWT_SECRET).to.match(/^\$\{JWT_SECRET:\?/);
      expect(c5Env.CREDENTIAL_KEY).to.match(/^\$\{CREDENTIAL_KEY:\?/);
      expect(() => interpolate(c5Env.JWT_SECRET!, {})).to.throw(/JWT_SECRET/);
    });

    it('is an environment and camera config the server accepts in production', () => {
      const shell = { JWT_SECRET: 'j'.repeat(64), CREDENTIAL_KEY: 'k'.repeat(64) };
      const env = Object.fromEntries(Object.entries(c5Env).map(([name, value]) => [name, interpolate(value, shell)]));
      const config = loadConfig({ configDir: join(dockerDir, 'config'), env });
      expect(config.env).to.equal('production');
      expect(config.http).to.include({ host: '0.0.0.0', port: 8080 });
      expect(config.media).to.include({ listenIp: '0.0.0.0', announcedIp: '127.0.0.1', webRtcPort: 40000, workers: 1 });
      expect(config.catalog.mongodbUri).to.equal('mongodb://mongo:27017/c5');
      expect(config.dataDir).to.equal('/var/lib/c5-live');
      // The seeded cameras are mounts the simulator serves, reached through its service name.
      const simulated = (JSON.parse(readFileSync(join(root, 'config', 'cameras.json'), 'utf8')) as { cameras: Array<{ id?: string }> }).cameras.map((c) => c.id);
      expect(config.cameras).to.not.be.empty;
      for (const camera of config.cameras) {
        expect(camera.url).to.equal(`rtsp://camsim:8554/${camera.id}`);
        expect(simulated).to.include(camera.id);
      }
    });

    it('publishes HTTP and the WebRTC port over UDP and TCP, and mounts what exists', () => {
      const ports = (c5.ports as unknown[]).map((p) => interpolate(String(p), {}));
      expect(ports).to.include.members(['127.0.0.1:8080:8080', '40000:40000/udp', '40000:40000/tcp']);
      for (const [serviceName, service] of Object.entries(services)) {
        for (const volume of (obj(service, serviceName).volumes as unknown[] | undefined) ?? []) {
          const source = String(volume).split(':')[0]!;
          if (source.startsWith('.')) expect(existsSync(join(dockerDir, source)), `${serviceName}: ${source}`).to.equal(true);
          else expect(obj(compose.volumes, 'volumes'), `${serviceName}: named volume ${source}`).to.have.property(source);
        }
      }
    });
  });

  describe('prometheus.yml', () => {
    it('scrapes c5-live:8080/metrics every 15 s', () => {
      const prometheus = readYaml('prometheus.yml');
      const jobs = prometheus.scrape_configs as Obj[];
      const job = jobs.find((j) => j.job_name === 'c5-live');
      expect(job, 'job c5-live').to.be.an('object');
      expect(job!.metrics_path ?? '/metrics').to.equal('/metrics');
      expect(job!.scrape_interval ?? obj(prometheus.global, 'global').scrape_interval).to.equal('15s');
      const targets = (job!.static_configs as Obj[]).flatMap((c) => c.targets as string[]);
      expect(targets).to.deep.equal(['c5-live:8080']);
    });
  });

  describe('Grafana', () => {
    const dashboard = JSON.parse(read('grafana/dashboards/c5-live.json')) as Obj;
    const panels = (dashboard.panels as Obj[]).filter((p) => p.type !== 'row');

    it('provisions the Prometheus datasource the dashboard uses and the dashboard folder compose mounts', () => {
      const datasources = readYaml('grafana/provisioning/datasources/prometheus.yml').datasources as Obj[];
      expect(datasources).to.have.length(1);
      expect(datasources[0]).to.include({ type: 'prometheus', url: 'http://prometheus:9090' });
      const uids = new Set(panels.map((p) => obj(p.datasource, `panel ${String(p.title)} datasource`).uid));
      expect([...uids]).to.deep.equal([datasources[0]!.uid]);

      const providers = readYaml('grafana/provisioning/dashboards/c5.yml').providers as Obj[];
      const path = obj(providers[0]!.options, 'provider options').path;
      const grafana = obj(obj(readYaml('docker-compose.yml').services, 'services').grafana, 'grafana');
      expect((grafana.volumes as string[]).map((v) => v.replace(/:ro$/, ''))).to.include.members([
        `./grafana/dashboards:${String(path)}`,
        './grafana/provisioning:/etc/grafana/provisioning',
      ]);
    });

    it('is a dashboard with panels that do not overlap', () => {
      expect(dashboard.schemaVersion).to.be.within(36, 41);
      expect(dashboard.uid).to.be.a('string');
      expect(panels.length).to.be.at.least(10);
      const ids = (dashboard.panels as Obj[]).map((p) => p.id);
      expect(new Set(ids).size, 'unique panel ids').to.equal(ids.length);
      const boxes = (dashboard.panels as Obj[]).map((p) => ({ title: String(p.title), ...(p.gridPos as { x: number; y: number; w: number; h: number }) }));
      for (const [i, a] of boxes.entries()) {
        expect(a.x + a.w, a.title).to.be.at.most(24);
        for (const b of boxes.slice(i + 1)) {
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect(overlap, `${a.title} overlaps ${b.title}`).to.equal(false);
        }
      }
      for (const panel of panels) expect(panel.targets, String(panel.title)).to.be.an('array').that.is.not.empty;
    });

    it('queries only metrics the server exports (docker/metrics.json), and all of them', () => {
      const exported = new Set(metrics as string[]);
      const used = new Set<string>();
      const exprs = panels.flatMap((p) => (p.targets as Obj[]).map((t) => ({ panel: String(p.title), expr: String(t.expr) })));
      for (const variable of obj(dashboard.templating, 'templating').list as Obj[]) {
        const query = typeof variable.query === 'string' ? variable.query : String(obj(variable.query, 'variable query').query);
        const m = /label_values\(\s*([A-Za-z_:][\w:]*)/.exec(query);
        if (m) exprs.push({ panel: `variable ${String(variable.name)}`, expr: m[1]! });
      }
      for (const { panel, expr } of exprs) {
        const names = promqlMetricNames(expr);
        expect(names, `${panel}: ${expr}`).to.not.be.empty;
        for (const name of names) {
          expect(exported.has(exportedName(name)), `${panel}: ${name} (in ${expr}) is not in docker/metrics.json`).to.equal(true);
          used.add(exportedName(name));
        }
      }
      expect([...exported].filter((name) => !used.has(name)), 'exported but on no panel').to.deep.equal([]);
    });

    it('reads metric names out of PromQL', () => {
      expect(promqlMetricNames('histogram_quantile(0.95, sum by (le, route) (rate(c5_http_request_duration_seconds_bucket{route=~"a|b"}[$__rate_interval])))')).to.deep.equal([
        'c5_http_request_duration_seconds_bucket',
      ]);
      expect(promqlMetricNames('sum(rate(a_total[5m])) by (x) / on (y) group_left b_total * 1e3 > bool 0')).to.deep.equal(['a_total', 'b_total']);
      expect(promqlMetricNames('c5_camera_ingest_state{camera=~"$camera"} == 1')).to.deep.equal(['c5_camera_ingest_state']);
      expect(exportedName('c5_time_to_first_frame_seconds_count')).to.equal('c5_time_to_first_frame_seconds');
      expect(exportedName('c5_camera_rtp_received_packets')).to.equal('c5_camera_rtp_received_packets');
    });
  });

  describe('Dockerfile', () => {
    const { instructions, args } = parseDockerfile(read('Dockerfile'));
    const froms = instructions.filter((i) => i.keyword === 'FROM');
    const last = froms.length - 1;

    it('is multi-stage on a Debian 12 (bookworm) Node 20 base', () => {
      expect(froms.length).to.be.at.least(2);
      for (const from of froms) expect(baseImage(from.args, args), from.args).to.match(/^node:20[\w.-]*-bookworm(-slim)?$/);
    });

    it('builds the mediasoup worker with scripts/build-mediasoup-worker.sh into C5_CACHE_DIR and ships only the binary', () => {
      const build = instructions.filter((i) => i.stage === 0);
      expect(build.some((i) => i.keyword === 'RUN' && i.args.includes('scripts/build-mediasoup-worker.sh'))).to.equal(true);
      expect(build.some((i) => i.keyword === 'RUN' && /npm ci\b.*--ignore-scripts/.test(i.args))).to.equal(true);
      expect(instructions.filter((i) => i.keyword === 'ENV' && /C5_CACHE_DIR=\/opt\/c5-cache/.test(i.args)).map((i) => i.stage)).to.include.members([0, last]);
      // The script keeps its meson venv next to the cached binaries (server/toolchain.ts layout); the
      // Dockerfile deletes it before the runtime stage copies the cache.
      const saved = process.env.C5_CACHE_DIR;
      process.env.C5_CACHE_DIR = '/opt/c5-cache';
      try {
        expect(dirname(workerCacheDir())).to.equal('/opt/c5-cache/mediasoup-worker');
      } finally {
        if (saved === undefined) delete process.env.C5_CACHE_DIR;
        else process.env.C5_CACHE_DIR = saved;
      }
      expect(build.some((i) => i.keyword === 'RUN' && i.args.includes('rm -rf "$C5_CACHE_DIR/mediasoup-worker/meson-venv"'))).to.equal(true);
      expect(instructions.some((i) => i.stage === last && i.keyword === 'COPY' && i.args.includes('/opt/c5-cache'))).to.equal(true);
    });

    it('runs as a non-root user, in production, with a health check and the built launcher', () => {
      const user = instructions.filter((i) => i.keyword === 'USER' && i.stage === last).at(-1);
      expect(user, 'USER in the runtime stage').to.not.equal(undefined);
      expect(user!.args.split(':')[0]).to.not.match(/^(root|0)$/);
      expect(user!.args).to.match(/^10001\b/);
      expect(instructions.some((i) => i.stage === last && i.keyword === 'ENV' && /\bNODE_ENV=production\b/.test(i.args))).to.equal(true);
      const expose = instructions.filter((i) => i.keyword === 'EXPOSE' && i.stage === last).flatMap((i) => i.args.split(/\s+/));
      expect(expose).to.include.members(['8080', '40000/udp', '40000/tcp']);
      const cmd = instructions.filter((i) => i.keyword === 'CMD' && i.stage === last).at(-1);
      expect(JSON.parse(cmd!.args)).to.deep.equal(['node', 'dist/server/launch.js']);
      const health = instructions.find((i) => i.keyword === 'HEALTHCHECK' && i.stage === last);
      expect(health?.args).to.include('/healthz');
      // The node -e program of the health check compiles.
      const exec = JSON.parse(health!.args.slice(health!.args.indexOf('CMD') + 3).trim()) as string[];
      expect(exec.slice(0, 2)).to.deep.equal(['node', '-e']);
      expect(() => new Function(exec[2]!)).to.not.throw();
    });

    it('ships dist/ (built in the build stage) and production packages only: no sources, no scripts/, no tsx', () => {
      const build = instructions.filter((i) => i.stage === 0);
      expect(build.some((i) => i.keyword === 'RUN' && /^npm run build$/.test(i.args)), 'npm run build in the build stage').to.equal(true);
      const runtime = instructions.filter((i) => i.stage === last);
      const copies = runtime.filter((i) => i.keyword === 'COPY');
      const fromStage = (source: string) => copies.find((i) => copySources(i).includes(source))?.args.match(/--from=(\S+)/)?.[1];
      expect(fromStage('/app/dist'), 'dist/ from the build stage').to.equal('build');
      // node_modules comes from a stage that ran `npm ci --omit=dev` (and nothing else installed there).
      const depsStage = fromStage('/app/node_modules');
      expect(depsStage, 'node_modules copied from a stage').to.be.a('string').and.not.equal('build');
      const depsIndex = froms.findIndex((from) => new RegExp(`\\bAS\\s+${depsStage}$`, 'i').test(from.args));
      expect(depsIndex, `stage ${depsStage}`).to.be.greaterThan(0);
      const installs = instructions.filter((i) => i.stage === depsIndex && i.keyword === 'RUN' && /\bnpm\b/.test(i.args));
      expect(installs.map((i) => i.args)).to.have.length(1);
      expect(installs[0]!.args).to.match(/npm ci\b.*--omit=dev/);
      // From the repository, the runtime stage takes package.json ("type": "module") and nothing else.
      const own = copies.filter((i) => !i.args.includes('--from')).flatMap(copySources);
      expect(own).to.deep.equal(['package.json']);
      expect(runtime.some((i) => /\btsx\b|scripts\//.test(i.args)), 'no tsx and no scripts/ in the runtime stage').to.equal(false);
      expect(runtime.some((i) => i.keyword === 'RUN' && i.args.includes('node dist/server/toolchain.js worker-bin'))).to.equal(true);
    });

    it('copies only paths that exist in the repository', () => {
      for (const copy of instructions.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from'))) {
        for (const source of copySources(copy)) expect(existsSync(join(root, source)), `COPY ${source}`).to.equal(true);
      }
    });

    it('installs Debian 12 packages that exist', function () {
      const packages = [...new Set([...aptPackages(instructions, 0), ...aptPackages(instructions, last)])];
      expect(aptPackages(instructions, last)).to.include.members(['ffmpeg', 'libuv1', 'libssl3', 'libsrtp2-1', 'libusrsctp2', 'libabsl20220623', 'util-linux']);
      const known = knownToApt(packages);
      if (!known) this.skip();
      expect(packages.filter((p) => !known.has(p)), 'unknown to apt on Debian 12').to.deep.equal([]);
    });
  });

  describe('Dockerfile.camsim', () => {
    const { instructions } = parseDockerfile(read('Dockerfile.camsim'));

    it('runs camsim.py as a non-root user on a Debian 12 base, listening on 0.0.0.0:8554', () => {
      const froms = instructions.filter((i) => i.keyword === 'FROM');
      expect(froms).to.have.length(1);
      expect(froms[0]!.args).to.match(/^debian:(bookworm|12)(-slim)?\b/);
      const user = instructions.filter((i) => i.keyword === 'USER').at(-1);
      expect(user?.args.split(':')[0]).to.match(/^\d+$/).and.not.equal('0');
      const entry = JSON.parse(instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args) as string[];
      const cmd = JSON.parse(instructions.find((i) => i.keyword === 'CMD')!.args) as string[];
      expect(entry.join(' ')).to.include('camsim.py');
      expect(cmd.join(' ')).to.include('--port 8554').and.include('--host 0.0.0.0');
      for (const copy of instructions.filter((i) => i.keyword === 'COPY')) {
        for (const source of copySources(copy)) expect(existsSync(join(root, source)), `COPY ${source}`).to.equal(true);
      }
    });

    it('installs Debian 12 packages that exist', function () {
      const packages = aptPackages(instructions, 0);
      expect(packages).to.include.members(['python3-gi', 'gir1.2-gst-rtsp-server-1.0', 'gstreamer1.0-plugins-ugly']);
      const known = knownToApt(packages);
      if (!known) this.skip();
      expect(packages.filter((p) => !known.has(p)), 'unknown to apt on Debian 12').to.deep.equal([]);
    });
  });
});
