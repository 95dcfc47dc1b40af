// Drives the Go server of client_test.go through the client wsgen-ts
// generated from its AsyncAPI document (./gen/client.js). Run by that Go
// test: tsc --strict, then node --test, with WS_BASE set to the server.
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import {
  connectCb,
  connectWs,
  ConnectionError,
  WsError,
  type ChatMessage,
  type ClientOptions,
  type Presence,
  type PresenceChange,
  type Recovery,
  type WsClient,
} from "./gen/client.js";

const base = process.env.WS_BASE;
if (!base) throw new Error("WS_BASE is not set");

// guard keeps a broken client from hanging the run: a test still under
// way after it fails, by its name. Nothing here measures time.
const guard = { timeout: 30_000 };

function open(options: ClientOptions<WsClient> = {}): WsClient {
  return connectWs({ base, WebSocket, ...options });
}

// failure returns what p rejects with.
async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return assert.fail("resolved, want a rejection");
}

test("a call resolves with the reply's body", guard, async () => {
  const c = open();
  try {
    const m: ChatMessage = await c.call("chat.send", { message: "Hi", user: "ana" });
    assert.deepEqual(m, { message: "Hi", user: "ana" });
    assert.equal(c.state, "open");
    const two = await c.call("chat.history", { limit: 2 });
    assert.deepEqual(two?.map((m) => m.message), ["0", "1"]);
    const none = await c.call("chat.history"); // data left out: {}
    assert.deepEqual(none, []);
    const created = await c.call("chat.create", { message: "new", user: "ana" }); // 201
    assert.equal(created?.message, "new");
  } finally {
    c.close();
  }
});

test("a 400 rejects with a WsError carrying its errorList", guard, async () => {
  const c = open();
  try {
    const err = await failure(c.call("chat.send", { message: "x".repeat(501), user: "" }));
    assert.ok(err instanceof WsError, String(err));
    assert.equal(err.statusCode, 400);
    assert.equal(err.event, "chat.send");
    assert.deepEqual(err.errorsAt("message").map((e) => e.type), ["string_too_long"]);
    assert.deepEqual(err.errorsAt("user").map((e) => [e.type, e.msg]), [["missing", "Field required"]]);
    assert.equal(err.errorList.length, 2);

    const nf = await failure(c.call("chat.find", { id: "42" }));
    assert.ok(nf instanceof WsError, String(nf));
    assert.equal(nf.statusCode, 404);
    assert.deepEqual(nf.body, { reason: "no such message" });
    assert.deepEqual(nf.errorList, []);

    // The connection goes on.
    assert.equal((await c.call("chat.send", { message: "after", user: "ana" })).message, "after");
  } finally {
    c.close();
  }
});

test("pushes reach their listeners until they stop", guard, async () => {
  const c = open();
  try {
    const got: ChatMessage[] = [];
    const stop = c.on("chat.message", (m) => got.push(m));
    // The server pushes the message before it replies.
    await c.call("chat.send", { message: "one", user: "ana" });
    assert.deepEqual(got, [{ message: "one", user: "ana" }]);
    stop();
    await c.call("chat.send", { message: "two", user: "ana" });
    assert.equal(got.length, 1);
  } finally {
    c.close();
  }
});

test("a listener that throws is reported, and the others still get the push", guard, async () => {
  const c = open();
  const reported: unknown[] = [];
  const consoleError = console.error;
  console.error = (err: unknown) => reported.push(err); // Node has no reportError
  try {
    const got: string[] = [];
    c.on("chat.message", () => {
      throw new Error("listener broke");
    });
    c.on("chat.message", (m) => got.push(m.message));
    await c.call("chat.send", { message: "still", user: "ana" });
    await c.call("chat.send", { message: "again", user: "ana" });
    assert.deepEqual(got, ["still", "again"]);
    assert.deepEqual(reported.map((e) => (e as Error).message), ["listener broke", "listener broke"]);
  } finally {
    console.error = consoleError;
    c.close();
  }
});

