// The repository explains itself. This test fails, naming file and line, when a text file of the project points to
// documents outside it (the prototype's design notes and references, which a clone does not have), and when a link
// to a section of a Markdown file (`docs/architecture.md#persistence`, `../README.md#tests`, `#heading`) names a file
// or a heading that does not exist — so citations stay true as headings change.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SCANNED = /\.(ts|md|proto|mjs|js|json)$/;
const SKIPPED_FILES = new Set(['package-lock.json']);
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'var']);

/** What may not appear: paths and section marks of documents that live outside the repository. */
const OUTSIDE: ReadonlyArray<{ name: string; pattern: RegExp }> = [
  { name: 'a path into the shared notes', pattern: /\.\.\/shared\b/ },
  { name: 'a path into the shared references', pattern: /shared\/reference\b/ },
  { name: 'a DESIGN section', pattern: /DESIGN\s+§/ },
  { name: 'the design document', pattern: /DESIGN\.md/ },
  { name: 'a numbered reference section', pattern: /reference \d{2} §/i },
];

interface Finding {
  file: string;
  line: number;
  problem: string;
}

/** Project text files: tracked, or new and not ignored (git), else every file outside the skipped folders. */
function projectFiles(): string[] {
  let listed: string[];
  try {
    listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
      cwd: root,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((file) => file !== '');
  } catch {
    listed = walk(root).map((path) => relative(root, path));
  }
  return listed
    .filter((file) => SCANNED.test(file) && !SKIPPED_FILES.has(file.split('/').at(-1) ?? ''))
    .filter((file) => !file.split('/').some((part) => SKIPPED_DIRS.has(part)))
    .filter((file) => existsSync(join(root, file)) && statSync(join(root, file)).isFile())
    .sort();
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED_DIRS.has(entry.name)) return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}

/** Every line of `text` that points outside the repository. */
function outsideReferences(file: string, text: string): Finding[] {
  const findings: Finding[] = [];
  text.split('\n').forEach((line, i) => {
    for (const { name, pattern } of OUTSIDE) {
      if (pattern.test(line))
        findings.push({ file, line: i + 1, problem: `points outside the repository (${name}): ${line.trim()}` });
    }
  });
  return findings;
}

