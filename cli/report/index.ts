// The run report: rendering a run record into one self-contained HTML file, and the `esper report` command.
export { renderReport } from './render.ts';
export { report, writeReport, REPORT_USAGE } from './command.ts';
