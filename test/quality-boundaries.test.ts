// The walls between subsystems. A subsystem (actors/<X>/) is used from outside only through its index.ts, and the
// shared folders under them (contracts, runtime, supervision, policy, blueprints, tensor, surface, charts) never reach up
// into actors/. This test parses every project source file with the TypeScript API, collects what it depends on —
// static imports, `export … from`, dynamic `import('…')`, `import('…')` types, and `new URL('…', import.meta.url)`
// (worker entry points) — and fails naming `file:line` and the specifier of each crossing. Tests (test/) may import
// internals: they are unit tests.
import test from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const SCANNED_DIRS = [
  'actors',
  'policy',
  'runtime',
  'supervision',
  'contracts',
  'blueprints',
  'tensor',
  'surface',
  'charts',
  'cli',
  'bin',
  'bench',
  'experiments',
];
const SCANNED_FILES = ['esper.config.ts'];
const EXCLUDED = ['contracts/generated'];

/** Folders every subsystem may use, which must therefore not depend on any subsystem. */
const SHARED_FOLDERS = ['policy', 'runtime', 'supervision', 'contracts', 'blueprints', 'tensor', 'surface', 'charts'];
/**
 * runtime/ is the actor kernel: it knows nothing of models or tensors. This holds today (the tfjs backend, ops and
 * WASM kernels moved to tensor/), so it is enforced.
 */
const RUNTIME_MUST_NOT_IMPORT = ['policy', 'blueprints', 'tensor', 'surface', 'charts'];

/**
 * Benchmarks that measure a subsystem's internals, and may therefore import them: `<importing file> -> <imported
 * file>` (both relative to the root) → why. Nothing else outside actors/ reaches past an index.
 */
const ALLOWED_INTERNAL_IMPORTS: ReadonlyMap<string, string> = new Map([
  ['bench/seeds.bench.ts -> actors/kasmina/seed-actor.ts', 'control_overhead times the seed actors themselves'],
  ['bench/seeds.bench.ts -> actors/kasmina/lifecycle.ts', 'the seed actors it times are built on this lifecycle'],
  [
    'bench/seeds.bench.ts -> actors/tolaria/trainer/training-run.ts',
    'throughput times the training run with seeds grafted',
  ],
  ['bench/train.bench.ts -> actors/tolaria/training/epoch.ts', 'mlp / cnn time trainStep, Tolaria’s training step'],
  ['bench/train.bench.ts -> actors/tolaria/host/host-model.ts', 'the host model the timed step trains'],
  ['bench/train.bench.ts -> actors/tolaria/optim/grouped-optimizer.ts', 'the optimizer inside the timed step'],
  ['bench/train.bench.ts -> actors/tolaria/parallel/replica-set.ts', 'the n2 lines time the step on two replicas'],
  ['bench/train.bench.ts -> actors/tolaria/trainer/control-hook.ts', 'hook times the end-of-epoch control hook'],
  [
    'bench/train.bench.ts -> actors/tolaria/training/system-state.ts',
    'the SystemStatePacket assembly inside the timed hook',
  ],
  [
    'bench/simic.bench.ts -> actors/simic/ppo.ts',
    'the baseline recomputes the PPO update one graph at a time (jointLogProb, clipByGlobalNorm)',
  ],
]);

interface Dependency {
  line: number;
  specifier: string;
  kind: 'import' | 'export' | 'dynamic import' | 'import type' | 'worker URL';
}

interface Finding {
  file: string;
  line: number;
  specifier: string;
  rule: string;
}

