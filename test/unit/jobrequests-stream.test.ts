/**
 * The streaming job-request reader against the reference it replaces (the whole body as text,
 * JSON.parse, jobRequestListSchema): same jobs, same errors, for the recorded fixtures split at
 * every byte offset, escapes, nested objects, bodies that are not JSON, and random documents in
 * random chunks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readJobRequestList } from '../../src/azdo/jobrequests-stream.js';
import { jobRequestListSchema, shapeDetail, toListedJobRequest } from '../../src/azdo/wire.js';
import { contractsDir } from '../contract/paths.js';

const EXAMPLES = `${contractsDir()}/azdo/examples`;
const fixture = (name: string): Buffer => readFileSync(`${EXAMPLES}/${name}`);

type Outcome = { ok: true; jobs: unknown[] } | { ok: false; detail: string };

/** What the client did before: decode the body as text, JSON.parse, validate the whole list. */
function reference(body: Uint8Array): Outcome {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body)); // like undici's body.text(): UTF-8, BOM dropped
  } catch {
    return { ok: false, detail: 'body is not JSON' };
  }
  const parsed = jobRequestListSchema.safeParse(json);
  return parsed.success
    ? { ok: true, jobs: parsed.data.value.map(toListedJobRequest) }
    : { ok: false, detail: shapeDetail(parsed.error) };
}

async function streamed(chunks: Uint8Array[]): Promise<Outcome> {
  const r = await readJobRequestList(chunks);
  if (!r.ok) return { ok: false, detail: r.detail.startsWith('body is not JSON') ? 'body is not JSON' : r.detail };
  return { ok: true, jobs: r.value.map(toListedJobRequest) };
}

function splitAt(body: Uint8Array, ...offsets: number[]): Uint8Array[] {
  const cuts = [0, ...offsets, body.length];
  return cuts.slice(1).map((end, i) => body.subarray(cuts[i], end));
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('recorded fixtures (contracts/azdo/examples), split at every byte offset', () => {
  const items = readdirSync(EXAMPLES).filter((f) => f.startsWith('jobrequest.item.'));
  // The three recorded items as one list, their bytes verbatim.
  const combined = Buffer.concat([
    enc('{"count":3,"value":['),
    ...items.flatMap((f, i) => [...(i ? [enc(',')] : []), fixture(f)]),
    enc(']}'),
  ]);
  const bodies: [string, Uint8Array][] = [
    ...readdirSync(EXAMPLES)
      .filter((f) => f.endsWith('.json'))
      .map((f): [string, Uint8Array] => [f, fixture(f)]),
    ['the jobrequest.item.* fixtures as one list', combined],
    [
      'the list with a BOM',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), fixture('jobrequests.list.keda-testJobRequestResponse.json')]),
    ],
  ];

  it.each(bodies)(
    '%s: the same outcome as JSON.parse, in 2 pieces at every offset and in 1-byte pieces',
    async (_name, body) => {
      const want = reference(body);
      expect(await streamed([body])).toEqual(want);
      for (let k = 0; k <= body.length; k++) expect(await streamed(splitAt(body, k))).toEqual(want);
      expect(await streamed(Array.from(body, (b) => Uint8Array.of(b)))).toEqual(want);
    },
  );

  it('the list fixture reads as 2 jobs with their matched ids; the items as the 3 recorded requests', async () => {
    const list = await streamed(splitAt(fixture('jobrequests.list.keda-testJobRequestResponse.json'), 1234));
    expect(list.ok && list.jobs.map((j) => (j as { matchedAgentIds: number[] }).matchedAgentIds)).toEqual([
      [],
      [1755, 11732, 11733, 11734],
    ]);
    const all = await streamed([combined]);
    expect(all.ok && all.jobs.length).toBe(3);
  });

  it('every truncation of the list is refused as not JSON, with the byte where it stopped', async () => {
    const body = enc(fixture('jobrequests.list.keda-testJobRequestResponse.json').toString('utf8').trimEnd());
    for (let k = 0; k < body.length; k++) {
      const r = await readJobRequestList([body.subarray(0, k)]);
      expect(r).toEqual({
        ok: false,
        detail:
          k === 0
            ? 'body is not JSON (byte 0: the body is empty)'
            : `body is not JSON (byte ${k}: the body ends inside a value)`,
      });
    }
  });
});

