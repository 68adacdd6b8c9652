/** One line of the fault table. */
export interface FaultRow {
  scenario: string;
  sent: number;
  acknowledged: number;
  outcomes: number;
  duplicates: number;
  lost: number;
  /** Requests that needed more than one attempt (no answer, or 503 during the fault). */
  retried: number;
  /** Answers that were neither a documented outcome nor a 503 (must be 0). */
  errors: number;
  /** Seconds from the first request to the last outcome. */
  seconds: number;
}

const rows: FaultRow[] = [];

const COLUMNS: (keyof FaultRow)[] = ['scenario', 'sent', 'acknowledged', 'outcomes', 'duplicates', 'lost', 'retried', 'errors', 'seconds'];

function format(list: FaultRow[]): string {
  const cells = [COLUMNS.map(String), ...list.map((r) => COLUMNS.map((c) => String(r[c])))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Prints the scenario's row at once and keeps it for the table printed after the suite. */
export function recordRow(row: FaultRow, notAcknowledged = '') {
  rows.push(row);
  console.log(`\n${format([row])}\n${notAcknowledged ? `not acknowledged: ${notAcknowledged}\n` : ''}`);
}

/** The rows of every scenario run so far, as one table. */
export function printFaultTable() {
  if (rows.length) console.log(`\nFault scenarios\n${format(rows)}\n`);
}
