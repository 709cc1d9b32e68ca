import { ControlChannel, WorkQueue, type Delivery, type MaxDeliverAdvisory } from './bus';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  let q: WorkQueue<string>;
  afterEach(() => q?.close());

  it('delivers in FIFO order with delivery count 1', async () => {
    q = new WorkQueue<string>();
    q.publish('a', 'A');
    q.publish('b', 'B');
    const d1 = await q.next();
    const d2 = await q.next();
    expect([d1?.id, d1?.data, d1?.deliveryCount]).toEqual(['a', 'A', 1]);
    expect([d2?.id, d2?.deliveryCount]).toEqual(['b', 1]);
    d1?.ack();
    d2?.ack();
    expect(q.size).toBe(0);
  });

  it('waits for a message when empty; concurrent consumers each get a different message', async () => {
    q = new WorkQueue<string>();
    const p1 = q.next();
    const p2 = q.next();
    q.publish('a', 'A');
    q.publish('b', 'B');
    const [d1, d2] = await Promise.all([p1, p2]);
    expect([d1?.id, d2?.id]).toEqual(['a', 'b']);
    expect(q.inFlight).toBe(2);
  });

  it('drops a duplicate message id within the window (Nats-Msg-Id dedupe)', async () => {
    let t = 0;
    q = new WorkQueue<string>({ duplicateWindowMs: 100, now: () => t });
    expect(q.publish('c1', 'x')).toBe(true);
    expect(q.publish('c1', 'x')).toBe(false);
    (await q.next())?.ack();
    expect(q.publish('c1', 'x')).toBe(false); // acked but still within the window
    t = 150;
    expect(q.publish('c1', 'x')).toBe(true);
    expect(q.size).toBe(1);
  });

  it('redelivers after ack-wait expiry with an incremented delivery count (lease epoch)', async () => {
    q = new WorkQueue<string>({ ackWaitMs: 40, maxDeliver: 3 });
    q.publish('c', 'cmd');
    const d1 = await q.next();
    expect(d1?.deliveryCount).toBe(1);
    const d2 = await q.next(); // arrives after the ack wait of d1
    expect(d2?.deliveryCount).toBe(2);
    expect(d2?.id).toBe('c');
    d2?.ack();
    expect(q.size).toBe(0);
  });

  it('ignores ack/nak from a stale delivery', async () => {
    q = new WorkQueue<string>({ ackWaitMs: 30, maxDeliver: 5 });
    q.publish('c', 'cmd');
    const d1 = (await q.next()) as Delivery<string>;
    const d2 = (await q.next()) as Delivery<string>;
    d1.ack(); // stale: the message now belongs to delivery 2
    expect(q.size).toBe(1);
    d1.nak();
    expect(q.inFlight).toBe(1);
    d2.ack();
    expect(q.size).toBe(0);
  });

  it('in-progress acks keep a slow delivery from being redelivered', async () => {
    q = new WorkQueue<string>({ ackWaitMs: 50 });
    q.publish('c', 'cmd');
    const d = (await q.next()) as Delivery<string>;
    for (let i = 0; i < 5; i++) {
      await sleep(25);
      d.inProgress();
    }
    const ac = new AbortController();
    const again = q.next(ac.signal);
    await sleep(30);
    ac.abort();
    expect(await again).toBeNull();
    d.ack();
  });

  it('nak redelivers immediately, or after the given delay', async () => {
    q = new WorkQueue<string>({ maxDeliver: 5 });
    q.publish('c', 'cmd');
    (await q.next())?.nak();
    const d2 = await q.next();
    expect(d2?.deliveryCount).toBe(2);
    const t0 = Date.now();
    d2?.nak(80);
    const d3 = await q.next();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(70);
    expect(d3?.deliveryCount).toBe(3);
    d3?.ack();
  });

  it('after max-deliver deliveries the message is dropped and the advisory fires once', async () => {
    const advisories: Array<MaxDeliverAdvisory<string>> = [];
    q = new WorkQueue<string>({ ackWaitMs: 20, maxDeliver: 3, onMaxDeliver: (a) => advisories.push(a) });
    q.publish('c', 'cmd');
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) counts.push(((await q.next()) as Delivery<string>).deliveryCount);
    expect(counts).toEqual([1, 2, 3]);
    await sleep(60);
    expect(advisories).toEqual([{ id: 'c', data: 'cmd', deliveries: 3 }]);
    expect(q.size).toBe(0);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    expect(await q.next(ac.signal)).toBeNull();
  });

  it('a nak on the last allowed delivery also ends in the advisory', async () => {
    const advisories: string[] = [];
    q = new WorkQueue<string>({ maxDeliver: 2, onMaxDeliver: (a) => advisories.push(a.id) });
    q.publish('c', 'cmd');
    (await q.next())?.nak();
    (await q.next())?.nak();
    expect(advisories).toEqual(['c']);
    expect(q.size).toBe(0);
  });

  it('term drops without redelivery and without advisory', async () => {
    const advisories: string[] = [];
    q = new WorkQueue<string>({ maxDeliver: 1, onMaxDeliver: (a) => advisories.push(a.id) });
    q.publish('c', 'cmd');
    (await q.next())?.term();
    expect(q.size).toBe(0);
    expect(advisories).toEqual([]);
  });

  it('close resolves waiting consumers with null and rejects new publishes', async () => {
    q = new WorkQueue<string>();
    const p = q.next();
    q.close();
    expect(await p).toBeNull();
    expect(q.publish('x', 'y')).toBe(false);
    expect(await q.next()).toBeNull();
  });

  it('an aborted consumer does not swallow a later message', async () => {
    q = new WorkQueue<string>();
    const ac = new AbortController();
    const p = q.next(ac.signal);
    ac.abort();
    expect(await p).toBeNull();
    q.publish('a', 'A');
    expect((await q.next())?.id).toBe('a');
  });
});

describe('ControlChannel', () => {
  it('broadcasts to every subscriber and keeps durable cancel flags', () => {
    const ch = new ControlChannel<{ type: 'cancel'; execution_id: string; reason: string }>();
    const a: string[] = [];
    const b: string[] = [];
    const unsubA = ch.subscribe((m) => a.push(m.execution_id));
    ch.subscribe((m) => b.push(m.reason));
    ch.subscribe(() => {
      throw new Error('bad subscriber');
    });
    ch.publish({ type: 'cancel', execution_id: 'E1', reason: 'user' });
    unsubA();
    ch.publish({ type: 'cancel', execution_id: 'E2', reason: 'x' });
    expect(a).toEqual(['E1']);
    expect(b).toEqual(['user', 'x']);
    expect(ch.flag('E1')).toBeUndefined();
    ch.setFlag({ type: 'cancel', execution_id: 'E1', reason: 'first' });
    ch.setFlag({ type: 'cancel', execution_id: 'E1', reason: 'second' });
    expect(ch.flag('E1')?.reason).toBe('first');
  });
});
