/** Plain-text tables for the benchmarks' printouts. */

/** Columns right-aligned except the first; a rule under the header. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
  const head = line(header);
  return [head, '-'.repeat(head.length), ...rows.map(line)].join('\n');
}
