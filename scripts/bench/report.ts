/**
 * What every benchmark does at its end.
 *
 * report() writes DIR/<name>.json and the PNG plot(s) (DIR: --out, default bench-results/), prints
 * the JSON on stdout, then one summary line (the last line of stdout; none with --json-only). A
 * benchmark exits non-zero when a peer or a step could not run (`failures` not empty): the JSON and
 * plot still show what did run. The flags every benchmark shares are in host.ts (commonOptions).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommonArgs } from './host.ts';
import { writePlot, type PlotSpec } from './plot.ts';

/** Progress to stderr (silent with --json-only). */
export function logger(args: CommonArgs): (line: string) => void {
  return args.jsonOnly ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);
}

export interface BenchReport {
  /** file stem: latency, ttff, fanout-srtp, ... */
  name: string;
  result: Record<string, unknown>;
  summary: string;
  /** One plot -> <name>.png; several -> <name>-<key>.png. */
  plots: PlotSpec | Record<string, PlotSpec>;
  /** Peers or steps that could not run (each a sentence); non-empty -> exit code 1. */
  failures: string[];
}

/** Writes the JSON and plots, prints them; returns the exit code. */
export async function report(args: CommonArgs, r: BenchReport): Promise<number> {
  mkdirSync(args.out, { recursive: true });
  const plotFiles: string[] = [];
  const plots = 'kind' in r.plots ? { '': r.plots as PlotSpec } : (r.plots as Record<string, PlotSpec>);
  for (const [key, spec] of Object.entries(plots)) {
    const file = join(args.out, key ? `${r.name}-${key}.png` : `${r.name}.png`);
    try {
      await writePlot(file, spec);
      plotFiles.push(file);
    } catch (error) {
      r.failures.push(`plot ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const output = { benchmark: r.name, mode: args.full ? 'full' : 'quick', at: new Date().toISOString(), ...r.result, summary: r.summary, failures: r.failures, plots: plotFiles };
  const json = JSON.stringify(output, null, 2);
  writeFileSync(join(args.out, `${r.name}.json`), `${json}\n`);
  process.stdout.write(`${json}\n`);
  if (!args.jsonOnly) process.stdout.write(`${r.summary}${r.failures.length ? ` [${r.failures.length} failure(s): ${r.failures.join('; ')}]` : ''}\n`);
  return r.failures.length ? 1 : 0;
}
