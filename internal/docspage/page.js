// The docs page: it describes the AsyncAPI document embedded in the page
// and runs the console. The client runtime (Client, CallbackClient,
// WsError, channelURL) is inlined above this script.

const doc = JSON.parse(document.getElementById("asyncapi").textContent);
const schemaPrefix = "#/components/schemas/";

// ---------------------------------------------------------------- helpers

const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "html") el.innerHTML = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const escapeHTML = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

// highlight colours a JSON text: its tokens are found in the text itself,
// then each piece is escaped, so that no token is matched inside an
// escape ("&#39;" holds a number).
function highlight(text) {
  const token = /("(?:\\u[a-fA-F0-9]{4}|\\[^u]|[^\\"])*"(\s*:)?|\b(?:true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let out = "";
  let last = 0;
  for (const m of text.matchAll(token)) {
    const [tok, str, colon] = m;
    const cls = str ? (colon ? "k" : "s") : /^[tfn]/.test(tok) ? "l" : "n";
    out += escapeHTML(text.slice(last, m.index)) + `<span class="${cls}">${escapeHTML(tok)}</span>`;
    last = m.index + tok.length;
  }
  return out + escapeHTML(text.slice(last));
}

const code = (value) => h("pre", { class: "code", html: highlight(JSON.stringify(value, null, 2) ?? "") });
const anchor = (...parts) => parts.join("-").replace(/[^A-Za-z0-9_.-]+/g, "_");

// ---------------------------------------------------------------- the document

function resolve(ref) {
  if (typeof ref !== "string" || !ref.startsWith("#")) return undefined;
  let v = doc;
  for (const raw of ref.slice(1).split("/").slice(1)) {
    const tok = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (v === null || typeof v !== "object" || !(tok in v)) return undefined;
    v = v[tok];
  }
  return v;
}

function deref(v) {
  for (let i = 0; i < 32 && v && typeof v === "object" && typeof v.$ref === "string"; i++) v = resolve(v.$ref);
  return v;
}

function replyStatus(m) {
  const s = deref(m?.payload)?.properties?.statusCode;
  if (!s) return undefined;
  if (typeof s.const === "number") return s.const;
  if (s.type === "integer") return "2xx";
  return undefined;
}

const okReply = (m) => {
  const s = replyStatus(m);
  return s === "2xx" || (typeof s === "number" && s < 400);
};

// readEndpoints reads the channels and their operations as the server
// made them: a router's events, streams and pushes, or a callback's
// request and reply.
function readEndpoints() {
  const endpoints = [];
  const byChannel = new Map();
  for (const [id, c] of Object.entries(doc.channels ?? {})) {
    const address = c.address ?? "/" + id;
    const ep = {
      id,
      address,
      description: c.description ?? "",
      params: [...address.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]),
      kind: "untyped",
      events: [],
      pushes: [],
    };
    endpoints.push(ep);
    byChannel.set(c, ep);
  }
  for (const op of Object.values(doc.operations ?? {})) {
    const ep = byChannel.get(deref(op.channel));
    const msgs = (op.messages ?? []).map(deref).filter(Boolean);
    if (!ep || msgs.length === 0) continue;
    const m = msgs[0];
    const p = deref(m.payload) ?? {};
    const props = p.properties ?? {};
    const name = props.event?.const;
    if (op.action === "send") {
      if (typeof name === "string") {
        ep.kind = "router";
        ep.pushes.push({ name, summary: m.summary ?? "", body: props.body });
      }
      continue;
    }
    if (op.action !== "receive") continue;
    const replies = (op.reply?.messages ?? []).map(deref).filter(Boolean);
    const errors = replies.filter((r) => !okReply(r)).map((r) => ({ status: replyStatus(r), summary: r.summary ?? "" }));
    if (typeof name !== "string") {
      const reply = replies.find(okReply);
      ep.kind = "callback";
      ep.events = [{
        name: "request",
        summary: m.summary ?? "",
        data: m.payload,
        stream: false,
        body: deref(reply?.payload)?.properties?.body,
        status: replyStatus(reply),
        errors,
      }];
      continue;
    }
    ep.kind = "router";
    if (name === "$cancel") continue;
    const item = replies.find((r) => deref(r.payload)?.properties?.more);
    const reply = item ?? replies.find(okReply);
    ep.events.push({
      name,
      summary: m.summary ?? "",
      data: props.data,
      dataOptional: !(p.required ?? []).includes("data"),
      stream: item !== undefined,
      body: deref(reply?.payload)?.properties?.body,
      status: replyStatus(reply),
      errors,
    });
  }
  // Routers first, the richest; then callbacks; then the undescribed.
  const rank = { router: 0, callback: 1, untyped: 2 };
  return endpoints.sort((a, b) => rank[a.kind] - rank[b.kind]);
}

// ---------------------------------------------------------------- schemas

const typesOf = (s) => (typeof s?.type === "string" ? [s.type] : Array.isArray(s?.type) ? s.type : undefined);

