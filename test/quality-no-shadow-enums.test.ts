// Leyline owns every enum (the prototype's ADR-006). This test fails, naming file and line, when project code
// declares a TypeScript `enum`, or a string-literal union / `as const` string array whose members spell two or
// more values of one Leyline enum (case-insensitive, with or without the enum's common value prefix, `-` read as
// `_`). The zero value (UNKNOWN / UNSPECIFIED) does not count: "unknown" alone says nothing about which enum.
import test from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const SCANNED_DIRS = ['actors', 'policy', 'runtime', 'supervision', 'contracts', 'cli', 'bin', 'bench'];
const SCANNED_FILES = ['esper.config.ts'];
const EXCLUDED = [join('contracts', 'generated')];

interface LeylineEnum {
  name: string;
  prefix: string;
  /** Lower-case value names without the prefix, zero value excluded. */
  values: ReadonlySet<string>;
}

interface Finding {
  file: string;
  line: number;
  message: string;
}

function commonPrefix(names: readonly string[]): string {
  let prefix = names[0] ?? '';
  for (const name of names) while (!name.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const cut = prefix.lastIndexOf('_');
  return cut < 0 ? '' : prefix.slice(0, cut + 1);
}

function loadLeylineEnums(): LeylineEnum[] {
  const rootNs = protobuf.loadSync(join(root, 'contracts', 'leyline', 'leyline.proto'));
  const found: LeylineEnum[] = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const item of ns.nestedArray) {
      if (item instanceof protobuf.Enum) {
        const names = Object.keys(item.values);
        const prefix = commonPrefix(names);
        const values = new Set(
          names.filter((name) => item.values[name] !== 0).map((name) => name.slice(prefix.length).toLowerCase()),
        );
        found.push({ name: item.fullName.replace(/^\./, ''), prefix: prefix.toLowerCase(), values });
      } else if (item instanceof protobuf.Namespace) {
        walk(item);
      }
    }
  };
  walk(rootNs);
  return found;
}

/** Which Leyline enum (if any) the string members spell at least two values of. */
function shadowedEnum(
  members: readonly string[],
  enums: readonly LeylineEnum[],
): { name: string; matched: string[] } | null {
  for (const leylineEnum of enums) {
    const matched = new Set<string>();
    for (const member of members) {
      let key = member.toLowerCase().replace(/[-\s]/g, '_');
      if (leylineEnum.prefix && key.startsWith(leylineEnum.prefix)) key = key.slice(leylineEnum.prefix.length);
      if (leylineEnum.values.has(key)) matched.add(member);
    }
    if (matched.size >= 2) return { name: leylineEnum.name, matched: [...matched] };
  }
  return null;
}

function stringMembersOfUnion(node: ts.UnionTypeNode): string[] {
  return node.types.flatMap((member) =>
    ts.isLiteralTypeNode(member) && ts.isStringLiteral(member.literal) ? [member.literal.text] : [],
  );
}

function stringMembersOfConstArray(node: ts.AsExpression): string[] | null {
  if (!ts.isTypeReferenceNode(node.type) || node.type.typeName.getText() !== 'const') return null;
  let expression: ts.Expression = node.expression;
  while (ts.isParenthesizedExpression(expression)) expression = expression.expression;
  if (!ts.isArrayLiteralExpression(expression)) return null;
  return expression.elements.flatMap((element) =>
    ts.isStringLiteral(element) || ts.isNoSubstitutionTemplateLiteral(element) ? [element.text] : [],
  );
}

/** The detector itself: every shadow enum in one source text. */
function findEnumShadows(file: string, text: string, enums: readonly LeylineEnum[]): Finding[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const findings: Finding[] = [];
  const report = (node: ts.Node, message: string): void => {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    findings.push({ file, line: line + 1, message });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isEnumDeclaration(node)) {
      report(node, `declares TypeScript enum \`${node.name.text}\`: use a Leyline enum (or add one to leyline.proto)`);
    } else if (ts.isUnionTypeNode(node) || ts.isAsExpression(node)) {
      const members = ts.isUnionTypeNode(node) ? stringMembersOfUnion(node) : stringMembersOfConstArray(node);
      const shadow = members && members.length >= 2 ? shadowedEnum(members, enums) : null;
      if (shadow) {
        const kind = ts.isUnionTypeNode(node) ? 'string-literal union' : '`as const` string array';
        report(
          node,
          `${kind} ${shadow.matched.map((m) => `'${m}'`).join(', ')} shadows Leyline enum ${shadow.name}: use the enum`,
        );
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return findings;
}

function projectFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const rel = relative(root, path);
      if (entry === 'node_modules' || EXCLUDED.some((excluded) => rel === excluded || rel.startsWith(`${excluded}/`)))
        continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(m|c)?ts$/.test(entry)) files.push(path);
    }
  };
  for (const dir of SCANNED_DIRS) if (existsSync(join(root, dir))) walk(join(root, dir));
  for (const file of SCANNED_FILES) if (existsSync(join(root, file))) files.push(join(root, file));
  return files;
}