test("a stream's items come in order, then it ends", guard, async () => {
  const c = open();
  try {
    const items: string[] = [];
    for await (const m of c.stream("chat.watch", { room: "lobby", count: 3 })) items.push(m.message);
    assert.deepEqual(items, ["lobby 0", "lobby 1", "lobby 2"]);
  } finally {
    c.close();
  }
});

test("breaking out of a stream cancels it on the server", guard, async () => {
  const c = open();
  try {
    const before = (await c.call("test.stats")).cancelled;
    const s = c.stream("chat.watch", { room: "lobby", count: 2, wait: true });
    const items: string[] = [];
    for await (const m of s) {
      items.push(m.message);
      if (items.length === 2) break; // sends $cancel
    }
    await s.cancel(); // resolves once the final reply has come
    assert.deepEqual(items, ["lobby 0", "lobby 1"]);
    assert.equal((await c.call("test.stats")).cancelled, before + 1);
    assert.deepEqual(await s.next(), { value: undefined, done: true });

    // cancel() without a loop, before any item.
    const quiet = c.stream("chat.watch", { room: "attic", wait: true });
    await quiet.cancel();
    assert.equal((await c.call("test.stats")).cancelled, before + 2);
  } finally {
    c.close();
  }
});

test("a stream whose data does not validate throws its WsError", guard, async () => {
  const c = open();
  try {
    const err = await failure(
      (async () => {
        for await (const m of c.stream("chat.watch", { room: "" })) assert.fail("an item: " + m.message);
      })(),
    );
    assert.ok(err instanceof WsError, String(err));
    assert.deepEqual(err.errorsAt("room").map((e) => e.type), ["missing"]);
  } finally {
    c.close();
  }
});

test("reconnect: what was under way fails, onOpen runs again, what waits goes out", guard, async () => {
  const opens: number[] = [];
  const closes: Array<[number, boolean]> = [];
  let reopened!: () => void;
  const second = new Promise<void>((resolve) => (reopened = resolve));
  const c = open({
    reconnect: { initialDelay: 5, maxDelay: 50 },
    onOpen: async (client) => {
      const stats = await client.call("test.stats"); // sent before what waits
      opens.push(stats.connections);
      if (opens.length === 2) reopened();
    },
    onClose: (e) => closes.push([e.code, e.reconnecting]),
  });
  try {
    await c.opened();
    const watch = c.stream("chat.watch", { room: "lobby", wait: true });
    const err = await failure(c.call("test.drop"));
    assert.ok(err instanceof ConnectionError, String(err));
    assert.equal(err.code, 4000);
    assert.equal(err.reason, "dropped");
    const lost = await failure(watch.next());
    assert.ok(lost instanceof ConnectionError, String(lost));

    // Sent while reconnecting: it waits for the new connection, and onOpen.
    const later = c.call("chat.send", { message: "later", user: "ana" });
    assert.equal(c.state, "connecting");
    assert.equal((await later).message, "later");
    await second;
    assert.equal(opens.length, 2);
    assert.equal(opens[1], opens[0] + 1);
    assert.deepEqual(closes, [[4000, true]]);
  } finally {
    c.close();
  }
  assert.equal(c.state, "closed");
  assert.deepEqual(closes, [[4000, true], [1000, false]]);
  const closed = await failure(c.call("chat.send", { message: "x", user: "ana" }));
  assert.ok(closed instanceof ConnectionError, String(closed));
});

test("without reconnect, a lost connection is the end", guard, async () => {
  const c = open();
  await c.opened();
  const err = await failure(c.call("test.drop"));
  assert.ok(err instanceof ConnectionError, String(err));
  assert.equal(c.state, "closed");
  assert.ok((await failure(c.opened())) instanceof ConnectionError);
});

