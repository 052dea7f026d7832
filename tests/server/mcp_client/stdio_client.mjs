// End-to-end test of `snakecage mcp` with the official MCP TypeScript SDK
// client over stdio. Usage: node stdio_client.mjs /path/to/snakecage
// Prints every check; exits 1 on the first failed check (or any error), 0
// when all passed.
import { mkdtempSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const binary = process.argv[2];
if (!binary) {
  console.error("usage: node stdio_client.mjs /path/to/snakecage");
  process.exit(2);
}

let checks = 0;
function check(ok, what, detail) {
  checks++;
  if (!ok) {
    console.error(`FAIL: ${what}${detail === undefined ? "" : `\n  got: ${JSON.stringify(detail)}`}`);
    process.exit(1);
  }
  console.log(`ok ${checks}: ${what}`);
}

const root = mkdtempSync(join(tmpdir(), "snakecage-mcp-e2e-"));
const transportErrors = [];
let negotiated = null;
let stderrText = "";

const transport = new StdioClientTransport({
  command: binary,
  args: ["mcp", "--workspace-root", root, "--idle-expiry", "600", "--max-timeout", "20"],
  stderr: "pipe",
});
transport.stderr?.on("data", (d) => { stderrText += d.toString(); });
// The client calls this, when present, with the version the server chose.
transport.setProtocolVersion = (v) => { negotiated = v; };

const client = new Client({ name: "snakecage-e2e", version: "1.0.0" });
client.onerror = (e) => transportErrors.push(String(e));

try {
  await client.connect(transport);
  check(client.getServerVersion()?.name === "snakecage", "serverInfo.name is snakecage",
        client.getServerVersion());
  // The SDK asks for its newest version (2025-11-25); the server answers
  // with its own newest, which the SDK supports.
  check(negotiated === "2025-06-18", "protocol version negotiated to 2025-06-18", negotiated);
  check(client.getServerCapabilities()?.tools !== undefined, "server declares the tools capability",
        client.getServerCapabilities());

  await client.ping();
  check(true, "ping answered");

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  const expected = ["create_session", "delete_file", "destroy_session", "execute_code",
                    "get_capabilities", "list_files", "list_sessions", "read_file",
                    "reset_session", "write_file"];
  check(JSON.stringify(names) === JSON.stringify(expected), "tools/list has the ten tools", names);
  const exec = tools.find((t) => t.name === "execute_code");
  check(exec.inputSchema.type === "object" && exec.inputSchema.additionalProperties === false &&
        JSON.stringify(exec.inputSchema.required) === '["code"]',
        "execute_code's inputSchema: object, required [code], no extra properties", exec.inputSchema);

  let r = await client.callTool({ name: "execute_code", arguments: { code: "print(6 * 7)" } });
  check(r.isError !== true, "execute_code without a session succeeds", r);
  check(r.structuredContent?.stdout === "42\n" && r.structuredContent?.success === true &&
        r.structuredContent?.exit_code === 0, "structuredContent: stdout 42, success, exit 0",
        r.structuredContent);
  check(r.content[0].type === "text" && r.content[0].text.includes("stdout:\n42\n") &&
        r.content[0].text.includes("result: success"), "text content shows stdout and the result",
        r.content[0].text);
  check(readdirSync(root).filter((n) => !n.startsWith("+") && !n.startsWith(".one-off-")).length === 0 &&
        readdirSync(root).filter((n) => n.startsWith(".one-off-"))
          .every((n) => readdirSync(`${root}/${n}/workspace`).every((f) => f === "user_code.py")),
        "the one-off session was emptied afterwards and no session is left", readdirSync(root));

  r = await client.callTool({ name: "execute_code",
                              arguments: { code: "import sys\nprint('bad', file=sys.stderr)\nsys.exit(3)" } });
  check(r.isError !== true && r.structuredContent.exit_code === 3 &&
        r.structuredContent.stderr === "bad\n" && r.content[0].text.includes("exit code 3"),
        "a failing program is a result (exit code 3, stderr), not a tool error", r);

  r = await client.callTool({ name: "create_session", arguments: {} });
  const sid = r.structuredContent?.session_id;
  check(r.isError !== true && typeof sid === "string" && sid.length === 36,
        "create_session returns a session id", r);

  r = await client.callTool({ name: "execute_code", arguments: {
      session_id: sid, code: "open('/app/counter.txt', 'w').write('7')\nx = 5\nprint('wrote')" } });
  check(r.structuredContent?.stdout === "wrote\n" &&
        JSON.stringify(r.structuredContent.files_created) === '["counter.txt"]',
        "first call in the session writes counter.txt", r.structuredContent);
  r = await client.callTool({ name: "execute_code", arguments: {
      session_id: sid, code: "n = int(open('/app/counter.txt').read())\nprint(n + 1)\nprint('x' in globals())" } });
  check(r.structuredContent?.stdout === "8\nFalse\n",
        "second call in the session reads the file back (variables are not kept)", r.structuredContent);

  r = await client.callTool({ name: "write_file", arguments: {
      session_id: sid, path: "notes/hello.txt", content: "héllo from the client\n" } });
  check(r.isError !== true && r.structuredContent?.size_bytes === 23, "write_file writes 23 bytes", r);
  r = await client.callTool({ name: "read_file", arguments: { session_id: sid, path: "notes/hello.txt" } });
  check(r.structuredContent?.content === "héllo from the client\n" &&
        r.structuredContent?.encoding === "text" && r.content[0].text === "héllo from the client\n",
        "read_file returns the same text", r);
  r = await client.callTool({ name: "write_file", arguments: {
      session_id: sid, path: "blob.bin", content: Buffer.from([0, 255, 1, 254]).toString("base64"),
      encoding: "base64" } });
  check(r.isError !== true, "write_file accepts base64", r);
  r = await client.callTool({ name: "execute_code", arguments: {
      session_id: sid, code: "print(list(open('/app/blob.bin', 'rb').read()), open('/app/notes/hello.txt').read().strip())" } });
  check(r.structuredContent?.stdout === "[0, 255, 1, 254] héllo from the client\n",
        "code in the session sees the files the client wrote", r.structuredContent);
  r = await client.callTool({ name: "read_file", arguments: { session_id: sid, path: "blob.bin" } });
  check(r.structuredContent?.encoding === "base64" && r.structuredContent?.content === "AP8B/g==",
        "read_file returns binary data as base64", r.structuredContent);

  r = await client.callTool({ name: "list_files", arguments: { session_id: sid } });
  check(JSON.stringify(r.structuredContent?.files) ===
        '["blob.bin","counter.txt","notes/hello.txt","user_code.py"]',
        "list_files lists the workspace", r.structuredContent);
  r = await client.callTool({ name: "list_sessions", arguments: {} });
  const listed = r.structuredContent?.sessions?.find((s) => s.session_id === sid);
  check(listed?.execution_count === 3 && typeof listed?.idle_seconds === "number",
        "list_sessions shows the session with 3 executions", r.structuredContent);

  r = await client.callTool({ name: "execute_code", arguments: { code: "print(1)", session_id: "no-such-session" } });
  check(r.isError === true && r.content[0].text.includes("no-such-session"),
        "an unknown session is a tool error naming it", r);
  r = await client.callTool({ name: "execute_code", arguments: { code: "print(1)", timeout_seconds: 99 } });
  check(r.isError === true && r.content[0].text.includes("timeout_seconds"),
        "a timeout above --max-timeout is a tool error naming timeout_seconds", r);
  r = await client.callTool({ name: "read_file", arguments: { session_id: sid, path: "../../etc/passwd" } });
  check(r.isError === true, "a path outside the workspace is a tool error", r);

  r = await client.callTool({ name: "reset_session", arguments: { session_id: sid } });
  check(r.isError !== true, "reset_session succeeds", r);
  r = await client.callTool({ name: "list_files", arguments: { session_id: sid } });
  check(JSON.stringify(r.structuredContent?.files) === "[]", "after reset the workspace is empty",
        r.structuredContent);
  r = await client.callTool({ name: "destroy_session", arguments: { session_id: sid } });
  check(r.isError !== true && !readdirSync(root).includes(sid),
        "destroy_session removes the session from disk", readdirSync(root));

  r = await client.callTool({ name: "get_capabilities", arguments: {} });
  check(r.structuredContent?.python_version?.startsWith("3.11") &&
        r.structuredContent?.limits?.max_timeout_seconds === 20 &&
        r.structuredContent?.guest_paths?.workspace === "/app",
        "get_capabilities: Python 3.11, max timeout 20 s, workspace /app", r.structuredContent?.limits);

  check(transportErrors.length === 0, "stdout carried only valid protocol messages", transportErrors);
  await client.close();
  check(stderrText.includes("execution.complete"), "telemetry went to stderr", stderrText.slice(0, 200));
  console.log(`all ${checks} checks passed`);
} catch (e) {
  console.error(`FAIL: ${e?.stack ?? e}`);
  console.error(`server stderr:\n${stderrText.slice(-2000)}`);
  process.exit(1);
} finally {
  rmSync(root, { recursive: true, force: true });
}
