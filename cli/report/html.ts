// Small HTML helpers for the report: tables and numbers (every piece of recorded text goes through `esc`).
import { esc } from '../../charts/index.ts';

/** A cell: text (escaped here) or markup already built from escaped parts. */
export type Cell = string | { html: string };

const cell = (value: Cell): string => (typeof value === 'string' ? esc(value) : value.html);

/** A table; `empty` is said instead when there are no rows. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  empty: string,
  rowClass = '',
): string {
  if (rows.length === 0) return `<p class="muted">${esc(empty)}</p>`;
  const head = `<tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows
    .map(
      (row) =>
        `<tr${rowClass ? ` class="${esc(rowClass)}"` : ''}>${row.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

export const count = (value: number): string => Math.round(value).toLocaleString('en-US');
/** A number with `digits` decimals, or — when missing. */
export const fixed = (value: number | null | undefined, digits: number): string =>
  value === null || value === undefined ? '—' : value.toFixed(digits);
