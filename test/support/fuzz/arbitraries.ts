/**
 * Generic hostile generators (fast-check) for fuzzing the entry points: JSON values of the wrong
 * type, huge strings, deep nesting, unknown fields, awkward unicode, numbers at the edges, and raw
 * bodies (invalid JSON text, duplicated keys, wrong content types). Entry points build their input
 * from these (see entryPoints.ts).
 */
import fc from 'fast-check';

/** Strings that break naive handling: lone surrogates, RTL/zero-width marks, NUL, traversal, injection. */
export const nastyStrings = [
  '', ' ', '\u0000', '\uD800', '\uDFFF', 'a\uD83Db', '\u202Eevil\u202C', '\u200B\u200C\u200D\uFEFF', '\u0301\u0301\u0301',
  '\u{1F4A9}', 'ǅ', 'İ', 'ß', '\r\n', 'a\r\nX-Injected: 1', '../../etc/passwd', '..%2f..%2fetc', '%00', '%', '%E0%A4%A', '__proto__',
  'constructor', 'prototype', 'toString', '$where', '{"$gt":""}', "' OR 1=1 --", '<script>alert(1)</script>', '${7*7}', '`id`', '; rm -rf /',
  'NaN', 'Infinity', '-0', '1e308', '9007199254740993', 'null', 'true', '[]', '{}', 'rtsp://u:p@127.0.0.1/x', 'file:///etc/passwd',
];

/** About 100 KB strings (the API's JSON body limit is 100 kb): ASCII, multi-byte, surrogate pairs. */
export const hugeStrings = ['a'.repeat(100 * 1024), 'é'.repeat(50 * 1024), '\u{1F600}'.repeat(25 * 1024), '\u202E\u200B'.repeat(20 * 1024)];

export const edgeNumbers = [
  0, -0, 1, -1, 0.5, 1e308, -1e308, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, -Number.MAX_SAFE_INTEGER - 1,
  2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53 + 2, 1e21, 123.456e-300,
];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...nastyStrings) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(...nastyStrings), { maxLength: 6 }).map((parts) => parts.join('')) },
  { weight: 2, arbitrary: fc.string({ maxLength: 70 }) },
  { weight: 1, arbitrary: fc.constantFrom(...hugeStrings) },
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...edgeNumbers),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, small, with hostile leaves and field names. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** A value nested `depth` deep in arrays or objects. */
export const deepNesting: fc.Arbitrary<unknown> = fc
  .tuple(fc.integer({ min: 20, max: 2000 }), fc.boolean())
  .map(([depth, arrays]) => {
    let value: unknown = 'bottom';
    for (let i = 0; i < depth; i++) value = arrays ? [value] : { a: value };
    return value;
  });

/** A value of any shape: wrong type, deep, huge, unknown fields. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof({ weight: 6, arbitrary: hostileJson }, { weight: 1, arbitrary: deepNesting });

/**
 * An object with (some of) the expected `keys`, each holding a hostile value or a plausible one from
 * `plausible`, plus sometimes unknown fields: gets past "is it an object" into field validation.
 */
export function objectWith(keys: readonly string[], plausible: Record<string, fc.Arbitrary<unknown>> = {}): fc.Arbitrary<Record<string, unknown>> {
  const known = Object.fromEntries(keys.map((key) => [key, Object.hasOwn(plausible, key) ? fc.oneof(plausible[key]!, anyValue) : anyValue]));
  return fc
    .tuple(fc.record(known, { requiredKeys: [] }), fc.option(fc.dictionary(hostileString, hostileJson, { maxKeys: 3 }), { freq: 4 }))
    .map(([fields, extra]) => ({ ...(extra ?? {}), ...fields }));
}

/** A payload: mostly shaped like the expected object, otherwise anything. */
export function payloadFor(keys: readonly string[], plausible: Record<string, fc.Arbitrary<unknown>> = {}): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 3, arbitrary: objectWith(keys, plausible) }, { weight: 2, arbitrary: anyValue });
}

/** A request body as sent on the wire. */
/** A request body as sent; `headers` are extra request headers that go with it (e.g. a device's signature). */
export type RawBody = { text: string; contentType?: string; contentEncoding?: string; headers?: Record<string, string> };

const contentTypes = [
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'text/plain',
  'text/csv', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/xml', 'application/*+json',
  'application/vnd.api+json', '*/*', 'application/json; charset=', 'invalid',
];

