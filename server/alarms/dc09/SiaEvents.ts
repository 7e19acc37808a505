/**
 * SIA format events (SIA DC-03) as carried in the data block of a DC-09 `SIA-DCS` frame (SIA
 * DC-09 (2013/2021), as described by public implementations: pysiaalarm reads and dc09_spt writes
 * `#ACCT|Nri1/PA501`).
 *
 * The DC-03 data, as those implementations describe it: an optional `#acct|` prefix, then a block
 * letter — `N` new event(s), `O` old event(s) (accepted and flagged; rare), or `A` an ASCII text
 * message alone — then fields separated by `/`. Each field holds, in any order:
 * - modifiers: two lower-case letters and a value — `ri` area, `id` user, `pi` peripheral, ...
 *   (digits), `ti` time (`HH:MM` or `HH:MM:SS`); they stay in effect for the rest of the block
 *   until changed (so `Nri1/PA501/BA502` reports both in area 1);
 * - events: two upper-case letters (PA panic, BA burglary, RP automatic test, ...) and an optional
 *   number (zone, user or area, per code), digits.
 * Any modifier value or event may be followed by a `^name^`; the block may end with `|A text`
 * (dc09_spt writes a description that way).
 */

/** One event of a SIA data block. */
export interface SiaEvent {
  /** Event code, two upper-case letters, e.g. 'PA'. */
  code: string;
  /** The digits after the code (zone, user or area, depending on the code); absent when none. */
  number?: string;
  /** The `^name^` after the number, without the carets (e.g. a zone name), when sent. */
  name?: string;
  /** The modifiers in effect for this event, e.g. { ri: '1', id: '12' }; absent when none. */
  modifiers?: Record<string, string>;
}

export interface SiaEventsBlock {
  /** The account of the `#acct|` prefix, upper-cased; absent when the data has none. */
  account?: string;
  /** The events in order; empty only for an `A` (text-only) block. */
  events: SiaEvent[];
  /** The text of an `A` block or of a trailing `|A text`. */
  text?: string;
  /** True for an `O` (old events) block. */
  old?: true;
}

const PREFIX = /^(?:#([0-9A-Fa-f]{3,16}))?\|/;
const MODIFIER = /^([a-z]{2})(?:(?<=ti)([0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)|([0-9]+))/;
const EVENT = /^([A-Z]{2})([0-9]*)/;
const NAME = /^\^([^^]*)\^/;

/**
 * Parses the data of a SIA-DCS frame, e.g. `#1234|Nri1/PA501` -> account '1234', events
 * [{ code: 'PA', number: '501', modifiers: { ri: '1' } }]. Also `Nri1/PA501/HH`, `#AAA|NPA`,
 * `#AAA|Nid1ri1/BA501` (modifiers alone in a field apply to what follows), `|Nri1/CL501` (an empty
 * account prefix, as pysiaalarm accepts). Returns undefined for anything else: no block letter,
 * an empty field, a modifier without a value, an N/O block with no event, stray characters
 * (the receiver answers DUH).
 */
export function parseSiaEvents(data: string): SiaEventsBlock | undefined {
  if (typeof data !== 'string' || !/^[\x20-\x7e]*$/.test(data)) return undefined;
  const result: SiaEventsBlock = { events: [] };
  let rest = data;
  const prefix = PREFIX.exec(rest);
  if (prefix) {
    if (prefix[1] !== undefined) result.account = prefix[1].toUpperCase();
    rest = rest.slice(prefix[0].length);
  } else if (rest.startsWith('#')) {
    return undefined; // a malformed account
  }
  const letter = rest[0];
  if (letter === 'A') {
    result.text = rest.slice(1);
    return result;
  }
  if (letter !== 'N' && letter !== 'O') return undefined;
  if (letter === 'O') result.old = true;
  rest = rest.slice(1);
  const textAt = rest.indexOf('|');
  if (textAt >= 0) {
    if (rest[textAt + 1] !== 'A') return undefined;
    result.text = rest.slice(textAt + 2);
    rest = rest.slice(0, textAt);
  }
  const modifiers: Record<string, string> = {};
  for (const field of rest.split('/')) {
    if (field === '') return undefined;
    let at = field;
    while (at !== '') {
      const modifier = MODIFIER.exec(at);
      if (modifier) {
        modifiers[modifier[1] as string] = (modifier[2] ?? modifier[3]) as string;
        at = skipName(at.slice(modifier[0].length)).rest;
        continue;
      }
      const event = EVENT.exec(at);
      if (!event) return undefined;
      const named = skipName(at.slice(event[0].length));
      const entry: SiaEvent = { code: event[1] as string };
      if (event[2]) entry.number = event[2];
      if (named.name !== undefined) entry.name = named.name;
      if (Object.keys(modifiers).length > 0) entry.modifiers = { ...modifiers };
      result.events.push(entry);
      at = named.rest;
    }
  }
  return result.events.length > 0 ? result : undefined;
}

function skipName(text: string): { rest: string; name?: string } {
  const m = NAME.exec(text);
  return m ? { rest: text.slice(m[0].length), name: m[1] as string } : { rest: text };
}
