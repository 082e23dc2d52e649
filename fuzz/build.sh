#!/usr/bin/env bash
# Builds eryx's libFuzzer targets (fuzz/README.md says what each checks) and their
# seed corpora: the one place their sources and libraries are listed.
#   usage: fuzz/build.sh [OUTDIR]        (default OUTDIR: build/fuzz)
# Writes OUTDIR/<target> for every target, OUTDIR/make_seed_blob, and the seeds in
# OUTDIR/corpus/<target>/. Compiler: $CLANG, else clang-19 (the guest build installs
# it, so it is there wherever ./build.sh ran). Run a target with, e.g.,
#   OUTDIR/fuzz_zip -max_total_time=60 OUTDIR/corpus/fuzz_zip
# fuzz/smoke.sh (ctest's fuzz.smoke) builds them all and runs each a few seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/fuzz}
cc=${CLANG:-clang-19}
mkdir -p "$out/corpus"
out=$(cd "$out" && pwd)
cd "$root"
# libFuzzer and the sanitizers' host runtime (./build.sh installs it too).
scripts/apt-install.sh clang-19 libclang-rt-19-dev >&2

common=(-g -O1 -std=c17 -D_POSIX_C_SOURCE=200809L -Iinclude)
fuzzer=(-fsanitize=fuzzer,address,undefined)
build() { # build NAME SOURCES... [-lLIBS...]
    local name=$1
    shift
    echo "fuzz/build.sh: $name" >&2
    "$cc" "${fuzzer[@]}" "${common[@]}" "$@" -o "$out/$name"
}

