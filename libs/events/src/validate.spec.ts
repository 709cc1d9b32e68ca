import { parseEvent, EventValidationError, ids, EVENT_TYPES } from '@noetl/events';

const base = {
  v: 1, event_id: 'E1/s/1.0', ts: '2026-01-01T00:00:00.000Z', execution_id: 'E1', root_execution_id: 'E1',
  source: 'scheduler', producer_id: 'p', status: 'ok',
};

describe('parseEvent', () => {
  it('accepts a well-formed catalogued event', () => {
    const e = parseEvent({ ...base, event_type: 'step.skipped', payload: { step: 'a', token_ids: [], reason: 'admission_denied', rule_index: 0 } });
    expect(e?.event_type).toBe('step.skipped');
  });
  it('returns null for unknown event types (T6.1)', () => {
    expect(parseEvent({ ...base, event_type: 'x.custom', payload: {} })).toBeNull();
  });
  it('rejects missing envelope fields and payload fields', () => {
    expect(() => parseEvent({ ...base, event_id: '', event_type: 'step.done', payload: {} })).toThrow(EventValidationError);
    expect(() => parseEvent({ ...base, event_type: 'step.done', payload: {} })).toThrow(/ctx_patch/);
    expect(() => parseEvent({ ...base, status: 'success', event_type: 'x', payload: {} })).toThrow(/status/);
    expect(() => parseEvent('nope')).toThrow(EventValidationError);
  });
});

describe('ids', () => {
  it('are derived from their cause (T2.3)', () => {
    expect(ids.stepRun('E', 17, 0)).toBe('E/r/17.0');
    expect(ids.command(ids.iteration('E/r/17.0', 3))).toBe('E/r/17.0/i3/c1');
    expect(ids.taskRun('C', 1, 2, 1)).toBe('C/e1/t2/v1');
    expect(ids.attempt('T', 2)).toBe('T/a2');
  });
  it('the catalog lists each event type once', () => {
    expect(new Set(EVENT_TYPES).size).toBe(EVENT_TYPES.length);
  });
});
