// A configuration problem, naming the field by its path (e.g. `tolaria.control.hookBudgetMs`). Subsystems subclass
// it only to carry their own name; the message format is this one everywhere.
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`configuration: ${field} ${problem}`);
  }
}

/**
 * A user's file (experiment, curriculum) whose value broke its schema: every problem on a line of its own, each with
 * its path; `field` is the first problem's (what a caller matching on one problem sees).
 */
export class FileIssuesError extends ConfigError {
  override readonly name: string = 'FileIssuesError';
  constructor(
    readonly issues: ReadonlyArray<{ path: string; message: string }>,
    readonly file: string,
  ) {
    super(issues[0]?.path ?? '(root)', '');
    this.message = `${file}: ${issues.map((i) => `${i.path}: ${i.message}`).join(`\n${' '.repeat(file.length + 2)}`)}`;
  }
}
