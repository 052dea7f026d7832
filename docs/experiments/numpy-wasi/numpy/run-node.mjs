// Runs a guest python.wasm under Node.js's WASI (preview1), for testing the
// numpy build without the wasm2c pipeline.
//
// Usage: node run-node.mjs PYTHON_WASM STDLIB_DIR SITE_DIR SCRIPT [ARGS...]
//   STDLIB_DIR is preopened at /usr/local/lib/python3.11, SITE_DIR at
//   /usr/local/lib/python3.11/site-packages (the guest's site-packages), the
//   script's directory at /work, /tmp at /tmp and an empty directory at /. Extra preopens:
//   SNAKECAGE_NODE_PREOPENS="guest=host:guest2=host2".
// Prints the peak linear memory size to stderr if SNAKECAGE_NODE_MEMORY=1.
import { mkdtempSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import { WASI } from "node:wasi";
import path from "node:path";
import { argv, env, exit } from "node:process";

const [wasmPath, stdlib, site, script, ...args] = argv.slice(2);
const preopens = {
  // An empty root: a path outside every other preopen is then missing
  // (ENOENT), not "capabilities insufficient", which pathlib's exists() and
  // pytest's search for configuration files do not expect.
  "/": mkdtempSync(path.join(os.tmpdir(), "guest-root-")),
  "/usr/local/lib/python3.11": stdlib,
  "/usr/local/lib/python3.11/site-packages": site,
  "/work": path.dirname(path.resolve(script)),
  "/tmp": "/tmp",
};
for (const spec of (env.SNAKECAGE_NODE_PREOPENS || "").split(":").filter(Boolean)) {
  const [guest, host] = spec.split("=");
  preopens[guest] = host;
}
// Debian's site.py adds dist-packages, not site-packages: name it explicitly.
const guestEnv = {
  PYTHONHASHSEED: "0",
  PYTHONDONTWRITEBYTECODE: "1",
  PYTHONPATH: "/usr/local/lib/python3.11/site-packages",
};
for (const [k, v] of Object.entries(env)) {
  if (k.startsWith("GUEST_")) guestEnv[k.slice(6)] = v;
}
const wasi = new WASI({
  version: "preview1",
  args: ["python", "/work/" + path.basename(script), ...args],
  env: guestEnv,
  preopens,
  returnOnExit: true,
});
let memory;
const imports = {
  // proc_exit ends the process at once: Node 20's own proc_exit (unwinding
  // back to wasi.start) segfaulted when the guest held a few hundred MB.
  wasi_snapshot_preview1: { ...wasi.wasiImport, proc_exit: (code) => process.reallyExit(code) },
  // The sandbox's fuel hooks (guest/snakecage_main.c): no-ops here.
  snakecage: {
    user_code_begin: () => {},
    user_code_end: () => {
      if (env.SNAKECAGE_NODE_MEMORY === "1") {
        console.error(`[node] linear memory: ${memory.buffer.byteLength} bytes`);
      }
    },
  },
};
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, imports);
memory = instance.exports.memory;
const code = wasi.start(instance);
exit(code);
