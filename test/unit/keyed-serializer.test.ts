import { expect } from 'chai';
import { KeyedSerializer } from '../../server/util/KeyedSerializer.ts';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('KeyedSerializer', () => {
  it('runs the changes of one key one after the other, in order, even when one fails; other keys run meanwhile', async () => {
    const queue = new KeyedSerializer();
    const log: string[] = [];
    const change = (name: string, ms: number, fail = false) => async () => {
      log.push(`${name} start`);
      await tick(ms);
      log.push(`${name} end`);
      if (fail) throw new Error(name);
      return name;
    };
    const a1 = queue.run('a', change('a1', 30, true));
    const a2 = queue.run('a', change('a2', 5));
    const b1 = queue.run('b', change('b1', 5));
    expect(queue.pending).to.equal(2);
    const results = await Promise.allSettled([a1, a2, b1]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'fulfilled', 'fulfilled']);
    // b1 ran while a1 was running; a2 started only after a1 ended (failed).
    expect(log.indexOf('b1 end')).to.be.lessThan(log.indexOf('a1 end'));
    expect(log.indexOf('a2 start')).to.be.greaterThan(log.indexOf('a1 end'));
    await tick(0);
    expect(queue.pending, 'nothing held once every change settled').to.equal(0);
  });
});
