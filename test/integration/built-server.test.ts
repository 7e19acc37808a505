/**
 * The BUILT server (`npm run build`: dist/) run the way the image runs it, `node
 * dist/server/launch.js`, with plain node and test/support/production-only.mjs as a resolution
 * hook: only dist/ and production packages load (no tsx, no scripts/, no test/, no dev-only
 * package, transitive ones included), as in the image, where `npm ci --omit=dev` installed
 * node_modules. No Docker engine runs here; this is the check that stands in for `docker run`.
 *
 * The server gets what the image gives it: NODE_ENV=production with its three keys, a throw-away
 * DATA_DIR, a working directory holding only config/server.production.json (one simulator camera,
 * the prober off), and no MEDIASOUP_WORKER_BIN/FFMPEG_BIN (the launcher sets them). An admin is
 * created with dist/server/createAdmin.js first; then /healthz, and a live tile in headless
 * Chromium after signing in through the console's form.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { projectRoot } from '../../server/toolchain.ts';
import { Simulator } from '../support/simulator.ts';
import { collectPageErrors, launchChromium, sampleVideo, waitForTiles, type LaunchedChromium } from '../support/browser.ts';

const HOOK = join(projectRoot, 'test', 'support', 'production-only.mjs');
const LAUNCH = join(projectRoot, 'dist', 'server', 'launch.js');
const CREATE_ADMIN = join(projectRoot, 'dist', 'server', 'createAdmin.js');
const MARK = 'production-only:';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node --import <hook> ...args` to its end. */
function runNode(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', HOOK, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment of a child: this process's, without what with-env.mjs and mocha added. */
function childEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['MEDIASOUP_WORKER_BIN', 'FFMPEG_BIN', 'FFMPEG_PATH', 'NODE_OPTIONS', 'DATA_DIR', 'CONSOLE_DIR', 'MONGODB_URI']) delete env[name];
  return { ...env, ...extra };
}

