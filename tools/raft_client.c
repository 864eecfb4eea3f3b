/* raft_client: the demo of the 2015 C API (raft_c_if.h), as the 2015
 * README describes it: a replicated state machine that counts the letters
 * in the commands it applies, and a driver that sends it commands through
 * Raft, automatically (-n) or from stdin (-i).
 *
 * Written in C99 against the 2015 API only, so it also shows that a 2015
 * program compiles unchanged:
 *   cc -std=c99 -Wall -Werror -pedantic -I$PREFIX/include/raft raft_client.c -L$PREFIX/lib -lraft
 *
 *   raft_client --single -i                      standalone, state in memory
 *   raft_client --dir /tmp/raft -i               standalone, state kept in /tmp/raft
 *   raft_client --dir /tmp/raft_A --port 9001 --peers localhost:9002,localhost:9003 -i
 *                                                one of three nodes (start all three)
 *
 * Run it with --help for every option, and for what a follower does.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "raft_c_if.h"

/* ---- the state machine ------------------------------------------------ */

/* Guarded by fsm_mu: the FSM's callbacks run on a library thread while the
 * driver reads the state. */
static pthread_mutex_t fsm_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long letter_count = 0;  /* letters in every command applied */
static unsigned long command_count = 0; /* commands applied, ever */
/* Commands applied since this process started, not counting those it
 * replays from its own log or snapshot after a restart: only entries
 * after start_index (UINT64_MAX until raft_init returns). */
static unsigned long new_commands = 0;
static uint64_t start_index = UINT64_MAX;

/* The reply of apply is the letter count itself, carried in the pointer:
 * nothing to free, so followers (whose replies nobody takes) leak nothing.
 * The 2015 demo malloc'd a uint32_t instead. */
static void *fsm_apply(uint64_t index, uint64_t term, RaftLogType type, char *cmd, size_t len)
{
    size_t i;
    unsigned long count;
    (void)term;
    if (type != RAFT_LOG_COMMAND) {
        return NULL;
    }
    pthread_mutex_lock(&fsm_mu);
    for (i = 0; i < len && cmd[i] != '\0'; ++i) {
        if (isalpha((unsigned char)cmd[i])) {
            ++letter_count;
        }
    }
    ++command_count;
    if (start_index != UINT64_MAX && index > start_index) {
        ++new_commands;
    }
    count = letter_count;
    pthread_mutex_unlock(&fsm_mu);
    return (void *)(uintptr_t)count;
}

/* A snapshot is a copy of the counters, written on a library thread. */
struct snapshot_state {
    unsigned long letters;
    unsigned long commands;
};

static int write_snapshot(raft_fsm_snapshot_handle handle, FILE *sink)
{
    struct snapshot_state *s = handle;
    int rc = fprintf(sink, "%lu %lu\n", s->letters, s->commands) > 0 ? 0 : 1;
    free(s);
    return rc;
}

static void fsm_begin_snapshot(const char *path, raft_snapshot_req req)
{
    struct snapshot_state *s = malloc(sizeof *s);
    (void)path; /* raft_fsm_take_snapshot writes it for us */
    if (s == NULL) {
        raft_fsm_snapshot_complete(req, false);
        return;
    }
    pthread_mutex_lock(&fsm_mu);
    s->letters = letter_count;
    s->commands = command_count;
    pthread_mutex_unlock(&fsm_mu);
    raft_fsm_take_snapshot(req, s, write_snapshot);
}

/* Reads "LETTERS COMMANDS" (or the 2015 demo's "LETTERS"). */
static int fsm_restore(const char *path)
{
    unsigned long letters = 0, commands = 0;
    int n;
    FILE *in = fopen(path, "r");
    if (in == NULL) {
        perror("raft_client: opening the snapshot");
        return 1;
    }
    n = fscanf(in, "%lu %lu", &letters, &commands);
    fclose(in);
    if (n < 1) {
        fprintf(stderr, "raft_client: the snapshot at %s is not a letter count\n", path);
        return 1;
    }
    pthread_mutex_lock(&fsm_mu);
    letter_count = letters;
    command_count = commands;
    pthread_mutex_unlock(&fsm_mu);
    printf("Restored from snapshot: letter count %lu.\n", letters);
    fflush(stdout);
    return 0;
}

static RaftFSM fsm = { fsm_apply, fsm_begin_snapshot, fsm_restore };

static void read_fsm(unsigned long *letters, unsigned long *fresh)
{
    pthread_mutex_lock(&fsm_mu);
    *letters = letter_count;
    *fresh = new_commands;
    pthread_mutex_unlock(&fsm_mu);
}

