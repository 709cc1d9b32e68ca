import { effectiveTimeoutMs, parseDurationMs, TimeoutConfigError } from './timeout';

describe('parseDurationMs', () => {
  it.each([
    [2, 2000],
    [0.5, 500],
    ['30', 30_000],
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    [' 2 M ', 120_000],
    [{ connect: 3, read: 20 }, 23_000],
    [{ read: '1s' }, 1000],
  ])('%p -> %p ms', (input, ms) => {
    expect(parseDurationMs(input)).toBe(ms);
  });

  it.each([[0], [-1], ['abc'], ['5d'], [''], [null], [true], [[1]], [{}], [Number.NaN], [{ connect: 'x' }]])('%p -> undefined', (input) => {
    expect(parseDurationMs(input)).toBeUndefined();
  });
});

describe('effectiveTimeoutMs (K1.9)', () => {
  it('tool field timeout_seconds wins over everything', () => {
    expect(effectiveTimeoutMs({ timeout_seconds: 2, timeout: 9 }, { spec: { timeout: '5m' }, defaultTimeoutS: 60 }, 300)).toBe(2000);
  });
  it('then the tool field timeout', () => {
    expect(effectiveTimeoutMs({ timeout: '750ms' }, { spec: { timeout: '5m' }, defaultTimeoutS: 60 }, 300)).toBe(750);
  });
  it('then spec.timeout', () => {
    expect(effectiveTimeoutMs({}, { spec: { timeout: '5m' }, defaultTimeoutS: 60 }, 300)).toBe(300_000);
    expect(effectiveTimeoutMs({}, { spec: { timeout: { connect: 3, read: 20 } } }, 30)).toBe(23_000);
  });
  it('then executor defaults, then the kind default', () => {
    expect(effectiveTimeoutMs({}, { spec: {}, defaultTimeoutS: 60 }, 300)).toBe(60_000);
    expect(effectiveTimeoutMs({ timeout_seconds: null }, { spec: {} }, 300)).toBe(300_000);
  });
  it('an invalid tool field throws a TimeoutConfigError naming the field; invalid spec values are skipped', () => {
    expect(() => effectiveTimeoutMs({ timeout_seconds: 'soon' }, { spec: {} }, 300)).toThrow(TimeoutConfigError);
    try {
      effectiveTimeoutMs({ timeout: -3 }, { spec: {} }, 300);
    } catch (e) {
      expect((e as TimeoutConfigError).field).toBe('timeout');
      expect((e as Error).message).toContain("'timeout'");
    }
    expect(effectiveTimeoutMs({}, { spec: { timeout: 'bogus' } }, 300)).toBe(300_000);
  });
});
