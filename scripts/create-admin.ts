// Creates an administrator (the first one in production, where no demo account exists), with a
// generated password printed once. Usage: npm run create-admin -- <username> [display name]
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig } from '../server/config/loadConfig.ts';
import { createLogger } from '../server/logging/createLogger.ts';
import { UserService } from '../server/auth/UserService.ts';
import { EmbeddedUserRepository } from '../server/catalog/embedded/EmbeddedUserRepository.ts';
import { MongoUserRepository } from '../server/catalog/mongo/MongoUserRepository.ts';

const [username, ...name] = process.argv.slice(2);
if (!username) {
  console.error('usage: npm run create-admin -- <username> [display name]');
  process.exit(2);
}
const config = loadConfig();
const logger = createLogger({ level: 'warn', pretty: false });
const repository = config.catalog.mongodbUri
  ? await MongoUserRepository.connect(config.catalog.mongodbUri)
  : await EmbeddedUserRepository.open(join(config.dataDir, 'catalog', 'users.db'));
try {
  const users = await UserService.create(repository, logger);
  const password = randomBytes(15).toString('base64url');
  await users.createUser({ username, displayName: name.join(' ') || username, role: 'admin', areas: ['agency', 'citizen'], municipalities: [], password });
  console.log(`Administrator "${username.toLowerCase()}" created. Password (shown once): ${password}`);
} catch (error) {
  console.error(`could not create the administrator: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await repository.close();
}
