// The chat page: one WebSocket to /chat, reopened with backoff whenever it
// closes. Every message from the server is an envelope:
// {"statusCode": 200, "body": {"message", "user", "at"}} for a chat message,
// or {"statusCode": 400, "body": {"errorList": [...]}} for one of ours the
// server refused.
const $ = (id) => document.getElementById(id);
const status = $("status"), list = $("messages"), join = $("join"), name = $("name");
const composer = $("composer"), input = $("message"), send = $("send"), error = $("error");

let me = sessionStorage.getItem("name") || "";
let socket;
let retries = 0;
let why = "Offline"; // what the status says until the socket is open again
// Messages we sent that have no reply yet: replies keep the order of the
// messages, so the oldest one is the next to be answered.
const pending = [];

function connect() {
  setStatus("connecting", retries ? `${why} · reconnecting…` : "Connecting…");
  const url = new URL("chat", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(url);
  socket.onopen = () => {
    retries = 0;
    why = "Offline";
    setStatus("open", "Connected");
  };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = (event) => {
    pending.length = 0;
    if (event.code === 1001) why = "Server restarting"; // going away: it said so before it left
    const delay = Math.min(500 * 2 ** retries++, 8000) * (0.75 + Math.random() / 2);
    setStatus("closed", `${why} · retrying in ${Math.ceil(delay / 1000)} s`);
    setTimeout(connect, delay);
  };
}

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
  send.disabled = state !== "open";
}

function receive({ statusCode, body }) {
  if (statusCode !== 200) {
    pending.shift();
    showErrors(body?.errorList ?? [{ loc: [], msg: `The server answered ${statusCode}` }]);
    return;
  }
  if (body.user === me && body.message === pending[0]) {
    pending.shift(); // our own message, accepted
    if (input.value === body.message) input.value = "";
  }
  show(body);
}

const labels = { user: "Name: " };

function showErrors(errorList) {
  error.textContent = errorList.map((e) => (labels[e.loc[0]] ?? "") + e.msg).join(" · ");
  input.setAttribute("aria-invalid", "true");
}

function clearErrors() {
  error.textContent = "";
  input.removeAttribute("aria-invalid");
}

function show({ message, user, at }) {
  const item = document.createElement("li");
  item.className = user === me ? "mine" : "";
  item.innerHTML = `<span class="avatar"></span><div class="bubble"><div class="meta"><b></b> <time></time></div><p></p></div>`;
  const avatar = item.querySelector(".avatar");
  avatar.textContent = [...user][0].toUpperCase();
  avatar.style.background = colorOf(user);
  item.querySelector("b").textContent = user;
  const time = item.querySelector("time");
  time.dateTime = at;
  time.textContent = new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  item.querySelector("p").textContent = message;
  list.append(item);
  item.scrollIntoView({ block: "end" });
}

// colorOf picks a color for a name, the same one every time.
const colors = ["#e11d48", "#0891b2", "#7c3aed", "#ea580c", "#2563eb", "#16a34a", "#c026d3", "#0d9488"];
function colorOf(name) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.codePointAt(0)) >>> 0;
  return colors[h % colors.length];
}

function enter() {
  $("me").textContent = me;
  join.hidden = true;
  composer.hidden = false;
  input.focus();
}

join.onsubmit = (event) => {
  event.preventDefault();
  me = name.value.trim();
  if (!me) return name.focus();
  sessionStorage.setItem("name", me);
  enter();
};

$("rename").onclick = () => {
  name.value = me;
  composer.hidden = true;
  join.hidden = false;
  name.select();
};

// Empty and over-long messages are sent as they are: the server validates
// them, and its 400 errorList is shown under the input.
composer.onsubmit = (event) => {
  event.preventDefault();
  clearErrors();
  pending.push(input.value);
  socket.send(JSON.stringify({ message: input.value, user: me }));
};
input.oninput = clearErrors;

if (me) enter();
connect();
