/* _ZTH5errno: the C++ thread_local initialization function of wasi-libc's errno.
 * wasi-libc's <__errno.h> declares errno `extern thread_local int errno` in C++,
 * so every C++ use of errno calls the wrapper `_ZTW5errno`, which calls
 * `_ZTH5errno` if it is defined (a weak reference: errno has no dynamic
 * initializer, so nothing defines it, and a static link resolves it to null).
 * A side module (wasm-ld -shared, unresolved symbols imported) imports it instead,
 * and eryx's loader resolves every import by name: pandas' C++ CSV tokenizer
 * (parsers, pandas_parser, tslibs.parsing) needs it. The main module defines it as
 * what it stands for: nothing to initialize. */
void _ZTH5errno(void) {}