/** Every module specifier one source text depends on, with the line it is written on. */
function dependenciesOf(file: string, text: string): Dependency[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Dependency[] = [];
  const add = (node: ts.Node, literal: ts.Expression | undefined, kind: Dependency['kind']): void => {
    if (!literal || !(ts.isStringLiteral(literal) || ts.isNoSubstitutionTemplateLiteral(literal))) return;
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    found.push({ line: line + 1, specifier: literal.text, kind });
  };
  const isImportMetaUrl = (node: ts.Expression | undefined): boolean =>
    node !== undefined &&
    ts.isPropertyAccessExpression(node) &&
    node.name.text === 'url' &&
    ts.isMetaProperty(node.expression) &&
    node.expression.keywordToken === ts.SyntaxKind.ImportKeyword;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier, 'import');
    else if (ts.isExportDeclaration(node)) add(node, node.moduleSpecifier, 'export');
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, 'import');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0], 'dynamic import');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal, 'import type');
    } else if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'URL' &&
      isImportMetaUrl(node.arguments?.[1])
    ) {
      add(node, node.arguments?.[0], 'worker URL');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** A path relative to the repository root, with `/` separators. */
const posix = (path: string): string => path.split(sep).join('/');

/** The repository file a relative specifier names (relative to the root), or null for a package or builtin. */
function resolveSpecifier(file: string, specifier: string): string | null {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return null;
  return posix(normalize(join(dirname(file), specifier)));
}

const topFolder = (path: string): string => path.split('/')[0] ?? '';

/** `actors/<X>/…` → X; null outside actors/. */
const subsystemOf = (path: string): string | null => {
  const parts = path.split('/');
  return parts[0] === 'actors' && parts.length > 2 ? (parts[1] ?? null) : null;
};

/** Whether the path is the public surface of its subsystem: `actors/<X>/index.ts` exactly. */
const isSubsystemIndex = (path: string): boolean => /^actors\/[^/]+\/index\.ts$/.test(path);

/** Which rule (if any) the dependency of `file` on `target` breaks; both relative to the root. */
function brokenRule(file: string, target: string): string | null {
  const from = subsystemOf(file);
  const to = subsystemOf(target);
  const folder = topFolder(file);
  if (from !== null) {
    if (to !== null && to !== from && !isSubsystemIndex(target)) {
      return `actors/${from} uses actors/${to} past its index.ts (import actors/${to}/index.ts)`;
    }
    return null;
  }
  if (SHARED_FOLDERS.includes(folder)) {
    if (topFolder(target) === 'actors') return `shared folder ${folder}/ depends on a subsystem (actors/)`;
    if (folder === 'runtime' && RUNTIME_MUST_NOT_IMPORT.includes(topFolder(target))) {
      return `runtime/ (the actor kernel) depends on ${topFolder(target)}/`;
    }
    return null;
  }
  if (to !== null && !isSubsystemIndex(target) && !ALLOWED_INTERNAL_IMPORTS.has(`${file} -> ${target}`)) {
    return `code outside actors/ uses actors/${to} past its index.ts (import actors/${to}/index.ts)`;
  }
  return null;
}

/** The checker itself: every boundary crossing in one source text (`file` relative to the root). */
function findCrossings(file: string, text: string): Finding[] {
  return dependenciesOf(file, text).flatMap((dependency) => {
    const target = resolveSpecifier(file, dependency.specifier);
    const rule = target === null ? null : brokenRule(file, target);
    return rule === null
      ? []
      : [{ file, line: dependency.line, specifier: dependency.specifier, rule: `${dependency.kind}: ${rule}` }];
  });
}

function projectFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const rel = posix(relative(root, path));
      if (entry === 'node_modules' || EXCLUDED.some((excluded) => rel === excluded || rel.startsWith(`${excluded}/`)))
        continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(m|c)?ts$/.test(entry)) files.push(rel);
    }
  };
  for (const dir of SCANNED_DIRS) if (existsSync(join(root, dir))) walk(join(root, dir));
  for (const file of SCANNED_FILES) if (existsSync(join(root, file))) files.push(file);
  return files;
}

const describe = (finding: Finding): string =>
  `${finding.file}:${finding.line}: '${finding.specifier}' — ${finding.rule}`;

test('self-test: the checker finds every kind of dependency, on its line', (t) => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from '../b/index.ts';",
    "export { c } from './c.ts';",
    "const d = await import('./d.ts');",
    "let e: import('./e.ts').E;",
    "const worker = new URL('./worker.ts', import.meta.url);",
    "const page = new URL('https://example.com/x');",
    "import ts from 'typescript';",
  ].join('\n');
  t.deepEqual(
    dependenciesOf('actors/x/file.ts', text).map((d) => `${d.line} ${d.kind} ${d.specifier}`),
    [
      '1 import ./a.ts',
      '2 import ../b/index.ts',
      '3 export ./c.ts',
      '4 dynamic import ./d.ts',
      '5 import type ./e.ts',
      '6 worker URL ./worker.ts',
      '8 import typescript',
    ],
  );
});

