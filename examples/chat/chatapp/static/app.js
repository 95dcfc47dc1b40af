// The chat page, on the typed client that wsgen-ts generates from the
// server's AsyncAPI document (client.js; go generate in package chatapp
// writes it). One connection to /ws, dialled again with backoff whenever it
// closes; onOpen loads the history, watches the room and joins again. The
// room keeps its history on the server: each reconnect names the last
// message the page got (the client does it: resume), and the server sends
// those it missed, once, in order; when it cannot (onRecover, recovered
// false), the page says so. A refused request rejects with a WsError whose
// errorList says why.
import { connectWs, WsError } from "./client.js";

const $ = (id) => document.getElementById(id);
const status = $("status"), list = $("messages"), join = $("join"), name = $("name");
const joinError = $("join-error"), composer = $("composer"), input = $("message");
const send = $("send"), error = $("error"), typingLine = $("typing");
const room = $("room"), online = $("online"), watchButton = $("watch");

let me = sessionStorage.getItem("name") || ""; // the name we join with
let joined = false; // this connection has joined as me
let why = "Offline"; // what the status says until the connection is open again
let chat; // the client

function connect() {
  setStatus("connecting", "Connecting…");
  chat = connectWs({ reconnect: { initialDelay: 500, maxDelay: 8000 }, onOpen: opened, onClose: closed, onRecover: recovered });
  chat.on("chat.message", (msg) => {
    stopTyping(msg.user);
    show(msg);
  });
  chat.on("chat.typing", ({ user }) => startTyping(user));
}

// opened runs on each new connection, before what waited for it is sent.
async function opened(c) {
  why = "Offline";
  setStatus("open", "Connected");
  c.call("chat.history").then((messages) => messages?.forEach(show), () => {});
  if (watching) watch(c);
  if (me) await joinAs(c, me, 3);
}

// recovered runs when a reconnect resumes the room: when the server could
// not send every message the page missed (it restarted with its history in
// memory, or the history no longer reaches back), the page says so and
// loads the history again.
function recovered({ recovered }) {
  const notice = $("notice");
  notice.hidden = recovered;
  if (recovered) return;
  notice.textContent = "Reconnected, but the server could not send every message missed meanwhile: some may be missing above.";
  chat.call("chat.history").then((messages) => messages?.forEach(show), () => {});
}

function closed({ code, reconnecting }) {
  joined = false;
  watched = stats = null;
  showRoom();
  for (const user of [...typists.keys()]) stopTyping(user);
  if (!reconnecting) return; // closed on purpose: a new name
  if (code === 1001) why = "Server restarting"; // going away: it said so before it left
  setStatus("closed", `${why} · reconnecting…`);
}

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
  send.disabled = !(state === "open" && joined);
}

function open() {
  return chat.state === "open";
}

// joinAs takes a name in the room. A name taken again right after a
// reconnect may still be held by our old connection, which the server has
// not seen go yet: tries > 1 retries it a little later.
async function joinAs(c, user, tries = 1) {
  try {
    const body = await c.call("chat.join", { user });
    me = body.user;
    sessionStorage.setItem("name", me);
    joined = true;
    setStatus("open", "Connected");
    enter();
  } catch (err) {
    if (!(err instanceof WsError)) return; // the connection ended: opened joins again
    if (err.statusCode === 409 && tries > 1 && err.errorList[0]?.type === "name_taken") {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (c === chat && open()) await joinAs(c, user, tries - 1);
      return;
    }
    leave();
    name.value = user;
    joinError.textContent = messages(err);
    name.setAttribute("aria-invalid", "true");
  }
}

// messages words a refused request. A 429 is the server's rate limit: the
// message was not posted, and may be sent again in a moment.
function messages(err) {
  if (!(err instanceof WsError)) return "The connection was lost: send again once it is back.";
  if (err.statusCode === 429) return "You are sending messages quickly: wait a moment, then send again.";
  const labels = { user: "Name: " };
  const errors = err.errorList.length ? err.errorList : [{ loc: [], msg: `The server answered ${err.statusCode}` }];
  return errors.map((e) => (labels[e.loc[0]] ?? "") + e.msg).join(" · ");
}

function showErrors(err) {
  error.textContent = messages(err);
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

// The room's stats come from the chat.watch stream; Stop cancels it
// ($cancel), and the stream's final reply says it has ended. It is opened
// again after a reconnect.
let watching = true; // the user wants the stats
let watched = null; // the open stream
let stopping = null; // the stream we cancelled, until its final reply
let stats = null; // its last item
async function watch(c) {
  const stream = c.stream("chat.watch");
  watched = stream;
  stats = null;
  showRoom();
  try {
    for await (const item of stream) {
      if (stream !== watched) break;
      stats = item;
      showRoom();
    }
  } catch (err) {
    if (err instanceof WsError) watching = false; // refused by the server
  }
  if (stream === watched) watched = stats = null; // ended by the server
  showRoom();
}
function stopWatching() {
  if (watched === null) return;
  const stream = watched;
  stopping = stream;
  watched = stats = null;
  showRoom();
  stream.cancel().then(() => {
    if (stopping === stream) stopping = null;
    showRoom();
  });
}
function showRoom() {
  const on = watched !== null && stats !== null;
  room.dataset.state = on ? "watching" : stopping !== null ? "stopping" : "stopped";
  watchButton.textContent = watching ? "Stop" : "Watch";
  if (!on) {
    online.textContent = watching ? "Room stats: waiting…" : "Room stats are off";
    return;
  }
  // The server lists 20 names at most, and counts them all.
  const { online: names, joined, connections, messages } = stats;
  online.replaceChildren(
    `${joined} online${names.length ? ": " : ""}`,
    ...names.flatMap((n, i) => [i ? ", " : "", Object.assign(document.createElement("b"), { textContent: n })]),
    joined > names.length ? ` and ${joined - names.length} more` : "",
    ` · ${connections} connection${connections === 1 ? "" : "s"} · ${messages} message${messages === 1 ? "" : "s"}`,
  );
}
watchButton.onclick = () => {
  watching = !watching;
  if (open() && watching) watch(chat);
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
    chat.close(1000, "new name");
    connect();
  } else if (open()) {
    joinAs(chat, user);
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
composer.onsubmit = async (event) => {
  event.preventDefault();
  if (!joined) return;
  clearErrors();
  const text = input.value;
  typedAt = 0; // typing again is news
  try {
    show(await chat.call("chat.send", { message: text }));
    if (input.value === text) input.value = "";
  } catch (err) {
    showErrors(err);
  }
};

// Typing is told at most every 2 s.
let typedAt = 0;
input.oninput = () => {
  clearErrors();
  if (!joined || !input.value.trim() || Date.now() - typedAt < 2000) return;
  typedAt = Date.now();
  chat.call("chat.typing").catch(() => {});
};

if (me) {
  name.value = me;
  $("me").textContent = me;
}
showRoom();
connect();
