// Writing a report file: a record in its folder, rendered and written aside then renamed, so a reader never sees half
// a report (the run report and the learning report both).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../runtime/atomic-file.ts';

export const REPORT_FILE = 'report.html';

/**
 * Renders the record `<dir>/<recordFile>` (a `kind` folder: "run", "learning") with `render` into `out`, written aside
 * and renamed, so a reader never sees half a report; returns the path written.
 */
export function writeReportOf(
  dir: string,
  recordFile: string,
  kind: string,
  render: (file: string) => string,
  out = join(dir, REPORT_FILE),
): string {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`no ${kind} folder ${dir}`);
  const file = join(dir, recordFile);
  if (!existsSync(file)) throw new Error(`no ${kind} record in ${dir} (${recordFile} is missing)`);
  writeFileAtomic(out, render(file));
  return out;
}
