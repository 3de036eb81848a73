// What a host does with an MCP App (the ext-apps spec), in little: call the tool as the model
// would, read the ui:// resource its result points at, render it in a sandboxed frame, and
// connect an AppBridge that proxies the window's tool calls to the server. The test drives
// it through `window.host`.
"use strict";
const { AppBridge, PostMessageTransport, Client, StreamableHTTPClientTransport } = McpHost;
const INFO = { name: "mcpchat-test-host", version: "1.0.0" };
const UI_EXTENSION = { "io.modelcontextprotocol/ui": { mimeTypes: ["text/html;profile=mcp-app"] } };

// The host's connection to the server. When the server has forgotten the MCP session (it
// restarted), the spec has the client start a new session: this one does, then retries.
class Connection {
  async open() {
    this.client = new Client(INFO, { capabilities: { extensions: UI_EXTENSION } });
    await this.client.connect(new StreamableHTTPClientTransport(new URL("/mcp", location.origin)));
    return this;
  }

  async request(method, ...args) {
    try {
      return await this.client[method](...args);
    } catch (e) {
      if (!/404|session/i.test(String(e?.message ?? e))) throw e;
      await this.open();
      return await this.client[method](...args);
    }
  }
}

window.host = {
  windows: {},

  async open(key, tool, args, theme = "light") {
    const server = await new Connection().open();
    const { tools } = await server.request("listTools");
    const uri = tools.find((t) => t.name === tool)?._meta?.ui?.resourceUri;
    if (!uri) throw new Error(`${tool} names no ui:// resource`);
    const result = await server.request("callTool", { name: tool, arguments: args }); // as the model would
    const html = (await server.request("readResource", { uri })).contents[0].text;

    const frame = document.createElement("iframe");
    frame.title = key;
    frame.sandbox = "allow-scripts"; // an opaque origin, as hosts give apps
    document.body.append(frame);
    const bridge = new AppBridge(
      null, // the window's calls go through `server`, which survives a server restart
      INFO,
      { serverTools: {}, updateModelContext: { text: {} }, logging: {} },
      { hostContext: { theme, displayMode: "inline", platform: "web" } },
    );
    const record = { server, bridge, frame, result, modelContext: [] };
    bridge.oncalltool = (params, extra) =>
      server.request("callTool", params, { signal: extra?.signal, timeout: 90_000 });
    bridge.onupdatemodelcontext = async (params) => {
      record.modelContext.push(params);
      return {};
    };
    const ready = new Promise((resolve) => (bridge.oninitialized = resolve));
    await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
    frame.srcdoc = html;
    await ready;
    await bridge.sendToolInput({ arguments: args });
    await bridge.sendToolResult(result);
    this.windows[key] = record;
    return result.structuredContent; // its hint tells the model the window chats
  },

  theme(key, theme) {
    document.body.classList.toggle("dark", theme === "dark");
    return this.windows[key].bridge.sendHostContextChange({ theme });
  },

  modelContext(key) {
    return this.windows[key].modelContext.map((p) => p.content?.map((c) => c.text).join("\n"));
  },

  async close(key) {
    const w = this.windows[key];
    await w.bridge.teardownResource({});
    w.frame.remove();
    delete this.windows[key];
  },
};
