// Examples are runnable and run in CI (STYLE.md rule 9): every examples/NN-*.yaml is validated
// and run embedded through the CLI; 01-hello is also checked in detail.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from './main';
import { fakeIo } from './testing';

const ROOT = resolve(__dirname, '../../..');
const EXAMPLES = join(ROOT, 'examples');
const env = { ...process.env, NOETL_HOME: mkdtempSync(join(tmpdir(), 'noetl-examples-')), NOETL_CREDENTIALS: '' };
afterAll(() => rmSync(env.NOETL_HOME, { recursive: true, force: true }));
const files = readdirSync(EXAMPLES).filter((f) => /^\d\d-.*\.ya?ml$/.test(f)).sort();

describe('examples', () => {
  it('has numbered examples', () => {
    expect(files).toContain('01-hello.yaml');
  });

  it.each(files)('%s validates and runs to completion', async (f) => {
    const v = fakeIo(ROOT, env);
    expect(await main(['validate', join('examples', f)], v)).toBe(0);
    const io = fakeIo(ROOT, env);
    const code = await main(['run', join('examples', f), '--json', '--quiet'], io);
    const doc = JSON.parse(io.out);
    expect(doc.error).toBeNull();
    expect(doc.status).toBe('completed');
    expect(code).toBe(0);
  });

  it('01-hello: loop, python, policy and routing do what the file says', async () => {
    let io = fakeIo(ROOT, env);
    expect(await main(['run', 'examples/01-hello.yaml', '--json', '--quiet'], io)).toBe(0);
    let doc = JSON.parse(io.out);
    expect(doc.ctx).toEqual({ greeting: 'Hello, world!', total: 30 });
    expect(doc.steps.squares).toMatchObject({ status: 'done', runs: 1 });
    expect(doc.steps.squares.result.results.map((r: { square: number }) => r.square)).toEqual([1, 4, 9, 16]);
    expect(doc.steps.big).toMatchObject({ status: 'done', result: { verdict: 'big', total: 30 } });
    expect(doc.steps.small).toBeUndefined();
    expect(doc.steps.end.result).toEqual({ message: 'Hello, world! The squares add up to 30.', verdict: 'big' });
    expect(doc.events.filter((e: { event_type: string }) => e.event_type === 'loop.iteration.done')).toHaveLength(4);

    io = fakeIo(ROOT, env);
    expect(await main(['run', 'examples/01-hello.yaml', '--json', '--quiet', '--set', 'name=ann', '--set', 'numbers=[1,2]'], io)).toBe(0);
    doc = JSON.parse(io.out);
    expect(doc.steps.end.result).toEqual({ message: 'Hello, ann! The squares add up to 5.', verdict: 'small' });
    expect(doc.steps.big).toBeUndefined();
  });
});
