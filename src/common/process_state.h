/*
** The mark of process-wide mutable state. Every such object of liberyx (a
** registry, a pool, an engine table, a lock guarding them) is defined with
** ERYX__PROCESS_STATE, which places it in the linker section eryx_process_state:
** `grep -rn ERYX__PROCESS_STATE src` lists them all, src/process/process.c
** documents each and frees them in eryx_shutdown, and the leak test
** (tests/test_shutdown.c) checks that after eryx_shutdown nothing in the section
** still holds memory. Objects of a single thread (_Thread_local) are not marked.
*/
#ifndef ERYX_COMMON_PROCESS_STATE_H
#define ERYX_COMMON_PROCESS_STATE_H

#define ERYX__PROCESS_STATE __attribute__((section("eryx_process_state")))

#endif
