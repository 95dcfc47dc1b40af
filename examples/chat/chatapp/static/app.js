// The chat page: one WebSocket to /ws, reopened with backoff whenever it
// closes. Each request is {"event", "id", "data"}; its reply carries the same
// id: {"id", "event", "statusCode", "body"}, with "more": true on the items of
// a stream. Pushes have no id: {"event": "chat.message" | "chat.typing",
// "statusCode": 200, "body"}. A refused request's body is an errorList:
// {"errorList": [{"loc", "type", "msg"}]}.
const $ = (id) => document.getElementById(id);
const status = $("status"), list = $("messages"), join = $("join"), name = $("name");
const joinError = $("join-error"), composer = $("composer"), input = $("message");
const send = $("send"), error = $("error"), typingLine = $("typing");
const room = $("room"), online = $("online"), watchButton = $("watch");

let me = sessionStorage.getItem("name") || ""; // the name we join with
let joined = false; // this connection has joined as me
let socket;
let retries = 0;
let why = "Offline"; // what the status says until the socket is open again
let renaming = false; // the socket closes to join under another name
let ids = 0;
const waiting = new Map(); // request id → what to do with its replies

function connect() {
  setStatus("connecting", retries ? `${why} · reconnecting…` : "Connecting…");
  const url = new URL("ws", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(url);
  socket.onopen = () => {
    retries = 0;
    why = "Offline";
    setStatus("open", "Connected");
    request("chat.history", {}, ({ statusCode, body }) => {
      if (statusCode === 200) body.forEach(show);
    });
    if (watching) watch();
    if (me) joinAs(me, 3);
  };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = (event) => {
    waiting.clear();
    joined = false;
    watchId = stopping = stats = null;
    showRoom();
    for (const user of [...typists.keys()]) stopTyping(user);
    if (renaming) {
      renaming = false;
      return connect();
    }
    if (event.code === 1001) why = "Server restarting"; // going away: it said so before it left
    const delay = Math.min(500 * 2 ** retries++, 8000) * (0.75 + Math.random() / 2);
    setStatus("closed", `${why} · retrying in ${Math.ceil(delay / 1000)} s`);
    setTimeout(connect, delay);
  };
}

// request sends an event; onReply, if given, gets its reply, or each item
// of a stream and then its final reply.
function request(event, data, onReply) {
  const id = String(++ids);
  if (onReply) waiting.set(id, onReply);
  socket.send(JSON.stringify({ event, id, data }));
  return id;
}

function receive(msg) {
  if (msg.id !== undefined) {
    const onReply = waiting.get(msg.id);
    if (!msg.more) waiting.delete(msg.id);
    onReply?.(msg);
    return;
  }
  switch (msg.event) {
    case "chat.message":
      stopTyping(msg.body.user);
      show(msg.body);
      break;
    case "chat.typing":
      startTyping(msg.body.user);
      break;
  }
}

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
  send.disabled = !(state === "open" && joined);
}

function open() {
  return socket?.readyState === WebSocket.OPEN;
}

// joinAs takes a name in the room. A name taken again right after a
// reconnect may still be held by our old connection, which the server has
// not seen go yet: tries > 1 retries it a little later.
function joinAs(user, tries = 1) {
  request("chat.join", { user }, ({ statusCode, body }) => {
    if (statusCode === 200) {
      me = body.user;
      sessionStorage.setItem("name", me);
      joined = true;
      setStatus("open", "Connected");
      enter();
      return;
    }
    if (statusCode === 409 && tries > 1 && body?.errorList?.[0]?.type === "name_taken") {
      setTimeout(() => open() && joinAs(user, tries - 1), 1000);
      return;
    }
    leave();
    name.value = user;
    joinError.textContent = messages(body, statusCode);
    name.setAttribute("aria-invalid", "true");
  });
}

// messages words a refused request's body. A 429 is the server's rate
// limit: the message was not posted, and may be sent again in a moment.
function messages(body, statusCode) {
  if (statusCode === 429) return "You are sending messages quickly: wait a moment, then send again.";
  const labels = { user: "Name: " };
  const errors = body?.errorList ?? [{ loc: [], msg: `The server answered ${statusCode}` }];
  return errors.map((e) => (labels[e.loc[0]] ?? "") + e.msg).join(" · ");
}

function showErrors(body, statusCode) {
  error.textContent = messages(body, statusCode);
  input.setAttribute("aria-invalid", "true");
}

function clearErrors() {
  error.textContent = "";
  input.removeAttribute("aria-invalid");
}

// show puts a message in the list, in time order, once: history and pushes
// may bring the same message twice.
const seen = new Set();
function show({ message, user, time }) {
  const key = JSON.stringify([user, time, message]);
  if (seen.has(key)) return;
  seen.add(key);
  const at = Date.parse(time);
  const item = document.createElement("li");
  item.className = user === me ? "mine" : "";
  item.dataset.at = at;
  item.innerHTML = `<span class="avatar"></span><div class="bubble"><div class="meta"><b></b> <time></time></div><p></p></div>`;
  const avatar = item.querySelector(".avatar");
  avatar.textContent = [...user][0].toUpperCase();
  avatar.style.background = colorOf(user);
  item.querySelector("b").textContent = user;
  const stamp = item.querySelector("time");
  stamp.dateTime = time;
  stamp.textContent = new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  item.querySelector("p").textContent = message;
  let next = null;
  for (let li = list.lastElementChild; li && Number(li.dataset.at) > at; li = li.previousElementSibling) next = li;
  list.insertBefore(item, next);
  if (!next) list.scrollTop = list.scrollHeight;
}

