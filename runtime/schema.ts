// A small structural validator for values read from user files (experiment files): each problem names the path of
// the bad field, what was expected and what was found; unknown fields are problems too (with a near miss suggested),
// so a typo never silently falls back to a default. Zod-like in spirit, kept to what the configuration needs.

export interface Issue {
  /** `host.hidden[1]`, or `(root)`. */
  path: string;
  message: string;
}

export interface Schema {
  /** What a valid value looks like, in words ("an integer ≥ 1"). */
  readonly expected: string;
  /** Appends the problems of `value` (at `path`) to `issues`. */
  check(value: unknown, path: string, issues: Issue[]): void;
}

/** `{ a: schema, b: optional(schema) }`: an optional field may be absent (or undefined). */
export type Shape = Readonly<Record<string, Schema>>;

const OPTIONAL = Symbol('optional');
type OptionalSchema = Schema & { [OPTIONAL]: true };
const RETIRED = Symbol('retired');
type RetiredSchema = Schema & { [RETIRED]: true };

export const show = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'function') return 'a function';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

const at = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;

const fail = (issues: Issue[], path: string, expected: string, value: unknown): void => {
  issues.push({ path: path || '(root)', message: `expected ${expected}, got ${show(value)}` });
};

export function number(
  options: { integer?: boolean; min?: number; max?: number; above?: number; below?: number } = {},
): Schema {
  const bounds = [
    options.min !== undefined ? `≥ ${options.min}` : '',
    options.above !== undefined ? `> ${options.above}` : '',
    options.max !== undefined ? `≤ ${options.max}` : '',
    options.below !== undefined ? `< ${options.below}` : '',
  ].filter(Boolean);
  const expected = `${options.integer ? 'an integer' : 'a number'}${bounds.length ? ` ${bounds.join(' and ')}` : ''}`;
  return {
    expected,
    check(value, path, issues) {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (!options.integer || Number.isInteger(value)) &&
        (options.min === undefined || value >= options.min) &&
        (options.max === undefined || value <= options.max) &&
        (options.above === undefined || value > options.above) &&
        (options.below === undefined || value < options.below);
      if (!ok) fail(issues, path, expected, value);
    },
  };
}

export function string(options: { pattern?: RegExp; rule?: string } = {}): Schema {
  const expected = options.rule ?? 'a non-empty string';
  return {
    expected,
    check(value, path, issues) {
      if (typeof value !== 'string' || value === '' || (options.pattern && !options.pattern.test(value)))
        fail(issues, path, expected, value);
    },
  };
}

export function boolean(): Schema {
  return {
    expected: 'true or false',
    check(value, path, issues) {
      if (typeof value !== 'boolean') fail(issues, path, 'true or false', value);
    },
  };
}

export function literal(...values: readonly (string | number | boolean)[]): Schema {
  const expected = values.length === 1 ? show(values[0]) : `one of ${values.map(show).join(', ')}`;
  return {
    expected,
    check(value, path, issues) {
      if (!values.includes(value as string)) fail(issues, path, expected, value);
    },
  };
}

export function array(item: Schema, options: { minLength?: number } = {}): Schema {
  const min = options.minLength ?? 0;
  const expected = `a list${min > 0 ? ` of at least ${min}` : ''} (each ${item.expected})`;
  return {
    expected,
    check(value, path, issues) {
      if (!Array.isArray(value) || value.length < min) return fail(issues, path, expected, value);
      value.forEach((element, i) => item.check(element, at(path, i), issues));
    },
  };
}

/** A tuple of fixed length, e.g. an image shape [H, W, C]. */
export function tuple(...items: readonly Schema[]): Schema {
  const expected = `a list of ${items.length} (${items.map((s) => s.expected).join(', ')})`;
  return {
    expected,
    check(value, path, issues) {
      if (!Array.isArray(value) || value.length !== items.length) return fail(issues, path, expected, value);
      items.forEach((schema, i) => schema.check(value[i], at(path, i), issues));
    },
  };
}