/* ---- options ---------------------------------------------------------- */

static const char *program = "raft_client";
static unsigned long runs = 20;
static unsigned long snapshot_every = 0;
static unsigned long wait_usec = 1000000;
static unsigned long leader_wait_sec = 30;
static unsigned long time_limit_sec = 0; /* 0: 60 s plus the runs' waits */
static bool interactive = false;

static void usage(FILE *out)
{
    fprintf(out,
"Usage: %s [options]\n"
"A replicated state machine that counts the letters in the commands it\n"
"applies, driven through libraft's 2015 C API.\n"
"\n"
"Node options (libraft's own):\n"
"  --single              a standalone node that elects itself (state in\n"
"                        memory unless --dir is given)\n"
"  --dir DIR             keep the node's state in DIR; it survives a restart\n"
"  --port N              this node's TCP port (default 9001)\n"
"  --peers H:P,H:P       the other nodes of the cluster (localhost:P or\n"
"                        127.0.0.1:P name the same node)\n"
"  --backend-type NAME   boltdb or wal (durable, in --dir; the default),\n"
"                        inmem or memory (nothing survives the process)\n"
"  --verbose             log elections and peer events on stderr\n"
"  --tls-ca F --tls-cert F --tls-key F\n"
"                        mutual TLS between the nodes: PEM files of the\n"
"                        cluster's CA, this node's certificate and its key\n"
"  --tls-verify-peer-id  a peer's certificate must also name its server id\n"
"  --shm-path P, --shm-size N   accepted for compatibility and ignored\n"
"\n"
"Client options:\n"
"  -i, --interactive     read lines from stdin: a line of text is a command,\n"
"                        S takes a snapshot, ? shows the node's state,\n"
"                        Q (or the end of input) quits\n"
"  -n, --runs N          automatic mode: N commands (default 20)\n"
"  -s, --snapshots N     take a snapshot after every N commands (default 0:\n"
"                        only when the library decides)\n"
"  -w, --wait USEC       pause between automatic commands (default 1000000)\n"
"  -l, --leader-wait SEC how long to wait for a leader to be elected before\n"
"                        giving up (default 30)\n"
"  -t, --time-limit SEC  automatic mode: stop after SEC seconds even if the\n"
"                        N commands are not all applied (default: 60 plus\n"
"                        the N waits of --wait)\n"
"  -h, --help            this text\n"
"\n"
"Leaders and followers. A follower does not forward commands to the leader.\n"
"At start the client waits (up to --leader-wait) for a leader, and says\n"
"which node it is. In automatic mode the leader submits the commands; a\n"
"follower prints the letter count as the leader's commands arrive and\n"
"exits once N new commands have been applied on it (or after\n"
"--time-limit). If the leader dies, the follower that is elected next\n"
"submits the rest, so the cluster applies N commands in all. In\n"
"interactive mode a follower refuses text with the leader's address; S\n"
"and ? work on any node. After each command the client prints the letter\n"
"count; at the end it prints the node's statistics and shuts down.\n"
"\n"
"Exit status: 0 on success, 1 when the node cannot start, no leader is\n"
"elected in time or the time limit passes first, 2 for a bad option.\n",
            program);
}

static void bad_usage(const char *fmt, const char *what)
{
    fprintf(stderr, "%s: ", program);
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\n\n");
    usage(stderr);
    exit(2);
}

static unsigned long parse_count(const char *option, const char *arg)
{
    char *end = NULL;
    unsigned long v;
    if (arg == NULL || !isdigit((unsigned char)arg[0])) {
        bad_usage("%s needs a non-negative whole number", option);
    }
    errno = 0;
    v = strtoul(arg, &end, 10);
    if (errno != 0 || *end != '\0') {
        bad_usage("%s needs a non-negative whole number", option);
    }
    return v;
}

