/* libraft 2015 compatibility API, under the name the 2015 README used.
 *
 * The same API as raft_if.h (which documents it): a program may include
 * either header, or both.
 */
#ifndef RAFT_C_IF_H
#define RAFT_C_IF_H

#include "raft_if.h"

#endif /* RAFT_C_IF_H */
