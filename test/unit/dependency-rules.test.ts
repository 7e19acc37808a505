/**
 * The dependency rules in .dependency-cruiser.cjs, each proven by a fixture that breaks it.
 *
 * test/fixtures/dependency-rules/<rule-name>/ is a small tree (server/, workers/, client/ …) in which
 *   - every file named bad*.ts breaks <rule-name> (the cruise must report it, and report it there), and
 *   - every file named ok*.ts is allowed (it must be cruised and not be reported by any rule),
 * cruised with the real configuration from the fixture folder (baseDir), so `^server/` and friends
 * mean the same there as in the repository. npm packages resolve up to the repository's node_modules.
 * A file that breaks the rule but cannot be named bad* (protocol-types-only concerns one path,
 * server/signalling/protocol.ts) is listed in the fixture's expected.json, with exactly the imports it
 * breaks the rule through: `{ "<file>": ["<target>", …] }`; its other imports are thereby proven allowed.
 * A rule without a fixture, or a fixture for a rule that no longer exists, fails the suite; so does a
 * rule whose pattern stops matching (its fixture's bad files go unreported).
 *
 * The cruise cannot see a package loaded through a require made by createRequire unless that require is
 * called `require` and given a literal; a scan of server/ and workers/ (scanCreateRequire, below) checks
 * that it is, in the real tree and, to prove it can fail, over a fixture of evasions.
 * Its own fixture, test/fixtures/dependency-rules/createRequire-scan/, is not a rule's.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { cruise, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONFIG_FILE = path.join(ROOT, '.dependency-cruiser.cjs');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'dependency-rules');
/** What `npm run deps` cruises. */
const CRUISED_ROOTS = ['server', 'workers', 'client'];

interface RuleConfig {
  name: string;
  comment?: string;
}
const config = createRequire(import.meta.url)(CONFIG_FILE) as { forbidden: RuleConfig[] };
const RULES = config.forbidden.map((rule) => rule.name);
/** The fixture of the createRequire scan (below), the one folder that is not a rule's. */
const SCAN_FIXTURE = 'createRequire-scan';
const FIXTURE_NAMES = readdirSync(FIXTURES).filter((name) => name !== SCAN_FIXTURE && statSync(path.join(FIXTURES, name)).isDirectory());

