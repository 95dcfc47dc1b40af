// The generated declarations in a browser page: the DOM's WebSocket is
// the default constructor, and passing it explicitly type-checks.
import { connectWs, WsError, type WsClient } from "./gen/client.js";

export async function chat(form: HTMLFormElement): Promise<void> {
  const c: WsClient = connectWs({ WebSocket, reconnect: { initialDelay: 250 } });
  c.on("chat.message", (m) => form.append(m.user + ": " + m.message));
  try {
    await c.call("chat.send", { message: "Hi", user: "ana" });
  } catch (err) {
    if (err instanceof WsError) for (const e of err.errorList) form.dataset[String(e.loc[0])] = e.msg;
  }
}