// merge returns outer's keywords with alt's added: what both match, as far
// as types go.
function merge(outer, alt) {
  if (alt === true || alt === undefined) return outer;
  if (typeof alt !== "object" || alt === null || alt.$ref) return alt;
  const m = { ...outer };
  delete m.anyOf;
  delete m.oneOf;
  delete m.allOf;
  for (const [k, v] of Object.entries(alt)) {
    if (k === "type" && m.type !== undefined) {
      const a = typesOf(m);
      m.type = typesOf(alt).filter((t) => a.includes(t) || (t === "integer" && a.includes("number")));
    } else if (k === "properties" && m.properties) {
      m.properties = { ...m.properties, ...v };
    } else if (k === "required" && m.required) {
      m.required = [...m.required, ...v];
    } else {
      m[k] = v;
    }
  }
  return m;
}

// emptyAlternative reports whether an anyOf branch only lets the empty
// value through: omitempty's "", 0, null, [].
function emptyAlternative(a) {
  if (!a || typeof a !== "object") return false;
  if ("const" in a) return a.const === "" || a.const === 0 || a.const === false || a.const === null;
  const t = typesOf(a);
  if (t && t.length === 1 && t[0] === "null") return true;
  return a.maxItems === 0 || a.maxProperties === 0;
}

// view returns the schema that describes a value best for a form and an
// example: references followed, and of anyOf's branches the one that is
// not only the empty value.
function view(s, seen = new Set()) {
  for (let i = 0; i < 16; i++) {
    if (!s || typeof s !== "object") return s;
    if (s.$ref) {
      if (seen.has(s.$ref)) return {};
      seen.add(s.$ref);
      s = resolve(s.$ref);
      continue;
    }
    const alts = s.anyOf ?? s.oneOf;
    if (alts) {
      const pick = [...alts].reverse().find((a) => !emptyAlternative(a)) ?? alts[0];
      s = merge(s, pick);
      continue;
    }
    if (s.allOf && !s.type && !s.properties) {
      const typed = s.allOf.find((a) => a && (a.$ref || a.type || a.properties));
      if (typed) {
        s = typed;
        continue;
      }
    }
    return s;
  }
  return {};
}

const literal = (v) => JSON.stringify(v);

// typeHTML writes the type of a schema: string, integer, Name[] | null, …
// with links to the named schemas.
function typeHTML(s) {
  const alts = typeAlternatives(s, 0);
  return simplify(alts).join(" | ");
}

function typeAlternatives(s, depth) {
  if (depth > 12) return ["any"];
  if (s === undefined || s === true) return ["any"];
  if (s === false || s === null || typeof s !== "object") return ["never"];
  if (s.$ref) {
    const name = s.$ref.startsWith(schemaPrefix) ? s.$ref.slice(schemaPrefix.length).replaceAll("~1", "/").replaceAll("~0", "~") : s.$ref;
    return [`<a href="#${escapeHTML(anchor("schema", name))}">${escapeHTML(name)}</a>`];
  }
  if (s.not && typeof s.not === "object" && Object.keys(s.not).length === 0) return ["never"];
  let alts;
  const branches = s.anyOf ?? s.oneOf;
  if (branches) {
    alts = branches.flatMap((b) => typeAlternatives(merge(s, b), depth + 1));
  } else {
    alts = ownTypes(s, depth);
  }
  if (s.allOf && alts.length === 1 && alts[0] === "any") {
    for (const sub of s.allOf) {
      const t = typeAlternatives(sub, depth + 1);
      if (!(t.length === 1 && t[0] === "any")) alts = t;
    }
  }
  return alts;
}

function ownTypes(s, depth) {
  if ("const" in s) return [escapeHTML(literal(s.const))];
  if (Array.isArray(s.enum)) return s.enum.map((v) => escapeHTML(literal(v)));
  let types = typesOf(s);
  if (!types) {
    if (s.properties || s.additionalProperties) types = ["object"];
    else if (s.items) types = ["array"];
    else return ["any"];
  }
  return types.map((t) => {
    switch (t) {
      case "array": {
        const item = simplify(typeAlternatives(s.items, depth + 1));
        return (item.length > 1 ? "(" + item.join(" | ") + ")" : item[0]) + "[]";
      }
      case "object":
        if (!s.properties && s.additionalProperties && typeof s.additionalProperties === "object") {
          return "map&lt;string, " + simplify(typeAlternatives(s.additionalProperties, depth + 1)).join(" | ") + "&gt;";
        }
        return "object";
      default:
        return escapeHTML(t);
    }
  });
}