# The targets: each with the sources it tests and their libraries.
build fuzz_zip fuzz/fuzz_zip.c src/vfs/*.c src/common/errbuf.c
build fuzz_wasi fuzz/fuzz_wasi.c src/wasi/wasi.c src/wasi/wasi_fs.c src/wasi/wasi_stream.c src/vfs/*.c src/common/errbuf.c
build fuzz_store fuzz/fuzz_store.c src/cache/store.c src/cache/store_entry.c src/cache/store_admin.c src/common/errbuf.c -lxxhash
build fuzz_wasm_image fuzz/fuzz_wasm_image.c src/snapshot/wasm_image.c src/common/errbuf.c
build fuzz_session_blob fuzz/fuzz_session_blob.c src/sandbox/session_blob.c src/sandbox/blob_key.c -lzstd -lcrypto
build fuzz_package fuzz/fuzz_package.c src/package/*.c src/link/dylink.c src/vfs/*.c src/cache/key.c \
    src/common/errbuf.c -lzip -lz -ljansson -lcrypto
build fuzz_dylink fuzz/fuzz_dylink.c src/link/dylink.c src/link/linkcheck.c src/common/errbuf.c
build fuzz_net_addr fuzz/fuzz_net_addr.c src/net/addr.c src/net/policy.c src/common/errbuf.c
build fuzz_net_secrets fuzz/fuzz_net_secrets.c src/net/secrets.c src/net/addr.c src/common/errbuf.c
build fuzz_net_conn fuzz/fuzz_net_conn.c src/net/addr.c src/net/policy.c src/net/resolve.c src/net/tls.c \
    src/net/tls_info.c src/net/secrets.c src/net/conn.c src/net/conn_abi.c src/wasi/wasi.c src/wasi/wasi_fs.c \
    src/wasi/wasi_stream.c src/vfs/*.c src/common/errbuf.c -lssl -lcrypto -lcares -ljansson
build fuzz_module_blob fuzz/fuzz_module_blob.c src/sandbox/module_blob.c src/sandbox/blob_key.c -lcrypto
build fuzz_journal fuzz/fuzz_journal.c src/sandbox/journal.c src/sandbox/blob_key.c src/common/errbuf.c -ljansson -lcrypto
# The session blob seed writer: a plain program (no fuzzer main).
"$cc" -fsanitize=address,undefined "${common[@]}" fuzz/make_seed_blob.c src/sandbox/session_blob.c src/sandbox/blob_key.c -lzstd -lcrypto \
    -o "$out/make_seed_blob"

# Seeds: small valid inputs that get each target past its first checks at once.
for t in fuzz_zip fuzz_wasi fuzz_store fuzz_wasm_image fuzz_session_blob fuzz_package fuzz_dylink fuzz_net_secrets; do
    mkdir -p "$out/corpus/$t"
done
# fuzz_net_addr: the committed seeds (IP spellings, CIDRs, a glob and a host).
mkdir -p "$out/corpus/fuzz_net_addr" && cp fuzz/corpus/fuzz_net_addr/* "$out/corpus/fuzz_net_addr/"
# fuzz_module_blob: a small blob's header (magic, id length 4, "abcd", payload length 3, "xyz").
mkdir -p "$out/corpus/fuzz_module_blob" && printf 'ERYXMOD1\x04\x00\x00\x00abcd\x03\x00\x00\x00\x00\x00\x00\x00xyz' \
    >"$out/corpus/fuzz_module_blob/seed"
# fuzz_journal: the committed seeds (entries, an empty journal, a badly signed one).
mkdir -p "$out/corpus/fuzz_journal" && cp fuzz/corpus/fuzz_journal/* "$out/corpus/fuzz_journal/"
# fuzz_net_conn: the committed seeds (connect, TLS options, info, error, close).
mkdir -p "$out/corpus/fuzz_net_conn" && cp fuzz/corpus/fuzz_net_conn/* "$out/corpus/fuzz_net_conn/"
"$out/make_seed_blob" "$out/corpus/fuzz_session_blob/seed"
python3 - "$out/corpus" <<'EOF'
import sys, zipfile
c = sys.argv[1]
# fuzz_zip: small STORED zips, so it reaches the member-walking code fast.
for i, names in enumerate([["a.txt"], ["d/b.py", "d/e/c.pyc", "x"], ["dir/", "dir/f"]]):
    with zipfile.ZipFile(f"{c}/fuzz_zip/seed{i}.zip", "w", zipfile.ZIP_STORED) as z:
        for n in names:
            z.writestr(n, "" if n.endswith("/") else n * 3)
# fuzz_wasm_image: the module of tests/test_wasm_image.c (one memory, a data segment).
s = lambda i, p: bytes([i, len(p)]) + bytes(p)
open(f"{c}/fuzz_wasm_image/seed.wasm", "wb").write(b"\0asm\1\0\0\0"
    + s(1, [1, 0x60, 0, 0]) + s(3, [1, 0]) + s(5, [1, 0, 1])
    + s(7, [2, 6, *b"memory", 2, 0, 11, *b"_initialize", 0, 0]) + s(10, [1, 2, 0, 0x0b])
    + s(11, [1, 0, 0x41, 0x10, 0x0b, 3, *b"abc"]) + s(0, [4, *b"name", 1, 7, 1, 0, 4, *b"init"]))
# fuzz_dylink: a side module's dylink.0 section (MEM_INFO, all zero), a type and an
# import section (env.f: () -> ()) and an export section (g: function 0).
open(f"{c}/fuzz_dylink/seed.wasm", "wb").write(b"\0asm\1\0\0\0"
    + s(0, [8, *b"dylink.0", 1, 4, 0, 0, 0, 0]) + s(1, [1, 0x60, 0, 0])
    + s(2, [1, 3, *b"env", 1, *b"f", 0, 0]) + s(7, [1, 1, *b"g", 0, 0]))
# fuzz_package: a tiny pure-Python wheel (real wheels from tests/packages/fetch.sh help more).
with zipfile.ZipFile(f"{c}/fuzz_package/pkg-1.0-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("pkg/__init__.py", "x = 1\n")
    z.writestr("pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
    z.writestr("pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr("pkg-1.0.dist-info/RECORD", "")
EOF
echo "$out"