/** The first dev-only package in package-lock.json that is not a direct devDependency (reached only through one) and is installed. */
function transitiveDevOnlyPackage(): string {
  const lock = JSON.parse(readFileSync(join(projectRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const direct = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const require = createRequire(join(projectRoot, 'package.json'));
  for (const [key, entry] of Object.entries(lock.packages)) {
    const name = key.replace(/^node_modules\//, '');
    if (!entry.dev || name.includes('node_modules/') || name in direct.devDependencies) continue;
    try {
      require.resolve(name);
      return name;
    } catch {
      // a package without a main entry (types, binaries): try the next one
    }
  }
  throw new Error('no installed transitive dev-only package found in package-lock.json');
}

describe('the built server, run as the image runs it (node dist/server/launch.js, production packages only)', function () {
  this.timeout(90_000);
  let sim: Simulator;
  let workDir: string;
  let env: NodeJS.ProcessEnv;
  let server: ChildProcess | undefined;
  let output = '';
  let baseUrl: string;
  let chromium: LaunchedChromium | undefined;
  const admin = { username: 'built-admin', password: '' };

  before(async function () {
    for (const file of [LAUNCH, CREATE_ADMIN, join(projectRoot, 'dist', 'client', 'index.html')]) {
      if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (npm test does)`);
    }
    sim = await Simulator.start({ config: { cameras: [{ id: 'cam-built', tag: 41, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 25, gop: 25 }] } });
    workDir = mkdtempSync(join(tmpdir(), 'c5-built-'));
    mkdirSync(join(workDir, 'config'));
    writeFileSync(
      join(workDir, 'config', 'server.production.json'),
      JSON.stringify({
        health: { enabled: false },
        media: { workers: 1, webRtcPort: 0 },
        cameras: [{ id: 'cam-built', name: 'Built server camera', url: sim.url('cam-built') }],
      }),
    );
    const key = () => randomBytes(32).toString('hex');
    env = childEnv({
      NODE_ENV: 'production',
      DATA_DIR: join(workDir, 'data'),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      JWT_SECRET: key(),
      CREDENTIAL_KEY: key(),
      AUDIT_KEY: key(),
    });
  });

  after(async () => {
    await chromium?.close();
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server!.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await sim?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('has a resolution hook that refuses dev-only packages (direct and transitive) and files outside dist/', async () => {
    const transitive = transitiveDevOnlyPackage();
    // An uncaught refusal ends the process.
    const chai = await runNode(['--input-type=module', '-e', "await import('chai')"], { cwd: projectRoot, env: childEnv({}) });
    expect(chai.code, chai.stderr).to.not.equal(0);
    expect(chai.stderr).to.include(`${MARK} "chai"`).and.include('dev-only package');
    // Each case on its own, ESM import and require(); production packages and dist/ still load.
    const probe = `
      import { createRequire } from 'node:module';
      const require = createRequire(${JSON.stringify(join(projectRoot, 'package.json'))});
      const cases = {
        tsx: () => import('tsx'),
        transitive: () => import(${JSON.stringify(transitive)}),
        requireMocha: async () => require('mocha'),
        scripts: () => import(${JSON.stringify(pathToFileURL(join(projectRoot, 'scripts', 'camsim', 'Simulator.ts')).href)}),
        test: () => import(${JSON.stringify(pathToFileURL(join(projectRoot, 'test', 'support', 'processes.ts')).href)}),
        source: () => import(${JSON.stringify(pathToFileURL(join(projectRoot, 'server', 'toolchain.ts')).href)}),
        zod: () => import('zod'),
        requireExpress: async () => require('express'),
        dist: () => import(${JSON.stringify(pathToFileURL(join(projectRoot, 'dist', 'server', 'toolchain.js')).href)}),
      };
      const results = {};
      for (const [name, load] of Object.entries(cases)) {
        try { await load(); results[name] = 'loaded'; }
        catch (error) { results[name] = String(error.message).startsWith(${JSON.stringify(MARK)}) ? 'refused' : 'failed: ' + error.message; }
      }
      console.log(JSON.stringify(results));`;
    const run = await runNode(['--input-type=module', '-e', probe], { cwd: projectRoot, env: childEnv({}) });
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!), `transitive dev-only package: ${transitive}`).to.deep.equal({
      tsx: 'refused',
      transitive: 'refused',
      requireMocha: 'refused',
      scripts: 'refused',
      test: 'refused',
      source: 'refused',
      zod: 'loaded',
      requireExpress: 'loaded',
      dist: 'loaded',
    });
  });

  it('stops at once with a clear message when the worker binary or the built console is missing', async () => {
    const noWorker = await runNode([LAUNCH], { cwd: workDir, env: { ...env, MEDIASOUP_WORKER_BIN: join(workDir, 'no-such-worker') } });
    expect(noWorker.code).to.equal(1);
    expect(noWorker.stderr).to.include('C5 Live cannot start: mediasoup worker not found at MEDIASOUP_WORKER_BIN=');
    const emptyDir = join(workDir, 'no-console');
    mkdirSync(emptyDir);
    const noConsole = await runNode([LAUNCH], { cwd: workDir, env: { ...env, CONSOLE_DIR: emptyDir } });
    expect(noConsole.code, noConsole.stdout + noConsole.stderr).to.equal(1);
    expect(noConsole.stderr).to.include(`no console in ${emptyDir} (index.html missing): run \`npm run build\``);
    expect(noConsole.stderr).to.not.include(MARK);
  });

  it('creates an administrator with dist/server/createAdmin.js', async () => {
    const run = await runNode([CREATE_ADMIN, admin.username, 'Built Admin'], { cwd: workDir, env });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.not.include(MARK);
    admin.password = /Password \(shown once\): (\S+)/.exec(run.stdout)?.[1] ?? '';
    expect(admin.password).to.have.length.greaterThan(10);
  });

  it('starts with the launcher and answers /healthz', async () => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', HOOK, LAUNCH], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening" line in 30 s:\n${output}`)), 30_000);
      const check = () => {
        const url = /C5 Live listening on (http:\/\/\S+)/.exec(output)?.[1];
        if (url) {
          clearTimeout(timer);
          resolve(url);
        }
      };
      child.stdout!.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the built server exited (${code}):\n${output}`));
      });
    });
    console.log(`      built server listening ${Date.now() - started} ms after node started`);
    expect(output).to.not.include(MARK);
    const health = await fetch(`${baseUrl}/healthz`);
    expect(health.status).to.equal(200);
    // JSON log lines in production; the launcher pointed mediasoup at the cached worker.
    expect(output).to.match(/^\{.*"msg":"C5 Live ready"/m);
  });

  it('serves the console: sign in, and the camera plays in headless Chromium', async () => {
    expect(baseUrl, 'server started').to.be.a('string');
    chromium = await launchChromium();
    const page: Page = await chromium.newPage();
    const errors = collectPageErrors(page);
    const started = Date.now();
    await page.goto(baseUrl);
    await page.waitForSelector('#signin-form', { state: 'visible', timeout: 15_000 });
    await page.fill('#signin-username', admin.username);
    await page.fill('#signin-password', admin.password);
    await page.click('#signin-submit');
    await page.waitForFunction('window.c5 !== undefined && window.c5.ready === true', undefined, { timeout: 20_000, polling: 100 });
    await waitForTiles(page, (tiles) => tiles.some((t) => t.cameraId === 'cam-built' && t.state === 'live'), 30_000);
    console.log(`      sign-in to a live tile: ${Date.now() - started} ms`);
    const samples = await sampleVideo(page, '.tile[data-camera-id="cam-built"]', { durationMs: 1500 });
    expect(samples.length, 'frames in 1.5 s').to.be.greaterThan(10);
    expect([...new Set(samples.map((s) => s.tag))]).to.deep.equal([41]);
    expect(errors.filter((e) => !/favicon/.test(e))).to.deep.equal([]);
    expect(output).to.not.include(MARK);
  });
});
