/*
 * A stand-in for Windows' bcryptprimitives.dll, for running mcp-valet's Windows build under
 * Debian bookworm's wine 8.0 in tests only. It is never shipped: real Windows (8 and later)
 * has this DLL, and dist/build packs nothing from here.
 *
 * Why: Rust's standard library (since 1.78) and the getrandom crate import ProcessPrng from
 * bcryptprimitives.dll, which wine added only after 8.0, so without this file the loader stops
 * before main ("Library bcryptprimitives.dll ... not found"). This exports ProcessPrng and
 * fills the buffer from BCryptGenRandom with the system RNG, which wine 8.0 implements.
 *
 * Built and put in a private wine prefix's system32 by tests/wine/prefix.sh.
 */
#include <windows.h>
#include <bcrypt.h>

#ifndef BCRYPT_USE_SYSTEM_PREFERRED_RNG
#define BCRYPT_USE_SYSTEM_PREFERRED_RNG 0x00000002
#endif

/* BOOL ProcessPrng(PBYTE pbData, SIZE_T cbData): Windows documents it as always TRUE; this
 * one answers FALSE if wine's RNG fails, so that a failure is not a buffer of zeroes. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
