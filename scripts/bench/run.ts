/**
 * The benchmark suite: every benchmark in turn, each in its own process, then one table.
 *
 *   npm run bench                   # quick mode (about 15 minutes on 2 cores)
 *   npm run bench -- --full         # full mode: more trials, longer windows, more steps
 *   npm run bench -- --only latency,ttff [--out DIR]   (latency, ttff, fanout-srtp, fanout-webrtc, ingest, alarm, streams, network)
 *   npm run bench -- --table-only [--out DIR]   # the table again from DIR/*.json (after re-running one benchmark)
 *
 * Each benchmark writes DIR/<name>.json and its PNG plot(s) and prints its JSON and a one-line
 * summary (scripts/bench/report.ts). This runner shows their progress as they go, then writes
 * DIR/summary.md (the machine, the summary lines and the C5 Live / Janus / rtsp-relay table that
 * README.md's Performance section holds) and DIR/summary.json, and exits non-zero when any
 * benchmark did (a peer or a step that could not run).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headlineRows, type HeadlineRow } from './headline.ts';
import { commandLine } from './host.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCHMARKS = ['latency', 'ttff', 'fanout-srtp', 'fanout-webrtc', 'ingest', 'alarm', 'streams', 'network'] as const;
type Benchmark = (typeof BENCHMARKS)[number];

interface Outcome {
  name: Benchmark;
  exitCode: number;
  seconds: number;
  summary: string;
  json: Record<string, unknown> | undefined;
}

/** A tool's version from its output (janus --version exits non-zero after printing it). */
function version(cmd: string, args: string[], pick: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  if (r.error) return 'not found';
  const out = `${r.stdout}${r.stderr}`;
  return pick.exec(out)?.[1] ?? (out.split('\n')[0]?.trim() || 'unknown');
}

export function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  const mediasoup = JSON.parse(readFileSync(join(HERE, '..', '..', 'node_modules', 'mediasoup', 'package.json'), 'utf8')) as { version: string };
  return {
    cpu: `${cpus[0]?.model ?? '?'}`,
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${readFileSync('/etc/debian_version', 'utf8').trim() ? `Debian ${readFileSync('/etc/debian_version', 'utf8').trim()}` : os.type()}, Linux ${os.release()}`,
    node: process.version,
    mediasoup: mediasoup.version,
    ffmpeg: version('ffmpeg', ['-version'], /ffmpeg version (\S+)/),
    chromium: version('/usr/bin/chromium', ['--version'], /Chromium (\S+)/),
    janus: version('janus', ['--version'], /Janus version: \d+ \(([^)]+)\)/),
  };
}

function run(name: Benchmark, args: string[]): Promise<Outcome> {
  const started = performance.now();
  return new Promise((done) => {
    // The suite runs under scripts/with-env.mjs (MEDIASOUP_WORKER_BIN, FFMPEG_BIN): children inherit it.
    const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, `${name}.ts`), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('close', (code, signal) => {
      const lines = stdout.trimEnd().split('\n');
      const summary = lines[lines.length - 1] ?? '';
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(lines.slice(0, -1).join('\n')) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      done({ name, exitCode: code ?? (signal ? 128 : 1), seconds: Math.round((performance.now() - started) / 1000), summary, json });
    });
  });
}

/** A benchmark's outcome from the JSON it wrote earlier (--table-only); its summary line is not kept there. */
function fromFile(name: Benchmark, out: string): Outcome {
  const file = join(out, `${name}.json`);
  if (!existsSync(file)) return { name, exitCode: 1, seconds: 0, summary: `no ${file}`, json: undefined };
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const failures = (json.failures as string[] | undefined) ?? [];
  return { name, exitCode: failures.length ? 1 : 0, seconds: 0, summary: typeof json.summary === 'string' ? json.summary : `(${name}.json of ${String(json.at)}, ${String(json.mode)} mode)`, json };
}

function markdownTable(rows: HeadlineRow[]): string {
  const cell = (v: string | undefined) => v ?? 'n/a';
  return [
    '| benchmark | measure | C5 Live | Janus | rtsp-relay |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.benchmark} | ${r.measure} | ${cell(r.c5)} | ${cell(r.janus)} | ${cell(r.rtspRelay)} |`),
  ].join('\n');
}

async function main(): Promise<number> {
  const { values, only } = commandLine(
    {
      full: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string', default: 'bench-results' },
      'table-only': { type: 'boolean', default: false },
    },
    (flags) => ({ values: flags.values, only: flags.names('only', BENCHMARKS, 'benchmark') }),
  );
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  const mode = values.full ? 'full' : 'quick';
  const started = Date.now();
  process.stderr.write(`bench: ${mode} mode, ${only.join(', ')} -> ${out}\n`);

  const outcomes: Outcome[] = [];
  for (const name of only) {
    if (values['table-only']) {
      outcomes.push(fromFile(name, out));
      continue;
    }
    process.stderr.write(`\n=== ${name} ===\n`);
    const outcome = await run(name, [...(values.full ? ['--full'] : []), '--out', out]);
    process.stderr.write(`=== ${name}: exit ${outcome.exitCode} after ${outcome.seconds} s\n${outcome.summary}\n`);
    outcomes.push(outcome);
  }

  const host = machine();
  const rows = outcomes.flatMap((o) => (o.json ? headlineRows(o.name, o.json) : []));
  const failed = outcomes.filter((o) => o.exitCode !== 0);
  const minutes = Math.round((Date.now() - started) / 6000) / 10;
  const md = [
    `# C5 Live benchmarks (${mode} mode, ${new Date(started).toISOString().slice(0, 16).replace('T', ' ')} UTC, ${minutes} min)`,
    '',
    `Machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB, ${host.os}; Node ${host.node}, mediasoup ${host.mediasoup}, ffmpeg ${host.ffmpeg}, Chromium ${host.chromium}, Janus ${host.janus}.`,
    `Reproduce: \`npm run bench${values.full ? ' -- --full' : ''}\``,
    '',
    markdownTable(rows),
    '',
    ...outcomes.map((o) => `- **${o.name}** (${o.seconds} s${o.exitCode ? `, exit ${o.exitCode}` : ''}): ${o.summary}`),
    '',
    `Plots: ${outcomes.flatMap((o) => ((o.json?.plots as string[] | undefined) ?? []).map((p) => p.replace(`${out}/`, ''))).join(', ')}`,
    '',
  ].join('\n');
  writeFileSync(join(out, 'summary.md'), md);
  writeFileSync(
    join(out, 'summary.json'),
    `${JSON.stringify({ mode, startedAt: new Date(started).toISOString(), minutes, machine: host, table: rows, benchmarks: outcomes.map(({ json, ...o }) => ({ ...o, file: json ? `${o.name}.json` : null })) }, null, 2)}\n`,
  );
  process.stdout.write(`${md}\n`);
  process.stdout.write(
    `bench suite (${mode}): ${outcomes.length - failed.length}/${outcomes.length} benchmarks ran clean in ${minutes} min${failed.length ? `; FAILED: ${failed.map((o) => o.name).join(', ')}` : ''}; table in ${join(out, 'summary.md')}\n`,
  );
  if (!existsSync(join(out, 'summary.md'))) return 1;
  return failed.length ? 1 : 0;
}

const code = await main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  return 2;
});
process.exit(code);
