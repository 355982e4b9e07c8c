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
