/**
 * What a delivery carries to the pass for λ (src/webhook/handler.ts arrivalOf) and how the queue
 * message keeps it (src/storage/queue.ts): the job id, and a queue time only for a waiting job.
 */
import { describe, expect, it } from 'vitest';
import { decodeRequest, encodeRequest } from '../../src/storage/queue.js';
import { arrivalOf } from '../../src/webhook/handler.js';
import { envelopeSchema } from '../../src/webhook/schema.js';
import { readContractJson } from '../helpers/contracts.js';

const sample = () =>
  structuredClone(
    readContractJson<Record<string, unknown> & { resource: { job: Record<string, unknown> } }>(
      'servicehooks/job-state-changed.events-md.json',
    ),
  );
const parse = (body: unknown) => envelopeSchema.parse(body);
const received = new Date('2024-11-21T16:43:00.000Z');

describe('arrivalOf (a delivery → the job it names)', () => {
  it('a completed job: its id only (the event time is not its queue time)', () => {
    expect(arrivalOf(parse(sample()), received)).toEqual({ jobId: 'd3d3d3d3-eeee-ffff-aaaa-b4b4b4b4b4b4' });
  });

  it('a waiting job: the event createdDate as queue time, never after we received it', () => {
    const body = sample();
    body.resource.job.state = 'waiting';
    expect(arrivalOf(parse(body), received)?.queueTime).toBe('2024-11-21T16:42:53.525Z');
    body.createdDate = '2024-11-21T17:00:00Z';
    expect(arrivalOf(parse(body), received)?.queueTime).toBe(received.toISOString());
    delete body.createdDate;
    expect(arrivalOf(parse(body), received)?.queueTime).toBe(received.toISOString());
  });

  it('no arrival from a run or stage event, or a job id that is not a uuid', () => {
    const run = readContractJson('servicehooks/run-state-changed.events-md.json');
    expect(arrivalOf(parse(run), received)).toBeUndefined();
    const body = sample();
    body.resource.job.id = 'not-a-job-id';
    expect(arrivalOf(parse(body), received)).toBeUndefined();
  });
});

describe('the queue message', () => {
  it('keeps the arrival (and nothing else of the payload); one that does not read as one is dropped', () => {
    const request = {
      pools: ['aci'],
      reason: 'webhook job waiting #3',
      receivedAt: received.toISOString(),
      arrival: { jobId: 'd3d3d3d3-eeee-ffff-aaaa-b4b4b4b4b4b4', queueTime: '2024-11-21T16:42:53.525Z' },
    };
    expect(decodeRequest(encodeRequest(request))).toEqual(request);
    const bad = { ...request, arrival: { jobId: 'x', queueTime: 'soon', token: 'canary-should-not-pass' } };
    expect(decodeRequest(JSON.stringify(bad))).toEqual({
      pools: ['aci'],
      reason: request.reason,
      receivedAt: request.receivedAt,
    });
  });
});