// colorOf picks a color for a name, the same one every time.
const colors = ["#e11d48", "#0891b2", "#7c3aed", "#ea580c", "#2563eb", "#16a34a", "#c026d3", "#0d9488"];
function colorOf(name) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.codePointAt(0)) >>> 0;
  return colors[h % colors.length];
}

// Who is typing: shown for 3 s after their last chat.typing, or until
// their message arrives.
const typists = new Map(); // user → timer
function startTyping(user) {
  clearTimeout(typists.get(user));
  typists.set(user, setTimeout(() => stopTyping(user), 3000));
  showTyping();
}
function stopTyping(user) {
  clearTimeout(typists.get(user));
  typists.delete(user);
  showTyping();
}
function showTyping() {
  const users = [...typists.keys()];
  typingLine.textContent =
    users.length === 0 ? "" :
    users.length === 1 ? `${users[0]} is typing…` :
    users.length === 2 ? `${users[0]} and ${users[1]} are typing…` :
    "Several people are typing…";
}

// The room's stats come from the chat.watch stream; Stop sends $cancel,
// and the stream's final reply says it has ended. It is opened again after
// a reconnect.
let watching = true; // the user wants the stats
let watchId = null; // the open stream's id
let stopping = null; // the id of the stream we sent $cancel for
let stats = null; // its last item
function watch() {
  const id = request("chat.watch", {}, ({ statusCode, body, more }) => {
    if (id === stopping && !more) stopping = null; // ended: $cancel worked
    if (id === watchId) {
      if (more) {
        stats = body;
      } else {
        watchId = stats = null; // ended by the server
        if (statusCode !== 200) watching = false;
      }
    }
    showRoom();
  });
  watchId = id;
  stats = null;
  showRoom();
}
function stopWatching() {
  if (watchId === null) return;
  socket.send(JSON.stringify({ event: "$cancel", id: watchId }));
  stopping = watchId;
  watchId = stats = null;
  showRoom();
}
function showRoom() {
  const on = watchId !== null && stats !== null;
  room.dataset.state = on ? "watching" : stopping !== null ? "stopping" : "stopped";
  watchButton.textContent = watching ? "Stop" : "Watch";
  if (!on) {
    online.textContent = watching ? "Room stats: waiting…" : "Room stats are off";
    return;
  }
  const { online: names, connections, messages } = stats;
  online.replaceChildren(
    `${names.length} online${names.length ? ": " : ""}`,
    ...names.flatMap((n, i) => [i ? ", " : "", Object.assign(document.createElement("b"), { textContent: n })]),
    ` · ${connections} connection${connections === 1 ? "" : "s"} · ${messages} message${messages === 1 ? "" : "s"}`,
  );
}
watchButton.onclick = () => {
  watching = !watching;
  if (open() && watching) watch();
  if (!watching) stopWatching();
  showRoom();
};

function enter() {
  $("me").textContent = me;
  joinError.textContent = "";
  name.removeAttribute("aria-invalid");
  join.hidden = true;
  composer.hidden = false;
  input.focus();
}

function leave() {
  composer.hidden = true;
  join.hidden = false;
  name.focus();
}

// A name is chosen once per connection: another name takes a new one.
join.onsubmit = (event) => {
  event.preventDefault();
  const user = name.value.trim();
  joinError.textContent = "";
  name.removeAttribute("aria-invalid");
  if (joined && user === me) return enter();
  me = user;
  if (joined) {
    renaming = true;
    socket.close(1000, "new name");
  } else if (open()) {
    joinAs(user);
  }
};
name.oninput = () => {
  joinError.textContent = "";
  name.removeAttribute("aria-invalid");
};

$("rename").onclick = () => {
  name.value = me;
  leave();
  name.select();
};

// Empty, blank and over-long messages are sent as they are: the server
// validates them, and its 400 errorList is shown under the input.
composer.onsubmit = (event) => {
  event.preventDefault();
  if (!joined) return;
  clearErrors();
  const text = input.value;
  typedAt = 0; // typing again is news
  request("chat.send", { message: text }, ({ statusCode, body }) => {
    if (statusCode !== 200) return showErrors(body, statusCode);
    show(body);
    if (input.value === text) input.value = "";
  });
};

// Typing is told at most every 2 s.
let typedAt = 0;
input.oninput = () => {
  clearErrors();
  if (!joined || !input.value.trim() || Date.now() - typedAt < 2000) return;
  typedAt = Date.now();
  request("chat.typing", {});
};

if (me) {
  name.value = me;
  $("me").textContent = me;
}
showRoom();
connect();
