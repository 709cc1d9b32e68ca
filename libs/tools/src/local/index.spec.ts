import { ToolRegistry } from '../registry';
import { createLocalTools } from './index';
import { makeTestContext } from '../testing';

describe('createLocalTools', () => {
  it('returns python, shell, noop and duckdb handlers that work behind a registry', async () => {
    const registry = new ToolRegistry();
    for (const t of createLocalTools({ python: { poolSize: 1 } })) registry.register(t);
    try {
      expect(registry.kinds()).toEqual(['duckdb', 'noop', 'python', 'shell']);
      const ctx = makeTestContext();
      expect((await registry.get('noop')!.run({}, ctx)).status).toBe('ok');
      expect((await registry.get('python')!.run({ code: 'result = 1' }, ctx)).data).toBe(1);
      expect((await registry.get('shell')!.run({ command: 'echo 1' }, ctx)).data).toMatchObject({ stdout: '1\n' });
      expect((await registry.get('duckdb')!.run({ command: 'SELECT 1 AS x' }, ctx)).data).toMatchObject({ rows: [{ x: 1 }] });
    } finally {
      await registry.close();
    }
  });

  it('shell can be left out', () => {
    expect(createLocalTools({ shell: false }).map((t) => t.kind)).toEqual(['python', 'noop', 'duckdb']);
  });

  it('handlers never throw on garbage configuration', async () => {
    const tools = createLocalTools({ python: { poolSize: 1 } });
    try {
      for (const t of tools) {
        for (const config of [{ code: [], command: {}, cmds: 5, params: 'x', database: 1 }, { timeout_seconds: {} }]) {
          const out = await t.run(config as Record<string, unknown>, makeTestContext());
          if (t.kind === 'noop') expect(out.status).toBe('ok');
          else expect(out.error?.kind).toBe('config');
        }
      }
    } finally {
      await Promise.all(tools.map((t) => t.close?.()));
    }
  });
});
