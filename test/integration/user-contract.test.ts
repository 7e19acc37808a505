import { expect } from 'chai';
import { AppError } from '../../server/errors/AppError.ts';
import type { UserRepository } from '../../server/users/UserRepository.ts';
import type { NewUserRecord } from '../../server/users/UserRecord.ts';
import { EmbeddedUserRepository } from '../../server/store/embedded/EmbeddedUserRepository.ts';
import { MongoStore } from '../../server/store/mongo/MongoStore.ts';
import { buildUserUpdate } from '../../server/store/mongo/userQueries.ts';
import { hashPassword, setPasswordHashCostForTests, verifyPassword } from '../../server/auth/passwords.ts';
import { closingStore, contractSuite, mongoSkipReason } from '../support/contract.ts';

const user = (username: string): NewUserRecord => ({
  username,
  displayName: username,
  role: 'operator',
  areas: ['agency'],
  municipalities: [],
  disabled: false,
  passwordHash: 'scrypt$x',
});

const adapters = [
  { name: 'embedded (nedb)', open: () => EmbeddedUserRepository.open() },
  {
    name: 'mongo (mongoose)',
    skipReason: mongoSkipReason,
    open: async () => {
      const store = await MongoStore.open(process.env.MONGODB_URI!, { dbName: `c5_users_${process.pid}_${Date.now()}` });
      return closingStore(store.users, store);
    },
  },
];

contractSuite('user repository contract', adapters, (current) => {
  {
    let repo!: UserRepository;
    beforeEach(() => {
      repo = current();
    });

    it('inserts, finds, lists by username, refuses a duplicate username', async () => {
      const b = await repo.insert(user('bravo'));
      await repo.insert(user('alpha'));
      expect(b.rightsVersion).to.equal(1);
      expect((await repo.findById(b.id))?.username).to.equal('bravo');
      expect((await repo.findByUsername('alpha'))?.username).to.equal('alpha');
      expect(await repo.findById('nope')).to.equal(undefined);
      expect((await repo.list()).map((u) => u.username)).to.deep.equal(['alpha', 'bravo']);
      let error: unknown;
      try {
        await repo.insert(user('bravo'));
      } catch (caught) {
        error = caught;
      }
      expect((error as AppError).code).to.equal('conflict');
      expect(await repo.count()).to.equal(2);
    });

    it('updates and bumps the rights version only when rights change', async () => {
      const created = await repo.insert(user('carol'));
      const renamed = await repo.update(created.id, { displayName: 'Carol' }, false);
      expect(renamed?.rightsVersion).to.equal(1);
      const disabled = await repo.update(created.id, { disabled: true, role: 'supervisor' }, true);
      expect(disabled).to.include({ disabled: true, role: 'supervisor', rightsVersion: 2, displayName: 'Carol' });
      expect(await repo.update('nope', { disabled: true }, true)).to.equal(undefined);
    });
  }
});

describe('passwords and the mongo user update builder', () => {
  it('hashes with scrypt at the production cost and verifies only the right password', async () => {
    // The suite's root hooks lower the cost for the users tests create; this test wants the server's.
    setPasswordHashCostForTests(15);
    let hash: string;
    try {
      hash = await hashPassword('correct horse battery');
    } finally {
      setPasswordHashCostForTests(10);
    }
    expect(hash).to.match(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword('correct horse battery', hash)).to.equal(true);
    expect(await verifyPassword('correct horse batterY', hash)).to.equal(false);
    expect(await hashPassword('correct horse battery')).to.not.equal(hash);
  });

  it('builds $set and $inc', () => {
    const now = new Date(0);
    expect(buildUserUpdate({ role: 'admin', disabled: undefined }, true, now)).to.deep.equal({ $set: { updatedAt: now, role: 'admin' }, $inc: { rightsVersion: 1 } });
    expect(buildUserUpdate({ displayName: 'x' }, false, now)).to.deep.equal({ $set: { updatedAt: now, displayName: 'x' } });
  });
});
