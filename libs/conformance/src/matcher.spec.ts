import { checkRun, countMatchingEvents, subsetMatches, subsetMismatches, type RunDocument } from './matcher';
import type { CaseExpectation } from './case-file';

describe('subset match (conformance README)', () => {
  it('every expected key must be present with an equal value; extra actual keys are fine', () => {
    expect(subsetMatches({ a: 1 }, { a: 1, b: 2 })).toBe(true);
    expect(subsetMatches({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(subsetMatches({}, { anything: true })).toBe(true);
  });
  it('objects recurse', () => {
    expect(subsetMatches({ a: { b: { c: 1 } } }, { a: { b: { c: 1, d: 2 }, e: 3 } })).toBe(true);
    expect(subsetMatches({ a: { b: { c: 1 } } }, { a: { b: { c: 2 } } })).toBe(false);
    expect(subsetMismatches({ a: { b: { c: 1 } } }, { a: { b: { c: 2 } } }, 'ctx')).toEqual(['ctx.a.b.c: expected 1, got 2']);
  });
  it('an expected object needs an actual object (not array, not null, not scalar)', () => {
    expect(subsetMatches({ a: {} }, { a: [] })).toBe(false);
    expect(subsetMatches({ a: {} }, { a: null })).toBe(false);
    expect(subsetMatches({ a: {} }, { a: 'x' })).toBe(false);
    expect(subsetMatches({}, null)).toBe(false);
  });
  it('arrays must have the same length', () => {
    expect(subsetMatches([1, 2], [1, 2])).toBe(true);
    expect(subsetMatches([1, 2], [1, 2, 3])).toBe(false);
    expect(subsetMatches([1, 2, 3], [1, 2])).toBe(false);
    expect(subsetMatches([], [])).toBe(true);
    expect(subsetMatches([], [1])).toBe(false);
    expect(subsetMismatches({ l: [1] }, { l: [1, 2] })[0]).toMatch(/\$\.l: expected an array of length 1, got length 2/);
  });
  it('array elements are subset-matched at the same index', () => {
    expect(subsetMatches([{ id: 1 }, { id: 2 }], [{ id: 1, x: 0 }, { id: 2, y: 0 }])).toBe(true);
    expect(subsetMatches([{ id: 1 }, { id: 2 }], [{ id: 2 }, { id: 1 }])).toBe(false);
    expect(subsetMismatches([{ id: 1 }], [{ id: 3 }])).toEqual(['$[0].id: expected 1, got 3']);
  });
  it('an expected array needs an actual array', () => {
    expect(subsetMatches([], {})).toBe(false);
    expect(subsetMatches({ a: [1] }, { a: { 0: 1 } })).toBe(false);
  });
  it('numbers compare by value (1 equals 1.0)', () => {
    expect(subsetMatches({ n: 1 }, { n: 1.0 })).toBe(true);
    expect(subsetMatches(JSON.parse('{"n": 1.0}'), JSON.parse('{"n": 1}'))).toBe(true);
    expect(subsetMatches({ n: 0.5 }, { n: 0.5 })).toBe(true);
    expect(subsetMatches({ n: 0 }, { n: -0 })).toBe(true);
    expect(subsetMatches({ n: 1 }, { n: 2 })).toBe(false);
  });
  it('a number never equals its string form, and vice versa', () => {
    expect(subsetMatches({ n: 1 }, { n: '1' })).toBe(false);
    expect(subsetMatches({ s: '1' }, { s: 1 })).toBe(false);
    expect(subsetMatches({ b: true }, { b: 'true' })).toBe(false);
    expect(subsetMatches({ b: true }, { b: 1 })).toBe(false);
  });
  it('strings compare exactly (case, whitespace)', () => {
    expect(subsetMatches('abc', 'abc')).toBe(true);
    expect(subsetMatches('abc', 'ABC')).toBe(false);
    expect(subsetMatches('abc', 'abc ')).toBe(false);
    expect(subsetMatches('', '')).toBe(true);
  });
  it('booleans compare exactly', () => {
    expect(subsetMatches(false, false)).toBe(true);
    expect(subsetMatches(false, null)).toBe(false);
    expect(subsetMatches(false, 0)).toBe(false);
  });
  it('a missing key never equals null', () => {
    expect(subsetMatches({ a: null }, {})).toBe(false);
    expect(subsetMatches({ a: null }, { a: undefined })).toBe(false);
    expect(subsetMismatches({ a: null }, {}, 'r')).toEqual(['r.a: missing (expected null)']);
    expect(subsetMatches({ a: null }, { a: null })).toBe(true);
  });
  it('null expected needs null actual, and null actual matches nothing else', () => {
    expect(subsetMatches(null, 0)).toBe(false);
    expect(subsetMatches(null, '')).toBe(false);
    expect(subsetMatches(null, false)).toBe(false);
    expect(subsetMatches(0, null)).toBe(false);
    expect(subsetMatches('', null)).toBe(false);
  });
  it('does not treat inherited properties as present', () => {
    expect(subsetMatches({ toString: 'x' }, {})).toBe(false);
  });
  it('reports every mismatch, not just the first', () => {
    expect(subsetMismatches({ a: 1, b: 2, c: [1] }, { a: 0, b: 0, c: [] }, 'x')).toHaveLength(3);
  });
});

describe('countMatchingEvents', () => {
  const events = [
    { event_type: 'task.attempt.failed', step: 'start', task: 'fetch', attempt: 1, status: 'error' },
    { event_type: 'task.attempt.failed', step: 'start', task: 'fetch', attempt: 2, status: 'error' },
    { event_type: 'task.attempt.done', step: 'start', task: 'fetch', attempt: 3, status: 'ok' },
    { event_type: 'loop.iteration.done', step: 'l', iteration_index: 0 },
  ];
  it('counts events matching all given fields', () => {
    expect(countMatchingEvents(events, { event_type: 'task.attempt.failed', task: 'fetch' })).toBe(2);
    expect(countMatchingEvents(events, { event_type: 'task.attempt.failed', task: 'fetch', attempt: 2 })).toBe(1);
    expect(countMatchingEvents(events, { event_type: 'task.attempt.done', attempt: 1 })).toBe(0);
    expect(countMatchingEvents(events, { iteration_index: 0 })).toBe(1);
    expect(countMatchingEvents(events, { task: 'fetch' })).toBe(3);
  });
  it('a field the event lacks never matches (even null)', () => {
    expect(countMatchingEvents(events, { iteration_index: null })).toBe(0);
  });
});

function doc(partial: Partial<RunDocument>): RunDocument {
  return { execution_id: 'X', status: 'completed', error: null, ctx: {}, steps: {}, events: [], ...partial };
}

describe('checkRun', () => {
  it('passes a matching document', () => {
    const e: CaseExpectation = { status: 'completed', error: null, ctx: { counter: 3 }, steps: { start: { status: 'done', runs: 1 } } };
    expect(checkRun(e, doc({ ctx: { counter: 3.0, other: 1 }, steps: { start: { status: 'done', runs: 1, result: {} } } }))).toEqual([]);
  });
  it('status must be equal', () => {
    expect(checkRun({ status: 'failed' }, doc({}))).toEqual(['status: expected failed, got completed']);
  });
  it('shows diagnostics when an expected run was rejected', () => {
    const r = checkRun({ status: 'completed' }, { status: 'invalid', diagnostics: [{ code: 'E_X', line: 3, column: 4, message: 'bad' }] });
    expect(r[0]).toMatch(/status: expected completed, got invalid \(E_X@3:4 bad\)/);
  });
  it('error: null requires a null error', () => {
    expect(checkRun({ status: 'completed', error: null }, doc({}))).toEqual([]);
    expect(checkRun({ status: 'completed', error: null }, doc({ error: { kind: 'x' } }))[0]).toMatch(/^error: expected null/);
  });
  it('error: subset of the error object', () => {
    const e: CaseExpectation = { status: 'failed', error: { step: 'work', kind: 'not_found', details: { retry_exhausted: true } } };
    const ok = doc({ status: 'failed', error: { step: 'work', kind: 'not_found', code: 'HTTP_404', details: { retry_exhausted: true, x: 1 } } });
    expect(checkRun(e, ok)).toEqual([]);
    expect(checkRun(e, doc({ status: 'failed', error: { step: 'work', kind: 'server_error', details: { retry_exhausted: true } } }))).toEqual([
      'error.kind: expected "not_found", got "server_error"',
    ]);
    expect(checkRun(e, doc({ status: 'failed', error: null }))[0]).toMatch(/^error: expected .*got null/);
  });
  it('absent `error` in the expectation is not checked', () => {
    expect(checkRun({ status: 'failed' }, doc({ status: 'failed', error: { kind: 'x' } }))).toEqual([]);
  });
  it('ctx: subset match', () => {
    expect(checkRun({ status: 'completed', ctx: { a: { b: 1 } } }, doc({ ctx: { a: { b: 2 } } }))).toEqual(['ctx.a.b: expected 1, got 2']);
    expect(checkRun({ status: 'completed', ctx: { a: null } }, doc({ ctx: {} }))).toEqual(['ctx.a: missing (expected null)']);
  });
  it('steps: subset match per step; a missing step fails', () => {
    const e: CaseExpectation = { status: 'completed', steps: { a: { status: 'skipped' }, b: { status: 'done', result: { x: [1] } } } };
    expect(checkRun(e, doc({ steps: { a: { status: 'skipped', runs: 0, result: null }, b: { status: 'done', runs: 1, result: { x: [1], y: 2 } } } }))).toEqual([]);
    expect(checkRun(e, doc({ steps: { b: { status: 'done', runs: 1, result: { x: [1] } } } }))[0]).toMatch(/^steps\.a: missing from the run's steps/);
  });
  it('steps: result null in the expectation needs a null result', () => {
    const e: CaseExpectation = { status: 'completed', steps: { a: { result: null } } };
    expect(checkRun(e, doc({ steps: { a: { status: 'failed', runs: 1, result: null } } }))).toEqual([]);
    expect(checkRun(e, doc({ steps: { a: { status: 'failed', runs: 1 } } }))).toEqual(['steps.a.result: missing (expected null)']);
  });
  it('steps: {runs: 0} alone means never scheduled (absent or runs 0, no step.scheduled)', () => {
    const e: CaseExpectation = { status: 'completed', steps: { never: { runs: 0 } } };
    expect(checkRun(e, doc({}))).toEqual([]);
    expect(checkRun(e, doc({ steps: { never: { runs: 0 } } }))).toEqual([]);
    expect(checkRun(e, doc({ steps: { never: { status: 'skipped', runs: 0, result: null } } }))).toEqual([]);
    expect(checkRun(e, doc({ steps: { never: { status: 'done', runs: 1 } } }))[0]).toMatch(/steps\.never: expected never scheduled, got runs 1/);
    expect(
      checkRun(e, doc({ events: [{ event_type: 'step.scheduled', step: 'never' }] }))[0],
    ).toMatch(/expected never scheduled, got runs 0 \(1 step.scheduled events\)/);
  });
  it('steps: runs 0 together with other keys is a plain subset match', () => {
    const e: CaseExpectation = { status: 'completed', steps: { g: { status: 'skipped', runs: 0 } } };
    expect(checkRun(e, doc({}))[0]).toMatch(/steps\.g: missing/);
    expect(checkRun(e, doc({ steps: { g: { status: 'skipped', runs: 0 } } }))).toEqual([]);
  });
  it('order: first step.done of each listed step, in that order', () => {
    const events = [
      { event_type: 'step.done', step: 'start' },
      { event_type: 'step.done', step: 'b' },
      { event_type: 'step.done', step: 'a' },
      { event_type: 'step.done', step: 'b' },
    ];
    expect(checkRun({ status: 'completed', order: ['start', 'b', 'a'] }, doc({ events }))).toEqual([]);
    expect(checkRun({ status: 'completed', order: ['start', 'a', 'b'] }, doc({ events }))).toEqual([
      'order: first step.done of b (event #1) is not after a (event #2)',
    ]);
    expect(checkRun({ status: 'completed', order: ['start', 'zz'] }, doc({ events }))).toEqual(['order: step zz has no step.done event']);
  });
  it('order: step.failed and step.scheduled do not count as done', () => {
    const events = [
      { event_type: 'step.scheduled', step: 'a' },
      { event_type: 'step.failed', step: 'a' },
      { event_type: 'step.done', step: 'b' },
      { event_type: 'step.done', step: 'a' },
    ];
    expect(checkRun({ status: 'completed', order: ['b', 'a'] }, doc({ events }))).toEqual([]);
  });
  it('order: a loop step is placed by its first loop.done', () => {
    const events = [
      { event_type: 'step.done', step: 'start' },
      { event_type: 'loop.done', step: 'lp' },
      { event_type: 'step.done', step: 'end' },
    ];
    expect(checkRun({ status: 'completed', order: ['start', 'lp', 'end'] }, doc({ events }))).toEqual([]);
  });
  it('events: exact counts, including 0', () => {
    const events = [
      { event_type: 'execution.started', step: null },
      { event_type: 'step.scheduled', step: 'a' },
      { event_type: 'step.scheduled', step: 'a' },
    ];
    const e: CaseExpectation = {
      status: 'completed',
      events: [
        { match: { event_type: 'step.scheduled', step: 'a' }, count: 2 },
        { match: { event_type: 'execution.failed' }, count: 0 },
        { match: { event_type: 'execution.started', step: null }, count: 1 },
      ],
    };
    expect(checkRun(e, doc({ events }))).toEqual([]);
    expect(checkRun({ status: 'completed', events: [{ match: { event_type: 'step.scheduled' }, count: 1 }] }, doc({ events }))).toEqual([
      'events {"event_type":"step.scheduled"}: expected count 1, got 2',
    ]);
  });
  it('diagnostics: each expected one must appear (subset match)', () => {
    const d = { status: 'invalid', diagnostics: [{ code: 'E_UNKNOWN_ARC_TARGET', line: 15, column: 11, message: 'x', path: 'p' }] };
    expect(checkRun({ status: 'invalid', diagnostics: [{ code: 'E_UNKNOWN_ARC_TARGET', line: 15 }] }, d)).toEqual([]);
    expect(checkRun({ status: 'invalid', diagnostics: [{ code: 'E_UNKNOWN_ARC_TARGET', line: 14 }] }, d)[0]).toMatch(
      /diagnostics: expected \{"code":"E_UNKNOWN_ARC_TARGET","line":14\} not found \(got E_UNKNOWN_ARC_TARGET@15:11\)/,
    );
    expect(checkRun({ status: 'invalid', diagnostics: [{ code: 'E_X' }] }, { status: 'invalid' })[0]).toMatch(/got none/);
  });
  it('collects every failing rule', () => {
    const e: CaseExpectation = { status: 'completed', ctx: { a: 1 }, steps: { s: { runs: 2 } }, events: [{ match: { event_type: 'x' }, count: 1 }] };
    expect(checkRun(e, doc({ status: 'failed', steps: { s: { runs: 1 } } }))).toHaveLength(4);
  });
});
