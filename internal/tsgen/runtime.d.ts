/** ErrorDetail is one entry of an errorList: where, what kind, and the message. */
export interface ErrorDetail {
  /** The path to the value at fault: member names and list indexes. */
  loc: (string | number)[];
  /** The kind of error, in Pydantic v2's words: "missing", "string_too_long", … */
  type: string;
  /** The message, for a person. */
  msg: string;
}

/** WsError is a reply whose statusCode is 400 or more. */
export declare class WsError extends Error {
  readonly name: "WsError";
  /** The reply's status: 400 when the request does not validate. */
  readonly statusCode: number;
  /** The event of the request, when the server could read it. */
  readonly event: string | undefined;
  /** The reply's body. */
  readonly body: unknown;
  /** The body's errorList, or [] when it has none. */
  readonly errorList: ErrorDetail[];
  private constructor();
  /** errorsAt returns the entries of the errorList whose loc is loc: errorsAt("user"). */
  errorsAt(...loc: (string | number)[]): ErrorDetail[];
}

/** ConnectionError fails what was under way when the connection ended. */
export declare class ConnectionError extends Error {
  readonly name: "ConnectionError";
  /** The close code: 1006 when the connection dropped or never opened. */
  readonly code: number;
  readonly reason: string;
  private constructor();
}

/** WebSocketLike is what a client needs of a WebSocket: the browser's, or the ws package's in Node. */
export interface WebSocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
}

/** WebSocketConstructor makes a WebSocketLike for a URL. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** ReconnectOptions: the delay before the nth new attempt is min(maxDelay, initialDelay·factor^n), less up to half of it at random. */
export interface ReconnectOptions {
  /** Milliseconds; default 500. */
  initialDelay?: number;
  /** Milliseconds; default 10000. */
  maxDelay?: number;
  /** Default 2. */
  factor?: number;
}

/** ClientOptions configures a client C. */
export interface ClientOptions<C = unknown> {
  /** The WebSocket URL, on any origin. Default: the channel's address (a path) on base. */
  url?: string;
  /** The http(s) or ws(s) URL whose origin the channel's address is resolved on. Default: the page's location. */
  base?: string;
  /** The WebSocket constructor. Default: globalThis.WebSocket (pass the ws package's in Node 20). */
  WebSocket?: WebSocketConstructor;
  /**
   * Whether to dial again, with backoff, when the connection ends. Default
   * false: the client is then closed for good. Either way, what was under
   * way fails with a ConnectionError; what is sent while reconnecting waits
   * for the new connection.
   */
  reconnect?: boolean | ReconnectOptions;
  /**
   * onOpen runs each time the connection opens, before what waits for it
   * is sent: the place to join rooms again after a reconnection. What it
   * sends goes out at once; an error it throws is reported (reportError, or
   * the console), not fatal.
   */
  onOpen?: (client: C) => void | Promise<void>;
  /** onClose runs each time the connection ends; reconnecting says whether another attempt follows. */
  onClose?: (event: { code: number; reason: string; reconnecting: boolean }) => void;
  /**
   * onRecover runs, for each room with history the client resumes when it
   * reconnects, before the messages it announces: recovered false means
   * messages were lost, reload the room's state. The client keeps each
   * room's position from the pushes it hands over, sends them (the resume
   * parameter) on every reconnect, and drops a push it handed over already.
   */
  onRecover?: (recovery: Recovery) => void;
  /**
   * onPresence runs for each $presence push of a room with presence the
   * client is in, with what changed since it last ran for that room and
   * the room's whole presence after the change (what presence(room)
   * returns from then on). The client keeps each room's presence as
   * Phoenix's Presence.syncState and syncDiff do: the first push of a room
   * on each connection (the first and each reconnect) replaces it, and the
   * change is relative to what onPresence saw before; each later push
   * removes the metas of its leaves (by "$ref"), adds those of its joins,
   * and drops the keys left with no meta. docs/protocol.md, "Presence".
   */
  onPresence?: (change: PresenceChange) => void;
  /** onFrame sees every text frame sent and received. */
  onFrame?: (direction: "send" | "receive", text: string) => void;
}

/**
 * Recovery is what a client learns of a room with history when it
 * reconnects: the server's $recover (docs/protocol.md, "Rooms with history").
 */
export interface Recovery {
  room: string;
  /**
   * true (200): the replayed messages the client missed follow, then the
   * live ones. false (410: the history no longer reaches back, or its epoch
   * changed): nothing is replayed; reload the room's state.
   */
  recovered: boolean;
  /** The room's position after the replay, or now; "" and 0 when the server did not answer the resume. */
  epoch: string;
  offset: number;
  /** How many missed messages follow. */
  replayed: number;
}

/** PresenceMeta is one connection's meta, as the server tracked it: its "$ref" tells its connection apart from every other. */
export type PresenceMeta<M = Record<string, unknown>> = M & { $ref: string };