function simplify(alts) {
  if (alts.includes("any")) return ["any"];
  const has = new Set(alts);
  const out = [];
  for (const a of alts) {
    if (a === "never" && alts.length > 1) continue;
    if (a.startsWith("&quot;") && has.has("string")) continue;
    if (/^-?\d/.test(a) && (has.has("integer") || has.has("number"))) continue;
    if ((a === "true" || a === "false") && has.has("boolean")) continue;
    if (!out.includes(a)) out.push(a);
  }
  out.sort((x, y) => (x === "null") - (y === "null"));
  return out.length ? out : ["never"];
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function range(min, max, one, many) {
  if (min !== undefined && max !== undefined) return min === max ? plural(min, one, many) : `${min}–${max} ${many}`;
  if (min !== undefined) return `≥ ${plural(min, one, many)}`;
  if (max !== undefined) return `≤ ${plural(max, one, many)}`;
  return undefined;
}

// rules says what a schema asks of a value beyond its type, as short
// phrases: "1–500 chars", "≥ 1", "or empty".
function rules(s, depth = 0) {
  if (!s || typeof s !== "object" || s.$ref || depth > 3) return [];
  const out = [];
  const push = (v) => v !== undefined && out.push(v);
  push(range(s.minLength, s.maxLength, "char", "chars"));
  if (s.minimum !== undefined && s.maximum !== undefined) push(`${s.minimum} … ${s.maximum}`);
  else {
    if (s.minimum !== undefined) push(`≥ ${s.minimum}`);
    if (s.maximum !== undefined) push(`≤ ${s.maximum}`);
  }
  if (s.exclusiveMinimum !== undefined) push(`> ${s.exclusiveMinimum}`);
  if (s.exclusiveMaximum !== undefined) push(`< ${s.exclusiveMaximum}`);
  push(range(s.minItems, s.maxItems, "item", "items"));
  push(range(s.minProperties, s.maxProperties, "entry", "entries"));
  if (s.uniqueItems) push("unique");
  if (s.format) push(s.format);
  if (s.pattern) push(`/${s.pattern}/`);
  if (s.not && typeof s.not === "object" && "const" in s.not) push(`≠ ${literal(s.not.const)}`);
  const branches = s.anyOf ?? s.oneOf;
  if (branches) {
    const empties = branches.filter(emptyAlternative);
    const others = branches.filter((b) => !emptyAlternative(b)).map((b) => rules(b, depth + 1)).filter((r) => r.length);
    if (others.length === 1) out.push(...others[0]);
    else if (others.length > 1) push(others.map((r) => r.join(", ")).join(" or "));
    if (empties.length && others.length) push("or empty");
  }
  if (s["x-validate"]) push(`validate: ${s["x-validate"].replaceAll(",", ",\u200b")}`);
  return out;
}

// example makes a value that the schema matches, to start from.
function example(s, name = "", depth = 0, seen = new Set()) {
  if (s === undefined || s === true) return null;
  if (!s || typeof s !== "object") return null;
  if (s.$ref) {
    if (depth > 6 || seen.has(s.$ref)) return null;
    return example(resolve(s.$ref), name, depth + 1, new Set(seen).add(s.$ref));
  }
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
  if ("default" in s) return s.default;
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum.find((v) => v !== "" && v !== null && v !== 0) ?? s.enum[0] ?? null;
  const branches = s.anyOf ?? s.oneOf;
  if (branches) {
    const pick = [...branches].reverse().find((a) => !emptyAlternative(a)) ?? branches[0];
    return example(merge(s, pick), name, depth, seen);
  }
  if (s.allOf && !s.type && !s.properties) {
    const typed = s.allOf.find((a) => a && (a.$ref || a.type || a.properties));
    return typed ? example(typed, name, depth, seen) : null;
  }
  let types = typesOf(s);
  if (!types) types = s.properties || s.additionalProperties ? ["object"] : s.items ? ["array"] : [];
  const t = types.find((x) => x !== "null") ?? types[0];
  switch (t) {
    case "string":
      return exampleString(s, name);
    case "integer":
    case "number":
      return exampleNumber(s, t === "integer");
    case "boolean":
      return false;
    case "array": {
      if (s.maxItems === 0) return [];
      const n = Math.max(1, s.minItems ?? 0);
      return Array.from({ length: n }, (_, i) => {
        const v = example(s.items, name, depth + 1, seen);
        return s.uniqueItems && typeof v === "string" ? v + (i || "") : s.uniqueItems && typeof v === "number" ? v + i : v;
      });
    }
    case "object": {
      const out = {};
      const required = new Set(s.required ?? []);
      for (const [k, p] of Object.entries(s.properties ?? {})) {
        if (depth > 4 && !required.has(k)) continue;
        out[k] = example(p, k, depth + 1, seen);
      }
      return out;
    }
    case "null":
      return null;
  }
  return null;
}

function exampleString(s, name) {
  const formats = {
    "date-time": new Date(Date.UTC(2025, 0, 2, 15, 4, 5)).toISOString(),
    date: "2025-01-02",
    time: "15:04:05Z",
    email: "ana@example.com",
    uri: "https://example.com/",
    "uri-reference": "/example",
    url: "https://example.com/",
    uuid: "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    hostname: "example.com",
    ipv4: "192.0.2.1",
    ipv6: "2001:db8::1",
  };
  const min = s.minLength ?? 0;
  const max = s.maxLength ?? Infinity;
  const fit = (v) => v.length >= min && v.length <= max;
  const candidates = [formats[s.format], name, "example", "abc", "a1b2", "123", "0", "x"].filter((v) => typeof v === "string" && v !== "");
  let re = null;
  try {
    if (s.pattern) re = new RegExp(s.pattern, "u");
  } catch {
    re = null;
  }
  for (const v of candidates) if (fit(v) && (!re || re.test(v))) return v;
  let v = candidates[0] ?? "x";
  if (v.length > max) v = v.slice(0, max);
  while (v.length < min) v += "x";
  return v;
}

function exampleNumber(s, integer) {
  let lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + (integer ? 1 : 0.5) : undefined);
  let hi = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - (integer ? 1 : 0.5) : undefined);
  let v = lo ?? (hi !== undefined ? Math.min(0, hi) : 0);
  if (integer) v = Math.ceil(v);
  if (s.not && "const" in s.not && v === s.not.const) v += 1;
  return v;
}

