// The client runtime: one WebSocket per client, requests matched to their
// replies by id, pushes to their listeners, streams as async iterables,
// reconnection with backoff when asked for. docs/protocol.md describes the
// wire.

/** WsError is a reply whose statusCode is 400 or more. */
export class WsError extends Error {
  constructor(reply) {
    const body = reply.body;
    // What a server sends is not trusted to have the shape it should:
    // entries that are not objects are left out.
    const list = body !== null && typeof body === "object" && Array.isArray(body.errorList)
      ? body.errorList.filter((e) => e !== null && typeof e === "object" && !Array.isArray(e))
      : [];
    super(errorText(reply.statusCode, reply.event, list));
    this.name = "WsError";
    this.statusCode = reply.statusCode;
    this.event = reply.event;
    this.body = body;
    this.errorList = list;
  }

  /** errorsAt returns the entries of the errorList whose loc is loc. */
  errorsAt(...loc) {
    return this.errorList.filter((e) => Array.isArray(e.loc) && e.loc.length === loc.length && e.loc.every((p, i) => p === loc[i]));
  }
}

function errorText(status, event, list) {
  const head = (event ? text(event) + ": " : "") + "status " + text(status);
  if (list.length === 0) return head;
  return head + ": " + list.map((e) => (Array.isArray(e.loc) && e.loc.length ? e.loc.map(text).join(".") + ": " : "") + text(e.msg)).join("; ");
}

// text writes a value the server sent: an object as JSON, as one whose
// toString is not a function would throw.
const text = (v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : String(v));

// failed reports whether a reply's statusCode says it failed: an object
// is compared with nothing, as converting one may throw.
const failed = (msg) => typeof msg.statusCode !== "object" && msg.statusCode >= 400;

/** ConnectionError fails what was under way when the connection ended. */
export class ConnectionError extends Error {
  constructor(code, reason) {
    super("connection closed: " + code + (reason ? " " + reason : ""));
    this.name = "ConnectionError";
    this.code = code;
    this.reason = reason;
  }
}

const reconnectDefaults = { initialDelay: 500, maxDelay: 10000, factor: 2 };
const decoder = new TextDecoder();

// report hands an error thrown by the caller's function (a listener, a
// hook) to the host, without breaking the client: reportError in a
// browser, the console elsewhere.
function report(err) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(err);
  else console.error(err);
}

// Transport keeps one WebSocket open, dialling again with backoff when
// asked to, and holds back what is sent until it is open.
class Transport {
  #ctor;
  #opts;
  #on;
  #reconnect;
  #socket = null;
  #state = "connecting";
  #ready = false; // open and onOpen has run: sends go out at once
  #inOnOpen = false; // onOpen is running: its sends go out first
  #ended = false; // closed for good
  #queue = [];
  #attempt = 0;
  #timer = null;
  #waiters = [];