describe('strings, escapes, nesting', () => {
  const body = enc(
    JSON.stringify({
      count: 1,
      junk: { value: [{ requestId: 'not me' }], matchedAgents: [{ id: 1 }] },
      value: [
        {
          definition: {
            _links: { web: { href: 'https://x/?a="b"' } },
            nested: [[[{ id: 99, matchedAgents: [{ id: 98 }] }]]],
          },
          jobName: 'build "quoted" \\ back\\slash \t tab é ü 😀 \u0001',
          requestId: 42,
          demands: ['Agent.OS -equals Linux', { name: 'java', value: '17' }],
          reservedAgent: { _links: {}, id: 7, name: 'a\u00e9' },
          matchedAgents: [
            { name: 'id', _links: { self: { href: '{"id":5}' } }, id: 11, status: 'online' },
            { id: 12.0 },
            { id: 1.5 },
            { id: '13' },
            { nope: 14 },
            null,
            15,
            { id: 16, id2: 17 },
          ],
          poolId: 44,
        },
      ],
    })
      // names spelled with escapes, as JSON allows
      .replace('"requestId"', '"request\\u0049d"')
      .replace('"id":16', '"\\u0069d":16')
      .replace('"matchedAgents":[{"name"', '"matched\\u0041gents":[{"name"'),
  );

  it('keeps the fields and the integer ids only; escaped names, strings and other nesting are read as JSON.parse reads them', async () => {
    const want = reference(body);
    expect(want).toMatchObject({
      ok: true,
      jobs: [{ requestId: 42, matchedAgentIds: [11, 12, 16], jobName: expect.stringContaining('😀') }],
    });
    for (let k = 0; k <= body.length; k++) expect(await streamed(splitAt(body, k))).toEqual(want);
  });

  it('a non-array matchedAgents gives no ids (as before), and the last of two equal names wins', async () => {
    const b = enc(
      '{"value":[{"requestId":1,"matchedAgents":{"id":3}},{"requestId":2,"requestId":5,"matchedAgents":[{"id":1}],"matchedAgents":[{"id":2,"id":"x"},{"id":"y","id":4}]}]}',
    );
    expect(reference(b)).toEqual({
      ok: true,
      jobs: [
        expect.objectContaining({ requestId: 1, matchedAgentIds: [] }),
        expect.objectContaining({ requestId: 5, matchedAgentIds: [4] }),
      ],
    });
    expect(await streamed(splitAt(b, 50))).toEqual(reference(b));
  });
});