static void parse_options(int argc, char *argv[], RaftConfig *cfg)
{
    static const struct option own[] = {
        { "interactive", no_argument, NULL, 'i' },
        { "runs", required_argument, NULL, 'n' },
        { "snapshots", required_argument, NULL, 's' },
        { "wait", required_argument, NULL, 'w' },
        { "leader-wait", required_argument, NULL, 'l' },
        { "time-limit", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
    };
    const size_t n_own = sizeof own / sizeof own[0];
    const struct option *lib = raft_getopt_long_opts();
    static struct option all[64]; /* the library's, ours, and the end */
    size_t n_lib = 0, i;

    /* The library's options end with an entry named "" (2015 style). */
    while (lib[n_lib].name != NULL && lib[n_lib].name[0] != '\0') {
        ++n_lib;
    }
    if (n_lib + n_own + 1 > sizeof all / sizeof all[0]) {
        fprintf(stderr, "%s: too many options\n", program);
        exit(1);
    }
    memcpy(all, lib, n_lib * sizeof *all);
    memcpy(all + n_lib, own, n_own * sizeof *all);
    memset(all + n_lib + n_own, 0, sizeof *all);

    opterr = 0; /* the messages below say more */
    for (;;) {
        int c = getopt_long(argc, argv, ":in:s:w:l:t:h", all, NULL);
        if (c == -1) {
            break;
        }
        if (is_raft_option(c)) {
            if (raft_apply_option(cfg, c, optarg) != 0) {
                const char *name = "a libraft option";
                for (i = 0; i < n_lib; ++i) {
                    if (lib[i].val == c) {
                        name = lib[i].name;
                    }
                }
                bad_usage("invalid value for --%s", name);
            }
            continue;
        }
        switch (c) {
        case 'i': interactive = true; break;
        case 'n': runs = parse_count("--runs", optarg); break;
        case 's': snapshot_every = parse_count("--snapshots", optarg); break;
        case 'w': wait_usec = parse_count("--wait", optarg); break;
        case 'l': leader_wait_sec = parse_count("--leader-wait", optarg); break;
        case 't': time_limit_sec = parse_count("--time-limit", optarg); break;
        case 'h':
            usage(stdout);
            exit(0);
        case ':':
            bad_usage("option %s needs a value", argv[optind - 1]);
            break;
        default:
            if (optopt != 0 && optopt < 256) {
                char flag[3] = { '-', (char)optopt, '\0' };
                bad_usage("unknown option %s", flag);
            }
            bad_usage("unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        bad_usage("unexpected argument \"%s\"", argv[optind]);
    }
}

/* ---- the driver ------------------------------------------------------- */

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_usec(unsigned long usec)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(usec / 1000000);
    ts.tv_nsec = (long)(usec % 1000000) * 1000;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static const char *state_name(RaftState s)
{
    switch (s) {
    case RAFT_FOLLOWER: return "Follower";
    case RAFT_CANDIDATE: return "Candidate";
    case RAFT_LEADER: return "Leader";
    case RAFT_SHUTDOWN: return "Shutdown";
    default: return "Invalid";
    }
}

/* Prints who leads; false when no leader is known. */
static bool print_leader(void)
{
    char *leader = NULL;
    if (raft_leader(&leader) != RAFT_SUCCESS) {
        printf("No leader is known yet.\n");
        fflush(stdout);
        return false;
    }
    if (raft_is_leader()) {
        printf("Leader: %s (this node).\n", leader);
    } else {
        printf("Leader: %s; this node is a follower: it applies the leader's commands and "
               "forwards none.\n", leader);
    }
    fflush(stdout);
    free_raft_buffer(leader);
    return true;
}

static void print_status(void)
{
    unsigned long letters, fresh;
    char *leader = NULL;
    read_fsm(&letters, &fresh);
    if (raft_leader(&leader) != RAFT_SUCCESS) {
        leader = NULL;
    }
    printf("State: %s; leader: %s; letter count %lu; last index %llu.\n",
           state_name(raft_state()), leader != NULL ? leader : "unknown", letters,
           (unsigned long long)raft_last_index());
    fflush(stdout);
    free_raft_buffer(leader);
}

/* Waits (polling, up to leader_wait_sec) until some node leads. */
static bool wait_for_leader(void)
{
    double deadline = now_sec() + (double)leader_wait_sec;
    char *leader = NULL;
    while (raft_leader(&leader) != RAFT_SUCCESS) {
        if (now_sec() >= deadline) {
            return false;
        }
        pause_usec(50000);
    }
    free_raft_buffer(leader);
    return true;
}

/* Submits one command and prints the letter count; the command's buffer
 * comes from alloc_raft_buffer and is freed once the future is done. */
static RaftError send_command(const char *text)
{
    size_t len = strlen(text);
    char *buf = alloc_raft_buffer(len + 1);
    raft_future f;
    RaftError err;
    if (buf == NULL) {
        fprintf(stderr, "%s: out of memory\n", program);
        return RAFT_E_OTHER;
    }
    memcpy(buf, text, len + 1);
    f = raft_apply(buf, len, UINT64_C(10000000000)); /* 10 s */
    err = raft_future_wait(f);
    if (err == RAFT_SUCCESS) {
        void *reply = NULL;
        raft_future_get_fsm_reply(f, &reply);
        printf("FSM state: letter count %lu.\n", (unsigned long)(uintptr_t)reply);
    } else {
        char *leader = NULL;
        printf("Raft error: %s", raft_err_msg(err));
        if (err == RAFT_E_NOT_LEADER && raft_leader(&leader) == RAFT_SUCCESS) {
            printf(" (the leader is %s)", leader);
            free_raft_buffer(leader);
        }
        printf("\n");
    }
    fflush(stdout);
    raft_future_dispose(f);
    free_raft_buffer(buf);
    return err;
}

static void take_snapshot(void)
{
    raft_future f;
    RaftError err;
    printf("Requesting snapshot.\n");
    fflush(stdout);
    f = raft_snapshot();
    err = raft_future_wait(f);
    if (err == RAFT_SUCCESS) {
        printf("Snapshot complete.\n");
    } else {
        printf("Snapshot failed: %s\n", raft_err_msg(err));
    }
    fflush(stdout);
    raft_future_dispose(f);
}

static void run_interactive(void)
{
    char line[1024];
    for (;;) {
        size_t len;
        printf("text, [S]napshot, [?] state, or [Q]uit?\n");
        fflush(stdout);
        if (fgets(line, sizeof line, stdin) == NULL) {
            return; /* end of input: quit */
        }
        len = strlen(line);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        if (strcmp(line, "S") == 0 || strcmp(line, "s") == 0) {
            take_snapshot();
        } else if (strcmp(line, "Q") == 0 || strcmp(line, "q") == 0) {
            return;
        } else if (strcmp(line, "?") == 0) {
            print_status();
        } else {
            send_command(line);
        }
    }
}

/* Returns true when `runs` new commands were applied here in time. */
static bool run_auto(void)
{
    double limit = time_limit_sec != 0 ? (double)time_limit_sec
                                       : 60.0 + (double)runs * (double)wait_usec / 1e6;
    double deadline = now_sec() + limit;
    unsigned long submitted = 0, last_letters = ULONG_MAX;
    bool was_leader = raft_is_leader();

    printf("%lu runs, snapshot every %lu, wait %lu usec.\n", runs, snapshot_every, wait_usec);
    fflush(stdout);
    for (;;) {
        unsigned long letters, fresh;
        bool leading = raft_is_leader();
        read_fsm(&letters, &fresh);
        if (!leading && letters != last_letters && fresh > 0) {
            printf("FSM state: letter count %lu (%lu of %lu commands, from the leader).\n",
                   letters, fresh, runs);
            fflush(stdout);
        }
        last_letters = letters;
        if (fresh >= runs) {
            return true;
        }
        if (now_sec() >= deadline) {
            printf("Time limit (%.0f s) reached after %lu of %lu commands.\n", limit, fresh, runs);
            fflush(stdout);
            return false;
        }
        if (leading != was_leader) {
            print_leader();
            was_leader = leading;
        }
        if (leading) {
            char text[64];
            snprintf(text, sizeof text, "Raft command #%lu", fresh + 1);
            if (send_command(text) == RAFT_SUCCESS) {
                ++submitted;
                if (snapshot_every != 0 && submitted % snapshot_every == 0) {
                    take_snapshot();
                }
                if (wait_usec > 0) {
                    pause_usec(wait_usec);
                }
            }
        } else {
            pause_usec(20000);
        }
    }
}

int main(int argc, char *argv[])
{
    RaftConfig cfg;
    raft_future f;
    const char *stats = NULL;
    bool ok = true;

    raft_default_config(&cfg);
    parse_options(argc, argv, &cfg);

    fprintf(stderr, "Raft client starting.\n");
    if (raft_init(&fsm, &cfg) < 0) {
        return 1; /* raft_init said why on stderr */
    }
    pthread_mutex_lock(&fsm_mu);
    start_index = raft_last_index();
    pthread_mutex_unlock(&fsm_mu);

    if (!wait_for_leader()) {
        printf("No leader was elected within %lu s.\n", leader_wait_sec);
        ok = interactive; /* interactive: go on; S and ? still work */
    } else {
        print_leader();
    }
    if (ok) {
        if (interactive) {
            run_interactive();
        } else {
            ok = run_auto();
        }
    }

    f = raft_stats();
    if (raft_future_get_stats(f, &stats) == RAFT_SUCCESS) {
        raft_print_stats(stats);
    }
    raft_future_dispose(f);

    f = raft_shutdown();
    raft_future_wait(f);
    raft_future_dispose(f);
    raft_cleanup();
    return ok ? 0 : 1;
}
