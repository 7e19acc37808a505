/**
 * Ademco Contact ID events (SIA DC-05) as carried in the data block of a DC-09 `ADM-CID` frame
 * (SIA DC-09 (2013/2021), as described by public implementations: pysiaalarm reads and dc09_spt
 * writes `#ACCT|QEEE GG ZZZ`).
 */

/** One Contact ID event. */
export interface ContactIdEvent {
  /** The account of the `#acct|` prefix, upper-cased; absent when the data has none. */
  account?: string;
  /** Event qualifier (DC-05): '1' new event or opening, '3' restore or closing, '6' previously reported, still present. */
  qualifier: '1' | '3' | '6';
  /** Event code, 3 decimal digits (DC-05), e.g. '130' burglary, '120' panic, '602' periodic test. */
  code: string;
  /** Partition (group), 2 decimal digits; '00' when the panel has none. */
  partition: string;
  /** Zone, or user number for opening/closing codes, 3 decimal digits. */
  zone: string;
}

/** `[#acct|]Q EEE[ ]GG[ ]ZZZ`; the fields have fixed widths, so the single spaces are optional. */
const CONTACT_ID = /^(?:#([0-9A-Fa-f]{3,16})\|)?([136])([0-9]{3}) ?([0-9]{2}) ?([0-9]{3})$/;

/**
 * Parses the data of an ADM-CID frame, e.g. `#1234|1130 01 015` -> account '1234', qualifier '1',
 * code '130', partition '01', zone '015'. The account prefix is optional. The separating spaces
 * are optional too (`113001015`, `1130 01015`): some panels leave them out and the fixed widths
 * (DC-05) make the reading unambiguous. Anything else — another qualifier, hex digits in the
 * event, extra characters, a trailing space — gives undefined (the receiver answers DUH).
 */
export function parseContactId(data: string): ContactIdEvent | undefined {
  if (typeof data !== 'string') return undefined;
  const m = CONTACT_ID.exec(data);
  if (!m) return undefined;
  const [, account, qualifier, code, partition, zone] = m as unknown as [string, string | undefined, '1' | '3' | '6', string, string, string];
  const event: ContactIdEvent = { qualifier, code, partition, zone };
  if (account !== undefined) event.account = account.toUpperCase();
  return event;
}
