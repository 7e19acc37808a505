import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { formatSpread, median, percentile, spread } from '../../scripts/bench/stats.ts';
import {
  commonArgs,
  commonOptions,
  cpuBusyShare,
  cpuIrqShare,
  cpuSeconds,
  parentPid,
  parseCommandLine,
  parseProcStat,
  pinToCore,
  processArgv,
  processCpu,
  processName,
  rssMb,
  sleep,
} from '../../scripts/bench/host.ts';
import { fmtSpread, headlineRows } from '../../scripts/bench/headline.ts';
import { loadWindow, type LoadStats } from '../../scripts/bench/LoadViewers.ts';

describe('benchmark statistics', () => {
  it('takes nearest-rank percentiles and medians', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).to.equal(5);
    expect(percentile(values, 95)).to.equal(10);
    expect(percentile(values, 10)).to.equal(1);
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 2, 3])).to.equal(2.5);
    expect(Number.isNaN(percentile([], 50))).to.equal(true);
  });

  it('reports a median with its spread and how many trials back it, ignoring failed trials', () => {
    expect(spread([120, 110, 131.44, NaN])).to.deep.equal({ median: 120, min: 110, max: 131.4, n: 3 });
    expect(spread([])).to.deep.equal({ median: null, min: null, max: null, n: 0 });
    expect(formatSpread(spread([120, 110, 131]), ' ms')).to.equal('120 ms (110-131, n=3)');
    expect(fmtSpread(spread([1250, 1310, 1280]), { scale: 1000, digits: 2 })).to.equal('1.28 (1.25-1.31, n=3)');
    expect(fmtSpread({ median: null, min: null, max: null, n: 0 })).to.equal(undefined);
  });

  it('builds the README table rows from a benchmark JSON, leaving systems that did not run empty', () => {
    const rows = headlineRows('ttff', {
      ttffMs: {
        c5: { gop1s: { warm: spread([1300, 1200]), cold: spread([3800]) } },
        janus: { gop1s: { warm: spread([500, 450, 550]), cold: spread([]) } },
      },
    });
    const warm = rows.find((r) => r.measure === 'first frame, GOP 1 s, warm (s)')!;
    expect(warm.c5).to.equal('1.25 (1.20-1.30, n=2)');
    expect(warm.janus).to.equal('0.50 (0.45-0.55, n=3)');
    expect(warm.rtspRelay).to.equal(undefined);
    const cold = rows.find((r) => r.measure === 'first frame, GOP 1 s, cold (s)')!;
    expect(cold.c5).to.equal('3.80 (n=1)');
    expect(cold.janus).to.equal(undefined);
    expect(headlineRows('unknown', {})).to.deep.equal([]);
  });

  it('computes load viewers loss and bit rate over a window from two readings', () => {
    const viewer = (index: number, packetsReceived: number, packetsLost: number, bytesReceived: number, state = 'connected') =>
      ({ index, state, packetsReceived, packetsLost, bytesReceived, framesDecoded: 0, nackCount: 0, pliCount: 0 }) as unknown as LoadStats['viewers'][number];
    const before = { system: 'c5', at: 1000, viewers: [viewer(0, 100, 0, 10_000), viewer(1, 100, 0, 10_000)], total: {} } as unknown as LoadStats;
    const after = { system: 'c5', at: 3000, viewers: [viewer(0, 298, 2, 260_000), viewer(1, 100, 0, 10_000, 'failed')], total: {} } as unknown as LoadStats;
    const w = loadWindow(before, after);
    expect(w.seconds).to.equal(2);
    expect(w.packetsReceived).to.equal(198);
    expect(w.packetsLost).to.equal(2);
    expect(w.lossPct).to.equal(1);
    expect(w.maxViewerLossPct).to.equal(1);
    expect(w.silent).to.equal(1);
    expect(w.failed).to.equal(1);
    expect(w.kbpsTotal).to.equal(1000);
  });
});

