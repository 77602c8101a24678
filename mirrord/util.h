/*
 * util.h: the helpers of util.c that common.h does not declare.
 *
 * common.h declares the error type, the x* allocators and struct buf,
 * which every file uses; this header holds what only a few need.
 */
#ifndef MIRRORD_UTIL_H
#define MIRRORD_UTIL_H

/*
 * The one out-of-memory path: prints "mirrord: out of memory" to stderr
 * and aborts. xmalloc and friends call it; so does code whose library
 * reports an allocation failure of its own (OpenSSL, liblzma, zlib), so
 * that every such failure ends the same way. Never returns; safe in any
 * thread.
 */
void util_oom(void) __attribute__((noreturn));

#endif