// ---------------------------------------------------------------- field tables

// fieldRows lists the properties of an object schema, and those of inline
// objects under them, as table rows.
function fieldRows(s, prefix, rows, depth, output) {
  const v = s && typeof s === "object" ? view(s) : undefined;
  if (!v || !v.properties || depth > 3) return rows;
  const required = new Set(v.required ?? []);
  const badge = (name) => {
    if (output) return required.has(name) ? null : h("span", { class: "opt", title: "may be left out" }, "optional");
    return required.has(name) ? h("span", { class: "req", title: "required" }, "required") : null;
  };
  for (const [name, p] of Object.entries(v.properties)) {
    const desc = typeof p === "object" && p !== null ? p.description : undefined;
    rows.push(
      h("tr", {},
        h("td", { class: "name" },
          prefix ? h("span", { class: "parent" }, prefix) : null,
          h("code", {}, name),
          badge(name),
          desc ? h("span", { class: "desc" }, desc) : null),
        h("td", { class: "type", html: typeHTML(p) }),
        h("td", {}, rules(p).map((r) => h("span", { class: "chip" }, r)))),
    );
    if (p && typeof p === "object" && !p.$ref) {
      const inner = view(p);
      if (inner?.properties) fieldRows(inner, prefix + name + ".", rows, depth + 1, output);
      else if (inner?.items && typeof inner.items === "object" && !inner.items.$ref && view(inner.items)?.properties) {
        fieldRows(view(inner.items), prefix + name + "[].", rows, depth + 1, output);
      }
    }
  }
  return rows;
}

// schemaBlock describes a value: a table of its fields (under the name of
// its schema, when it has one), or of its items' fields, or its type.
// output says the server writes it: then "optional" is worth saying, not
// "required".
function schemaBlock(s, output = false, named = true) {
  const v = s && typeof s === "object" ? view(s) : undefined;
  const table = (obj) =>
    h("table", { class: "fields" },
      h("thead", {}, h("tr", {}, h("th", {}, "Field"), h("th", {}, "Type"), h("th", {}, "Rules"))),
      h("tbody", {}, fieldRows(obj, "", [], 0, output)));
  const r = rules(s);
  const line = h("p", { class: "type-line" },
    h("span", { class: "type", html: typeHTML(s) }), " ",
    r.map((x) => h("span", { class: "chip" }, x)));
  if (v?.properties && Object.keys(v.properties).length) {
    const inline = !s.$ref && !s.anyOf && !s.oneOf && !s.allOf;
    return h("div", {}, named && !inline ? line : null, table(v));
  }
  const item = v?.items && typeof v.items === "object" ? view(v.items) : undefined;
  if (item?.properties && Object.keys(item.properties).length) {
    return h("div", {}, line, h("p", { class: "hint" }, "Each item:"), table(item));
  }
  return line;
}

const statusChip = (status) => {
  const s = status === undefined ? "" : String(status);
  return h("span", { class: "status s" + (s[0] ?? "2") }, s || "—");
};

// ---------------------------------------------------------------- the page

const endpoints = readEndpoints();
const typed = endpoints.filter((ep) => ep.kind !== "untyped");

function renderNav() {
  const nav = $("nav");
  const info = doc.info ?? {};
  nav.append(h("div", { class: "brand" },
    h("div", { class: "logo", "aria-hidden": "true" }, (info.title ?? "A").trim().charAt(0).toUpperCase() || "A"),
    h("div", {}, h("b", {}, info.title ?? "API"), h("span", {}, "v" + (info.version ?? "")))));
  nav.append(h("h4", {}, "Endpoints"));
  const list = h("ul");
  for (const ep of endpoints) {
    list.append(h("li", {}, h("a", { class: "address", href: "#" + anchor("ep", ep.id) }, ep.address)));
    for (const ev of ep.kind === "router" ? ep.events : []) {
      list.append(h("li", {}, h("a", { class: "sub-item", href: "#" + anchor("op", ep.id, ev.name) },
        h("span", { class: ev.stream ? "dot stream" : "dot" }), ev.name)));
    }
    for (const p of ep.pushes) {
      list.append(h("li", {}, h("a", { class: "sub-item", href: "#" + anchor("push", ep.id, p.name) }, h("span", { class: "dot push" }), p.name)));
    }
  }
  nav.append(list);
  const schemas = Object.keys(doc.components?.schemas ?? {});
  if (schemas.length) {
    nav.append(h("h4", {}, "Schemas"));
    nav.append(h("ul", {}, schemas.map((name) => h("li", {}, h("a", { class: "sub-item", href: "#" + anchor("schema", name) }, name)))));
  }
}