test('self-test: the checker flags imports that cross a wall', (t) => {
  const cases: Array<[file: string, text: string, rule: RegExp]> = [
    [
      'actors/weatherlight/w.ts',
      "import { x } from '../tolaria/trainer/settings.ts';",
      /actors\/weatherlight uses actors\/tolaria past its index/,
    ],
    [
      'actors/simic/s.ts',
      "\n\nexport { y } from '../tamiyo/field-report-log.ts';",
      /export: actors\/simic uses actors\/tamiyo/,
    ],
    ['actors/kasmina/k.ts', "const m = await import('../urza/library.ts');", /dynamic import/],
    [
      'actors/weatherlight/w.ts',
      "new URL('../tezzeret/worker.ts', import.meta.url);",
      /worker URL: actors\/weatherlight uses actors\/tezzeret/,
    ],
    ['actors/tolaria/t.ts', "import { z } from '../tamiyo/sub/index.ts';", /past its index/],
    ['runtime/r.ts', "import { s } from '../actors/oona/index.ts';", /shared folder runtime\/ depends on a subsystem/],
    ['surface/s.ts', "import type { T } from '../actors/tolaria/state.ts';", /shared folder surface\//],
    ['runtime/r.ts', "import { o } from '../tensor/ops.ts';", /runtime\/ \(the actor kernel\) depends on tensor\//],
    ['runtime/r.ts', "import { p } from '../policy/index.ts';", /depends on policy\//],
    [
      'cli/c.ts',
      "import { l } from '../actors/urza/library.ts';",
      /code outside actors\/ uses actors\/urza past its index/,
    ],
    ['bench/b.bench.ts', "import { l } from '../actors/tolaria/data/index.ts';", /outside actors/],
    ['esper.config.ts', "import type { S } from './actors/tezzeret/settings.ts';", /outside actors/],
  ];
  for (const [file, text, rule] of cases) {
    const findings = findCrossings(file, text);
    t.is(findings.length, 1, `${file}: ${text}`);
    t.regex(findings[0]?.rule ?? '', rule, text);
  }
  const [late] = findCrossings('actors/simic/s.ts', "\n\nexport { y } from '../tamiyo/field-report-log.ts';");
  t.is(late?.line, 3, 'the line the import is written on');
  t.is(late?.specifier, '../tamiyo/field-report-log.ts');
});

test('self-test: the checker lets allowed imports through', (t) => {
  const cases: Array<[file: string, text: string]> = [
    ['actors/weatherlight/w.ts', "import { x } from '../tolaria/index.ts';"],
    ['actors/tolaria/trainer/t.ts', "import { x } from '../data/types.ts';"],
    ['actors/tolaria/t.ts', "import { x } from './trainer/settings.ts';"],
    ['actors/karn/k.ts', "import { x } from '../../runtime/logic.ts';"],
    ['runtime/r.ts', "import { x } from '../contracts/index.ts';"],
    ['surface/s.ts', "import { x } from '../tensor/index.ts';"],
    ['cli/c.ts', "import { x } from '../actors/urza/index.ts';"],
    ['cli/c.ts', "import { x } from '../runtime/system.ts';"],
    ['bench/train.bench.ts', "import { trainStep } from '../actors/tolaria/training/epoch.ts';"],
    ['esper.config.ts', "import type { S } from './cli/config.ts';"],
    ['actors/tezzeret/t.ts', "new URL('./worker.ts', import.meta.url);"],
    ['actors/tezzeret/t.ts', "import ts from 'typescript'; import { x } from 'node:fs';"],
  ];
  for (const [file, text] of cases) t.deepEqual(findCrossings(file, text).map(describe), [], `${file}: ${text}`);
});

test('every allow-listed internal import still exists (a stale entry would hide nothing and mislead)', (t) => {
  const stale = [...ALLOWED_INTERNAL_IMPORTS].filter(([entry]) => {
    const [file = '', target = ''] = entry.split(' -> ');
    if (!existsSync(join(root, file))) return true;
    return !dependenciesOf(file, readFileSync(join(root, file), 'utf8')).some(
      (dependency) => resolveSpecifier(file, dependency.specifier) === target,
    );
  });
  t.deepEqual(
    stale.map(([entry, reason]) => `${entry} (${reason})`),
    [],
  );
});

test('no subsystem is used past its index.ts, and no shared folder depends on a subsystem', (t) => {
  const files = projectFiles();
  t.true(files.includes('actors/urza/library.ts'), 'the scan sees actors/');
  t.true(files.includes('esper.config.ts'), 'and esper.config.ts');
  t.false(
    files.some((file) => file.startsWith('contracts/generated/')),
    'generated code is excluded',
  );
  const findings = files.flatMap((file) => findCrossings(file, readFileSync(join(root, file), 'utf8')));
  t.deepEqual(findings.map(describe), [], 'a subsystem is used only through its index.ts (docs/architecture.md)');
});
