import { parse } from 'csv-parse/sync';
import { AppError } from '../errors/AppError.ts';

/**
 * The rows of an import file: a header row (names trimmed, lower-cased, in any order), values
 * trimmed, empty lines skipped. Each row with its line in the file. Throws AppError invalid_request
 * when the CSV cannot be read or names a column outside `columns`.
 */
export function readCsvRecords(text: string, columns: readonly string[]): Array<{ line: number; record: Record<string, string> }> {
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    records = parse(text, { bom: true, columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), skip_empty_lines: true, trim: true, info: true, relax_column_count: true });
  } catch (error) {
    throw new AppError('invalid_request', `the CSV cannot be read: ${(error as Error).message}`);
  }
  const first = records[0]?.record;
  const unknown = first ? Object.keys(first).filter((column) => !columns.includes(column)) : [];
  if (unknown.length > 0) throw new AppError('invalid_request', `unknown CSV columns: ${unknown.join(', ')} (known: ${columns.join(', ')})`);
  return records.map(({ record, info }) => ({ line: info.lines, record }));
}