test("rooms with history: dropped mid-stream, the client resumes, every tick once and in order", guard, async () => {
  const total = 2000;
  const seqs: number[] = [];
  const recoveries: Recovery[] = [];
  let waiting: { seq: number; resolve: () => void } | null = null;
  const tick = (seq: number) =>
    new Promise<void>((resolve) => {
      if (seqs.length > 0 && seqs[seqs.length - 1] >= seq) resolve();
      else waiting = { seq, resolve };
    });
  const c = open({
    reconnect: { initialDelay: 1, maxDelay: 20 },
    onOpen: async (client) => {
      await client.call("room.join", { room: "lobby" });
    },
    onRecover: (r) => recoveries.push(r),
  });
  c.on("room.tick", (t) => {
    seqs.push(t.seq);
    if (waiting && t.seq >= waiting.seq) {
      const w = waiting;
      waiting = null;
      w.resolve();
    }
  });
  try {
    await c.opened();
    await c.call("room.publish", { room: "lobby", from: 1, to: total });
    for (let i = 1; i <= 5; i++) {
      await tick(Math.floor((i * total) / 7));
      c.call("test.cut").catch(() => {}); // the sockets drop, this reply with them
    }
    await tick(total);
    assert.equal(seqs.length, total, "ticks handed over");
    seqs.forEach((s, i) => assert.equal(s, i + 1, "tick at " + i));
    assert.ok(recoveries.length >= 1 && recoveries.length <= 5, recoveries.length + " recoveries");
    for (const r of recoveries) {
      assert.equal(r.room, "lobby");
      assert.equal(r.recovered, true, JSON.stringify(r));
    }
  } finally {
    c.close();
  }
});

test("rooms with history: away past the history, the client is told it did not recover", guard, async () => {
  let opens = 0;
  let told!: (r: Recovery) => void;
  const recovery = new Promise<Recovery>((resolve) => (told = resolve));
  const seqs: number[] = [];
  const c = open({
    reconnect: { initialDelay: 1, maxDelay: 20 },
    onOpen: async (client) => {
      if (++opens === 2) {
        // While away: 10 more ticks, 5 more than the room keeps.
        await client.call("room.publish", { room: "small", from: 2, to: 11, wait: true });
      }
      await client.call("room.join", { room: "small" });
    },
    onRecover: (r) => told(r),
  });
  let got!: () => void;
  let one = new Promise<void>((resolve) => (got = resolve));
  c.on("room.tick", (t) => {
    seqs.push(t.seq);
    got();
  });
  try {
    await c.opened();
    await c.call("room.publish", { room: "small", from: 1, to: 1, wait: true });
    await one;
    one = new Promise<void>((resolve) => (got = resolve));
    c.call("test.cut").catch(() => {});
    const r = await recovery;
    assert.equal(r.recovered, false);
    assert.equal(r.room, "small");
    assert.equal(r.replayed, 0);
    assert.ok(r.epoch !== "");
    await c.call("room.publish", { room: "small", from: 12, to: 12, wait: true });
    await one;
    assert.deepEqual(seqs, [1, 12]);
  } finally {
    c.close();
  }
});

test("rooms with history: a push handed over already is dropped", guard, async () => {
  const c = open();
  try {
    const seqs: number[] = [];
    c.on("room.tick", (t) => seqs.push(t.seq));
    await c.call("test.twice"); // the pushes go out before the reply
    assert.deepEqual(seqs, [1, 2, 3, 4]);
  } finally {
    c.close();
  }
});

test("rooms with history: a callback client takes broadcasts for pushes, not replies", guard, async () => {
  const c = connectCb({ base, WebSocket });
  try {
    const pushes: unknown[] = [];
    let all!: () => void;
    const twenty = new Promise<void>((resolve) => (all = resolve));
    c.on((body) => {
      if (pushes.push(body) === 20) all();
    });
    for (let i = 1; i <= 20; i++) {
      const reply = await c.call({ seq: i });
      assert.deepEqual(reply, { seq: i });
    }
    await twenty; // a broadcast may come after the last reply
    assert.deepEqual(pushes, Array.from({ length: 20 }, (_, i) => ({ seq: -(i + 1) })));
  } finally {
    c.close();
  }
});

