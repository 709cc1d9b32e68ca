import { DIAGNOSTIC_CODES, loadPlaybook } from './index';
import { DIAGNOSTIC_EXAMPLES, markers } from '../test/diagnostic-examples';

describe('diagnostic catalogue: one minimal failing example per code', () => {
  it.each(DIAGNOSTIC_EXAMPLES.map((e) => [e.code, e] as const))('%s', (_code, ex) => {
    const r = loadPlaybook(ex.yaml, { file: 'example.yaml', ...ex.options });
    const marks = markers(ex.yaml);
    expect(marks.length).toBeGreaterThan(0);
    for (const m of marks) {
      const hit = r.diagnostics.find((d) => d.code === m.code && d.line === m.line);
      if (!hit) throw new Error(`expected ${m.code} at line ${m.line}, got:\n${r.diagnostics.map((d) => `${d.code}@${d.line}:${d.column} ${d.message}`).join('\n')}`);
      expect(hit.file).toBe('example.yaml');
      expect(hit.severity).toBe(DIAGNOSTIC_CODES[m.code].severity);
      expect(hit.column).toBeGreaterThanOrEqual(1);
      expect(typeof hit.path).toBe('string');
      expect(hit.message.length).toBeGreaterThan(0);
    }
    // nothing unexpected: every error reported is one the example marks
    const marked = new Set(marks.map((m) => m.code));
    const unexpected = r.diagnostics.filter((d) => !marked.has(d.code));
    expect(unexpected).toEqual([]);
    expect(r.ok).toBe(!r.diagnostics.some((d) => d.severity === 'error'));
    expect(r.playbook === undefined).toBe(!r.ok);
  });

  it('has an example for every code except E_INTERNAL', () => {
    const covered = new Set(DIAGNOSTIC_EXAMPLES.map((e) => e.code));
    const missing = Object.keys(DIAGNOSTIC_CODES).filter((c) => c !== 'E_INTERNAL' && !covered.has(c));
    expect(missing).toEqual([]);
  });

  it('severity follows the code prefix', () => {
    for (const [code, info] of Object.entries(DIAGNOSTIC_CODES)) {
      expect(info.severity).toBe(code.startsWith('W_') ? 'warning' : 'error');
      expect(info.summary.length).toBeGreaterThan(10);
    }
  });
});