function renderHero(main) {
  const info = doc.info ?? {};
  const events = typed.flatMap((ep) => (ep.kind === "router" ? ep.events : []));
  const paragraphs = String(info.description ?? "").split(/\n\s*\n/).filter((p) => p.trim());
  const blob = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" }));
  main.append(h("section", { class: "hero card" },
    h("div", { class: "hero-top" },
      h("h1", {}, info.title ?? "API"),
      h("span", { class: "pill accent" }, "v" + (info.version ?? "")),
      h("span", { class: "pill" }, "AsyncAPI " + (doc.asyncapi ?? "")),
      h("a", { class: "pill", href: blob, download: "asyncapi.json" }, "Download the document")),
    paragraphs.length ? h("div", { class: "description" }, paragraphs.map((p) => h("p", {}, p))) : null,
    h("div", { class: "stats" },
      stat(endpoints.length, "endpoint", "endpoints"),
      stat(events.filter((e) => !e.stream).length, "request", "requests"),
      stat(events.filter((e) => e.stream).length, "stream", "streams"),
      stat(typed.reduce((n, ep) => n + ep.pushes.length, 0), "push", "pushes"))));
}

const stat = (n, one, many) => h("div", { class: "stat" }, h("b", {}, n), h("span", {}, n === 1 ? one : many));

// wire returns the message a client sends for an event, and its reply.
function wire(ep, ev) {
  const data = example(ev.data);
  if (ep.kind === "callback") {
    return [data, { statusCode: typeof ev.status === "number" ? ev.status : 200, body: example(ev.body) }];
  }
  const msg = { event: ev.name, id: "1", data };
  const reply = { id: "1", event: ev.name, statusCode: typeof ev.status === "number" ? ev.status : 200, body: example(ev.body) };
  if (ev.stream) reply.more = true;
  return [msg, reply];
}

function renderEndpoint(main, ep) {
  const kind = {
    router: [plural(ep.events.filter((e) => !e.stream).length, "request", "requests"),
      plural(ep.events.filter((e) => e.stream).length, "stream", "streams"),
      plural(ep.pushes.length, "push", "pushes")].join(" · "),
    callback: "one request type, replies in order",
    untyped: "messages not described",
  }[ep.kind];
  const section = h("section", { class: "endpoint card", id: anchor("ep", ep.id) },
    h("header", { class: "endpoint-head" },
      h("span", { class: "method" }, "WS"),
      h("code", {}, ep.address),
      h("span", { class: "pill kind" }, ep.kind === "router" ? "Router" : ep.kind === "callback" ? "Callback" : "Handler"),
      h("span", { class: "sub" }, kind)));
  if (ep.description) section.append(h("p", { class: "note" }, ep.description));
  for (const ev of ep.events) {
    const [msg, reply] = wire(ep, ev);
    const id = ep.kind === "router" ? anchor("op", ep.id, ev.name) : anchor("op", ep.id);
    section.append(h("article", { class: "op", id },
      h("div", { class: "op-head" },
        h("span", { class: ev.stream ? "tag stream" : "tag" }, ev.stream ? "stream" : "request"),
        h("h3", {}, ep.kind === "router" ? ev.name : "request"),
        h("button", { type: "button", class: "ghost small try", onclick: () => tryEvent(ep, ev) }, "Try it")),
      h("p", { class: "summary" }, ev.summary),
      h("div", { class: "cols" },
        h("div", {}, h("h4", {}, ep.kind === "router" ? "data" : "request"), schemaBlock(ev.data)),
        h("div", {}, h("h4", {}, ev.stream ? "each item" : "reply body ",
          ev.stream ? null : h("span", { class: "status-note" }, statusChip(ev.status))), schemaBlock(ev.body, true))),
      h("div", { class: "examples cols" },
        h("div", {}, h("h4", {}, "message"), code(msg)),
        h("div", {}, h("h4", {}, ev.stream ? "items, then the end" : "reply"),
          code(ev.stream ? [reply, { id: "1", event: ev.name, statusCode: 200, body: null }] : reply))),
      h("ul", { class: "errors-line" },
        ev.errors.map((e) => h("li", {}, statusChip(e.status), " ", e.summary.replace(/\.$/, ""))),
        ev.stream ? h("li", {}, "Stop it with ", h("code", {}, `{"event":"$cancel","id":"1"}`)) : null)));
  }
  for (const p of ep.pushes) {
    section.append(h("article", { class: "op", id: anchor("push", ep.id, p.name) },
      h("div", { class: "op-head" }, h("span", { class: "tag push" }, "push"), h("h3", {}, p.name)),
      h("p", { class: "summary" }, p.summary),
      h("div", { class: "cols" },
        h("div", {}, h("h4", {}, "body"), schemaBlock(p.body, true)),
        h("div", {}, h("h4", {}, "message"), code({ event: p.name, statusCode: 200, body: example(p.body) })))));
  }
  main.append(section);
}