describe('bodies that are not the list', () => {
  const signIn =
    '<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body><form id="signin" action="https://app.vssps.visualstudio.com/_signin">Sign in to continue</form></body></html>';

  it.each([
    ['an HTML sign-in page', signIn, "body is not JSON (byte 0: unexpected '<')"],
    ['empty', '', 'body is not JSON (byte 0: the body is empty)'],
    ['two values', '{"value":[]} {}', "body is not JSON (byte 13: unexpected '{' after the end of the JSON value)"],
    ['a trailing comma', '{"value":[1,]}', "body is not JSON (byte 12: unexpected ']')"],
    [
      'a raw control character in a string',
      '{"value":[{"jobName":"a\nb"}]}',
      'body is not JSON (byte 23: unexpected byte 0x0a (a control character) in a string)',
    ],
    ['a bad escape', '{"value":[],"x":"\\q"}', "body is not JSON (byte 18: unexpected 'q' after '\\' in a string)"],
    ['a leading zero', '{"value":[],"x":01}', "body is not JSON (byte 17: unexpected '1')"],
    ['a mismatched bracket', '{"value":[1}', "body is not JSON (byte 11: unexpected '}')"],
    ['an unquoted name', '{value:[]}', "body is not JSON (byte 1: unexpected 'v')"],
  ])('%s: refused like JSON.parse, naming the byte', async (_name, text, detail) => {
    const b = enc(text);
    expect(reference(b)).toEqual({ ok: false, detail: 'body is not JSON' });
    expect(await readJobRequestList([b])).toEqual({ ok: false, detail });
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"x"'],
    ['no value', '{"count":0}'],
    ['value an object', '{"value":{"requestId":1}}'],
    ['an item not an object', '{"value":[{"requestId":1},7]}'],
    ['a requestId string', '{"value":[{"requestId":"nope"}]}'],
    ['a demand of the wrong type', '{"value":[{"requestId":1,"demands":[3]}]}'],
    ['a count not an integer', '{"count":1.5,"value":[]}'],
    // JSON.parse reads an overflowing number as Infinity, and the shape error names it.
    ['a number that overflows', '1e999'],
    ['value a number that overflows', '{"value":-1e999}'],
    ['an item a number that overflows', '{"value":[{"requestId":1},1e999]}'],
  ])('%s: the same shape error as before', async (_name, text) => {
    const b = enc(text);
    const want = reference(b);
    expect(want.ok).toBe(false);
    expect(await streamed(splitAt(b, 3))).toEqual(want);
  });

  it('stops reading at the first byte that is not JSON', async () => {
    let pulled = 0;
    async function* body() {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield enc(i === 0 ? '<html>' : '<p>sign in</p>');
      }
    }
    expect((await readJobRequestList(body())).ok).toBe(false);
    expect(pulled).toBe(1);
  });
});

describe('random documents in random chunks', () => {
  const anyJson = fc.jsonValue({ maxDepth: 3 });
  const agent = fc.oneof(
    fc.record({ id: fc.integer({ min: 0, max: 1e9 }), name: fc.string(), _links: anyJson }, { requiredKeys: ['id'] }),
    anyJson,
  );
  const job = fc.record(
    {
      requestId: fc.oneof(fc.integer({ min: 0, max: 2 ** 53 - 1 }), anyJson),
      queueTime: fc.oneof(fc.string(), fc.constant(null)),
      jobName: fc.string({ unit: 'grapheme' }),
      demands: fc.oneof(fc.array(fc.string({ unit: 'grapheme' })), anyJson),
      matchedAgents: fc.oneof(fc.array(agent, { maxLength: 6 }), anyJson),
      definition: anyJson,
      data: fc.dictionary(fc.string(), anyJson),
    },
    { requiredKeys: ['requestId'] },
  );
  const doc = fc.oneof(
    {
      weight: 9,
      arbitrary: fc.record(
        { count: fc.nat(), value: fc.array(job, { maxLength: 4 }), extra: anyJson },
        { requiredKeys: ['value'] },
      ),
    },
    { weight: 1, arbitrary: anyJson },
  );

  it('give what the whole-body parse gave, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(doc, fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), async (d, cuts, indent) => {
        const body = enc(JSON.stringify(d, null, indent ? 2 : undefined));
        const offsets = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
        expect(await streamed(splitAt(body, ...offsets))).toEqual(reference(body));
      }),
      { numRuns: 400 },
    );
  });

  it('refuse a document with one byte removed or replaced exactly when JSON.parse does', async () => {
    await fc.assert(
      fc.asyncProperty(doc, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), async (d, at, byte, remove) => {
        const ok = enc(JSON.stringify(d));
        const pos = at % ok.length;
        const body = remove
          ? Buffer.concat([ok.subarray(0, pos), ok.subarray(pos + 1)])
          : Uint8Array.from(ok, (b, i) => (i === pos ? byte : b));
        expect(await streamed(splitAt(body, Math.floor(body.length / 2)))).toEqual(reference(body));
      }),
      { numRuns: 400 },
    );
  });
});