/** Presence is who is in a room: each key present (a member, such as a user), with the metas of its connections. */
export type Presence<M = Record<string, unknown>> = Record<string, PresenceMeta<M>[]>;

/** PresenceChange is what a $presence push changed in a room's presence. */
export interface PresenceChange {
  room: string;
  /** The metas that joined, by key. */
  joins: Presence;
  /** The metas that left, by key: a key in leaves that is not in state has left. */
  leaves: Presence;
  /** The room's whole presence after the change: the caller's copy. */
  state: Presence;
}

/** ConnectionState is a client's state: "closed" is for good. */
export type ConnectionState = "connecting" | "open" | "closed";

/** EventSpec describes a client event: its request's data and its reply's body. */
export interface EventSpec {
  data: unknown;
  reply: unknown;
}

/** StreamSpec describes a server stream: its request's data and its items. */
export interface StreamSpec {
  data: unknown;
  item: unknown;
}

/** DataArg is the data argument of an event: optional when the event may go without it. */
export type DataArg<D> = undefined extends D ? [data?: D] : [data: D];

/**
 * Stream is the items of one server stream, as an async iterable:
 * `for await (const item of stream)`. Breaking out of the loop cancels the
 * stream; an error reply (such as a 400) is thrown by the loop as a
 * WsError, and a lost connection as a ConnectionError.
 */
export declare class Stream<Item> implements AsyncIterable<Item> {
  readonly event: string;
  readonly id: string;
  private constructor();
  [Symbol.asyncIterator](): Stream<Item>;
  next(): Promise<IteratorResult<Item, undefined>>;
  /** return cancels the stream, without waiting for its end. */
  return(): Promise<IteratorResult<Item, undefined>>;
  /**
   * cancel sends $cancel and drops the items still to come; it resolves
   * once the server's final reply has come, or the connection has ended.
   */
  cancel(): Promise<void>;
}

/**
 * Client talks to a ws.Router: E are its events, S its streams, P its
 * pushes. It opens its connection when made; what is sent before it is open
 * waits for it.
 */
export declare class Client<E extends { [K in keyof E]: EventSpec }, S extends { [K in keyof S]: StreamSpec }, P> {
  constructor(url: string, options?: ClientOptions<Client<E, S, P>>);
  readonly url: string;
  readonly state: ConnectionState;
  /** opened resolves once the connection is open (and onOpen has run). */
  opened(): Promise<void>;
  /**
   * call sends event with data and resolves with the reply's body, or
   * rejects with a WsError (status 400 or more) or a ConnectionError.
   */
  call<K extends keyof E & string>(event: K, ...data: DataArg<E[K]["data"]>): Promise<E[K]["reply"]>;
  /** stream opens the server stream event with data. */
  stream<K extends keyof S & string>(event: K, ...data: DataArg<S[K]["data"]>): Stream<S[K]["item"]>;
  /**
   * on calls fn with the body of each push of event; it returns a function
   * that stops it. An error fn throws is reported (reportError, or the
   * console), not fatal.
   */
  on<K extends keyof P & string>(event: K, fn: (body: P[K]) => void): () => void;
  /**
   * presence returns the presence of room as the client knows it (see
   * ClientOptions.onPresence): a copy; {} for a room without presence or
   * that the client is not in. M is the type the server's metas have.
   */
  presence<M = Record<string, unknown>>(room: string): Presence<M>;
  /** close closes the connection for good; what is under way fails with a ConnectionError. */
  close(code?: number, reason?: string): void;
}

/** CallbackClient talks to a ws.Callback: one reply per request, in order. */
export declare class CallbackClient<Req, Reply> {
  constructor(url: string, options?: ClientOptions<CallbackClient<Req, Reply>>);
  readonly url: string;
  readonly state: ConnectionState;
  opened(): Promise<void>;
  /** call sends data and resolves with the reply's body, or rejects with a WsError or a ConnectionError. */
  call(data: Req): Promise<Reply>;
  /**
   * on calls fn with the body of each push of a room with history (the
   * server's broadcasts carry "room", "epoch" and "offset": they are not
   * replies); it returns a function that stops it.
   */
  on(fn: (body: unknown) => void): () => void;
  /** presence returns the presence of room as the client knows it (see ClientOptions.onPresence): a copy. */
  presence<M = Record<string, unknown>>(room: string): Presence<M>;
  close(code?: number, reason?: string): void;
}

/**
 * channelURL is the WebSocket URL of a channel: options.url as it is, or
 * address with its {parameters} on the origin of options.base or of the
 * page's location. The address must be a path such as "/chat": one that
 * names a host ("//host/ws", "wss://host/ws") throws a TypeError.
 */
export declare function channelURL(address: string, params: Record<string, string | number> | undefined, options?: ClientOptions<any>): string;