function renderSchemas(main) {
  const schemas = doc.components?.schemas ?? {};
  const names = Object.keys(schemas);
  if (!names.length) return;
  main.append(h("section", { class: "endpoint card", id: "schemas" },
    h("header", { class: "endpoint-head" }, h("h2", {}, "Schemas"), h("span", { class: "sub" }, "the types the messages use")),
    names.map((name) => h("article", { class: "schema", id: anchor("schema", name) },
      h("h3", {}, name),
      schemas[name]?.description ? h("p", { class: "hint" }, schemas[name].description) : null,
      schemaBlock(schemas[name], /-Output$/.test(name), false)))));
}

// ---------------------------------------------------------------- the console

// Form fields: each knows its loc, how to read its value and where its
// errors go.
function buildFields(container, s, loc, label, required, value, fields) {
  const v = view(s) ?? {};
  const types = typesOf(v) ?? (v.properties ? ["object"] : v.items ? ["array"] : []);
  const main = types.find((t) => t !== "null");
  const key = JSON.stringify(loc);
  if (main === "object" && v.properties && loc.length < 6) {
    const set = loc.length === 0 ? container : h("fieldset", { "data-loc": key }, h("legend", {}, label));
    const field = { loc, kind: "object", wrap: set, children: [], required };
    const req = new Set(v.required ?? []);
    const entries = Object.entries(v.properties);
    for (const [name, p] of entries) {
      const child = buildFields(set, p, [...loc, name], name, req.has(name), value?.[name], fields);
      field.children.push([name, child]);
    }
    if (loc.length > 0) {
      set.append(h("p", { class: "field-error" }));
      container.append(set);
    } else if (entries.length === 0) {
      container.append(h("p", { class: "empty-form" }, "No fields: the data is an empty object."));
    }
    fields.set(key, field);
    return field;
  }
  const id = "f" + fields.size;
  let input;
  let kind = "json";
  if (Array.isArray(v.enum) && v.enum.every((e) => typeof e === "string" || typeof e === "number")) {
    kind = "enum";
    input = h("select", { id }, h("option", { value: "" }, required ? "— choose —" : "— leave out —"),
      v.enum.map((e, i) => h("option", { value: String(i) }, e === "" ? '""' : String(e))));
    input.enumValues = v.enum;
  } else if (main === "boolean") {
    kind = "boolean";
    input = h("input", { id, type: "checkbox" });
  } else if (main === "integer" || main === "number") {
    kind = "number";
    input = h("input", { id, type: "number", step: main === "integer" ? "1" : "any", inputmode: "decimal" });
  } else if (main === "string") {
    kind = "string";
    input = h("input", { id, type: "text", spellcheck: "false" });
  } else {
    input = h("textarea", { id, rows: "3", spellcheck: "false" });
  }
  const r = rules(s);
  const wrap = h("div", { class: kind === "boolean" ? "input-field check" : "input-field", "data-loc": key },
    h("label", { for: id },
      kind === "boolean" ? input : null,
      h("code", {}, label || "value"),
      h("span", { class: "type", html: typeHTML(s) }),
      required ? h("span", { class: "req" }, "required") : null,
      r.length ? h("span", { class: "rules" }, r.join(" · ")) : null),
    kind === "boolean" ? null : input,
    h("p", { class: "field-error", id: id + "-error" }));
  input.setAttribute("aria-describedby", id + "-error");
  container.append(wrap);
  const field = { loc, kind, input, wrap, required };
  fields.set(key, field);
  setField(field, value);
  return field;
}

function setField(field, value) {
  switch (field.kind) {
    case "object":
      for (const [name, child] of field.children) setField(child, value?.[name]);
      return;
    case "enum": {
      const i = field.input.enumValues.findIndex((e) => e === value);
      field.input.value = i < 0 ? "" : String(i);
      return;
    }
    case "boolean":
      field.input.checked = value === true;
      return;
    case "number":
      field.input.value = typeof value === "number" ? String(value) : "";
      return;
    case "string":
      field.input.value = typeof value === "string" ? value : value === undefined || value === null ? "" : JSON.stringify(value);
      return;
    default:
      field.input.value = value === undefined ? "" : JSON.stringify(value, null, 2);
  }
}

class LocalError extends Error {
  constructor(field, msg) {
    super(msg);
    this.field = field;
  }
}

// readField returns [present, value]: an empty optional field is left out.
function readField(field) {
  switch (field.kind) {
    case "object": {
      const out = {};
      let any = false;
      for (const [name, child] of field.children) {
        const [present, v] = readField(child);
        if (present) {
          out[name] = v;
          any = true;
        }
      }
      return [any || field.required || field.loc.length === 0, out];
    }
    case "enum":
      return field.input.value === "" ? [false] : [true, field.input.enumValues[Number(field.input.value)]];
    case "boolean":
      return [field.input.checked || field.required, field.input.checked];
    case "number": {
      const raw = field.input.value.trim();
      if (raw === "") return [false];
      const n = Number(raw);
      if (Number.isNaN(n)) throw new LocalError(field, "Not a number");
      return [true, n];
    }
    case "string":
      return [field.input.value !== "" || field.required, field.input.value];
    default: {
      const raw = field.input.value.trim();
      if (raw === "") return [false];
      try {
        return [true, JSON.parse(raw)];
      } catch (err) {
        throw new LocalError(field, "Not JSON: " + err.message);
      }
    }
  }
}