// tabs lists a presence's keys and the tabs of their metas, sorted:
// "ana:a1,a2 ben:b1".
function tabs(p: Presence<{ tab: string }>): string {
  return Object.entries(p)
    .map(([key, metas]) => {
      for (const m of metas) assert.equal(typeof m.$ref, "string");
      return key + ":" + metas.map((m) => m.tab).sort().join(",");
    })
    .sort()
    .join(" ");
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

test("presence: snapshot and diffs, a key with two tabs, a reconnect replaces the room's presence", guard, async () => {
  const changes: PresenceChange[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let opens = 0;
  const obs = open({
    reconnect: { initialDelay: 5, maxDelay: 50 },
    onOpen: async (c) => {
      if (opens++ > 0) await gate; // the room changes while the observer is away
      await c.call("presence.join");
    },
    onPresence: (ch) => changes.push(ch),
  });
  // until waits for the change that makes the room's presence want.
  const until = async (want: string): Promise<PresenceChange> => {
    for (;;) {
      const ch = changes.shift();
      if (ch === undefined) {
        await tick();
        continue;
      }
      assert.equal(ch.room, "people");
      if (tabs(ch.state as Presence<{ tab: string }>) === want) {
        assert.equal(tabs(obs.presence<{ tab: string }>("people")), want);
        return ch;
      }
    }
  };
  const tab = async (key: string, name: string): Promise<WsClient> => {
    const c = open();
    await c.call("presence.track", { key, tab: name });
    return c;
  };
  const clients: WsClient[] = [obs];
  try {
    await until("");
    const [a1, a2, b1] = [await tab("ana", "a1"), await tab("ana", "a2"), await tab("ben", "b1")];
    clients.push(a1, a2, b1);
    await until("ana:a1,a2 ben:b1");

    a2.close();
    let ch = await until("ana:a1 ben:b1");
    assert.equal(tabs(ch.leaves as Presence<{ tab: string }>), "ana:a2");
    assert.equal(Object.keys(ch.joins).length, 0);
    a1.close();
    ch = await until("ben:b1");
    assert.equal(tabs(ch.leaves as Presence<{ tab: string }>), "ana:a1");
    assert.equal("ana" in ch.state, false);

    await failure(obs.call("test.drop"));
    b1.close();
    const c1 = await tab("cat", "c1");
    clients.push(c1);
    while ((await c1.call("presence.keys")) !== 1) await tick(); // ben has left
    assert.equal(tabs(obs.presence<{ tab: string }>("people")), "ben:b1");
    release();
    ch = await until("cat:c1");
    assert.equal(tabs(ch.joins as Presence<{ tab: string }>), "cat:c1");
    assert.equal(tabs(ch.leaves as Presence<{ tab: string }>), "ben:b1");
  } finally {
    for (const c of clients) c.close();
  }
});

// typeErrors is never called: each of its calls is marked as a type error
// that must happen, and tsc --strict fails on a mark with no error under it.
export function typeErrors(c: WsClient): void {
  // @ts-expect-error: no such event
  c.call("chat.nope", {});
  // @ts-expect-error: message is a string
  c.call("chat.send", { message: 1, user: "ana" });
  // @ts-expect-error: user is required
  c.call("chat.send", { message: "Hi" });
  // @ts-expect-error: chat.send needs its data
  c.call("chat.send");
  // @ts-expect-error: chat.watch is a stream
  c.call("chat.watch", { room: "lobby" });
  // @ts-expect-error: chat.send is not a stream
  c.stream("chat.send", { message: "Hi", user: "ana" });
  // @ts-expect-error: count is a number
  c.stream("chat.watch", { room: "lobby", count: "3" });
  // @ts-expect-error: a push's body is a ChatMessage
  c.on("chat.message", (m: number) => m);
  // @ts-expect-error: no such push
  c.on("chat.nope", () => {});
  // @ts-expect-error: a Recovery's offset is a number
  open({ onRecover: (r: { offset: string }) => r });
  // @ts-expect-error: a meta's $ref is a string
  const ref: number = c.presence("people")["ana"]![0]!.$ref;
  void ref;
  // @ts-expect-error: the reply is a ChatMessage
  const wrong: Promise<string> = c.call("chat.send", { message: "Hi", user: "ana" });
  void wrong;
}
