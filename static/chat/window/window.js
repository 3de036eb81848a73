// The chat window: an MCP App that chats through the server's own tools, proxied by the host.
// It receives with its own wait_for_message loop (confirming with `after`, asking for read
// receipts), sends with idempotency keys, and polls get_status for presence. Other people's
// text only ever reaches the page as textContent, never as HTML.
(() => {
  "use strict";
  const { App, applyDocumentTheme, applyHostStyleVariables, applyHostFonts } = McpExtApps;
  const WAIT_S = 25; // under the 60 s after which SDK requests give up
  const PRESENCE_EVERY_MS = 3000;
  const TYPING_EVERY_MS = 3000; // the server shows "typing" for 6 s after each call
  const $ = (id) => document.getElementById(id);

  const chat = {
    clientId: null,
    name: null,
    roomId: null,
    roomKind: null, // "private" | "matched" | null (queued or idle)
    after: undefined, // last_id handed to us: confirmed by the next wait
    loop: 0, // bumped to stop the running receive loop
    paused: false,
    abort: null,
    mine: new Map(), // message_id -> element of my own message
    gone: new Set(), // names who left this room
    transcript: [], // [{who, text, at}] for "Tell assistant"
  };
  const app = new App({ name: "mcpchat-window", version: "1.0.0" }, {}, { autoResize: true });

  // -- talking to the server ---------------------------------------------------------------

  class ToolError extends Error {
    constructor(message, code, retryAfter) {
      super(message);
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  async function call(name, args, options) {
    const result = await app.callServerTool({ name, arguments: args }, options);
    if (result.isError) {
      const err = result.structuredContent?.error ?? {};
      const text = result.content?.find((c) => c.type === "text")?.text;
      throw new ToolError(err.message || text || "the server refused", err.code, err.retry_after);
    }
    return result.structuredContent;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // -- what the page shows -----------------------------------------------------------------

  function time(iso) {
    const at = iso ? new Date(iso) : new Date();
    return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function scrollDown() {
    const log = $("log");
    log.scrollTop = log.scrollHeight;
  }

  function system(text) {
    const line = document.createElement("div");
    line.className = "system";
    line.textContent = text;
    $("log").append(line);
    chat.transcript.push({ who: null, text });
    scrollDown();
  }

  function bubble(kind, who, text, at, transcriptName = who) {
    const msg = document.createElement("div");
    msg.className = `msg ${kind}`;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = `${who} · ${time(at)}`;
    const body = document.createElement("div");
    body.className = "bubble";
    body.textContent = text;
    msg.append(meta, body);
    $("log").append(msg);
    chat.transcript.push({ who: transcriptName, text, at: at || new Date().toISOString() });
    scrollDown();
    return msg;
  }

  function status(msg, text) {
    let line = msg.querySelector(".status");
    if (!line) {
      line = document.createElement("div");
      line.className = "status";
      msg.append(line);
    }
    line.textContent = text;
  }

  function notice(text) {
    $("notice").textContent = text || "";
  }

  function header() {
    $("title").textContent = chat.name ? `mcpchat · ${chat.name}` : "mcpchat";
    const private_ = chat.roomKind === "private";
    $("room").hidden = !private_;
    $("room-id").textContent = private_ ? chat.roomId : "";
    $("next").disabled = !chat.clientId;
    $("leave").disabled = !chat.roomId && chat.roomKind !== "queued";
    $("input").disabled = $("send").disabled = !chat.roomId;
  }

  function members(presence) {
    const box = $("members");
    box.replaceChildren();
    const here = new Set();
    for (const m of presence) {
      here.add(m.name);
      const tag = document.createElement("span");
      tag.className = `member ${m.presence}`;
      tag.dataset.presence = m.presence;
      tag.textContent = `${m.name} (${m.presence === "typing" ? "typing…" : m.presence})`;
      box.append(tag);
    }
    for (const name of chat.gone) {
      if (here.has(name)) continue;
      const tag = document.createElement("span");
      tag.className = "member gone";
      tag.dataset.presence = "gone";
      tag.textContent = `${name} (gone)`;
      box.append(tag);
    }
  }

  // -- receiving -----------------------------------------------------------------------------

  function show(item) {
    if (item.kind === "message") {
      bubble("theirs", item.sender, item.text, item.at);
      return;
    }
    const who = item.sender || "Someone";
    switch (item.event) {
      case "matched":
        chat.gone.clear();
        system(`You are chatting with ${who}. Say hi!`);
        void refreshPresence();
        break;
      case "joined":
        chat.gone.delete(who);
        system(`${who} joined the room.`);
        void refreshPresence();
        break;
      case "left":
        chat.gone.add(who);
        system(item.reason === "idle" ? `${who} went quiet and was disconnected.` : `${who} left.`);
        void refreshPresence();
        break;
      case "room_closed":
        system("A moderator closed this room. Press Next to meet someone new.");
        chat.roomId = null;
        chat.roomKind = null;
        header();
        break;
      case "read":
        for (const [id, msg] of chat.mine) {
          if (id <= item.message_id && !msg.classList.contains("read")) {
            msg.classList.add("read");
            status(msg, `Read by ${who}`);
          }
        }
        break;
    }
  }

  async function receive(loop) {
    let backoff = 1000;
    while (loop === chat.loop && !chat.paused) {
      const args = { client_id: chat.clientId, timeout: WAIT_S, receipts: true };
      if (chat.after !== undefined) args.after = chat.after;
      chat.abort = new AbortController();
      try {
        const got = await call("wait_for_message", args, {
          signal: chat.abort.signal,
          timeout: (WAIT_S + 30) * 1000,
        });
        if (loop !== chat.loop) return;
        backoff = 1000;
        notice("");
        if (got.status === "superseded") {
          pause("Another wait_for_message is reading this chat (the assistant?). ");
          return;
        }
        for (const item of got.items) show(item);
        if (got.last_id != null) chat.after = got.last_id;
      } catch (e) {
        if (loop !== chat.loop) return;
        if (e.code === "unknown_client") {
          await rejoin();
          return;
        }
        const wait = e.code === "rate_limited" ? (e.retryAfter || 1) * 1000 : backoff;
        notice(e.code ? e.message : "Connection lost. Reconnecting…");
        await sleep(wait);
        backoff = Math.min(backoff * 2, 10000);
      }
    }
  }

  function listen() {
    chat.loop += 1;
    chat.abort?.abort();
    chat.paused = false;
    void receive(chat.loop);
  }

  function stopListening() {
    chat.loop += 1;
    chat.abort?.abort();
  }

  function pause(why) {
    chat.paused = true;
    const resume = document.createElement("button");
    resume.type = "button";
    resume.textContent = "Resume here";
    resume.onclick = () => {
      notice("");
      listen();
    };
    notice(why);
    $("notice").append(resume);
  }

  async function refreshPresence() {
    if (!chat.clientId) return;
    try {
      const s = await call("get_status", { client_id: chat.clientId });
      chat.roomId = s.room_id;
      chat.roomKind = s.state === "in_room" ? s.room_kind : s.state === "queued" ? "queued" : null;
      members(s.presence || []);
      header();
    } catch {
      // the receive loop reports connection trouble and rejoins
    }
  }

  // -- joining, sending, next, leave ---------------------------------------------------------

  function adopt(result, announce = true) {
    chat.clientId = result.client_id;
    chat.name = result.display_name;
    chat.roomId = result.room_id || null;
    chat.after = undefined;
    if (result.status === "waiting") chat.roomKind = "queued";
    else if (result.capacity !== undefined) chat.roomKind = "private";
    else chat.roomKind = result.room_id ? "matched" : null;
    chat.gone.clear();
    header();
    if (announce) {
      if (result.partner) system(`You are chatting with ${result.partner}. Say hi!`);
      else if (result.status === "waiting") system("Looking for someone to chat with…");
      else if (result.members?.length > 1) system(`In the room: ${result.members.join(", ")}.`);
      else if (result.room_id) system("Share the room id; you will see when someone joins.");
    }
    listen();
    void refreshPresence();
  }

  async function rejoin() {
    // The server forgot us (it restarted without shared state): come back as who we were.
    notice("The server restarted. Rejoining…");
    for (let delay = 1000; ; delay = Math.min(delay * 2, 10000)) {
      try {
        const result =
          chat.roomKind === "private"
            ? await call("join_room", { room_id: chat.roomId, display_name: chat.name })
            : await call("enter_queue", { display_name: chat.name });
        notice("");
        system("The server restarted; you are back.");
        adopt(result, false);
        return;
      } catch {
        await sleep(delay);
      }
    }
  }

  async function send(text) {
    const msg = bubble("mine", "You", text, null, chat.name);
    status(msg, "Sending…");
    const key = newKey();
    for (let attempt = 0; ; attempt++) {
      try {
        const sent = await call("send_message", {
          client_id: chat.clientId,
          message: text,
          idempotency_key: key,
        });
        chat.mine.set(sent.message_id, msg);
        msg.dataset.messageId = String(sent.message_id);
        if (!msg.classList.contains("read")) {
          status(msg, sent.listening ? "Delivered" : "Sent (they are away)");
        }
        return;
      } catch (e) {
        if (e.code || attempt >= 4) {
          msg.classList.add("failed");
          status(msg, `Not sent: ${e.message}`);
          return;
        }
        await sleep(1000 * 2 ** attempt); // the same key: a retry never sends twice
      }
    }
  }

  function submit() {
    // No <form>: hosts' sandboxes may not allow form submission.
    const text = $("input").value;
    if (!text.trim() || !chat.roomId) return;
    $("input").value = "";
    typedAt = 0;
    void send(text);
  }

  let typedAt = 0;
  $("input").addEventListener("input", () => {
    const now = Date.now();
    if (!chat.roomId || !$("input").value || now - typedAt < TYPING_EVERY_MS) return;
    typedAt = now;
    call("show_typing", { client_id: chat.clientId }).catch(() => {}); // only a courtesy
  });

  $("send").addEventListener("click", submit);
  $("input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });

  $("next").addEventListener("click", async () => {
    stopListening();
    system("Looking for someone new…");
    try {
      adopt(await call("enter_queue", { client_id: chat.clientId }));
    } catch (e) {
      notice(e.message);
      listen();
    }
  });

  $("leave").addEventListener("click", async () => {
    try {
      await call("leave_chat", { client_id: chat.clientId });
      system("You left. Press Next to meet someone new.");
      chat.roomId = null;
      chat.roomKind = null;
      chat.gone.clear();
      members([]);
      header();
    } catch (e) {
      notice(e.message);
    }
  });

  $("copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(chat.roomId);
    } catch {
      const range = document.createRange(); // sandboxed frames may lack clipboard access
      range.selectNodeContents($("room-id"));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      document.execCommand("copy");
    }
    $("copy").textContent = "Copied";
    setTimeout(() => ($("copy").textContent = "Copy"), 1500);
  });

  $("share").addEventListener("click", async () => {
    // Only when the person asks: the conversation becomes part of what the model knows.
    const lines = chat.transcript.map((t) => (t.who ? `${t.who}: ${t.text}` : `* ${t.text}`));
    const text = `The mcpchat conversation so far, as ${chat.name}:\n${lines.join("\n")}`;
    try {
      await app.updateModelContext({ content: [{ type: "text", text }] });
      notice("Shared with the assistant.");
    } catch (e) {
      notice(`Could not share: ${e.message}`);
    }
  });

  // -- the host ------------------------------------------------------------------------------

  function theme(context) {
    if (!context) return;
    if (context.theme) applyDocumentTheme(context.theme);
    if (context.styles?.variables) applyHostStyleVariables(context.styles.variables);
    if (context.styles?.css?.fonts) applyHostFonts(context.styles.css.fonts);
  }

  app.addEventListener("hostcontextchanged", theme);
  app.ontoolresult = (params) => {
    const result = params.structuredContent;
    if (params.isError || !result?.client_id) {
      system("The chat could not start. Ask the assistant to try again.");
      return;
    }
    adopt(result);
  };
  app.onteardown = async () => {
    stopListening(); // the host is closing the window: stop listening now
    return {};
  };

  header();
  setInterval(() => {
    if (!chat.paused) void refreshPresence();
  }, PRESENCE_EVERY_MS);
  app.connect().then(() => theme(app.getHostContext()));
})();