const state = { ep: null, ev: null, client: null, fields: new Map(), mode: "form", streams: 0 };

function setStatus(s, text) {
  const out = $("status");
  out.dataset.state = s;
  out.textContent = text;
}

function channelParams(ep) {
  const params = {};
  for (const p of ep.params) params[p] = $("param-" + p)?.value || p;
  return params;
}

function endpointURL(ep) {
  try {
    return channelURL(ep.address, channelParams(ep), { base: location.href });
  } catch {
    return "";
  }
}

function selectEndpoint(ep) {
  disconnect();
  state.ep = ep;
  $("endpoint").value = ep.id;
  const params = $("params");
  params.replaceChildren(...ep.params.map((p) => h("label", { class: "param" }, h("code", {}, "{" + p + "}"),
    h("input", { id: "param-" + p, value: p, oninput: () => ($("url").value = endpointURL(ep)) }))));
  $("url").value = endpointURL(ep);
  const untyped = ep.kind === "untyped";
  $("compose").hidden = untyped;
  $("untyped").hidden = !untyped;
  const select = $("event");
  const requests = ep.events.filter((e) => !e.stream);
  const streams = ep.events.filter((e) => e.stream);
  const option = (e) => h("option", { value: e.name }, e.name);
  select.replaceChildren(...[
    requests.length && streams.length ? h("optgroup", { label: "Requests" }, requests.map(option)) : requests.map(option),
    streams.length ? h("optgroup", { label: "Streams" }, streams.map(option)) : [],
  ].flat());
  if (ep.events.length) selectEvent(ep.events[0]);
}

function selectEvent(ev, value) {
  state.ev = ev;
  $("event").value = ev.name;
  $("event-summary").textContent = ev.summary + (ev.dataOptional ? " Its data may be left out." : "");
  $("send").textContent = ev.stream ? "Open stream" : "Send";
  const form = $("form");
  form.replaceChildren();
  state.fields = new Map();
  const start = value === undefined ? example(ev.data) : value;
  buildFields(form, ev.data, [], "data", true, start, state.fields);
  $("json").value = JSON.stringify(start, null, 2);
  clearErrors();
}

function currentData() {
  if (state.mode === "json") {
    const raw = $("json").value.trim();
    if (raw === "") return undefined;
    try {
      return JSON.parse(raw);
    } catch (err) {
      throw new LocalError(null, "Not JSON: " + err.message);
    }
  }
  const root = state.fields.get("[]");
  const [present, v] = readField(root);
  return present ? v : undefined;
}

function setMode(mode) {
  if (mode === state.mode) return;
  try {
    if (mode === "json") {
      $("json").value = JSON.stringify(currentData() ?? null, null, 2);
    } else {
      const v = currentData();
      setField(state.fields.get("[]"), v);
    }
  } catch (err) {
    showLocal(err);
    return;
  }
  state.mode = mode;
  $("tab-form").setAttribute("aria-selected", String(mode === "form"));
  $("tab-json").setAttribute("aria-selected", String(mode === "json"));
  $("form").hidden = mode !== "form";
  $("json-pane").hidden = mode !== "json";
}

function clearErrors() {
  $("general-errors").replaceChildren();
  for (const f of state.fields.values()) {
    const slot = f.wrap.querySelector(":scope > .field-error");
    if (slot) slot.textContent = "";
    f.input?.removeAttribute("aria-invalid");
  }
  $("json").removeAttribute("aria-invalid");
}

function showLocal(err) {
  clearErrors();
  if (err.field) {
    err.field.wrap.querySelector(":scope > .field-error").textContent = err.message;
    err.field.input?.setAttribute("aria-invalid", "true");
  } else {
    $("general-errors").append(h("p", {}, err.message));
    if (state.mode === "json") $("json").setAttribute("aria-invalid", "true");
  }
}

// showErrors puts each entry of an errorList next to the field its loc
// names, or the closest field above it; the rest above the form.
function showErrors(list) {
  clearErrors();
  for (const e of list) {
    const loc = Array.isArray(e.loc) ? e.loc : [];
    let field;
    for (let n = loc.length; n > 0 && !field; n--) field = state.fields.get(JSON.stringify(loc.slice(0, n)));
    const text = e.msg + (e.type ? ` (${e.type})` : "");
    if (field && state.mode === "form") {
      const deeper = loc.length > field.loc.length ? loc.slice(field.loc.length).join(".") + ": " : "";
      const slot = field.wrap.querySelector(":scope > .field-error");
      slot.textContent = (slot.textContent ? slot.textContent + " " : "") + deeper + text;
      field.input?.setAttribute("aria-invalid", "true");
    } else {
      $("general-errors").append(h("p", {}, h("code", {}, loc.length ? loc.join(".") : "data"), " ", text));
    }
  }
}

