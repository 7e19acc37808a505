import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'chai';
import { projectRoot } from '../../server/toolchain.ts';
import { Simulator } from '../support/simulator.ts';
import { isAlive, waitFor } from '../support/processes.ts';

describe('server killed with SIGKILL', function () {
  this.timeout(60_000);
  let sim: Simulator;
  before(async () => {
    sim = await Simulator.start({ config: { cameras: [{ id: 'cam-k', tag: 21, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 25, gop: 25 }] } });
  });
  after(async () => sim?.stop());

  it('leaves no ffmpeg, ingest worker or mediasoup worker running', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'test/support/ingest-child.ts'), sim.url('cam-k')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout! });
        lines.on('line', (text) => text.startsWith('{') && resolve(text));
        child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
      });
      const { ffmpegPid, workerPids, ingestWorkerPids } = JSON.parse(line) as { ffmpegPid: number; workerPids: number[]; ingestWorkerPids: number[] };
      expect(ffmpegPid).to.be.a('number');
      expect(isAlive(ffmpegPid)).to.equal(true);
      // ffmpeg is a child of an ingest worker, which is a child of the server.
      expect(ingestWorkerPids.length).to.be.at.least(1);
      for (const pid of ingestWorkerPids) expect(isAlive(pid)).to.equal(true);
      const parent = Number(readFileSync(`/proc/${ffmpegPid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]);
      expect(ingestWorkerPids).to.include(parent);
      child.kill('SIGKILL');
      await exited;
      const took = await waitFor(() => !isAlive(ffmpegPid) && [...workerPids, ...ingestWorkerPids].every((pid) => !isAlive(pid)), 5000, 'children to die with the server');
      console.log(`      children gone ${took} ms after the server's SIGKILL`);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
