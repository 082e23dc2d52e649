"""wasmbin.py: the one LEB128 reader the numpy recipe's wasm scripts share
(wasm-info.py, wasm-localize.py, smoke-test.py)."""


def leb(d, i):
    """Reads an unsigned LEB128 at d[i]; returns (value, index after it)."""
    r = s = 0
    while True:
        b = d[i]; i += 1
        r |= (b & 0x7F) << s; s += 7
        if b < 0x80:
            return r, i