/** JSON text with the same key twice (the parser keeps one: the other must not sneak past validation). */
function withDuplicatedKeys(value: Record<string, unknown>, key: string, other: unknown): string {
  const text = JSON.stringify(value);
  const extra = `${JSON.stringify(key)}:${JSON.stringify(other) ?? 'null'}`;
  return text === '{}' ? `{${extra},${extra}}` : `{${extra},${text.slice(1, -1)},${extra}}`;
}

const invalidJsonText = fc.constantFrom(
  '{', '}', '{"a":', '{"a" 1}', "{'a':1}", '{a:1}', '[1,]', '{"a":1,}', 'undefined', 'NaN', '-', '0x10', '01', '"\\uD800"', '"\\x41"', '{"a":1e999}',
  '[-1e999]', '\uFEFF{}', '{}garbage', '\u0000', '/* c */{}', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"polluted":1}}}',
);

/**
 * A body on the wire: JSON of a value from `value` (with the right or a wrong content type), JSON
 * text with duplicated keys, invalid JSON text, or none at all.
 */
export function rawBody(value: fc.Arbitrary<unknown>, keys: readonly string[] = []): fc.Arbitrary<RawBody | undefined> {
  const keyArb = keys.length > 0 ? fc.oneof(fc.constantFrom(...keys), hostileString) : hostileString;
  return fc.oneof(
    { weight: 8, arbitrary: value.map((v) => ({ text: JSON.stringify(v) ?? 'null', contentType: 'application/json' })) },
    { weight: 2, arbitrary: fc.tuple(value, fc.constantFrom(...contentTypes)).map(([v, contentType]) => ({ text: JSON.stringify(v) ?? 'null', contentType })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(objectWith(keys), keyArb, anyValue)
        .map(([object, key, other]) => ({ text: withDuplicatedKeys(object, key, other), contentType: 'application/json' })),
    },
    { weight: 2, arbitrary: fc.tuple(invalidJsonText, fc.constantFrom(...contentTypes)).map(([text, contentType]) => ({ text, contentType })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(value, fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown', 'gzip, gzip'))
        .map(([v, contentEncoding]) => ({ text: JSON.stringify(v) ?? 'null', contentType: 'application/json', contentEncoding })),
    },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** A path parameter: plausible ones, hostile strings, traversal, malformed percent-encoding (sent raw). */
export function pathParam(plausible: readonly string[] = []): fc.Arbitrary<PathSegment> {
  return fc.oneof(
    { weight: 2, arbitrary: plausible.length > 0 ? fc.constantFrom(...plausible).map((v) => ({ value: v })) : hostileString.map((v) => ({ value: v })) },
    { weight: 4, arbitrary: hostileString.map((v) => ({ value: v })) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom('..', '.', '%2e%2e', '..%2f..%2fetc%2fpasswd', '%', '%zz', '%E0%A4%A', '%ED%A0%80', '%00', '%C0%AE%C0%AE', 'a%2Fb', ';x=1', '%3B', '*', '%252e')
        .map((raw) => ({ raw })),
    },
  );
}
export type PathSegment = { value: string } | { raw: string };

/** A segment of a URL path: encoded (lone surrogates sent as invalid UTF-8 bytes), or as given when raw. */
export function encodeSegment(segment: PathSegment): string {
  if ('raw' in segment) return segment.raw;
  return [...segment.value].map((char) => {
    const code = char.codePointAt(0)!;
    return code >= 0xd800 && code <= 0xdfff ? `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}` : encodeURIComponent(char);
  }).join('');
}

/** A query string: expected and hostile names, repeated names (arrays), hostile values, raw bits. */
export function queryString(names: readonly string[], plausible: Record<string, fc.Arbitrary<string>> = {}): fc.Arbitrary<string> {
  const name = names.length > 0 ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: hostileString }) : hostileString;
  const pair = name.chain((n) => fc.tuple(fc.constant(n), Object.hasOwn(plausible, n) ? fc.oneof(plausible[n]!, hostileString) : hostileString));
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(pair, { maxLength: 6 }).map((pairs) => pairs.map(([k, v]) => `${encodeSegment({ value: k })}=${encodeSegment({ value: v })}`).join('&')) },
    { weight: 1, arbitrary: fc.constantFrom('a[b]=1', 'a[__proto__][x]=1', '%', '=&=&', 'limit=1&limit=2', 'limit[]=1', '&&&', 'x=%ZZ', `${'a=1&'.repeat(2000)}`) },
  );
}
