import { existsSync, readFileSync } from 'node:fs';
import { DIAGNOSTIC_CODES } from './index';
import { DOC_PATH, renderDiagnosticsDoc } from '../test/diagnostics-doc';

describe('docs/diagnostics.md', () => {
  it('documents every code and is up to date (regenerate: npx tsx libs/dsl/test/diagnostics-doc.ts)', () => {
    expect(existsSync(DOC_PATH)).toBe(true);
    const doc = readFileSync(DOC_PATH, 'utf8');
    for (const code of Object.keys(DIAGNOSTIC_CODES)) expect(doc).toContain(`## ${code}`);
    expect(doc).toBe(renderDiagnosticsDoc());
  });
});
