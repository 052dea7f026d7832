// End-to-end test of `snakecage serve`'s MCP endpoint (Streamable HTTP)
// with the official MCP TypeScript SDK client.
// Usage: node http_client.mjs /path/to/snakecage
// Starts the server on a free loopback port with a bearer token, prints
// every check; exits 1 on the first failed check (or any error).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const binary = process.argv[2];
if (!binary) {
  console.error("usage: node http_client.mjs /path/to/snakecage");
  process.exit(2);
}

let checks = 0;
let server = null;
function check(ok, what, detail) {
  checks++;
  if (!ok) {
    console.error(`FAIL: ${what}${detail === undefined ? "" : `\n  got: ${JSON.stringify(detail)}`}`);
    server?.kill("SIGKILL");
    process.exit(1);
  }
  console.log(`ok ${checks}: ${what}`);
}

const dir = mkdtempSync(join(tmpdir(), "snakecage-http-e2e-"));
const tokenFile = join(dir, "token");
writeFileSync(tokenFile, "e2e-token\n");

server = spawn(binary, ["serve", "--listen", "127.0.0.1:0", "--token-file", tokenFile,
                        "--workspace-root", join(dir, "sessions")],
               { stdio: ["ignore", "ignore", "pipe"] });
let stderrText = "";
const port = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("server did not start: " + stderrText)), 30000);
  server.stderr.on("data", (d) => {
    stderrText += d.toString();
    const m = stderrText.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    if (m) { clearTimeout(timer); resolve(Number(m[1])); }
  });
  server.on("exit", (code) => reject(new Error(`server exited (${code}): ${stderrText}`)));
});
check(port > 0, `server listening on port ${port}`);

const url = new URL(`http://127.0.0.1:${port}/mcp`);
try {
  // Without the token the transport is refused.
  const denied = new Client({ name: "no-token", version: "1.0.0" });
  let refused = false;
  try {
    await denied.connect(new StreamableHTTPClientTransport(url));
  } catch (e) {
    refused = String(e).includes("401");
  }
  check(refused, "connecting without the bearer token fails with 401");

  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { Authorization: "Bearer e2e-token" } },
  });
  const client = new Client({ name: "snakecage-http-e2e", version: "1.0.0" });
  await client.connect(transport);
  check(client.getServerVersion()?.name === "snakecage", "initialized over Streamable HTTP",
        client.getServerVersion());

  const { tools } = await client.listTools();
  check(tools.length === 10 && tools.some((t) => t.name === "execute_code"),
        "tools/list has the ten tools", tools.map((t) => t.name));

  let r = await client.callTool({ name: "execute_code", arguments: { code: "print(6 * 7)" } });
  check(r.isError !== true && r.structuredContent?.stdout === "42\n",
        "execute_code prints 42", r.structuredContent);

  r = await client.callTool({ name: "create_session", arguments: {} });
  const id = r.structuredContent?.session_id;
  check(r.isError !== true && typeof id === "string", "create_session gives an id", r);

  r = await client.callTool({ name: "execute_code",
                              arguments: { code: "counter = 1\nopen('/app/state.txt', 'w').write('one')",
                                           session_id: id } });
  check(r.structuredContent?.success === true &&
        JSON.stringify(r.structuredContent?.files_created) === '["state.txt"]',
        "first call in the session writes state.txt", r.structuredContent);
  r = await client.callTool({ name: "execute_code",
                              arguments: { code: "print(open('/app/state.txt').read(), 'counter' in globals())",
                                           session_id: id } });
  check(r.structuredContent?.stdout === "one False\n",
        "second call sees the file, not the globals", r.structuredContent);

  r = await client.callTool({ name: "write_file",
                              arguments: { session_id: id, path: "notes/a.txt", content: "written" } });
  check(r.isError !== true, "write_file", r);
  r = await client.callTool({ name: "read_file", arguments: { session_id: id, path: "notes/a.txt" } });
  check(r.structuredContent?.content === "written", "read_file reads it back", r.structuredContent);

  r = await client.callTool({ name: "read_file", arguments: { session_id: "no-such", path: "x" } });
  check(r.isError === true, "an unknown session is a tool error, not a crash", r);

  await client.close();
  check(true, "closed");
} catch (e) {
  check(false, "no exception", String(e.stack || e));
} finally {
  server.kill("SIGTERM");
  await new Promise((resolve) => server.on("exit", resolve));
  rmSync(dir, { recursive: true, force: true });
}
check(server.exitCode === 0, "server exited 0 on SIGTERM", server.exitCode);
console.log(`all ${checks} checks passed`);