// log adds a frame to the message log.
function log(kind, dir, name, status, body) {
  const list = $("log");
  const time = new Date().toLocaleTimeString([], { hour12: false });
  list.append(h("li", { class: "msg", "data-kind": kind },
    h("div", { class: "msg-head" },
      h("span", { class: "dir", "aria-label": dir === "out" ? "sent" : "received" }, dir === "out" ? "→" : dir === "in" ? "←" : "•"),
      h("span", { class: "kind" }, kind),
      name ? h("b", {}, name) : null,
      status !== undefined ? statusChip(status) : null,
      h("time", {}, time)),
    body === undefined ? null : h("pre", { class: "code", html: highlight(JSON.stringify(body)) })));
  while (list.children.length > 300) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

function onFrame(direction, text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    msg = text;
  }
  if (direction === "send") {
    const cancel = msg?.event === "$cancel";
    log(cancel ? "cancel" : "sent", "out", state.ep.kind === "router" ? msg?.event : state.ep.address, undefined, msg);
    return;
  }
  if (msg === null || typeof msg !== "object") return log("frame", "in", "", undefined, msg);
  let kind = "reply";
  if (msg.more === true) kind = "item";
  else if (state.ep.kind === "router" && msg.id === undefined && msg.statusCode < 400) kind = "push";
  else if (msg.statusCode >= 400) kind = "error";
  else if (state.ep.kind === "router" && state.openStreams?.has(String(msg.id))) kind = "end";
  log(kind, "in", msg.event ?? "", msg.statusCode, msg);
}

function connect() {
  if (state.client && state.client.state !== "closed") return state.client;
  const ep = state.ep;
  const url = $("url").value.trim();
  setStatus("connecting", "Connecting…");
  const options = {
    url,
    onFrame,
    onOpen: () => {
      setStatus("open", "Connected");
      log("opened", "", url);
    },
    onClose: (e) => {
      setStatus("closed", `Closed (${e.code})`);
      log("closed", "", e.reason ? `${e.code} ${e.reason}` : String(e.code));
      $("connect").textContent = "Connect";
    },
  };
  state.openStreams = new Set();
  state.client = ep.kind === "router" ? new Client(url, options) : new CallbackClient(url, options);
  $("connect").textContent = "Disconnect";
  return state.client;
}

function disconnect() {
  if (state.client && state.client.state !== "closed") state.client.close(1000, "");
  state.client = null;
  $("streams").replaceChildren();
}

async function send() {
  const ev = state.ev;
  let data;
  try {
    data = currentData();
  } catch (err) {
    showLocal(err);
    return;
  }
  clearErrors();
  const client = connect();
  if (!ev.stream) {
    try {
      await (state.ep.kind === "router" ? client.call(ev.name, data) : client.call(data));
    } catch (err) {
      showFailure(err);
    }
    return;
  }
  const s = client.stream(ev.name, data);
  state.openStreams.add(s.id);
  let count = 0;
  const counter = h("span", { class: "count" }, "0 items");
  const item = h("li", {}, h("span", {}, `${ev.name} #${s.id}`), counter,
    h("button", { type: "button", class: "danger small", onclick: () => s.cancel() }, "Cancel"));
  $("streams").append(item);
  try {
    for await (const _ of s) counter.textContent = plural(++count, "item", "items");
  } catch (err) {
    showFailure(err);
  } finally {
    await s.cancel();
    item.remove();
  }
}

function showFailure(err) {
  if (err instanceof WsError) {
    if (err.errorList.length) showErrors(err.errorList);
    else $("general-errors").replaceChildren(h("p", {}, `Status ${err.statusCode}: ${JSON.stringify(err.body)}`));
  } else {
    $("general-errors").replaceChildren(h("p", {}, String(err.message ?? err)));
  }
}

function tryEvent(ep, ev) {
  if (state.ep !== ep) selectEndpoint(ep);
  selectEvent(ev);
  $("console").scrollIntoView({ behavior: "smooth", block: "nearest" });
  (state.mode === "form" ? $("form").querySelector("input, select, textarea") : $("json"))?.focus({ preventScroll: true });
}

function setupConsole() {
  const select = $("endpoint");
  select.replaceChildren(...endpoints.map((ep) => h("option", { value: ep.id }, ep.address)));
  select.addEventListener("change", () => selectEndpoint(endpoints.find((ep) => ep.id === select.value)));
  $("event").addEventListener("change", () => selectEvent(state.ep.events.find((e) => e.name === $("event").value)));
  $("connect").addEventListener("click", () => (state.client && state.client.state !== "closed" ? disconnect() : connect()));
  $("url").addEventListener("change", disconnect);
  $("send").addEventListener("click", send);
  $("form").addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });
  $("example").addEventListener("click", () => selectEvent(state.ev));
  $("clear").addEventListener("click", () => $("log").replaceChildren());
  $("tab-form").addEventListener("click", () => setMode("form"));
  $("tab-json").addEventListener("click", () => setMode("json"));
  const first = typed.find((ep) => ep.kind === "router") ?? typed[0] ?? endpoints[0];
  if (first) selectEndpoint(first);
  else $("console").hidden = true;
}

renderNav();
const main = $("docs");
renderHero(main);
for (const ep of endpoints) renderEndpoint(main, ep);
renderSchemas(main);
setupConsole();
if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