const enums = loadLeylineEnums();

test('the Leyline enums are loaded from the proto, with their value prefixes', (t) => {
  const stage = enums.find((e) => e.name === 'esper.leyline.v1.SeedLifecycleStage');
  t.is(stage?.prefix, 'seed_stage_');
  t.true(stage?.values.has('dormant'));
  t.false(stage?.values.has('unknown'), 'the zero value is not counted');
  t.truthy(
    enums.find((e) => e.name === 'esper.leyline.v1.ActorControl.Action'),
    'nested enums too',
  );
  t.true(enums.length >= 20);
});

test('self-test: the detector flags shadow enums', (t) => {
  const cases: Array<[string, RegExp]> = [
    ["type Stage = 'dormant' | 'training';", /SeedLifecycleStage/],
    ["type Stage = 'DORMANT' | 'Culled' | 'other';", /SeedLifecycleStage/],
    ["type Stage = 'SEED_STAGE_DORMANT' | 'SEED_STAGE_CULLED';", /SeedLifecycleStage/],
    ["let s: 'half-open' | 'open' | undefined;", /CircuitBreakerState/],
    ["function f(level: 'info' | 'critical') {}", /TelemetryLevel/],
    [
      "const LEVELS = ['warning', 'error'] as const;",
      /`as const` string array 'warning', 'error' shadows Leyline enum esper\.leyline\.v1\.TelemetryLevel/,
    ],
    ["const P = (['high', 'low']) as const;", /MessagePriority/],
    ['enum Color { Red, Green }', /declares TypeScript enum `Color`/],
    ["interface X { policy: 'permanent' | 'temporary' }", /RestartPolicy/],
  ];
  for (const [snippet, expected] of cases) {
    const findings = findEnumShadows('snippet.ts', snippet, enums);
    t.is(findings.length, 1, snippet);
    t.regex(findings[0]?.message ?? '', expected, snippet);
    t.is(findings[0]?.line, 1);
  }
  const multiLine = findEnumShadows(
    'x.ts',
    "const a = 1;\n\ntype T =\n  | 'g0_sanity'\n  | 'g1_gradient_health';\n",
    enums,
  );
  t.deepEqual(
    multiLine.map((f) => f.line),
    [4],
    'the line where the union starts',
  );
  t.regex(multiLine[0]?.message ?? '', /SeedLifecycleGate/);
});

test('self-test: the detector leaves unrelated unions and arrays alone', (t) => {
  const snippets = [
    "type Verdict = 'ok' | 'missing_signature' | 'stale_command';",
    "type Control = 'start' | 'wake';",
    "type Code = 'oversized' | 'malformed' | 'not_bytes';",
    "type OneMatch = 'dormant' | 'asleep';",
    "type ZeroValue = 'unknown' | 'closed';",
    "const NAMES = ['alpha', 'beta'] as const;",
    'const LEVELS = { info: 1, error: 2 } as const;',
    "const mixed = ['info', 'critical'];",
    'type N = 1 | 2 | 3;',
  ];
  for (const snippet of snippets) t.deepEqual(findEnumShadows('snippet.ts', snippet, enums), [], snippet);
});

test('no project code declares a TS enum or a union/array shadowing a Leyline enum', (t) => {
  const files = projectFiles();
  t.true(
    files.some((file) => file.endsWith(join('contracts', 'codec.ts'))),
    'the scan sees contracts/',
  );
  t.false(
    files.some((file) => file.includes(join('contracts', 'generated'))),
    'generated code is excluded',
  );
  const findings = files.flatMap((file) => findEnumShadows(relative(root, file), readFileSync(file, 'utf8'), enums));
  t.deepEqual(
    findings.map((f) => `${f.file}:${f.line}: ${f.message}`),
    [],
    'Leyline owns every enum (docs/contract-register.md)',
  );
});
