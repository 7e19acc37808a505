import { expect } from 'chai';
import { CameraLoginGuard } from '../../server/cameras/CameraLoginGuard.ts';

describe('camera login guard', () => {
  let now = 1_000_000;
  const clock = () => now;
  const key = CameraLoginGuard.credentialKey('admin', 'secret');
  const otherKey = CameraLoginGuard.credentialKey('admin', 'new-secret');

  it('holds a refused login for a doubling backoff, capped', () => {
    const guard = new CameraLoginGuard({ authBackoffMs: 1000, authBackoffMaxMs: 5000 }, clock);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const refusal = guard.refused('cam-1', key, 'unauthorized', '401 at DESCRIBE');
      waits.push(refusal.retryAt - now);
      expect(guard.refusal('cam-1', key)?.code).to.equal('unauthorized');
      now = refusal.retryAt;
      expect(guard.refusal('cam-1', key)).to.equal(undefined);
    }
    expect(waits).to.deep.equal([1000, 2000, 4000, 5000, 5000]);
    expect(guard.refusedBefore('cam-1', key)).to.equal(true);
    guard.accepted('cam-1');
    expect(guard.refusedBefore('cam-1', key)).to.equal(false);
    expect(guard.size).to.equal(0);
  });

  it('lifts a credential refusal when the credentials change, not a busy one', () => {
    const guard = new CameraLoginGuard({ authBackoffMs: 60_000, authBackoffMaxMs: 600_000 }, clock);
    guard.refused('cam-2', key, 'locked_out', '403 after 401');
    expect(guard.refusal('cam-2', key)?.code).to.equal('locked_out');
    expect(guard.refusal('cam-2', otherKey)).to.equal(undefined);
    expect(guard.refusedBefore('cam-2', otherKey)).to.equal(false);
    guard.refused('cam-3', key, 'busy', '453', 30_000);
    expect(guard.refusal('cam-3', otherKey)?.retryAt).to.equal(now + 30_000);
    now += 30_000;
    expect(guard.refusal('cam-3', key)).to.equal(undefined);
  });

  it('a new password starts its own count; the key is a digest, not the password', () => {
    const guard = new CameraLoginGuard({ authBackoffMs: 1000, authBackoffMaxMs: 100_000 }, clock);
    guard.refused('cam-4', key, 'unauthorized', 'x');
    guard.refused('cam-4', key, 'unauthorized', 'x');
    expect(guard.refused('cam-4', otherKey, 'unauthorized', 'x').retryAt - now).to.equal(1000);
    expect(key).not.to.include('secret');
    expect(CameraLoginGuard.credentialKey('a', 'b:c')).not.to.equal(CameraLoginGuard.credentialKey('a:b', 'c'));
  });

  it('busy with new credentials does not inherit the old refusals', () => {
    const guard = new CameraLoginGuard({ authBackoffMs: 1000, authBackoffMaxMs: 100_000 }, clock);
    guard.refused('cam-5', key, 'unauthorized', 'x');
    guard.refused('cam-5', key, 'unauthorized', 'x');
    guard.refused('cam-5', otherKey, 'busy', '453', 5000);
    expect(guard.refusedBefore('cam-5', otherKey)).to.equal(false);
    now += 5000;
    expect(guard.refused('cam-5', otherKey, 'unauthorized', 'x').retryAt - now).to.equal(1000);
  });

  it('one contact at a time per camera: concurrent callers share the outcome', async () => {
    const guard = new CameraLoginGuard({ authBackoffMs: 1000, authBackoffMaxMs: 100_000 }, clock);
    let contacts = 0;
    const contact = async () => {
      contacts++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return contacts;
    };
    const results = await Promise.all([guard.once('cam-6', key, contact), guard.once('cam-6', key, contact), guard.once('cam-7', key, contact)]);
    expect(contacts).to.equal(2);
    expect(results[0]).to.equal(results[1]);
    await guard.once('cam-6', key, contact);
    expect(contacts).to.equal(3);
  });
});
