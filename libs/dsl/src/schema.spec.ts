import Ajv2020 from 'ajv/dist/2020';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { PLAYBOOK_SCHEMA } from './index';
import schemaFile from '../schema/playbook.schema.json';

const DIR = process.env.NOETL_CONFORMANCE_DIR ?? path.resolve(__dirname, '../../../../shared/conformance/cases');
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const validate = ajv.compile(PLAYBOOK_SCHEMA);
const yaml = (text: string) => parse(text, { version: '1.2', schema: 'core' }) as unknown;
const HEAD = 'apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: { name: demo }\n';

describe('PLAYBOOK_SCHEMA (JSON Schema 2020-12, author-facing YAML)', () => {
  it('is the schema file, a valid 2020-12 schema that compiles in strict mode', () => {
    expect(PLAYBOOK_SCHEMA).toBe(schemaFile);
    expect((PLAYBOOK_SCHEMA as { $schema: string }).$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(ajv.validateSchema(PLAYBOOK_SCHEMA)).toBe(true);
  });

  const valid = readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.expect.yaml'))
    .filter((f) => JSON.parse(readFileSync(path.join(DIR, f.replace(/\.yaml$/, '.expect.json')), 'utf8')).expect.status !== 'invalid')
    .sort();

  it.each(valid)('accepts conformance case %s', (f) => {
    const ok = validate(yaml(readFileSync(path.join(DIR, f), 'utf8')));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  const invalid: Array<[string, string]> = [
    ['missing workflow', `${HEAD}`],
    ['root vars', `${HEAD}vars: {}\nworkflow: [ { step: start, tool: { kind: noop } } ]\n`],
    ['wrong apiVersion', 'apiVersion: v1\nkind: Playbook\nmetadata: { name: x }\nworkflow: [ { step: start, tool: { kind: noop } } ]\n'],
    ['step when', `${HEAD}workflow: [ { step: start, when: "{{ x }}", tool: { kind: noop } } ]\n`],
    ['empty step', `${HEAD}workflow: [ { step: start } ]\n`],
    ['task without kind', `${HEAD}workflow: [ { step: start, tool: [ { name: a } ] } ]\n`],
    ['task eval', `${HEAD}workflow: [ { step: start, tool: { kind: noop, eval: x } } ]\n`],
    ['internal kind', `${HEAD}workflow: [ { step: start, tool: { kind: iterator } } ]\n`],
    ['policy as a list', `${HEAD}workflow: [ { step: start, tool: { kind: noop, spec: { policy: [ { when: x, then: { do: fail } } ] } } } ]\n`],
    ['then without do', `${HEAD}workflow: [ { step: start, tool: { kind: noop, spec: { policy: { rules: [ { else: { then: { set: {} } } } ] } } } } ]\n`],
    ['unknown directive', `${HEAD}workflow: [ { step: start, tool: { kind: noop, spec: { policy: { rules: [ { when: x, then: { do: skip } } ] } } } } ]\n`],
    ['admit then with do', `${HEAD}workflow: [ { step: start, spec: { policy: { admit: { rules: [ { when: x, then: { allow: true, do: continue } } ] } } }, tool: { kind: noop } } ]\n`],
    ['legacy next list', `${HEAD}workflow: [ { step: start, tool: { kind: noop }, next: [a] } ]\n`],
    ['arc cond', `${HEAD}workflow: [ { step: start, tool: { kind: noop }, next: { arcs: [ { step: a, cond: x } ] } } ]\n`],
    ['next_mode', `${HEAD}workflow: [ { step: start, spec: { next_mode: inclusive }, tool: { kind: noop } } ]\n`],
    ['loop without source', `${HEAD}workflow: [ { step: start, loop: { iterator: x }, tool: { kind: noop } } ]\n`],
    ['loop iterator not an identifier', `${HEAD}workflow: [ { step: start, loop: { in: [1], iterator: "a-b" }, tool: { kind: noop } } ]\n`],
    ['read-only set target', `${HEAD}workflow: [ { step: start, tool: { kind: noop }, set: { workload.x: 1 } } ]\n`],
    ['workbook entry calling a workbook', `${HEAD}workbook: [ { name: w, tool: { kind: workbook, name: w } } ]\nworkflow: [ { step: start, tool: { kind: noop } } ]\n`],
  ];

  it.each(invalid)('rejects: %s', (_why, text) => {
    expect(validate(yaml(text))).toBe(false);
  });
});