export function optional(schema: Schema): Schema {
  return { ...schema, [OPTIONAL]: true } as OptionalSchema;
}

const isOptional = (schema: Schema): boolean => (schema as Partial<OptionalSchema>)[OPTIONAL] === true;

/**
 * A field name no longer accepted (e.g. renamed): a value there is a problem saying `message`, so an old file is told
 * what to write instead rather than that the field is unknown. Never listed among the known fields.
 */
export function retired(message: string): Schema {
  const schema: RetiredSchema = {
    expected: 'nothing',
    check(value, path, issues) {
      if (value !== undefined) issues.push({ path, message });
    },
    [RETIRED]: true,
  };
  return schema;
}

const isRetired = (schema: Schema): boolean => (schema as Partial<RetiredSchema>)[RETIRED] === true;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An object with exactly these fields (required unless `optional`); any other field is reported. */
export function object(shape: Shape, description = 'an object'): Schema {
  return {
    expected: description,
    check(value, path, issues) {
      if (!isRecord(value)) return fail(issues, path, description, value);
      for (const [key, schema] of Object.entries(shape)) {
        const field = value[key];
        if (field === undefined) {
          if (!isOptional(schema) && !isRetired(schema))
            issues.push({ path: at(path, key), message: `is missing (expected ${schema.expected})` });
        } else schema.check(field, at(path, key), issues);
      }
      const known = Object.keys(shape).filter((key) => !isRetired(shape[key]!));
      for (const key of Object.keys(value)) {
        if (key in shape) continue;
        const near = nearest(key, known);
        issues.push({
          path: at(path, key),
          message: `unknown field${near ? ` (did you mean "${near}"?)` : ''}; known: ${known.join(', ')}`,
        });
      }
    },
  };
}

/** One of several object shapes, chosen by the string in `key` (e.g. `kind`). */
export function variants(key: string, shapes: Readonly<Record<string, Shape>>): Schema {
  const kinds = Object.keys(shapes);
  const expected = `an object with ${key}: ${kinds.map((k) => JSON.stringify(k)).join(' | ')}`;
  return {
    expected,
    check(value, path, issues) {
      if (!isRecord(value)) return fail(issues, path, expected, value);
      const kind = value[key];
      const shape = typeof kind === 'string' ? shapes[kind] : undefined;
      if (!shape) return fail(issues, at(path, key), kinds.map((k) => JSON.stringify(k)).join(' or '), kind);
      object({ [key]: literal(kind as string), ...shape }).check(value, path, issues);
    },
  };
}

/** Either of two schemas (the first whose check passes); reported as both expectations. */
export function either(a: Schema, b: Schema): Schema {
  const expected = `${a.expected}, or ${b.expected}`;
  return {
    expected,
    check(value, path, issues) {
      const first: Issue[] = [];
      a.check(value, path, first);
      if (first.length === 0) return;
      const second: Issue[] = [];
      b.check(value, path, second);
      if (second.length === 0) return;
      // Neither matched even the value's kind: say both. Otherwise the alternative whose problems lie deeper
      // matched the value's shape better: report its problems.
      const here = path || '(root)';
      if ([...first, ...second].every((i) => i.path === here)) return fail(issues, path, expected, value);
      const depth = (list: Issue[]): number => Math.max(...list.map((i) => i.path.length));
      issues.push(...(depth(first) >= depth(second) ? first : second));
    },
  };
}

/** Anything (checked elsewhere, e.g. by a subsystem's own resolver). */
export function unknownValue(description: string): Schema {
  return { expected: description, check: () => undefined };
}

export function validate(schema: Schema, value: unknown): Issue[] {
  const issues: Issue[] = [];
  schema.check(value, '', issues);
  return issues;
}

/** The known name closest to a misspelt one (edit distance ≤ 2, or one contains the other). */
function nearest(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const name of known) {
    const d =
      name.toLowerCase().includes(key.toLowerCase()) || key.toLowerCase().includes(name.toLowerCase())
        ? 1
        : distance(key.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
