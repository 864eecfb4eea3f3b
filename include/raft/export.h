/* RAFT_API marks the functions libraft.so exports (the C API of raft.h).
 *
 * libraft.so is built with hidden visibility for the C API's own code and
 * a linker version script (src/capi/raft.map) that keeps every symbol
 * local except raft_* and the 2015 API's names; RAFT_API says the same in
 * the header, so a compiler building the library (or a static link with
 * -fvisibility=hidden) agrees. Nothing here to configure. */
#ifndef RAFT_EXPORT_H
#define RAFT_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define RAFT_API __attribute__((visibility("default")))
#else
#define RAFT_API
#endif

#endif /* RAFT_EXPORT_H */
