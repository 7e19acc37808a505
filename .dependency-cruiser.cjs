/**
 * Dependency rules for C5 Live, checked by dependency-cruiser (`npm run deps`, part of `npm test`).
 *
 * Paths are relative to the folder the cruise runs from (the repository root; the tests in
 * test/unit/dependency-rules.test.ts run the same rules from each folder under
 * test/fixtures/dependency-rules/, one per rule, each a small tree that breaks its rule).
 * npm packages are matched as `(^|/)node_modules/<name>/` so that a package resolved from a
 * fixture folder (`../../../../node_modules/<name>/...`) matches as it does from the root.
 *
 * Type-only imports count (tsPreCompilationDeps: true): a layer that names another layer's
 * types depends on it all the same.
 *
 * Every forbidden rule needs a fixture folder named after it; the test fails otherwise. (The one other folder
 * there, createRequire-scan/, belongs to the test's scan for requires made with createRequire, which the cruise
 * sees only as `const require = createRequire(…)` called with a literal.)
 */
const path = require('node:path');

/** `(^|/)node_modules/(a|b)/`: the resolved path of an npm package, from any folder. */
const npm = (...names) => `(^|/)node_modules/(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})/`;

const STORAGE_DRIVERS = npm('mongoose', 'mongodb', '@seald-io/nedb');
const MEDIASOUP = npm('mediasoup'); // not mediasoup-client: the trailing slash ends the name
/** REST shapes the browser may import as types only (client-rest-types-only). */
const CLIENT_REST_TYPES = '^server/enrolment/(enrolmentSchemas|EnrolmentRecord)\\.ts$|^server/catalog/CameraRecord\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'workers-not-server',
      comment:
        'workers/ is the lower layer (ingest, ffmpeg, probing) and must not reach up into server/. ' +
        'What both sides share (TypedEmitter, redact, shared unions) lives in workers/common/.',
      severity: 'error',
      from: { path: '^workers/' },
      to: { path: '^server/' },
    },
    {
      name: 'shipped-not-scripts',
      comment:
        'server/ and workers/ ship (compiled to dist/); scripts/ holds tooling, benches and the demo and does not. ' +
        'Move what the shipped code needs into server/ (or workers/common/) instead of importing scripts/.',
      severity: 'error',
      from: { path: '^(server|workers)/' },
      to: { path: '^scripts/' },
    },
    {
      name: 'shipped-not-client',
      comment:
        'client/ is the browser console; the server only serves its build output. ' +
        'server/ and workers/ (which ship in dist/) must not import client/ code (the build step belongs in scripts/ or the build script).',
      severity: 'error',
      from: { path: '^(server|workers)/' },
      to: { path: '^client/' },
    },
    {
      name: 'client-only-protocol',
      comment:
        'The browser console may import from the server only the wire protocol, server/signalling/protocol.ts ' +
        '(types and zod schemas), the citizen program\'s REST shapes and their vocabulary (types only: see ' +
        'client-rest-types-only), and nothing from workers/ or scripts/: everything else is server-side code.',
      severity: 'error',
      from: { path: '^client/' },
      to: { path: '^(server|workers|scripts)/', pathNot: `^server/signalling/protocol\\.ts$|${CLIENT_REST_TYPES}` },
    },
    {
      name: 'client-rest-types-only',
      comment:
        'The console and the public enrolment page take the REST shapes of the citizen program ' +
        '(server/enrolment/enrolmentSchemas.ts, EnrolmentRecord.ts, server/catalog/CameraRecord.ts) as types only ' +
        '(`import type`, erased at build): their values would bring zod and server code into the browser. A value the ' +
        'page needs (the categories) is declared client-side and checked against the type at compile time.',
      severity: 'error',
      from: { path: '^client/' },
      to: { path: CLIENT_REST_TYPES, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'protocol-types-only',
      comment:
        'server/signalling/protocol.ts is the one server file the console imports, so whatever it imports as a value ' +
        'from server/, workers/, scripts/ or client/ is bundled into the browser. Its imports from those folders are ' +
        'type-only (`import type`, erased at build); a value it needs (e.g. the camera areas for a zod schema) is ' +
        'declared in protocol.ts itself and checked against the domain type at compile time.',
      severity: 'error',
      from: { path: '^server/signalling/protocol\\.ts$' },
      to: { path: '^(server|workers|scripts|client)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'mediasoup-only-in-media',
      comment:
        'Only server/media/ talks to mediasoup (workers, routers, transports); the rest of the server ' +
        'and workers/ go through its interfaces. mediasoup-client (browser side, and protocol.ts types) is not concerned; ' +
        'scripts/ and test/ are free to use mediasoup. Reading its manifest (mediasoup/package.json, for the version) ' +
        'loads no mediasoup code and is allowed.',
      severity: 'error',
      from: { path: '^(server|workers)/', pathNot: '^server/media/' },
      to: { path: MEDIASOUP, pathNot: '(^|/)node_modules/mediasoup/package\\.json$' },
    },
    {
      name: 'storage-drivers-only-in-store',
      comment:
        'Only the storage adapters (server/store/embedded/, server/store/mongo/) import the database drivers ' +
        'mongoose, mongodb and @seald-io/nedb; everything else goes through the repositories. ' +
        '(nedb is loaded with createRequire in server/store/embedded/nedb.ts, as `const require = createRequire(…)` and ' +
        "`require('<literal>')`, which the cruise sees; the rules test checks that createRequire is used that way and nowhere else.)",
      severity: 'error',
      from: { path: '^(server|workers)/', pathNot: '^server/store/(embedded|mongo)/' },
      to: { path: STORAGE_DRIVERS },
    },
    {
      name: 'http-signalling-no-media-or-store',
      comment:
        'The HTTP and signalling edges know neither the media plane nor storage: they import neither ' +
        'server/media/ nor server/store/ nor mediasoup or the database drivers, not even for types. ' +
        'What they need is declared as ports (e.g. server/signalling/ports.ts) and wired by the composition root.',
      severity: 'error',
      from: { path: '^server/(http|signalling)/' },
      to: { path: [`^server/(media|store)/`, MEDIASOUP, STORAGE_DRIVERS] },
    },
    {
      name: 'no-circular',
      comment:
        'No import cycles in server/, workers/ or client/ (type-only imports included): ' +
        'a cycle means two modules are one; split out what they share or invert one edge with a port.',
      severity: 'error',
      from: { path: '^(server|workers|client)/' },
      to: { circular: true },
    },
    {
      name: 'server-uses-workers-public-interface',
      comment:
        "server/ may import only workers/' public interface: the top-level files workers/*.ts and workers/common/**. " +
        'Any other subfolder of workers/ (e.g. workers/relay/internal/x.ts) is internal to workers; export what the server needs from a top-level file.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^workers/[^/]+/', pathNot: '^workers/common/' },
    },
    {
      name: 'not-to-dev-dep',
      comment:
        'server/ and workers/ ship; a package they import at runtime must be in "dependencies", not only in "devDependencies" ' +
        '(npm ci --omit=dev would leave it out). Type-only imports (and @types packages) are fine: they do not exist at runtime.',
      severity: 'error',
      from: { path: '^(server|workers)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: '(^|/)node_modules/@types/' },
    },
    {
      name: 'not-to-unlisted',
      comment:
        'A package imported from server/, workers/ or client/ must be declared in package.json. One that is only ' +
        'installed as some other package\'s dependency (picocolors, js-yaml, bson …) can disappear or change major ' +
        'version with any update of that package. npm-no-pkg: not in package.json; npm-unknown: no package.json found. ' +
        'Type-only imports count too (the typecheck breaks just the same).',
      severity: 'error',
      from: { path: '^(server|workers|client)/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no-unresolvable',
      comment:
        'Every import in server/, workers/ and client/ must resolve to a file or an installed package ' +
        '(a typo, a missing .ts file or a package missing from package.json).',
      severity: 'error',
      from: { path: '^(server|workers|client)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // node_modules is not followed, but NOT excluded: `exclude` also drops the dependencies on what it
    // matches, so excluding node_modules would hide every npm import from the package rules.
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^test/fixtures/', '^dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: path.join(__dirname, 'tsconfig.json') },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
