import { createNoopTool } from './noop-tool';
import { makeTestContext } from '../testing';

describe('noop tool (K2.15)', () => {
  const noop = createNoopTool();
  const ctx = makeTestContext();

  it('returns the result field as data', async () => {
    expect(await noop.run({ result: { total: 12, status: 'error' } }, ctx)).toEqual({ status: 'ok', data: { total: 12, status: 'error' } });
    expect(await noop.run({ result: [1, 2] }, ctx)).toEqual({ status: 'ok', data: [1, 2] });
    expect(await noop.run({ result: 0 }, ctx)).toEqual({ status: 'ok', data: 0 });
  });

  it('a result field that rendered to null is still the data', async () => {
    expect(await noop.run({ result: null }, ctx)).toEqual({ status: 'ok', data: null });
  });

  it('without result: {status: ok, message}', async () => {
    expect(await noop.run({}, ctx)).toEqual({ status: 'ok', data: { status: 'ok', message: 'noop' } });
    expect(await noop.run({ message: 'routing only' }, ctx)).toEqual({ status: 'ok', data: { status: 'ok', message: 'routing only' } });
  });

  it('never fails, whatever the configuration', async () => {
    expect(await noop.run({ message: 42 }, ctx)).toEqual({ status: 'ok', data: { status: 'ok', message: '42' } });
    expect(await noop.run({ message: { a: 1 } }, ctx)).toEqual({ status: 'ok', data: { status: 'ok', message: '{"a":1}' } });
    expect(await noop.run({ message: null, unknown: true }, ctx)).toEqual({ status: 'ok', data: { status: 'ok', message: 'noop' } });
    expect(await noop.run(undefined as unknown as Record<string, unknown>, ctx)).toEqual({ status: 'ok', data: { status: 'ok', message: 'noop' } });
  });

  it('runSync answers what run resolves to', async () => {
    for (const cfg of [{ result: { a: 1 } }, { result: null }, {}, { message: 42 }, undefined as unknown as Record<string, unknown>]) {
      expect(noop.runSync!(cfg)).toEqual(await noop.run(cfg, ctx));
    }
  });
});
