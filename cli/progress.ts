// A progress bar for long commands: redrawn in place on a terminal, one line per step otherwise (logs, CI).

export class ProgressBar {
  #done = 0;
  readonly #width = 30;

  constructor(
    readonly total: number,
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
  ) {}

  /** Records one finished step; `summary` is the running tally, `detail` what just finished. */
  step(summary: string, detail: string): void {
    this.#done += 1;
    const filled = this.total === 0 ? this.#width : Math.round((this.#done / this.total) * this.#width);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(this.#width - filled)}] ${this.#done}/${this.total}`;
    if (this.out.isTTY) {
      this.out.write(`\r\u001b[2K${bar} ${summary}  ${detail}`);
      if (this.#done === this.total) this.out.write('\n');
    } else {
      this.out.write(`${bar} ${summary}  ${detail}\n`);
    }
  }
}