  constructor(url, opts, on) {
    this.url = url;
    this.#opts = opts;
    this.#on = on;
    this.#ctor = opts.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#ctor !== "function") {
      throw new TypeError("ws client: no WebSocket here: pass options.WebSocket");
    }
    const r = opts.reconnect;
    this.#reconnect = r === true ? reconnectDefaults : r ? { ...reconnectDefaults, ...r } : null;
    this.#dial();
  }

  get state() {
    return this.#state;
  }

  opened() {
    if (this.#ready) return Promise.resolve();
    if (this.#ended) return Promise.reject(new ConnectionError(1006, "closed"));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  // send writes text now, or once the connection is open. It throws a
  // ConnectionError once the client is closed for good.
  send(text) {
    if (this.#ended) throw new ConnectionError(1006, "closed");
    if (this.#ready || this.#inOnOpen) {
      this.#write(text);
    } else {
      this.#queue.push(text);
    }
  }

  close(code, reason) {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#timer);
    const s = this.#socket;
    this.#socket = null;
    if (s) {
      try {
        s.close(code, reason);
      } catch {
        // closing a socket still connecting may throw; it is gone either way
      }
    }
    this.#down(code, reason);
  }

  #dial() {
    this.#state = "connecting";
    let s;
    try {
      s = new this.#ctor(this.#on.url(this.url));
    } catch (err) {
      this.#ended = !this.#reconnect;
      this.#down(1006, String(err));
      return;
    }
    this.#socket = s;
    s.onopen = () => this.#open(s);
    s.onmessage = (ev) => this.#message(s, ev.data);
    s.onclose = (ev) => this.#closed(s, ev?.code ?? 1006, ev?.reason ?? "");
    s.onerror = () => {}; // a close event follows
  }

  async #open(s) {
    if (s !== this.#socket) return;
    this.#attempt = 0;
    this.#state = "open";
    if (this.#opts.onOpen) {
      this.#inOnOpen = true;
      try {
        await this.#opts.onOpen(this.#on.client);
      } catch (err) {
        report(err);
      }
      this.#inOnOpen = false;
      if (s !== this.#socket) return; // it closed meanwhile
    }
    this.#ready = true;
    const queue = this.#queue;
    this.#queue = [];
    for (const text of queue) this.#write(text);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.resolve();
  }

  #write(text) {
    this.#opts.onFrame?.("send", text);
    this.#socket.send(text);
  }

  #message(s, data) {
    if (s !== this.#socket) return;
    const text = typeof data === "string" ? data : decoder.decode(data);
    this.#opts.onFrame?.("receive", text);
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) return;
    try {
      this.#on.message(msg);
    } catch (err) {
      report(err); // a message of a shape nothing expects: never the end of the process
    }
  }

  #closed(s, code, reason) {
    if (s !== this.#socket) return;
    this.#socket = null;
    this.#down(code, reason);
  }

  // down fails what was under way and dials again, or ends the client.
  #down(code, reason) {
    this.#ready = false;
    this.#inOnOpen = false;
    this.#queue = [];
    const err = new ConnectionError(code, reason);
    this.#on.lost(err);
    const again = !this.#ended && this.#reconnect !== null;
    if (again) {
      const r = this.#reconnect;
      const delay = Math.min(r.maxDelay, r.initialDelay * r.factor ** this.#attempt) * (0.5 + Math.random() / 2);
      this.#attempt++;
      this.#state = "connecting";
      this.#timer = setTimeout(() => this.#dial(), delay);
    } else {
      this.#ended = true;
      this.#state = "closed";
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w.reject(err);
    }
    if (this.#opts.onClose) {
      try {
        this.#opts.onClose({ code, reason, reconnecting: again });
      } catch (e) {
        report(e);
      }
    }
  }
}

// maxResumeLen is the longest resume parameter a server reads, in bytes
// as it stands in the URL; the client sends no longer one.
const maxResumeLen = 16384;

// RoomPositions keeps the position (epoch, offset) of each room with
// history from the last push handed to the application, puts them in the
// resume parameter of each new connection, drops a push handed over
// already, and hands each $recover to onRecover. docs/protocol.md, "Rooms
// with history".
class RoomPositions {
  #positions = new Map(); // room → { epoch, offset }
  #asked = new Set(); // rooms resumed that have not had a push on this connection yet
  #onRecover;

  constructor(onRecover) {
    this.#onRecover = onRecover;
  }

  // url returns the URL of a new connection: url with resume, if the
  // client holds positions. Rooms that do not fit in maxResumeLen are
  // left out; their first push reports them as not recovered.
  url(url) {
    this.#asked = new Set(this.#positions.keys());
    if (this.#positions.size === 0) return url;
    const resume = {};
    let len = 6; // %7B %7D
    for (const [room, p] of this.#positions) {
      const item = encodeURIComponent(JSON.stringify(room) + ":" + JSON.stringify(p)).length + 3; // %2C
      if (len + item > maxResumeLen) break;
      len += item;
      resume[room] = p;
    }
    let u;
    try {
      u = new URL(url);
    } catch {
      return url;
    }
    u.searchParams.set("resume", JSON.stringify(resume));
    return u.href;
  }

  // take reports whether msg, a frame without an id, goes to the
  // application: a $recover does not (it goes to onRecover), nor does a
  // push of a room with history at or before the room's position in the
  // same epoch. Any other push of a room with history moves the room's
  // position.
  take(msg) {
    const room = msg.room;
    if (typeof room !== "string") return true;
    if (msg.event === "$recover") {
      this.#asked.delete(room);
      const b = msg.body !== null && typeof msg.body === "object" ? msg.body : {};
      const r = {
        room,
        recovered: msg.statusCode === 200,
        epoch: typeof b.epoch === "string" ? b.epoch : "",
        offset: Number.isSafeInteger(b.offset) ? b.offset : 0,
        replayed: Number.isSafeInteger(b.replayed) ? b.replayed : 0,
      };
      if (!r.recovered && r.epoch !== "") this.#positions.set(room, { epoch: r.epoch, offset: r.offset });
      this.#recover(r);
      return false;
    }
    const { epoch, offset } = msg;
    if (typeof epoch !== "string" || epoch === "" || !Number.isSafeInteger(offset) || offset < 0) return true;
    if (this.#asked.delete(room)) {
      // The server did not answer the resume: what was missed is unknown.
      this.#recover({ room, recovered: false, epoch: "", offset: 0, replayed: 0 });
    }
    const p = this.#positions.get(room);
    if (p !== undefined && p.epoch === epoch && offset <= p.offset) return false;
    this.#positions.set(room, { epoch, offset });
    return true;
  }

  #recover(r) {
    if (!this.#onRecover) return;
    try {
      this.#onRecover(r);
    } catch (err) {
      report(err);
    }
  }
}

// RoomPresence keeps the presence of each room with presence from the
// $presence pushes, as Phoenix's Presence.syncState and syncDiff do: the
// first push of a room on each connection is its whole presence and
// replaces what the client held; each later one removes the metas of its
// leaves from their keys (by "$ref"), adds those of its joins, and drops
// the keys left with no meta. docs/protocol.md, "Presence".
class RoomPresence {
  #rooms = new Map(); // room → Map key → metas
  #seen = new Set(); // rooms that had a $presence push on this connection
  #onPresence;

  constructor(onPresence) {
    this.#onPresence = onPresence;
  }

  // connecting starts a new connection: each room's next push is whole.
  connecting() {
    this.#seen.clear();
  }

  // get returns a copy of the presence of room.
  get(room) {
    return copyPresence(this.#rooms.get(room));
  }

  // take applies msg, a $presence push, and hands the change to onPresence.
  take(msg) {
    const room = msg.room;
    const b = msg.body;
    if (typeof room !== "string" || msg.statusCode !== 200 || b === null || typeof b !== "object") return;
    let joins = presenceOf(b.joins);
    let leaves = presenceOf(b.leaves);
    const old = this.#rooms.get(room) ?? new Map();
    if (!this.#seen.has(room)) {
      this.#seen.add(room);
      [joins, leaves] = [presenceMinus(joins, old), presenceMinus(old, joins)];
    }
    const state = new Map([...old].map(([k, metas]) => [k, [...metas]]));
    // Leaves first: a meta that changed leaves and joins under one $ref.
    for (const [key, metas] of leaves) {
      const left = state.get(key)?.filter((m) => !metas.some((l) => l.$ref === m.$ref)) ?? [];
      if (left.length > 0) state.set(key, left);
      else state.delete(key);
    }
    for (const [key, metas] of joins) {
      const list = state.get(key) ?? [];
      for (const m of metas) {
        const i = list.findIndex((o) => o.$ref === m.$ref);
        if (i < 0) list.push(m);
        else list[i] = m;
      }
      state.set(key, list);
    }
    if (state.size > 0) this.#rooms.set(room, state);
    else this.#rooms.delete(room);
    if (!this.#onPresence) return;
    try {
      this.#onPresence({ room, joins: copyPresence(joins), leaves: copyPresence(leaves), state: copyPresence(state) });
    } catch (err) {
      report(err);
    }
  }
}

// presenceOf reads the joins or leaves of a $presence push into a Map key
// → metas; metas that are not objects with a string "$ref" are left out.
function presenceOf(v) {
  const out = new Map();
  if (v === null || typeof v !== "object") return out;
  for (const [key, metas] of Object.entries(v)) {
    if (!Array.isArray(metas)) continue;
    const list = metas.filter((m) => m !== null && typeof m === "object" && !Array.isArray(m) && typeof m.$ref === "string");
    if (list.length > 0) out.set(key, list);
  }
  return out;
}

// presenceMinus returns the metas of a that no meta of b's same key equals.
function presenceMinus(a, b) {
  const out = new Map();
  for (const [key, metas] of a) {
    const other = b.get(key) ?? [];
    const list = metas.filter((m) => !other.some((o) => o.$ref === m.$ref && JSON.stringify(o) === JSON.stringify(m)));
    if (list.length > 0) out.set(key, list);
  }
  return out;
}

// copyPresence returns a plain object key → metas, the caller's own.
function copyPresence(p) {
  const out = Object.create(null);
  if (p) for (const [key, metas] of p) out[key] = metas.map((m) => ({ ...m }));
  return out;
}

// isPush reports whether msg, a frame without an id, is a push a callback
// client must not take for a reply: a $recover, a $presence, or a push of
// a room with history.
function isPush(msg) {
  return typeof msg.room === "string" && (msg.event === "$recover" || msg.event === "$presence" || (typeof msg.epoch === "string" && typeof msg.offset === "number"));
}

/** Stream is the items of one server stream, as an async iterable. */
export class Stream {
  #items = [];
  #waiting = null;
  #state = "open"; // then "cancelled" or "done"
  #error = null;
  #sendCancel;
  #ended;
  #end;

  constructor(event, id, sendCancel, bind) {
    this.event = event;
    this.id = id;
    this.#sendCancel = sendCancel;
    this.#ended = new Promise((resolve) => (this.#end = resolve));
    bind({
      item: (body) => {
        if (this.#state !== "open") return;
        if (this.#waiting) {
          const w = this.#waiting;
          this.#waiting = null;
          w.resolve({ value: body, done: false });
        } else {
          this.#items.push(body);
        }
      },
      end: (reply) => {
        if (this.#state === "open" && failed(reply)) this.#error = new WsError(reply);
        this.#finish();
      },
      fail: (err) => {
        if (this.#state === "open") this.#error = err;
        this.#finish();
      },
    });
  }

  #finish() {
    if (this.#state === "open") this.#state = "done";
    this.#end();
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = null;
      this.next().then(w.resolve, w.reject);
    }
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  next() {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift(), done: false });
    if (this.#error !== null) {
      const err = this.#error;
      this.#error = null;
      return Promise.reject(err);
    }
    if (this.#state !== "open") return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  /** return stops the stream, as cancel does, without waiting for its end. */
  return() {
    this.cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  /**
   * cancel stops the stream: it sends $cancel, drops the items still to
   * come, and resolves once the server's final reply has come (or the
   * connection has ended).
   */
  cancel() {
    if (this.#state === "open") {
      this.#state = "cancelled";
      this.#items = [];
      if (this.#waiting) {
        const w = this.#waiting;
        this.#waiting = null;
        w.resolve({ value: undefined, done: true });
      }
      this.#sendCancel();
    }
    return this.#ended;
  }
}

/** Client talks to a ws.Router: requests, streams and pushes. */
export class Client {
  #t;
  #next = 0;
  #pending = new Map(); // id → {reply, item, fail}
  #listeners = new Map(); // event → Set of functions
  #rooms;
  #presence;

  constructor(url, options = {}) {
    this.#rooms = new RoomPositions(options.onRecover);
    this.#presence = new RoomPresence(options.onPresence);
    this.#t = new Transport(url, options, {
      client: this,
      url: (u) => {
        this.#presence.connecting();
        return this.#rooms.url(u);
      },
      message: (msg) => this.#received(msg),
      lost: (err) => this.#lost(err),
    });
  }

  get url() {
    return this.#t.url;
  }

  get state() {
    return this.#t.state;
  }

  opened() {
    return this.#t.opened();
  }

  close(code = 1000, reason = "") {
    this.#t.close(code, reason);
  }

  call(event, data) {
    return new Promise((resolve, reject) => {
      const id = String(++this.#next);
      this.#pending.set(id, {
        reply: (msg) => (failed(msg) ? reject(new WsError(msg)) : resolve(msg.body)),
        fail: reject,
      });
      this.#send({ event, id, data }, id);
    });
  }

  stream(event, data) {
    const id = String(++this.#next);
    const s = new Stream(event, id, () => this.#send({ event: "$cancel", id }, id), (ctl) =>
      this.#pending.set(id, { reply: ctl.end, item: ctl.item, fail: ctl.fail }),
    );
    this.#send({ event, id, data }, id);
    return s;
  }

  presence(room) {
    return this.#presence.get(room);
  }

  on(event, fn) {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    const entry = (body) => fn(body);
    set.add(entry);
    return () => set.delete(entry);
  }

  #send(msg, id) {
    try {
      this.#t.send(JSON.stringify(msg));
    } catch (err) {
      const p = this.#pending.get(id);
      this.#pending.delete(id);
      p?.fail(err);
    }
  }

  #received(msg) {
    if (msg.id === undefined) {
      if (msg.event === "$presence") return this.#presence.take(msg);
      if (!this.#rooms.take(msg)) return;
      const set = this.#listeners.get(msg.event);
      if (!set || failed(msg)) return;
      for (const fn of [...set]) {
        try {
          fn(msg.body);
        } catch (err) {
          report(err);
        }
      }
      return;
    }
    const id = text(msg.id);
    const p = this.#pending.get(id);
    if (!p) return;
    if (msg.more === true) {
      p.item?.(msg.body);
      return;
    }
    this.#pending.delete(id);
    p.reply(msg);
  }

  #lost(err) {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.fail(err);
  }
}

/** CallbackClient talks to a ws.Callback: one reply per request, in order. */
export class CallbackClient {
  #t;
  #pending = []; // in the order of the requests
  #listeners = new Set();
  #rooms;
  #presence;

  constructor(url, options = {}) {
    this.#rooms = new RoomPositions(options.onRecover);
    this.#presence = new RoomPresence(options.onPresence);
    this.#t = new Transport(url, options, {
      client: this,
      url: (u) => {
        this.#presence.connecting();
        return this.#rooms.url(u);
      },
      message: (msg) => (msg.id === undefined && isPush(msg) ? this.#push(msg) : this.#pending.shift()?.(msg)),
      lost: (err) => {
        const pending = this.#pending;
        this.#pending = [];
        for (const p of pending) p(err);
      },
    });
  }

  get url() {
    return this.#t.url;
  }

  get state() {
    return this.#t.state;
  }

  opened() {
    return this.#t.opened();
  }

  close(code = 1000, reason = "") {
    this.#t.close(code, reason);
  }

  on(fn) {
    const entry = (body) => fn(body);
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  presence(room) {
    return this.#presence.get(room);
  }

  #push(msg) {
    if (msg.event === "$presence") return this.#presence.take(msg);
    if (!this.#rooms.take(msg) || msg.statusCode >= 400) return;
    for (const fn of [...this.#listeners]) {
      try {
        fn(msg.body);
      } catch (err) {
        report(err);
      }
    }
  }

  call(data) {
    return new Promise((resolve, reject) => {
      const settle = (msg) => {
        if (msg instanceof Error) reject(msg);
        else if (failed(msg)) reject(new WsError(msg));
        else resolve(msg.body);
      };
      this.#pending.push(settle);
      try {
        this.#t.send(JSON.stringify(data === undefined ? null : data));
      } catch (err) {
        this.#pending = this.#pending.filter((p) => p !== settle);
        reject(err);
      }
    });
  }
}

/**
 * channelURL is the WebSocket URL of a channel: options.url as it is, or
 * else address (with its {parameters} filled in) on the origin of
 * options.base or of the page's own location, with http: and https:
 * turned into ws: and wss:. The address must be a path, such as "/chat":
 * one that names a host ("//host/ws", "wss://host/ws") throws a TypeError,
 * so that a client only ever dials another origin when given its URL. A
 * parameter "." or "..", which would turn the path into another, throws a
 * TypeError too.
 */
export function channelURL(address, params, options = {}) {
  if (options.url) return String(options.url);
  // One "/", then no "/" or "\" (a browser reads "/\host" as "//host"),
  // and no control character (a URL parser drops tabs and newlines).
  if (typeof address !== "string" || !/^\/(?![/\\])[^\\\x00-\x1f\x7f]*$/.test(address)) {
    throw new TypeError("ws client: the address " + JSON.stringify(address) + " is not a path: pass options.url");
  }
  const path = address.replace(/\{([^{}]+)\}/g, (_, name) => {
    const v = params != null && Object.hasOwn(params, name) ? params[name] : undefined;
    if (v === undefined || v === null) throw new TypeError("ws client: " + address + " needs the parameter " + name);
    const s = String(v);
    // "." and ".." would be read as the path's own segments: "/rooms/.."
    // is "/".
    if (s === "." || s === "..") throw new TypeError("ws client: the parameter " + name + " cannot be " + JSON.stringify(s));
    return encodeURIComponent(s);
  });
  const base = options.base ?? globalThis.location?.href;
  if (base === undefined) throw new TypeError("ws client: no page location here: pass options.url or options.base");
  const origin = new URL(base);
  const u = new URL(path, origin);
  if (u.origin !== origin.origin) {
    throw new TypeError("ws client: the address " + JSON.stringify(address) + " leaves " + origin.origin + ": pass options.url");
  }
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  return u.href;
}