/** Files under `dir`, relative to it with forward slashes. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? filesUnder(dir, relative) : [relative];
  });
}
const isBad = (file: string): boolean => path.posix.basename(file).startsWith('bad');
const isOk = (file: string): boolean => path.posix.basename(file).startsWith('ok');
/** A fixture's expected.json: files not named bad* that break its rule, each with the targets it breaks it through. */
function listedOffenders(dir: string): Record<string, string[]> {
  const file = path.join(dir, 'expected.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string[]>) : {};
}
/** The files a violation is about: where it comes from and, for a cycle, every module in it. */
const involved = (violation: IViolation): string[] => [violation.from, ...(violation.cycle ?? []).map((step) => step.name)];
const describeViolation = (violation: IViolation): string =>
  `${violation.from} -> ${violation.cycle ? violation.cycle.map((step) => step.name).join(' -> ') : violation.to} (${violation.rule.name})`;

// ---- the createRequire scan -------------------------------------------------------------------------

/**
 * The only files of server/ and workers/ that may use createRequire: nedb is CommonJS with typings NodeNext
 * cannot construct (server/store/embedded/nedb.ts), and the toolchain reads mediasoup/package.json.
 */
const CREATE_REQUIRE_FILES = ['server/store/embedded/nedb.ts', 'server/toolchain.ts'];

interface Finding {
  file: string;
  line: number;
  why: string;
}
const describeFinding = (finding: Finding): string => `${finding.file}:${finding.line}: ${finding.why}`;

/** The source files of server/ and workers/ under `base`, relative to it. */
function scannedFiles(base: string): string[] {
  return ['server', 'workers']
    .filter((root) => existsSync(path.join(base, root)))
    .flatMap((root) => filesUnder(path.join(base, root)).map((file) => `${root}/${file}`))
    .filter((file) => /\.[cm]?[jt]s$/.test(file));
}

/** `const require = <call>`: the binding the cruise reads require('<literal>') calls through. */
function bindsRequire(call: ts.CallExpression): boolean {
  const declaration = call.parent;
  return (
    ts.isVariableDeclaration(declaration) &&
    declaration.initializer === call &&
    ts.isIdentifier(declaration.name) &&
    declaration.name.text === 'require' &&
    ts.isVariableDeclarationList(declaration.parent) &&
    (declaration.parent.flags & ts.NodeFlags.Const) !== 0
  );
}
/** `import { createRequire } from 'node:module'` (not renamed). */
const importsCreateRequire = (node: ts.Node): boolean =>
  ts.isImportSpecifier(node.parent) && node.parent.name === node && !node.parent.propertyName;
/** The callee of `const require = createRequire(…)`. */
const callsCreateRequireIntoRequire = (node: ts.Node): boolean =>
  ts.isCallExpression(node.parent) && node.parent.expression === node && bindsRequire(node.parent);
/** The name declared by `const require = createRequire(…)`. */
const declaresRequire = (node: ts.Node): boolean =>
  ts.isVariableDeclaration(node.parent) &&
  node.parent.name === node &&
  node.parent.initializer !== undefined &&
  ts.isCallExpression(node.parent.initializer) &&
  ts.isIdentifier(node.parent.initializer.expression) &&
  node.parent.initializer.expression.text === 'createRequire' &&
  bindsRequire(node.parent.initializer);
/** The callee of `require('<literal>')` (a string or a template without substitutions, as the cruise reads). */
const requiresLiteral = (node: ts.Node): boolean =>
  ts.isCallExpression(node.parent) &&
  node.parent.expression === node &&
  node.parent.arguments.length === 1 &&
  ts.isStringLiteralLike(node.parent.arguments[0]!);

/**
 * Uses of createRequire in server/ and workers/ under `base` that the cruise could miss: any use outside
 * CREATE_REQUIRE_FILES (an import, a call, `module.createRequire`, `m['createRequire']`), and in those files
 * anything but `import { createRequire }`, `const require = createRequire(…)` and `require('<literal>')`.
 * Comments and messages that merely mention it are not uses (the scan reads the syntax tree).
 */
function scanCreateRequire(base: string): Finding[] {
  return scannedFiles(base).flatMap((file) => {
    const source = ts.createSourceFile(file, readFileSync(path.join(base, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const allowed = CREATE_REQUIRE_FILES.includes(file);
    const findings: Finding[] = [];
    const report = (node: ts.Node, why: string): void => {
      findings.push({ file, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, why });
    };
    const visit = (node: ts.Node): void => {
      if ((ts.isIdentifier(node) || ts.isStringLiteralLike(node)) && node.text === 'createRequire') {
        if (!allowed) report(node, `createRequire outside ${CREATE_REQUIRE_FILES.join(' and ')}`);
        else if (!importsCreateRequire(node) && !callsCreateRequireIntoRequire(node)) {
          report(node, 'createRequire used other than as `const require = createRequire(…)`');
        }
      } else if (allowed && ts.isIdentifier(node) && node.text === 'require' && !declaresRequire(node) && !requiresLiteral(node)) {
        report(node, "require used other than as require('<literal>')");
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    return findings;
  });
}

let options: ICruiseOptions;
let tsConfig: ReturnType<typeof extractTSConfig>;

/** Cruises `roots` (those that exist) from `baseDir` with the real configuration, as `npm run deps` does. */
async function cruiseFrom(baseDir: string, roots: string[]): Promise<ICruiseResult> {
  const present = roots.filter((root) => statSync(path.join(baseDir, root), { throwIfNoEntry: false })?.isDirectory());
  const { output } = await cruise(present, { ...options, baseDir, outputType: 'json' }, {}, { tsConfig });
  return typeof output === 'string' ? (JSON.parse(output) as ICruiseResult) : output;
}

describe('dependency rules (.dependency-cruiser.cjs)', function () {
  const results = new Map<string, ICruiseResult>();

  before(async function () {
    options = await extractDepcruiseOptions(CONFIG_FILE);
    tsConfig = extractTSConfig(path.join(ROOT, 'tsconfig.json'));
    for (const fixture of FIXTURE_NAMES) {
      results.set(fixture, await cruiseFrom(path.join(FIXTURES, fixture), CRUISED_ROOTS));
    }
  });

  it('defines named rules, each with a comment', function () {
    expect(RULES).to.have.length.greaterThan(0);
    expect(new Set(RULES).size, 'rule names are unique').to.equal(RULES.length);
    for (const rule of config.forbidden) expect(rule.comment, rule.name).to.be.a('string').and.not.equal('');
  });

  it('has a fixture folder for every rule, and none for a rule that does not exist', function () {
    expect([...FIXTURE_NAMES].sort()).to.deep.equal([...RULES].sort());
  });

  for (const rule of RULES) {
    describe(rule, function () {
      const dir = path.join(FIXTURES, rule);
      const files = () => filesUnder(dir).filter((file) => CRUISED_ROOTS.some((root) => file.startsWith(`${root}/`)));
      const result = () => {
        const found = results.get(rule);
        if (!found) throw new Error(`no fixture folder test/fixtures/dependency-rules/${rule}/`);
        return found;
      };

      it('is broken by every bad* file of its fixture, and only by them', function () {
        const listed = listedOffenders(dir);
        expect(Object.keys(listed).filter((file) => !files().includes(file)), 'files in expected.json that the fixture lacks').to.deep.equal([]);
        const isOffender = (file: string): boolean => isBad(file) || Object.hasOwn(listed, file);
        const bad = files().filter(isOffender);
        expect(bad, 'the fixture has bad* files').to.not.be.empty;
        const violations = result().summary.violations.filter((violation) => violation.rule.name === rule);
        expect(violations, `${rule} reports nothing in its fixture`).to.not.be.empty;
        for (const violation of violations) {
          expect(isOffender(violation.from), `reported from a file not named bad*: ${describeViolation(violation)}`).to.equal(true);
        }
        const reported = new Set(violations.flatMap(involved));
        expect(bad.filter((file) => !reported.has(file)), 'bad* files not reported').to.deep.equal([]);
        for (const [file, targets] of Object.entries(listed)) {
          const through = violations.filter((violation) => violation.from === file).map((violation) => violation.to);
          expect(through.sort(), `the imports through which ${file} breaks ${rule}`).to.deep.equal([...targets].sort());
        }
      });

      it('does not report the ok* files of its fixture (under any rule)', function () {
        const ok = files().filter(isOk);
        expect(ok, 'the fixture has ok* files').to.not.be.empty;
        const cruised = new Set(result().modules.map((module) => module.source));
        expect(ok.filter((file) => !cruised.has(file)), 'ok* files not cruised').to.deep.equal([]);
        const wrong = result().summary.violations.filter((violation) => involved(violation).some(isOk));
        expect(wrong.map(describeViolation)).to.deep.equal([]);
      });
    });
  }

  it('finds no violation in the real tree (server, workers, client)', async function () {
    const result = await cruiseFrom(ROOT, CRUISED_ROOTS);
    expect(result.summary.totalCruised, 'modules cruised').to.be.greaterThan(50);
    expect(result.summary.violations.map(describeViolation)).to.deep.equal([]);
  });

  describe('createRequire (a require the cruise cannot see unless it is called `require` and given a literal)', function () {
    it(`is used only in ${CREATE_REQUIRE_FILES.join(' and ')}, as \`const require = createRequire(…)\` and require('<literal>')`, function () {
      expect(scanCreateRequire(ROOT).map(describeFinding)).to.deep.equal([]);
    });

    it('the scan reports every line of its fixture marked `// found`, and no other', function () {
      const dir = path.join(FIXTURES, SCAN_FIXTURE);
      const marked = scannedFiles(dir).flatMap((file) =>
        readFileSync(path.join(dir, file), 'utf8')
          .split('\n')
          .flatMap((line, index) => (/\/\/ found\s*$/.test(line) ? [`${file}:${index + 1}`] : [])),
      );
      // The two evasions the cruise misses, among the marked lines:
      expect(marked).to.include.members(['server/config/inline.ts:3', 'server/health/renamed.ts:3']);
      const found = new Set(scanCreateRequire(dir).map((finding) => `${finding.file}:${finding.line}`));
      expect([...found].sort()).to.deep.equal([...new Set(marked)].sort());
    });
  });
});
