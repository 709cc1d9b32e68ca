import fc from 'fast-check';
import { loadPlaybook } from './index';
import { pathIndex, pathKey } from './paths';
import { parseYamlSource, splitPath } from './yaml-source';

const HEAD = 'apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: { name: demo }\n';
const body = (workload: string) => `${HEAD}workload:\n${workload}\nworkflow:\n  - step: start\n    tool: { kind: noop }\n`;

function yamlErrors(text: string, opts = {}) {
  return loadPlaybook(text, opts).diagnostics.filter((d) => d.code === 'E_YAML');
}

describe('YAML 1.2 core schema', () => {
  it('keeps y/n/yes/no/on/off as strings, 010 as 10, dates as strings', () => {
    const r = loadPlaybook(body('  a: y\n  b: n\n  c: yes\n  d: no\n  e: on\n  f: off\n  g: 010\n  h: 2026-01-31\n  i: 0o10\n  j: ~\n  k:\n  l: True\n  m: 1e3'));
    expect(r.ok).toBe(true);
    expect(r.playbook?.workload).toEqual({
      a: 'y', b: 'n', c: 'yes', d: 'no', e: 'on', f: 'off', g: 10, h: '2026-01-31', i: 8, j: null, k: null, l: true, m: 1000,
    });
  });

  it('rejects non-JSON numbers (.inf, .nan) at their position', () => {
    const e = yamlErrors(body('  big: .inf'));
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ line: 5, column: 8 });
  });

  it('rejects duplicate keys at the second key, anywhere', () => {
    const e = yamlErrors(body('  a: 1\n  b:\n    x: 1\n    x: 2'));
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ line: 8, column: 5, path: 'workload.b.x' });
    expect(e[0].message).toMatch(/duplicate/);
  });

  it('rejects multi-document files at the second document', () => {
    const e = yamlErrors(`${HEAD}workflow: []\n---\nkind: Playbook\n`);
    expect(e).toHaveLength(1);
    expect(e[0].line).toBe(5);
  });

  it('reports invalid YAML at the parser position, never throws', () => {
    const e = yamlErrors(`${HEAD}workflow:\n  - step: [unclosed\n`);
    expect(e.length).toBeGreaterThan(0);
    expect(e[0].line).toBeGreaterThanOrEqual(5);
    expect(e[0].message).not.toMatch(/\n/);
  });

  it('rejects unknown tags, complex keys and __proto__ keys', () => {
    expect(yamlErrors(body('  a: !custom x'))).toHaveLength(1);
    expect(yamlErrors(body('  ? [a, b]\n  : 1'))).toHaveLength(1);
    expect(yamlErrors(body('  __proto__: { polluted: true }'))).toHaveLength(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('stringifies scalar keys like yaml.parse does', () => {
    const r = loadPlaybook(body('  1: one\n  true: yes\n  "x.y": z'));
    expect(r.playbook?.workload).toEqual({ 1: 'one', true: 'yes', 'x.y': 'z' });
  });

  it('rejects an empty document and a non-mapping root', () => {
    expect(loadPlaybook('').diagnostics.map((d) => d.code)).toEqual(['E_ROOT_FIELD']);
    expect(loadPlaybook('# only a comment\n').diagnostics.map((d) => d.code)).toEqual(['E_ROOT_FIELD']);
    expect(loadPlaybook('- a\n- b\n').diagnostics.map((d) => d.code)).toEqual(['E_ROOT_FIELD']);
    expect(loadPlaybook('just text').diagnostics.map((d) => d.code)).toEqual(['E_ROOT_FIELD']);
  });
});

describe('anchors, aliases and merge keys', () => {
  it('expands aliases and << merges (explicit keys win)', () => {
    const r = loadPlaybook(body('  base: &b { x: 1, y: 2 }\n  copy: *b\n  merged:\n    <<: *b\n    y: 3\n  multi:\n    <<: [*b, { z: 9, x: 0 }]'));
    expect(r.ok).toBe(true);
    expect(r.playbook?.workload).toEqual({
      base: { x: 1, y: 2 }, copy: { x: 1, y: 2 }, merged: { x: 1, y: 3 }, multi: { x: 1, y: 2, z: 9 },
    });
  });

  it('bounds alias expansion ("billion laughs") with a clear diagnostic', () => {
    const lines = ['  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i <= 9; i++) lines.push(`  l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
    const before = process.memoryUsage().heapUsed;
    const e = yamlErrors(body(lines.join('\n')));
    expect(e).toHaveLength(1);
    expect(e[0].message).toMatch(/alias expansion too large/);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('reports an alias to an unknown anchor', () => {
    expect(yamlErrors(body('  a: *nowhere'))).toHaveLength(1);
  });

  it('does not recurse forever on a self-referencing anchor', () => {
    const r = loadPlaybook(body('  a: &x [1, *x]'));
    expect(r.ok).toBe(false);
  });
});

describe('hostile input is bounded', () => {
  jest.setTimeout(120_000);

  it('rejects input above maxBytes without parsing (50 MB)', () => {
    const big = `${HEAD}workload:\n  blob: "${'x'.repeat(50 * 1024 * 1024)}"\n`;
    const r = loadPlaybook(big);
    expect(r.ok).toBe(false);
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: 'E_YAML', line: 1, column: 1, message: expect.stringMatching(/too large/) })]);
  });

  it('honours a custom maxBytes (multi-byte characters count as bytes)', () => {
    expect(loadPlaybook('é'.repeat(600), { maxBytes: 1000 }).diagnostics[0].message).toMatch(/too large/);
    expect(loadPlaybook(body('  a: 1'), { maxBytes: 10 }).diagnostics[0].message).toMatch(/too large/);
  });

  it('rejects deeply nested flow collections', () => {
    const deep = `${HEAD}workload:\n  a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    const e = yamlErrors(deep);
    expect(e).toHaveLength(1);
    expect(e[0].message).toMatch(/nesting too deep/);
  });

  it('rejects deeply nested block collections without exhausting the stack (twice in a row)', () => {
    const deep = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}- `).join('\n') + 'x';
    for (let i = 0; i < 2; i++) {
      const e = yamlErrors(deep);
      expect(e).toHaveLength(1);
      expect(e[0].message).toMatch(/nesting too deep/);
    }
  });

  it('turns binary garbage into diagnostics', () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString('latin1');
    const r = loadPlaybook(bytes);
    expect(r.ok).toBe(false);
    expect(r.diagnostics.length).toBeGreaterThan(0);
    const nul = loadPlaybook('\u0000\u0001\u0002\ufffe');
    expect(nul.ok).toBe(false);
  });

  it('rejects non-string input', () => {
    const r = loadPlaybook(42 as unknown as string);
    expect(r.diagnostics[0]).toMatchObject({ code: 'E_YAML' });
  });
});

describe('source positions', () => {
  it('records value and key positions by path', () => {
    const p = parseYamlSource('a:\n  b: [1, { c: x }]\n  "d.e": 2\n');
    expect(p.issues).toEqual([]);
    expect(p.index.get('a.b')).toMatchObject({ line: 2, column: 6, keyLine: 2, keyColumn: 3 });
    expect(p.index.get('a.b[1].c')).toMatchObject({ line: 2, column: 15 });
    expect(p.index.get('a["d.e"]')).toMatchObject({ line: 3, column: 10, keyLine: 3, keyColumn: 3 });
    expect(p.index.locate('a.b[1].missing')).toEqual({ line: 2, column: 10 });
    expect(p.index.locate('a["d.e"]', true)).toEqual({ line: 3, column: 3 });
  });
});

describe('paths', () => {
  it('splitPath inverts pathKey/pathIndex for any keys', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.nat({ max: 50 }))), (segs) => {
      let p = '';
      for (const s of segs) p = typeof s === 'number' ? pathIndex(p, s) : pathKey(p, s);
      expect(splitPath(p)).toEqual(segs.map(String));
    }), { numRuns: 500 });
  });
});
