// Creates an administrator (the first one in production, where no demo account exists), with a
// generated password printed once. Usage: npm run create-admin -- <username> [display name]
import { randomBytes } from 'node:crypto';
import { loadConfig } from './config/loadConfig.ts';
import { createLogger } from './logging/createLogger.ts';
import { UserService } from './users/UserService.ts';
import { EmbeddedStore } from './store/embedded/EmbeddedStore.ts';
import { MongoStore } from './store/mongo/MongoStore.ts';

const [username, ...name] = process.argv.slice(2);
if (!username) {
  console.error('usage: npm run create-admin -- <username> [display name]');
  process.exit(2);
}
const config = loadConfig();
const logger = createLogger({ level: 'warn', pretty: false });
const store = config.catalog.mongodbUri ? await MongoStore.open(config.catalog.mongodbUri) : await EmbeddedStore.open(config.dataDir);
try {
  const users = await UserService.create(store.users, logger);
  const password = randomBytes(15).toString('base64url');
  await users.createUser({ username, displayName: name.join(' ') || username, role: 'admin', areas: ['agency', 'citizen'], municipalities: [], password });
  console.log(`Administrator "${username.toLowerCase()}" created. Password (shown once): ${password}`);
} catch (error) {
  console.error(`could not create the administrator: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await store.close();
}
