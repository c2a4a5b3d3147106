import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  TraceError,
  loadTraceFile,
  parseCsvTrace,
  parseJsonTrace,
  traceToCsv,
  sampleTrace,
  SAMPLE_TRACES,
} from '../../src/sim/trace.js';

describe('trace CSV', () => {
  it('parses header, comments, demands separated by ;', () => {
    const t = parseCsvTrace(
      '# my jobs\narrival_s,duration_s,demands,name\n32400,420,docker;Agent.OS -equals Linux,build\n32410,90,,lint\n',
      'x.csv',
    );
    expect(t.jobs).toEqual([
      { arrival: 32400, duration: 420, demands: ['docker', 'Agent.OS -equals Linux'], name: 'build' },
      { arrival: 32410, duration: 90, demands: [], name: 'lint' },
    ]);
  });
  it.each([
    ['', 'empty file'],
    ['a,b,c\n1,2,x\n', "header must start with 'arrival_s,duration_s,demands'"],
    ['arrival_s,duration_s,demands\nabc,10,x\n', 'x.csv:2: arrival_s must be a number of seconds (got "abc")'],
    ['arrival_s,duration_s,demands\n10,0,x\n', 'x.csv:2: duration_s must be > 0'],
    ['arrival_s,duration_s,demands\n10,-5,x\n', 'duration_s must be > 0'],
    ['arrival_s,duration_s,demands\n10,5,x,y,z\n', 'expected 2 to 4 comma-separated columns'],
    ['arrival_s,duration_s,demands\n', 'the trace has no jobs'],
  ])('rejects %j with a clear error', (text, msg) => {
    expect(() => parseCsvTrace(text, 'x.csv')).toThrow(TraceError);
    expect(() => parseCsvTrace(text, 'x.csv')).toThrow(msg);
  });
  it('round-trips the samples', () => {
    for (const name of Object.keys(SAMPLE_TRACES)) {
      const t = sampleTrace(name, 1);
      expect(parseCsvTrace(traceToCsv(t)).jobs).toEqual(t.jobs);
    }
  });
});

describe('trace JSON', () => {
  it('accepts an array or {name, jobs}; demands as string or array', () => {
    expect(parseJsonTrace('[{"arrival":5,"duration":60,"demands":"a;b"}]').jobs[0]!.demands).toEqual(['a', 'b']);
    const t = parseJsonTrace('{"name":"mine","jobs":[{"arrival":5,"duration":60,"demands":["java"]}]}');
    expect(t.name).toBe('mine');
  });
  it.each([
    ['{', 'not valid JSON'],
    ['{"jobs": 3}', 'expected an array of jobs'],
    ['[{"duration":60}]', 'jobs[0]: arrival is required'],
    ['[{"arrival":1}]', 'jobs[0]: duration is required'],
    ['[{"arrival":1,"duration":"x"}]', 'jobs[0]: duration must be a number'],
    ['[{"arrival":1,"duration":3,"demand":"x"}]', "unknown field 'demand'"],
    ['[{"arrival":1,"duration":3,"demands":[1]}]', 'demand 1 must be a string'],
  ])('rejects %s', (text, msg) => {
    expect(() => parseJsonTrace(text, 't.json')).toThrow(msg);
  });
});

describe('trace files', () => {
  it('loads by extension and reports unknown ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trace-'));
    await writeFile(join(dir, 'a.csv'), 'arrival_s,duration_s,demands\n1,2,docker\n');
    await writeFile(join(dir, 'a.txt'), 'x');
    expect((await loadTraceFile(join(dir, 'a.csv'))).jobs).toHaveLength(1);
    await expect(loadTraceFile(join(dir, 'a.txt'))).rejects.toThrow("unknown extension '.txt'");
    await expect(loadTraceFile(join(dir, 'missing.csv'))).rejects.toThrow('ENOENT');
  });
});