/** The anchors GitHub gives a Markdown file's headings (fenced code skipped; repeated headings get -1, -2, …). */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = (heading[1] ?? '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Links to a section of a Markdown file, `<path>.md#<anchor>`, and in Markdown also `](#<anchor>)`. */
function sectionLinks(file: string, text: string): Array<{ line: number; target: string; anchor: string }> {
  const links: Array<{ line: number; target: string; anchor: string }> = [];
  text.split('\n').forEach((line, i) => {
    for (const match of line.matchAll(/(?<![\w/.:-])((?:\.{1,2}\/)*(?:[\w.-]+\/)*[\w.-]+\.md)#([\p{L}\p{N}_-]+)/gu)) {
      links.push({ line: i + 1, target: match[1] ?? '', anchor: match[2] ?? '' });
    }
    if (file.endsWith('.md')) {
      for (const match of line.matchAll(/\]\(#([\p{L}\p{N}_-]+)\)/gu))
        links.push({ line: i + 1, target: '', anchor: match[1] ?? '' });
    }
  });
  return links;
}

/**
 * Section links of `text` (in `file`) whose file or heading is missing. A target is looked up beside the file first,
 * then from the repository's root (comments cite root-relative paths); an empty target is the file itself.
 */
function brokenSectionLinks(file: string, text: string, read: (path: string) => string | null): Finding[] {
  const findings: Finding[] = [];
  for (const { line, target, anchor } of sectionLinks(file, text)) {
    const candidates = target === '' ? [file] : [normalize(join(dirname(file), target)), normalize(target)];
    const found = candidates.map((path) => ({ path, markdown: read(path) })).find((c) => c.markdown !== null);
    if (!found) {
      findings.push({ file, line, problem: `links to ${target}, which does not exist` });
    } else if (!headingAnchors(found.markdown ?? '').has(anchor)) {
      findings.push({ file, line, problem: `links to ${found.path}#${anchor}, which has no such heading` });
    }
  }
  return findings;
}

const readProjectFile = (path: string): string | null => {
  const full = join(root, path);
  return !path.startsWith('..') && existsSync(full) && statSync(full).isFile() ? readFileSync(full, 'utf8') : null;
};
const show = (findings: readonly Finding[]): string[] => findings.map((f) => `${f.file}:${f.line}: ${f.problem}`);

test('no project file points to documents outside the repository', (t) => {
  const files = projectFiles();
  t.true(files.length > 100, `scanned ${files.length} files`);
  t.true(files.includes('docs/architecture.md') && files.includes('README.md'), 'the docs and the README are scanned');
  const findings = files.flatMap((file) => outsideReferences(file, readFileSync(join(root, file), 'utf8')));
  t.deepEqual(show(findings), []);
});

test('every link to a section of a Markdown file names an existing file and heading', (t) => {
  const files = projectFiles();
  let links = 0;
  const findings = files.flatMap((file) => {
    const text = readFileSync(join(root, file), 'utf8');
    links += sectionLinks(file, text).length;
    return brokenSectionLinks(file, text, readProjectFile);
  });
  t.true(links > 20, `checked ${links} section links`);
  t.deepEqual(show(findings), []);
});

test('self-test: each outside reference is caught on its line, and ordinary text is not', (t) => {
  // Built from parts, so this file itself stays clean.
  const lines = [
    'clean line',
    `see ${['..', 'shared', 'DESIGN'].join('/')}.md`,
    `// per ${'DESIGN'} §5`,
    `(the ${['shared', 'reference', '01-x'].join('/')}.md file)`,
    `rules of ${'Reference'} 02 §2.4`,
    'the prototype design, section 5; a reference vector; docs/architecture.md',
  ];
  const found = outsideReferences('x.ts', lines.join('\n'));
  t.deepEqual(
    found.map((f) => f.line),
    [2, 2, 3, 4, 5],
  );
  t.regex(show(found)[0] ?? '', /^x\.ts:2: points outside the repository/);
});

test('self-test: GitHub-style anchors, and links to a missing file or heading are reported', (t) => {
  const guide = [
    '# Guide',
    '## Tensors, data and speed',
    "## Where a seed's module comes from",
    '```',
    '## not a heading',
    '```',
    '## Name → family',
    '## Tensors, data and speed',
  ].join('\n');
  t.deepEqual(
    [...headingAnchors(guide)],
    ['guide', 'tensors-data-and-speed', 'where-a-seeds-module-comes-from', 'name--family', 'tensors-data-and-speed-1'],
  );
  const md = '.md#';
  const comment = [
    `// ok: docs/guide${md}tensors-data-and-speed`,
    `// gone: docs/guide${md}not-a-heading`,
    `// no file: docs/missing${md}intro`,
    `// not a link: https://example.org/a/README${md}x`,
  ].join('\n');
  const page = `# Top\nSee [below](#top) and [gone](#nowhere) and [guide](../docs/guide${md}guide).`;
  const files = new Map([
    ['docs/guide.md', guide],
    ['docs/page.md', page],
  ]);
  const read = (path: string): string | null => files.get(path) ?? null;
  t.deepEqual(show(brokenSectionLinks('src/a.ts', comment, read)), [
    `src/a.ts:2: links to docs/guide${md}not-a-heading, which has no such heading`,
    'src/a.ts:3: links to docs/missing.md, which does not exist',
  ]);
  t.deepEqual(show(brokenSectionLinks('docs/page.md', page, read)), [
    `docs/page.md:2: links to docs/page${md}nowhere, which has no such heading`,
  ]);
});