describe('benchmark host helpers (scripts/bench/host.ts)', () => {
  const SYSTEMS = ['c5', 'janus', 'rtspRelay'] as const;
  const options = {
    ...commonOptions,
    trials: { type: 'string' },
    seconds: { type: 'string' },
    budget: { type: 'string' },
    steps: { type: 'string' },
    systems: { type: 'string', default: SYSTEMS.join(',') },
  } as const;
  const parse = (args: string[]) =>
    parseCommandLine(
      options,
      (flags) => ({
        ...commonArgs(flags.values),
        trials: flags.integer('trials', { min: 1, max: 20, fallback: 2 }),
        seconds: flags.number('seconds', { min: 1.2, max: 60, fallback: 4, why: 'a keyframe comes every second' }),
        budget: flags.number('budget', { min: 10, fallback: 130, what: 'a number of seconds' }),
        steps: flags.increasingIntegers('steps', { min: 1, max: 1000, fallback: [1, 50] }),
        systems: flags.names('systems', SYSTEMS, 'system'),
      }),
      args,
    );

  it('reads the command line with its defaults, and the values given', () => {
    expect(parse([])).to.deep.equal({ full: false, out: 'bench-results', jsonOnly: false, trials: 2, seconds: 4, budget: 130, steps: [1, 50], systems: ['c5', 'janus', 'rtspRelay'] });
    expect(parse(['--full', '--json-only', '--out', '/tmp/x', '--trials', '3', '--seconds=2.5', '--budget', '1e3', '--steps', '1, 5,10', '--systems', 'janus,c5,'])).to.deep.equal({
      full: true,
      out: '/tmp/x',
      jsonOnly: true,
      trials: 3,
      seconds: 2.5,
      budget: 1000,
      steps: [1, 5, 10],
      systems: ['janus', 'c5'],
    });
  });

  it('refuses bad arguments, saying which flag and why', () => {
    const refuses = (args: string[], message: RegExp | string) => expect(() => parse(args), args.join(' ')).to.throw(message as string);
    refuses(['--trials', 'many'], '--trials must be an integer from 1 to 20');
    refuses(['--trials', '2.5'], '--trials must be an integer from 1 to 20');
    refuses(['--trials', '21'], '--trials must be an integer from 1 to 20');
    refuses(['--seconds', '1'], '--seconds must be a number from 1.2 to 60 (a keyframe comes every second)');
    refuses(['--budget', '9'], '--budget must be a number of seconds >= 10');
    refuses(['--steps', '5,3'], '--steps must be increasing integers from 1 to 1000, comma-separated');
    refuses(['--steps', '0'], '--steps must be increasing integers from 1 to 1000, comma-separated');
    refuses(['--systems', 'c5,nope'], '--systems: unknown system nope (known: c5, janus, rtspRelay)');
    refuses(['--systems', ','], '--systems: none given');
    refuses(['--bogus'], /Unknown option '--bogus'/);
    refuses(['--out'], /argument missing/);
    refuses(['positional'], /Unexpected argument 'positional'/);
  });

  it('parses /proc/stat for all cores and each one, with interrupt time', () => {
    const text = ['cpu  100 0 50 800 50 5 5 10 0 0', 'cpu0 60 0 30 390 20 3 2 5 0 0', 'cpu1 40 0 20 410 30 2 3 5 0 0', 'intr 12345', 'ctxt 999'].join('\n');
    const { all, cores } = parseProcStat(text);
    expect(all).to.deep.equal({ busy: 170, total: 1020, irq: 10 });
    expect(cores).to.deep.equal([
      { busy: 100, total: 510, irq: 5 },
      { busy: 70, total: 510, irq: 5 },
    ]);
    const later = parseProcStat('cpu  130 0 50 840 60 10 10 20 0 0').all;
    expect(cpuBusyShare(all, later)).to.equal(0.5);
    expect(cpuIrqShare(all, later)).to.equal(0.1);
    expect(Number.isNaN(cpuBusyShare(all, all))).to.equal(true);
    expect(parseProcStat('').all).to.deep.equal({ busy: 0, total: 0, irq: 0 });
  });

  it('reads a process from /proc, and nothing of one that is gone', async () => {
    const until = performance.now() + 50;
    while (performance.now() < until); // some CPU time of our own
    expect(cpuSeconds(process.pid)).to.be.greaterThan(0);
    expect(processCpu(process.pid).user).to.be.greaterThan(0);
    expect(rssMb(process.pid)).to.be.greaterThan(10);
    expect(parentPid(process.pid)).to.equal(process.ppid);
    expect(processArgv(process.pid)[0]).to.equal(process.execPath);
    expect(processName(process.pid)).to.be.a('string').and.not.equal('');
    const child = spawn('true');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await exited;
    await sleep(50);
    const gone = child.pid!;
    expect(cpuSeconds(gone)).to.equal(0);
    expect(rssMb(gone)).to.equal(0);
    expect(parentPid(gone)).to.equal(undefined);
    expect(processArgv(gone)).to.deep.equal([]);
    expect(processName(gone)).to.equal(undefined);
  });

  it('pins every thread of a process to one core at a nice value, and says when the process is gone', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      expect(await pinToCore(child.pid!, 0, { nice: 5 })).to.equal(true);
      expect(/Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]).to.equal('0');
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      expect(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16], 'nice').to.equal('5');
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await sleep(50);
    expect(await pinToCore(child.pid!, 0)).to.equal(false);
  });
});
