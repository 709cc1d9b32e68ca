/**
 * Every conformance case (shared/conformance/cases) through loadPlaybook: valid cases load with
 * zero errors; `status: invalid` cases fail with exactly the expected codes and lines.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadPlaybook } from './index';

const DIR = process.env.NOETL_CONFORMANCE_DIR ?? path.resolve(__dirname, '../../../../shared/conformance/cases');

interface ExpectedDiagnostic {
  code: string;
  line?: number;
  column?: number;
  path?: string;
}

function cases(): Array<[string, string, { status: string; diagnostics?: ExpectedDiagnostic[] }]> {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.expect.yaml'))
    .sort()
    .map((f) => {
      const expect = JSON.parse(readFileSync(path.join(DIR, f.replace(/\.yaml$/, '.expect.json')), 'utf8')).expect;
      return [f, readFileSync(path.join(DIR, f), 'utf8'), expect];
    });
}

describe(`conformance cases in ${DIR}`, () => {
  it('the case directory exists and has cases', () => {
    expect(existsSync(DIR)).toBe(true);
    expect(cases().length).toBeGreaterThanOrEqual(56);
  });

  const all = existsSync(DIR) ? cases() : [];
  const valid = all.filter(([, , e]) => e.status !== 'invalid');
  const invalid = all.filter(([, , e]) => e.status === 'invalid');

  it.each(valid)('%s loads with no errors', (file, text) => {
    const r = loadPlaybook(text, { file });
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.playbook?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it.each(invalid)('%s is rejected with exactly the expected diagnostics', (file, text, expected) => {
    const r = loadPlaybook(text, { file });
    expect(r.ok).toBe(false);
    expect(r.playbook).toBeUndefined();
    const want = expected.diagnostics ?? [];
    expect(want.length).toBeGreaterThan(0);
    for (const w of want) {
      const hit = r.diagnostics.find((d) => d.code === w.code
        && (w.line === undefined || d.line === w.line)
        && (w.column === undefined || d.column === w.column)
        && (w.path === undefined || d.path === w.path));
      expect({ expected: w, found: hit !== undefined, got: r.diagnostics }).toMatchObject({ found: true });
    }
    const errors = r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}@${d.line}`).sort();
    expect(errors).toEqual(want.map((w) => `${w.code}@${w.line}`).sort());
  });
});
