/**
 * The dependency rules in .dependency-cruiser.cjs, each proven by a fixture that breaks it.
 *
 * test/fixtures/dependency-rules/<rule-name>/ is a small tree (server/, workers/, client/ …) in which
 *   - every file named bad*.ts breaks <rule-name> (the cruise must report it, and report it there), and
 *   - every file named ok*.ts is allowed (it must be cruised and not be reported by any rule),
 * cruised with the real configuration from the fixture folder (baseDir), so `^server/` and friends
 * mean the same there as in the repository. npm packages resolve up to the repository's node_modules.
 * A rule without a fixture, or a fixture for a rule that no longer exists, fails the suite; so does a
 * rule whose pattern stops matching (its fixture's bad files go unreported).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { cruise, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

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
const FIXTURE_NAMES = readdirSync(FIXTURES).filter((name) => statSync(path.join(FIXTURES, name)).isDirectory());

/** Files under `dir`, relative to it with forward slashes. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? filesUnder(dir, relative) : [relative];
  });
}
const isBad = (file: string): boolean => path.posix.basename(file).startsWith('bad');
const isOk = (file: string): boolean => path.posix.basename(file).startsWith('ok');
/** The files a violation is about: where it comes from and, for a cycle, every module in it. */
const involved = (violation: IViolation): string[] => [violation.from, ...(violation.cycle ?? []).map((step) => step.name)];
const describeViolation = (violation: IViolation): string =>
  `${violation.from} -> ${violation.cycle ? violation.cycle.map((step) => step.name).join(' -> ') : violation.to} (${violation.rule.name})`;

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
        const bad = files().filter(isBad);
        expect(bad, 'the fixture has bad* files').to.not.be.empty;
        const violations = result().summary.violations.filter((violation) => violation.rule.name === rule);
        expect(violations, `${rule} reports nothing in its fixture`).to.not.be.empty;
        for (const violation of violations) {
          expect(isBad(violation.from), `reported from a file not named bad*: ${describeViolation(violation)}`).to.equal(true);
        }
        const reported = new Set(violations.flatMap(involved));
        expect(bad.filter((file) => !reported.has(file)), 'bad* files not reported').to.deep.equal([]);
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

  it('finds @seald-io/nedb named only under server/store/embedded/ (createRequire(…)(…) is invisible to the cruise)', function () {
    const literal = /['"`]@seald-io\/nedb['"`]/;
    const offenders = ['server', 'workers']
      .flatMap((root) => filesUnder(path.join(ROOT, root)).map((file) => `${root}/${file}`))
      .filter((file) => /\.[cm]?[jt]s$/.test(file) && !file.startsWith('server/store/embedded/'))
      .filter((file) => literal.test(readFileSync(path.join(ROOT, file), 'utf8')));
    expect(offenders).to.deep.equal([]);
  });
});
