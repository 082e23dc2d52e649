// Runs eryx's python.wasm (the same module the sandbox runs) under Node's built-in
// WASI, as a baseline for the benchmarks:
//   node node_wasi_runner.mjs GUEST_DIR LIB_DIR CODE
// LIB_DIR holds python3.13/, the stdlib image unpacked (Node's WASI serves only
// host directories; eryx serves the same tree straight from the zip).
import { WASI } from 'node:wasi';
import { readFile } from 'node:fs/promises';

const [guestDir, libDir, code] = process.argv.slice(2);
const wasi = new WASI({
  version: 'preview1',
  args: ['-c'],
  env: {},
  preopens: { '/usr/local/lib': libDir },
});
const module = await WebAssembly.compile(await readFile(`${guestDir}/python.wasm`));
// eryx's one host import: results reported by the guest (ignored here).
const imports = { ...wasi.getImportObject(), eryx: { report: () => {} } };
const instance = await WebAssembly.instantiate(module, imports);
wasi.initialize(instance); // a reactor: runs _initialize
const { eryx_init, eryx_alloc, eryx_execute, memory } = instance.exports;
if (eryx_init() !== 0) process.exit(3);
const bytes = Buffer.from(code, 'utf8');
const ptr = eryx_alloc(bytes.length);
new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
process.exitCode = eryx_execute(ptr, bytes.length);
