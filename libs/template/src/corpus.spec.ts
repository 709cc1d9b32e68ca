// Constructs taken from the public NoETL e2e playbooks (fixtures/playbooks/**), rendered with
// realistic scopes: the syntax real playbooks use must parse, validate and evaluate as intended.
import { checkTemplate, defineFallback, evaluateCondition, renderTemplate, scopeFromObject } from './index';

const body = { meta: { page: 1, totalPages: 3 }, entry: [{ id: 1 }, { id: 2 }] };
const httpResult = defineFallback({ status_code: 200, headers: {}, data: body, body, url: 'u', elapsed_ms: 3 }, (k) =>
  Object.prototype.hasOwnProperty.call(body, k) ? (body as Record<string, unknown>)[k] : undefined,
);

const scope = scopeFromObject({
  execution_id: '5012',
  output: { status: 'ok', data: httpResult, http: { status: 200 }, error: null },
  iter: { item: 'P-0001', page: '2', pages_fetched: 1, records_fetched: '10', has_more: true },
  event: { name: 'loop.done' },
  workload: { num_facilities: '10', patients_per_facility: 1000 },
  ctx: { facility_mapping_id: 4 },
  start: { sub: "auth0|o'neil", email: 'a@b.c' },
  create_user_session: { rows: [{ user_id: 7 }] },
  request_id: '',
  generate_mixed: { boolean_field: true, null_field: null, list_field: [1, 'it\'s'], integer_field: 12345, float_field: 3.14159 },
  patients: ['P-0001', 'P-0002'],
});

const CASES: [string, unknown][] = [
  ["{{ output.status == 'error' and output.http.status == 429 }}", false],
  ['{{ output.data.meta.page < output.data.meta.totalPages }}', true],
  ['{{ (iter.pages_fetched | int) + 1 }}', 2],
  ['{{ (iter.records_fetched | int) + (output.data.entry | length) }}', 12],
  ["{{ iter.has_more | string | lower == 'true' }}", true],
  ['{{ (iter.page | int) + 1 }}', 3],
  ['{{ event.name == "loop.done" }}', true],
  ["{{ output.status == 'error' and output.error.retryable }}", false],
  ['{{ patients }}', ['P-0001', 'P-0002']],
  ['{{ output.data.data.meta.page }}', 1],
  [
    '{{ output.data.rows[0].facility_mapping_id if (output.data.row_count | default(0) | int) > 0 else (ctx.facility_mapping_id | default(0)) }}',
    4,
  ],
  ['{{ (output.data.row_count | default(0) | int) == 0 }}', true],
  ['{{ (start.error is defined) and request_id }}', false],
  ['{{ start.error is defined and not request_id }}', false],
  ['{{ start.sub is defined }}', true],
  ['{{ create_user_session.rows is defined and create_user_session.rows | length > 0 }}', true],
  ['{{ (create_user_session.rows is not defined or create_user_session.rows | length == 0) and request_id }}', false],
  ["{{ start.error | default('Token validation failed') }}", 'Token validation failed'],
  ['FROM generate_series(1, {{ workload.num_facilities | int }}) AS seq;', 'FROM generate_series(1, 10) AS seq;'],
  ['((f.facility_mapping_id) - 1) * {{ workload.patients_per_facility | int }} + seq', '((f.facility_mapping_id) - 1) * 1000 + seq'],
  [
    `('{{ start.sub | tojson | replace("'", "''") }}'::jsonb #>> '{}'),`,
    `('"auth0|o''neil"'::jsonb #>> '{}'),`,
  ],
  [
    `VALUES (
  '{{ execution_id }}',
  {{ generate_mixed.integer_field }},
  {{ generate_mixed.float_field }},
  {% if generate_mixed.boolean_field %}true{% else %}false{% endif %},
  {% if generate_mixed.null_field is none %}NULL{% else %}'{{ generate_mixed.null_field }}'{% endif %},
  '{{ generate_mixed.list_field | tojson | replace("'", "''") }}'
)`,
    `VALUES (
  '5012',
  12345,
  3.14159,
  true,
  NULL,
  '[1,"it''s"]'
)`,
  ],
  ["DELETE FROM t WHERE execution_id = '{{ execution_id }}';\n", "DELETE FROM t WHERE execution_id = '5012';\n"],
  ['n = int(num_patients or 500)\npatients = [{"patient_id": f"P-{i:04d}"} for i in range(1, n + 1)]', 'n = int(num_patients or 500)\npatients = [{"patient_id": f"P-{i:04d}"} for i in range(1, n + 1)]'],
];

describe('e2e playbook constructs', () => {
  it.each(CASES)('%s', (src, want) => {
    expect(checkTemplate(src)).toEqual([]);
    expect(renderTemplate(src, scope)).toEqual(want);
  });

  it('when conditions in their bare and braced forms', () => {
    expect(evaluateCondition("{{ output.status == 'error' }}", scope)).toBe(false);
    expect(evaluateCondition('output.data.entry | length > 1', scope)).toBe(true);
    expect(evaluateCondition('{{ not request_id }}', scope)).toBe(true);
    expect(evaluateCondition('{{ request_id }}', scope)).toBe(false);
  });
});
