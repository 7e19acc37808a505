import { expect } from 'chai';
import { RtpReceptionStats } from '../../workers/relay/RtpReceptionStats.ts';

function rtp(sequence: number, timestamp: number, ssrc = 0x1234, payload = 100): Buffer {
  const packet = Buffer.alloc(12 + payload);
  packet[0] = 0x80;
  packet[1] = 96;
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE(timestamp >>> 0, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

describe('RtpReceptionStats (RFC 3550 §6.4.1, A.1, A.3, A.8)', () => {
  it('counts packets and bytes, and nothing lost for a clean stream across the sequence wrap', () => {
    const stats = new RtpReceptionStats();
    for (let i = 0; i < 200; i++) stats.push(rtp(65_500 + i, i * 3600), i * 40);
    expect(stats.packets).to.equal(200);
    expect(stats.bytes).to.equal(200 * 112);
    expect(stats.lost).to.equal(0);
    // Packets arrive exactly at their timestamps' pace: no jitter.
    expect(stats.jitterMs).to.equal(0);
  });

  it('loss is expected minus received: gaps count, reordering and late packets do not', () => {
    const stats = new RtpReceptionStats();
    const order = [0, 1, 2, 4, 3, 5, 8, 9, 10]; // 6 and 7 never arrive; 3 arrives late
    order.forEach((seq, i) => stats.push(rtp(seq, seq * 3600), i * 40));
    expect(stats.lost).to.equal(2);
  });

  it('duplicates count as received (RFC 3550 A.3): they can hide a loss, and never make the loss negative', () => {
    const stats = new RtpReceptionStats();
    for (const seq of [0, 1, 1, 1, 2]) stats.push(rtp(seq, seq * 3600), seq * 40);
    expect(stats.lost).to.equal(0);
    const hidden = new RtpReceptionStats();
    for (const seq of [0, 1, 1, 3, 4]) hidden.push(rtp(seq, seq * 3600), seq * 40);
    expect(hidden.lost, 'expected 5, received 5 (one a duplicate)').to.equal(0);
  });

  it('a camera that keeps its SSRC but starts its sequence anew (a reconnect) adds no phantom loss', () => {
    const stats = new RtpReceptionStats();
    for (let seq = 40_000; seq < 40_100; seq++) stats.push(rtp(seq, seq * 3600), seq);
    // Back to a low sequence number: more than MAX_MISORDER behind, so a restarted source.
    for (let seq = 10; seq < 60; seq++) stats.push(rtp(seq, seq * 3600), 50_000 + seq);
    expect(stats.lost).to.equal(0);
    // Far ahead (beyond MAX_DROPOUT): restarted too, and one real gap after it still counts.
    for (const seq of [20_000, 20_001, 20_003]) stats.push(rtp(seq, seq * 3600), 60_000 + seq);
    expect(stats.lost).to.equal(1);
    expect(stats.packets).to.equal(153);
  });

  it('restart() (a new run) starts a new count and keeps the loss counted so far', () => {
    const stats = new RtpReceptionStats();
    for (const seq of [1, 2, 4]) stats.push(rtp(seq, seq * 3600), seq * 40);
    stats.restart();
    for (const seq of [1, 2, 3]) stats.push(rtp(seq, seq * 3600), 1000 + seq * 40);
    expect(stats.lost).to.equal(1);
    expect(stats.packets).to.equal(6);
  });

  it('jitter converges to the mean deviation of the transit time (alternating 0/20 ms late -> 20 ms)', () => {
    const stats = new RtpReceptionStats();
    for (let i = 0; i < 400; i++) stats.push(rtp(i, i * 3600), i * 40 + (i % 2) * 20);
    // Every step's |D| is 20 ms, so J converges to 20 ms.
    expect(stats.jitterMs).to.be.closeTo(20, 0.5);
  });

  it('a new SSRC (the camera reconnected) starts a new loss count and keeps the totals', () => {
    const stats = new RtpReceptionStats();
    for (const seq of [10, 11, 13]) stats.push(rtp(seq, seq * 3600, 1), seq * 40);
    for (const seq of [500, 503]) stats.push(rtp(seq, seq * 3600, 2), 1000 + seq);
    expect(stats.lost).to.equal(1 + 2);
    expect(stats.packets).to.equal(5);
  });
});
