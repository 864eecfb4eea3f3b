/* Tests of the 2015 compatibility API (raft_if.h), written as a 2015
 * program would be: C99, compiled with -std=c99 -Wall -Werror -pedantic,
 * including only the 2015 headers and linking libraft.
 *
 * The FSM counts the letters in the commands it applies, like the 2015
 * demo (tools/raft_client.c). Each test is a subcommand, run by ctest:
 *
 *   compat_test options           defaults, getopt options, option parsing,
 *                                 error messages, the layout of RaftConfig
 *   compat_test single            one in-memory node: every call of the API
 *   compat_test persist DIR       --dir: the state survives a restart
 *   compat_test snapshot DIR      both snapshot styles, applying going on
 *                                 while a snapshot is written, failures,
 *                                 and restore(path) after a restart
 *   compat_test cluster DIR       three processes (this program, mode
 *                                 "node"): the leader is killed, the others
 *                                 elect a new one and the count carries over
 *   compat_test node PORT PEERS DIR   one node of the cluster test, driven
 *                                 over stdin/stdout
 *   compat_test tls DIR MAKE_CERTS    the TLS options (added since 2015):
 *                                 parsing, the combinations raft_init
 *                                 refuses, and a node started with
 *                                 certificates made by MAKE_CERTS
 *                                 (scripts/make-certs.sh) in DIR; exits
 *                                 77 (skipped) without openssl
 *
 * Every wait polls with a deadline; nothing sleeps to wait for a condition.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "raft_c_if.h"
#include "raft_defs.h"
#include "raft_if.h"

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            fail_exit();                                                         \
        }                                                                        \
    } while (0)

#define CHECK_ERR(expr, want)                                                    \
    do {                                                                         \
        RaftError got_ = (expr);                                                 \
        if (got_ != (want)) {                                                    \
            fprintf(stderr, "%s:%d: %s gave %d (%s), expected %s\n", __FILE__,   \
                    __LINE__, #expr, (int)got_, raft_err_msg(got_), #want);      \
            fail_exit();                                                         \
        }                                                                        \
    } while (0)

static pid_t children[3];

static void fail_exit(void)
{
    int i;
    for (i = 0; i < 3; ++i) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
        }
    }
    exit(1);
}

/* ---- time and polling ------------------------------------------------- */

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The polling interval of eventually(), not a wait for a condition. */
static void poll_interval(void)
{
    struct timespec ts = { 0, 5 * 1000 * 1000 };
    nanosleep(&ts, NULL);
}

typedef int (*predicate)(void *arg);

static int eventually(predicate p, void *arg, double seconds)
{
    double deadline = now_sec() + seconds;
    while (now_sec() < deadline) {
        if (p(arg)) {
            return 1;
        }
        poll_interval();
    }
    return p(arg);
}

static int is_leader_p(void *arg)
{
    (void)arg;
    return raft_is_leader();
}

/* ---- the letter-counting FSM ------------------------------------------ */

enum snapshot_style {
    STYLE_TAKE,         /* raft_fsm_take_snapshot: the library writes */
    STYLE_FILE,         /* write the file from our own thread, then complete */
    STYLE_FILE_FAIL,    /* complete(false) */
    STYLE_TAKE_FAIL     /* the snapshot function returns an error */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static unsigned long letters;
static unsigned long commands;
static enum snapshot_style style = STYLE_TAKE;
static int gate_closed;          /* snapshot writers wait while set */
static int writer_started;       /* a snapshot writer is running */
static int writer_on_apply_thread;
static pthread_t apply_thread;
static int apply_thread_known;
static int restores;
static unsigned long restored_letters;
static int writer_finished;      /* a STYLE_FILE writer completed its request */

static void fsm_reset(void)
{
    pthread_mutex_lock(&mu);
    letters = 0;
    commands = 0;
    restores = 0;
    restored_letters = 0;
    apply_thread_known = 0;
    writer_started = 0;
    pthread_mutex_unlock(&mu);
}

static unsigned long get_letters(void)
{
    unsigned long v;
    pthread_mutex_lock(&mu);
    v = letters;
    pthread_mutex_unlock(&mu);
    return v;
}

/* Replies: a command starting with "malloc:" gets a malloc'd count (the
 * 2015 demo's way: the caller frees it); others carry the count in the
 * pointer, so replies nobody takes (followers, replays) leak nothing. */
static void *fsm_apply(uint64_t index, uint64_t term, RaftLogType type, char *cmd, size_t len)
{
    size_t i;
    unsigned long count;
    (void)index;
    (void)term;
    CHECK(type == RAFT_LOG_COMMAND);
    pthread_mutex_lock(&mu);
    apply_thread = pthread_self();
    apply_thread_known = 1;
    for (i = 0; i < len; ++i) {
        char c = cmd[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            ++letters;
        }
    }
    ++commands;
    count = letters;
    pthread_mutex_unlock(&mu);
    if (len >= 7 && memcmp(cmd, "malloc:", 7) == 0) {
        unsigned long *p = malloc(sizeof *p);
        CHECK(p != NULL);
        *p = count;
        return p;
    }
    return (void *)(uintptr_t)count;
}

struct snap {
    unsigned long letters;
    unsigned long commands;
    char path[512];
    raft_snapshot_req req;
    int fail;
};

static void wait_gate(void)
{
    pthread_mutex_lock(&mu);
    writer_started = 1;
    writer_on_apply_thread = apply_thread_known && pthread_equal(apply_thread, pthread_self());
    pthread_cond_broadcast(&cv);
    while (gate_closed) {
        pthread_cond_wait(&cv, &mu);
    }
    pthread_mutex_unlock(&mu);
}

static void set_gate(int closed)
{
    pthread_mutex_lock(&mu);
    gate_closed = closed;
    if (closed) {
        writer_started = 0;
        writer_finished = 0;
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static int writer_started_p(void *arg)
{
    int v;
    (void)arg;
    pthread_mutex_lock(&mu);
    v = writer_started;
    pthread_mutex_unlock(&mu);
    return v;
}

static int writers_finished_p(void *arg)
{
    int v;
    (void)arg;
    pthread_mutex_lock(&mu);
    v = writer_finished;
    pthread_mutex_unlock(&mu);
    return v;
}

/* STYLE_TAKE: called by the library on a thread of its own. */
static int snapshot_func(raft_fsm_snapshot_handle h, FILE *sink)
{
    struct snap *s = h;
    int fail = s->fail;
    wait_gate();
    fprintf(sink, "%lu %lu\n", s->letters, s->commands);
    free(s);
    return fail ? 1 : 0;
}

/* STYLE_FILE: our own thread writes the file the library named. */
static void *file_writer(void *arg)
{
    struct snap *s = arg;
    FILE *out;
    int ok = 0;
    wait_gate();
    if (!s->fail && (out = fopen(s->path, "w")) != NULL) {
        ok = fprintf(out, "%lu %lu\n", s->letters, s->commands) > 0;
        ok = (fclose(out) == 0) && ok;
    }
    raft_fsm_snapshot_complete(s->req, ok);
    free(s);
    pthread_mutex_lock(&mu);
    writer_finished = 1;
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void fsm_begin_snapshot(const char *path, raft_snapshot_req req)
{
    struct snap *s = calloc(1, sizeof *s);
    pthread_t t;
    CHECK(s != NULL);
    CHECK(path != NULL && strlen(path) < sizeof s->path);
    pthread_mutex_lock(&mu);
    s->letters = letters;
    s->commands = commands;
    pthread_mutex_unlock(&mu);
    strcpy(s->path, path);
    s->req = req;
    switch (style) {
    case STYLE_TAKE:
    case STYLE_TAKE_FAIL:
        s->fail = style == STYLE_TAKE_FAIL;
        raft_fsm_take_snapshot(req, s, snapshot_func);
        break;
    case STYLE_FILE:
    case STYLE_FILE_FAIL:
        s->fail = style == STYLE_FILE_FAIL;
        CHECK(pthread_create(&t, NULL, file_writer, s) == 0);
        CHECK(pthread_detach(t) == 0);
        break;
    }
}

static int fsm_restore(const char *path)
{
    unsigned long l = 0, c = 0;
    FILE *in = fopen(path, "r");
    int n;
    if (in == NULL) {
        return 1;
    }
    n = fscanf(in, "%lu %lu", &l, &c);
    fclose(in);
    if (n != 2) {
        return 1;
    }
    pthread_mutex_lock(&mu);
    letters = l;
    commands = c;
    ++restores;
    restored_letters = l;
    pthread_mutex_unlock(&mu);
    return 0;
}

static RaftFSM fsm = { fsm_apply, fsm_begin_snapshot, fsm_restore };

/* ---- helpers ---------------------------------------------------------- */

/* A port nobody listens on now, from the kernel (bind to port 0). */
static uint16_t free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port;
    CHECK(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Fast timeouts, so that elections take a fraction of a second: for nodes
 * in memory. */
static void fast_config(RaftConfig *cfg, uint16_t port)
{
    raft_default_config(cfg);
    cfg->listen_port = port;
    cfg->HeartbeatTimeout = 300ULL * 1000 * 1000;
    cfg->ElectionTimeout = 300ULL * 1000 * 1000;
    cfg->LeaderLeaseTimeout = 300ULL * 1000 * 1000;
    cfg->CommitTimeout = 5ULL * 1000 * 1000;
}

/* The 2015 defaults (1 s) for nodes on disk: a leader whose disk write
 * takes longer than the election timeout steps down, and a loaded test
 * machine's fsync can take 300 ms. */
static void durable_config(RaftConfig *cfg, uint16_t port, const char *dir)
{
    raft_default_config(cfg);
    cfg->listen_port = port;
    cfg->CommitTimeout = 5ULL * 1000 * 1000;
    CHECK(strlen(dir) < sizeof cfg->base_dir);
    strcpy(cfg->base_dir, dir);
}

static void remove_tree(const char *dir)
{
    char cmd[1024];
    CHECK(strlen(dir) < 900 && strchr(dir, '\'') == NULL);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static RaftError wait_and_dispose(raft_future f)
{
    RaftError err;
    CHECK(f != NULL);
    err = raft_future_wait(f);
    raft_future_dispose(f);
    return err;
}

static unsigned long letters_of(const char *text)
{
    unsigned long n = 0;
    for (; *text != '\0'; ++text) {
        n += (*text >= 'a' && *text <= 'z') || (*text >= 'A' && *text <= 'Z');
    }
    return n;
}

/* Waits for every command submitted so far to be applied, riding out a
 * change of leader (retrying a barrier is harmless). */
static void barrier(void)
{
    int attempt;
    for (attempt = 0; attempt < 5; ++attempt) {
        RaftError err = wait_and_dispose(raft_barrier(0));
        if (err == RAFT_SUCCESS) {
            return;
        }
        CHECK(err == RAFT_E_NOT_LEADER || err == RAFT_E_LEADERSHIP_LOST);
        CHECK(eventually(is_leader_p, NULL, 20));
    }
    CHECK(!"no barrier succeeded in 5 attempts");
}

/* Applies text on this single node and returns the letter count after it.
 * An outcome that may still commit (the leader stepped down: a slow disk
 * on a loaded machine does that) is settled by the count once this node
 * leads again, and the command is retried only if it did not commit. */
static unsigned long apply_text(const char *text)
{
    size_t len = strlen(text);
    unsigned long want = get_letters() + letters_of(text);
    int attempt;
    for (attempt = 0; attempt < 5; ++attempt) {
        char *buf = alloc_raft_buffer(len);
        void *res = NULL;
        RaftError err;
        CHECK(buf != NULL);
        memcpy(buf, text, len);
        err = raft_apply_sync(buf, len, 5ULL * 1000 * 1000 * 1000, &res);
        free_raft_buffer(buf);
        if (err == RAFT_SUCCESS) {
            unsigned long count;
            if (len >= 7 && memcmp(text, "malloc:", 7) == 0) {
                count = *(unsigned long *)res;
                free(res);
            } else {
                count = (unsigned long)(uintptr_t)res;
            }
            return count;
        }
        CHECK(err == RAFT_E_NOT_LEADER || err == RAFT_E_LEADERSHIP_LOST || err == RAFT_E_ENQUEUE_TIMEOUT);
        CHECK(eventually(is_leader_p, NULL, 20));
        barrier();
        if (get_letters() == want) {
            return want;
        }
    }
    CHECK(!"no apply succeeded in 5 attempts");
    return 0;
}

static void shutdown_and_cleanup(void)
{
    raft_future f = raft_shutdown();
    CHECK(f != NULL);
    CHECK_ERR(raft_future_wait(f), RAFT_SUCCESS);
    raft_future_dispose(f);
    CHECK(raft_state() == RAFT_SHUTDOWN);
    raft_cleanup();
    CHECK(raft_state() == RAFT_INVALID_STATE);
}


/* ---- options ---------------------------------------------------------- */

static int option_val(const char *name)
{
    const struct option *o = raft_getopt_long_opts();
    for (; o->name != NULL && o->name[0] != '\0'; ++o) {
        if (strcmp(o->name, name) == 0) {
            return o->val;
        }
    }
    fprintf(stderr, "no option --%s\n", name);
    fail_exit();
    return 0;
}

static void test_options(void)
{
    static const char *const names[] = {
        "shm-path", "shm-size", "backend-type", "dir", "port", "single", "peers", "verbose",
        "tls-ca", "tls-cert", "tls-key", "tls-verify-peer-id" /* added since 2015 */
    };
    const struct option *o = raft_getopt_long_opts();
    RaftConfig cfg;
    size_t i;
    int e;

    /* Defaults of COMPAT_API.md. */
    memset(&cfg, 0x5a, sizeof cfg);
    raft_default_config(&cfg);
    CHECK(strcmp(cfg.backend_type, "boltdb") == 0);
    CHECK(cfg.base_dir[0] == '\0');
    CHECK(cfg.api_workers == 4);
    CHECK(!cfg.verbose);
    CHECK(cfg.listen_port == 9001);
    CHECK(cfg.peers[0] == '\0');
    CHECK(cfg.HeartbeatTimeout == 1000000000ULL);
    CHECK(cfg.ElectionTimeout == 1000000000ULL);
    CHECK(cfg.CommitTimeout == 50000000ULL);
    CHECK(cfg.MaxAppendEntries == 64);
    CHECK(cfg.ShutdownOnRemove);
    CHECK(cfg.DisableBootstrapAfterElect);
    CHECK(cfg.TrailingLogs == 10240);
    CHECK(cfg.SnapshotInterval == 120ULL * 1000000000ULL);
    CHECK(cfg.SnapshotThreshold == 8192);
    CHECK(!cfg.EnableSingleNode);
    CHECK(cfg.LeaderLeaseTimeout == 500000000ULL);
    CHECK(cfg.LogOutput[0] == '\0');
    CHECK(cfg.RetainSnapshots == 8);

    /* The struct's fields in the 2015 order. */
    CHECK(offsetof(RaftConfig, shm_path) == 0);
    CHECK(offsetof(RaftConfig, shm_size) > offsetof(RaftConfig, shm_path));
    CHECK(offsetof(RaftConfig, backend_type) > offsetof(RaftConfig, shm_size));
    CHECK(offsetof(RaftConfig, base_dir) > offsetof(RaftConfig, backend_type));
    CHECK(offsetof(RaftConfig, api_workers) > offsetof(RaftConfig, base_dir));
    CHECK(offsetof(RaftConfig, verbose) > offsetof(RaftConfig, api_workers));
    CHECK(offsetof(RaftConfig, listen_port) > offsetof(RaftConfig, verbose));
    CHECK(offsetof(RaftConfig, peers) > offsetof(RaftConfig, listen_port));
    CHECK(offsetof(RaftConfig, HeartbeatTimeout) > offsetof(RaftConfig, peers));
    CHECK(offsetof(RaftConfig, ElectionTimeout) > offsetof(RaftConfig, HeartbeatTimeout));
    CHECK(offsetof(RaftConfig, CommitTimeout) > offsetof(RaftConfig, ElectionTimeout));
    CHECK(offsetof(RaftConfig, MaxAppendEntries) > offsetof(RaftConfig, CommitTimeout));
    CHECK(offsetof(RaftConfig, ShutdownOnRemove) > offsetof(RaftConfig, MaxAppendEntries));
    CHECK(offsetof(RaftConfig, DisableBootstrapAfterElect) > offsetof(RaftConfig, ShutdownOnRemove));
    CHECK(offsetof(RaftConfig, TrailingLogs) > offsetof(RaftConfig, DisableBootstrapAfterElect));
    CHECK(offsetof(RaftConfig, SnapshotInterval) > offsetof(RaftConfig, TrailingLogs));
    CHECK(offsetof(RaftConfig, SnapshotThreshold) > offsetof(RaftConfig, SnapshotInterval));
    CHECK(offsetof(RaftConfig, EnableSingleNode) > offsetof(RaftConfig, SnapshotThreshold));
    CHECK(offsetof(RaftConfig, LeaderLeaseTimeout) > offsetof(RaftConfig, EnableSingleNode));
    CHECK(offsetof(RaftConfig, LogOutput) > offsetof(RaftConfig, LeaderLeaseTimeout));
    CHECK(offsetof(RaftConfig, RetainSnapshots) > offsetof(RaftConfig, LogOutput));
    CHECK(sizeof cfg.shm_path == 256 && sizeof cfg.backend_type == 16 && sizeof cfg.base_dir == 256);
    CHECK(sizeof cfg.peers == 256 && sizeof cfg.LogOutput == 256);

    /* Enum values. */
    CHECK(RAFT_INVALID_STATE == 0 && RAFT_FOLLOWER == 1 && RAFT_CANDIDATE == 2 && RAFT_LEADER == 3 &&
          RAFT_SHUTDOWN == 4);
    CHECK(RAFT_LOG_COMMAND == 0 && RAFT_LOG_NOOP == 1 && RAFT_LOG_ADD_PEER == 2 &&
          RAFT_LOG_REMOVE_PEER == 3 && RAFT_LOG_BARRIER == 4);
    CHECK(RAFT_SUCCESS == 0 && RAFT_E_LEADER == 1 && RAFT_E_NOT_LEADER == 2 &&
          RAFT_E_LEADERSHIP_LOST == 3 && RAFT_E_SHUTDOWN == 4 && RAFT_E_ENQUEUE_TIMEOUT == 5 &&
          RAFT_E_KNOWN_PEER == 6 && RAFT_E_UNKNOWN_PEER == 7 && RAFT_E_LOG_NOT_FOUND == 8 &&
          RAFT_E_PIPELINE_REPLICATION_NOT_SUPP == 9 && RAFT_E_TRANSPORT_SHUTDOWN == 10 &&
          RAFT_E_PIPELINE_SHUTDOWN == 11 && RAFT_E_OTHER == 12 && RAFT_E_INVALID_OP == 13 &&
          RAFT_E_INVALID_ADDRESS == 14 && RAFT_E_RESOLVE == 15 && RAFT_E_IN_SHUTDOWN == 16 &&
          N_RAFT_ERRORS == 17);

    /* The options, in order, ended by "" and then an all-zero entry. */
    for (i = 0; i < sizeof names / sizeof names[0]; ++i) {
        CHECK(o[i].name != NULL && strcmp(o[i].name, names[i]) == 0);
        CHECK(o[i].val > 255);
        CHECK(is_raft_option(o[i].val));
        CHECK(o[i].flag == NULL);
        CHECK(o[i].has_arg == ((strcmp(names[i], "single") == 0 || strcmp(names[i], "verbose") == 0 ||
                                strcmp(names[i], "tls-verify-peer-id") == 0)
                                   ? no_argument : required_argument));
    }
    CHECK(o[i].name != NULL && o[i].name[0] == '\0');
    CHECK(o[i + 1].name == NULL);
    CHECK(!is_raft_option('i') && !is_raft_option(0) && !is_raft_option(-1) && !is_raft_option(255));

    /* raft_apply_option, each option. */
    raft_default_config(&cfg);
    CHECK(raft_apply_option(&cfg, option_val("shm-path"), "/other") == 0);
    CHECK(strcmp(cfg.shm_path, "/other") == 0);
    CHECK(raft_apply_option(&cfg, option_val("shm-size"), "64M") == 0);
    CHECK(cfg.shm_size == 64ULL << 20);
    CHECK(raft_apply_option(&cfg, option_val("shm-size"), "2g") == 0);
    CHECK(cfg.shm_size == 2ULL << 30);
    CHECK(raft_apply_option(&cfg, option_val("shm-size"), "512k") == 0);
    CHECK(cfg.shm_size == 512ULL << 10);
    CHECK(raft_apply_option(&cfg, option_val("shm-size"), "1000") == 0);
    CHECK(cfg.shm_size == 1000);
    CHECK(raft_apply_option(&cfg, option_val("shm-size"), "12Q") != 0);
    CHECK(raft_apply_option(&cfg, option_val("shm-size"), "") != 0);
    CHECK(raft_apply_option(&cfg, option_val("backend-type"), "inmem") == 0);
    CHECK(strcmp(cfg.backend_type, "inmem") == 0);
    CHECK(raft_apply_option(&cfg, option_val("backend-type"), "wal") == 0);
    CHECK(raft_apply_option(&cfg, option_val("backend-type"), "memory") == 0);
    CHECK(raft_apply_option(&cfg, option_val("backend-type"), "boltdb") == 0);
    CHECK(raft_apply_option(&cfg, option_val("backend-type"), "nosuch") != 0);
    CHECK(strcmp(cfg.backend_type, "boltdb") == 0);
    CHECK(raft_apply_option(&cfg, option_val("dir"), "/tmp/raft_A") == 0);
    CHECK(strcmp(cfg.base_dir, "/tmp/raft_A") == 0);
    {
        char longer[300];
        memset(longer, 'x', sizeof longer - 1);
        longer[sizeof longer - 1] = '\0';
        CHECK(raft_apply_option(&cfg, option_val("dir"), longer) != 0);
        CHECK(raft_apply_option(&cfg, option_val("peers"), longer) != 0);
    }
    CHECK(strcmp(cfg.base_dir, "/tmp/raft_A") == 0);
    CHECK(raft_apply_option(&cfg, option_val("port"), "9002") == 0);
    CHECK(cfg.listen_port == 9002);
    CHECK(raft_apply_option(&cfg, option_val("port"), "0") != 0);
    CHECK(raft_apply_option(&cfg, option_val("port"), "65536") != 0);
    CHECK(raft_apply_option(&cfg, option_val("port"), "90x") != 0);
    CHECK(raft_apply_option(&cfg, option_val("port"), NULL) != 0);
    CHECK(cfg.listen_port == 9002);
    CHECK(raft_apply_option(&cfg, option_val("single"), NULL) == 0);
    CHECK(cfg.EnableSingleNode);
    CHECK(raft_apply_option(&cfg, option_val("verbose"), NULL) == 0);
    CHECK(cfg.verbose);
    CHECK(raft_apply_option(&cfg, option_val("peers"), "localhost:9002,127.0.0.1:9003") == 0);
    CHECK(strcmp(cfg.peers, "localhost:9002,127.0.0.1:9003") == 0);
    CHECK(raft_apply_option(&cfg, option_val("peers"), "[::1]:9004, host.example:9005") == 0);
    CHECK(raft_apply_option(&cfg, option_val("peers"), "localhost") != 0);
    CHECK(raft_apply_option(&cfg, option_val("peers"), "localhost:0") != 0);
    CHECK(raft_apply_option(&cfg, option_val("peers"), ":9002") != 0);
    CHECK(raft_apply_option(&cfg, 'x', "1") != 0);
    CHECK(raft_apply_option(NULL, option_val("single"), NULL) != 0);

    /* The array can be handed to getopt_long as it is. */
    {
        char a0[] = "prog", a1[] = "--port=9005", a2[] = "--single", a3[] = "--dir", a4[] = "/d";
        char *argv[6];
        int c;
        argv[0] = a0; argv[1] = a1; argv[2] = a2; argv[3] = a3; argv[4] = a4; argv[5] = NULL;
        raft_default_config(&cfg);
        optind = 1;
        while ((c = getopt_long(5, argv, "", raft_getopt_long_opts(), NULL)) != -1) {
            CHECK(is_raft_option(c));
            CHECK(raft_apply_option(&cfg, c, optarg) == 0);
        }
        CHECK(cfg.listen_port == 9005 && cfg.EnableSingleNode && strcmp(cfg.base_dir, "/d") == 0);
    }

    /* A message for every code, and a fallback. */
    for (e = 0; e < N_RAFT_ERRORS; ++e) {
        const char *m = raft_err_msg((RaftError)e);
        CHECK(m != NULL && m[0] != '\0');
        if (e > 0) {
            CHECK(strcmp(m, raft_err_msg((RaftError)(e - 1))) != 0);
        }
    }
    CHECK(raft_err_msg(N_RAFT_ERRORS) != NULL && raft_err_msg(N_RAFT_ERRORS)[0] != '\0');
    CHECK(raft_err_msg((RaftError)-1) != NULL);
    CHECK(raft_err_msg((RaftError)1000) != NULL);

    /* Buffers. */
    {
        char *b = alloc_raft_buffer(16);
        CHECK(b != NULL);
        memset(b, 'a', 16);
        free_raft_buffer(b);
        free_raft_buffer(NULL);
    }

    /* Nothing runs yet: calls fail cleanly. */
    CHECK(raft_state() == RAFT_INVALID_STATE);
    CHECK(!raft_is_leader());
    CHECK(raft_last_index() == 0);
    CHECK(raft_last_contact() == 0);
    {
        char *leader = NULL;
        char cmd[] = "abc";
        CHECK_ERR(raft_leader(&leader), RAFT_E_INVALID_OP);
        CHECK_ERR(wait_and_dispose(raft_apply(cmd, 3, 0)), RAFT_E_INVALID_OP);
        CHECK_ERR(wait_and_dispose(raft_barrier(0)), RAFT_E_INVALID_OP);
        CHECK_ERR(wait_and_dispose(raft_snapshot()), RAFT_E_INVALID_OP);
        CHECK_ERR(wait_and_dispose(raft_stats()), RAFT_E_INVALID_OP);
        CHECK_ERR(wait_and_dispose(raft_shutdown()), RAFT_E_INVALID_OP);
    }
    CHECK_ERR(raft_future_wait(NULL), RAFT_E_INVALID_OP);
    CHECK(!raft_future_poll(NULL));
    raft_future_dispose(NULL);
    raft_cleanup();

    /* raft_init refuses nonsense with a message. */
    raft_default_config(&cfg);
    strcpy(cfg.backend_type, "nosuch");
    CHECK(raft_init(&fsm, &cfg) == -1);
    raft_default_config(&cfg);
    strcpy(cfg.peers, "localhost");
    CHECK(raft_init(&fsm, &cfg) == -1);
    raft_default_config(&cfg);
    CHECK(raft_init(NULL, &cfg) == -1);
    CHECK(raft_state() == RAFT_INVALID_STATE);

    raft_print_stats("{\"state\":\"Leader\",\"term\":\"3\",\"a \\\"quoted\\\" key\":\"x\\ny\"}");
    raft_print_stats("not json");
    raft_print_stats(NULL);
}

/* ---- TLS (options added since 2015) ----------------------------------- */

/* raft_init(cfg) fails, and what it prints on stderr contains `part`. */
static void expect_init_error(const RaftConfig *cfg, const char *part)
{
    char path[] = "/tmp/compat-stderr-XXXXXX";
    char text[2048];
    int fd = mkstemp(path);
    int saved;
    ssize_t n;
    CHECK(fd >= 0);
    fflush(stderr);
    saved = dup(2);
    CHECK(saved >= 0 && dup2(fd, 2) == 2);
    CHECK(raft_init(&fsm, cfg) == -1);
    fflush(stderr);
    CHECK(dup2(saved, 2) == 2);
    close(saved);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    n = read(fd, text, sizeof text - 1);
    close(fd);
    unlink(path);
    CHECK(n > 0);
    text[n] = '\0';
    fputs(text, stderr); /* for the test's log */
    if (strstr(text, part) == NULL) {
        fprintf(stderr, "expected a message containing \"%s\"\n", part);
        fail_exit();
    }
    CHECK(raft_state() == RAFT_INVALID_STATE);
}

static void test_tls(const char *dir, const char *make_certs)
{
    RaftConfig cfg;
    uint16_t port = free_port();
    /* The node's server id, derived from 127.0.0.1:port
     * (docs/migrating-from-2015.md): its certificate names "node<id>". */
    unsigned long long id = (0x7f000001ULL << 16) | port;
    char cmd[1024], ca[512], cert[512], key[512];
    const char *stats = NULL;
    raft_future f;

    if (system("command -v openssl >/dev/null 2>&1") != 0) {
        printf("SKIP tls: no openssl to make certificates with\n");
        exit(77);
    }
    remove_tree(dir);
    CHECK(strlen(dir) < 400 && strchr(dir, '\'') == NULL && strchr(make_certs, '\'') == NULL);
    snprintf(cmd, sizeof cmd, "bash '%s' '%s' %llu", make_certs, dir, id);
    CHECK(system(cmd) == 0);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(cert, sizeof cert, "%s/node%llu.pem", dir, id);
    snprintf(key, sizeof key, "%s/node%llu.key", dir, id);

    /* Parsing: a file must be readable; "" unsets it. */
    fast_config(&cfg, port);
    CHECK(raft_apply_option(&cfg, option_val("tls-ca"), "/no/such/ca.pem") != 0);
    CHECK(raft_apply_option(&cfg, option_val("tls-cert"), NULL) != 0);
    CHECK(raft_apply_option(&cfg, option_val("tls-ca"), ca) == 0);

    /* The files go together; raft_init names what is missing. */
    expect_init_error(&cfg, "missing --tls-cert, --tls-key");
    CHECK(raft_apply_option(&cfg, option_val("tls-key"), key) == 0);
    expect_init_error(&cfg, "missing --tls-cert");
    CHECK(raft_apply_option(&cfg, option_val("tls-ca"), "") == 0);
    CHECK(raft_apply_option(&cfg, option_val("tls-key"), "") == 0);
    /* --tls-verify-peer-id needs them. */
    CHECK(raft_apply_option(&cfg, option_val("tls-verify-peer-id"), NULL) == 0);
    expect_init_error(&cfg, "--tls-verify-peer-id needs TLS");

    /* Through getopt_long, as a program parses them, and applied: the node
     * starts with them (whichever RaftConfig raft_init is given: they live
     * beside it) and works. */
    {
        char a0[] = "prog", a1[] = "--tls-ca", a3[] = "--tls-cert", a5[] = "--tls-key", a7[] = "--single";
        char *argv[9];
        int c;
        RaftConfig copy;
        argv[0] = a0; argv[1] = a1; argv[2] = ca; argv[3] = a3; argv[4] = cert;
        argv[5] = a5; argv[6] = key; argv[7] = a7; argv[8] = NULL;
        fast_config(&cfg, port);
        optind = 1;
        while ((c = getopt_long(8, argv, "", raft_getopt_long_opts(), NULL)) != -1) {
            CHECK(is_raft_option(c));
            CHECK(raft_apply_option(&cfg, c, optarg) == 0);
        }
        CHECK(raft_apply_option(&cfg, option_val("backend-type"), "inmem") == 0);
        copy = cfg;
        fsm_reset();
        CHECK(raft_init(&fsm, &copy) == getpid());
    }
    CHECK(eventually(is_leader_p, NULL, 10));
    CHECK(apply_text("secure") == 6);
    f = raft_stats();
    CHECK_ERR(raft_future_get_stats(f, &stats), RAFT_SUCCESS);
    CHECK(stats != NULL && strstr(stats, "\"state\":\"Leader\"") != NULL);
    raft_future_dispose(f);
    shutdown_and_cleanup();
    remove_tree(dir);
}

/* ---- one node in memory ----------------------------------------------- */

static void test_single(void)
{
    RaftConfig cfg;
    uint16_t port = free_port();
    char expect[64];
    char *leader = NULL;
    raft_future f;
    const char *stats = NULL;
    void *reply = NULL;
    char *buf;
    time_t contact;

    fast_config(&cfg, port);
    CHECK(raft_apply_option(&cfg, option_val("single"), NULL) == 0);
    CHECK(raft_apply_option(&cfg, option_val("backend-type"), "inmem") == 0);
    fsm_reset();
    CHECK(raft_init(&fsm, &cfg) == getpid());
    CHECK(raft_init(&fsm, &cfg) == -1); /* one node per process */
    CHECK(eventually(is_leader_p, NULL, 10));
    CHECK(raft_state() == RAFT_LEADER);

    CHECK_ERR(raft_leader(&leader), RAFT_SUCCESS);
    snprintf(expect, sizeof expect, "127.0.0.1:%u", (unsigned)port);
    CHECK(strcmp(leader, expect) == 0);
    free_raft_buffer(leader);

    CHECK(apply_text("hello") == 5);
    CHECK(apply_text("malloc: world") == 16); /* "malloc" + "world" */
    CHECK(apply_text("12345") == 16);

    /* Asynchronous apply: poll, wait_for, the reply. */
    buf = alloc_raft_buffer(8);
    memcpy(buf, "abcdefgh", 8);
    f = raft_apply(buf, 3, 0); /* only "abc" */
    CHECK(f != NULL);
    CHECK(raft_future_wait_for(f, 10000));
    CHECK(raft_future_poll(f));
    CHECK_ERR(raft_future_get_fsm_reply(f, &reply), RAFT_SUCCESS);
    CHECK((uintptr_t)reply == 19);
    CHECK_ERR(raft_future_wait(f), RAFT_SUCCESS);
    raft_future_dispose(f);
    free_raft_buffer(buf);

    /* An empty command. */
    f = raft_apply(NULL, 0, 0);
    CHECK_ERR(raft_future_wait(f), RAFT_SUCCESS);
    raft_future_dispose(f);

    CHECK_ERR(wait_and_dispose(raft_barrier(5ULL * 1000 * 1000 * 1000)), RAFT_SUCCESS);
    f = raft_verify_leader();
    CHECK(raft_future_wait_for(f, 10000));
    CHECK_ERR(raft_future_wait(f), RAFT_SUCCESS);
    raft_future_dispose(f);

    CHECK(raft_last_index() >= 5);
    contact = raft_last_contact();
    CHECK(contact != 0 && contact <= time(NULL) + 1 && contact >= time(NULL) - 5);

    f = raft_stats();
    CHECK_ERR(raft_future_get_stats(f, &stats), RAFT_SUCCESS);
    CHECK(stats != NULL);
    CHECK(strstr(stats, "\"state\":\"Leader\"") != NULL);
    raft_print_stats(stats);
    raft_future_dispose(f);

    /* Snapshots: one now, and one with nothing new (already covered). */
    style = STYLE_TAKE;
    CHECK_ERR(wait_and_dispose(raft_snapshot()), RAFT_SUCCESS);
    CHECK_ERR(wait_and_dispose(raft_snapshot()), RAFT_SUCCESS);

    /* Membership: this node is a member; others are not. */
    CHECK_ERR(wait_and_dispose(raft_add_peer("localhost", port)), RAFT_E_KNOWN_PEER);
    CHECK_ERR(wait_and_dispose(raft_remove_peer("127.0.0.1", 1)), RAFT_E_UNKNOWN_PEER);
    CHECK_ERR(wait_and_dispose(raft_add_peer(NULL, 1)), RAFT_E_INVALID_ADDRESS);
    CHECK_ERR(wait_and_dispose(raft_add_peer("no-such-host.invalid", 9)), RAFT_E_RESOLVE);

    /* Shut down: calls now fail with RAFT_E_SHUTDOWN. */
    f = raft_shutdown();
    CHECK_ERR(raft_future_wait(f), RAFT_SUCCESS);
    raft_future_dispose(f);
    CHECK(raft_state() == RAFT_SHUTDOWN);
    CHECK(!raft_is_leader());
    buf = alloc_raft_buffer(1);
    buf[0] = 'z';
    CHECK_ERR(raft_apply_sync(buf, 1, 0, &reply), RAFT_E_SHUTDOWN);
    free_raft_buffer(buf);
    CHECK_ERR(wait_and_dispose(raft_shutdown()), RAFT_SUCCESS); /* idempotent */
    raft_cleanup();
    raft_cleanup();
    CHECK(raft_state() == RAFT_INVALID_STATE);

    /* And a node can be started again after cleanup. */
    fast_config(&cfg, free_port());
    cfg.EnableSingleNode = true;
    fsm_reset();
    CHECK(raft_init(&fsm, &cfg) == getpid());
    CHECK(eventually(is_leader_p, NULL, 10));
    CHECK(apply_text("again") == 5); /* in memory: a fresh state */
    shutdown_and_cleanup();
}

/* ---- persistence ------------------------------------------------------ */

static void test_persist(const char *dir)
{
    RaftConfig cfg;
    uint16_t port = free_port();

    remove_tree(dir);
    /* --dir and no peers: a single node, without --single. */
    durable_config(&cfg, port, "");
    CHECK(raft_apply_option(&cfg, option_val("dir"), dir) == 0);
    fsm_reset();
    CHECK(raft_init(&fsm, &cfg) == getpid());
    CHECK(eventually(is_leader_p, NULL, 10));
    CHECK(apply_text("abc") == 3);
    CHECK(apply_text("de fg") == 7);
    CHECK(apply_text("h") == 8);
    shutdown_and_cleanup();

    /* A restart replays the log (bootstrap is refused, harmlessly). */
    fsm_reset();
    CHECK(raft_init(&fsm, &cfg) == getpid());
    CHECK(eventually(is_leader_p, NULL, 10));
    barrier();
    CHECK(get_letters() == 8);
    CHECK(apply_text("ij") == 10);
    shutdown_and_cleanup();

    /* The same directory with the in-memory backend: nothing is read. */
    fsm_reset();
    cfg.listen_port = port;
    strcpy(cfg.backend_type, "inmem");
    CHECK(raft_init(&fsm, &cfg) == getpid());
    CHECK(eventually(is_leader_p, NULL, 10));
    CHECK(apply_text("k") == 1);
    shutdown_and_cleanup();
}

/* ---- snapshots -------------------------------------------------------- */

static void test_snapshot(const char *dir)
{
    RaftConfig cfg;
    raft_future f;

    remove_tree(dir);
    durable_config(&cfg, free_port(), dir);
    fsm_reset();
    CHECK(raft_init(&fsm, &cfg) == getpid());
    CHECK(eventually(is_leader_p, NULL, 10));
    CHECK(apply_text("abcd") == 4);
    CHECK(apply_text("efgh") == 8);

    /* raft_fsm_take_snapshot: the library calls our function on a thread
     * of its own; commands apply while it is blocked. */
    style = STYLE_TAKE;
    set_gate(1);
    f = raft_snapshot();
    CHECK(eventually(writer_started_p, NULL, 10));
    CHECK(!writer_on_apply_thread);
    CHECK(apply_text("xyz") == 11);
    CHECK(!raft_future_poll(f));
    set_gate(0);
    CHECK_ERR(wait_and_dispose(f), RAFT_SUCCESS);

    /* The 2015 way: our own thread writes the file at path, then completes
     * the request. Applying goes on meanwhile. */
    style = STYLE_FILE;
    CHECK(apply_text("ab") == 13);
    set_gate(1);
    f = raft_snapshot();
    CHECK(eventually(writer_started_p, NULL, 10));
    CHECK(apply_text("c") == 14);
    CHECK(!raft_future_wait_for(f, 1));
    set_gate(0);
    CHECK_ERR(wait_and_dispose(f), RAFT_SUCCESS);

    /* Failures: the FSM says so; the snapshot fails, the node goes on. */
    style = STYLE_FILE_FAIL;
    CHECK(apply_text("q") == 15);
    CHECK(wait_and_dispose(raft_snapshot()) != RAFT_SUCCESS);
    style = STYLE_TAKE_FAIL;
    CHECK(wait_and_dispose(raft_snapshot()) != RAFT_SUCCESS);
    style = STYLE_TAKE;
    CHECK(apply_text("r") == 16);
    shutdown_and_cleanup();

    /* A restart restores the newest snapshot (13 letters, written by the
     * 2015-style writer) through restore(path), then replays the rest. */
    fsm_reset();
    CHECK(raft_init(&fsm, &cfg) == getpid());
    CHECK(eventually(is_leader_p, NULL, 10));
    barrier();
    pthread_mutex_lock(&mu);
    CHECK(restores == 1);
    CHECK(restored_letters == 13);
    pthread_mutex_unlock(&mu);
    CHECK(get_letters() == 16);

    /* A snapshot the FSM has not finished when the node shuts down: the
     * shutdown does not wait for it, the request fails, and completing it
     * later is harmless. */
    style = STYLE_FILE;
    set_gate(1);
    CHECK(apply_text("s") == 17);
    f = raft_snapshot();
    CHECK(eventually(writer_started_p, NULL, 10));
    CHECK_ERR(wait_and_dispose(raft_shutdown()), RAFT_SUCCESS);
    CHECK(wait_and_dispose(f) != RAFT_SUCCESS);
    raft_cleanup();
    set_gate(0);
    CHECK(eventually(writers_finished_p, NULL, 10));
}

/* ---- three processes -------------------------------------------------- */

/* Child mode: one node, spoken to over stdin/stdout:
 *   state        -> "state ROLE LEADER LETTERS"
 *   apply TEXT   -> "ok LETTERS" | "err CODE"
 *   barrier      -> "ok" | "err CODE"
 *   quit         -> shuts down, exits 0 */
static int run_node(const char *port, const char *peers, const char *dir)
{
    RaftConfig cfg;
    char line[512];
    durable_config(&cfg, (uint16_t)atoi(port), dir);
    CHECK(raft_apply_option(&cfg, option_val("peers"), peers) == 0);
    fsm_reset();
    if (raft_init(&fsm, &cfg) < 0) {
        return 1;
    }
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "state") == 0) {
            char *leader = NULL;
            RaftState s = raft_state();
            const char *role = s == RAFT_LEADER ? "Leader" : s == RAFT_FOLLOWER ? "Follower"
                             : s == RAFT_CANDIDATE ? "Candidate" : "Other";
            if (raft_leader(&leader) != RAFT_SUCCESS) {
                leader = NULL;
            }
            printf("state %s %s %lu\n", role, leader != NULL ? leader : "-", get_letters());
            free_raft_buffer(leader);
        } else if (strncmp(line, "apply ", 6) == 0) {
            size_t len = strlen(line + 6);
            char *buf = alloc_raft_buffer(len);
            void *res = NULL;
            RaftError err;
            memcpy(buf, line + 6, len);
            err = raft_apply_sync(buf, len, 5ULL * 1000 * 1000 * 1000, &res);
            free_raft_buffer(buf);
            if (err == RAFT_SUCCESS) {
                printf("ok %lu\n", (unsigned long)(uintptr_t)res);
            } else {
                printf("err %d\n", (int)err);
            }
        } else if (strcmp(line, "barrier") == 0) {
            RaftError err = wait_and_dispose(raft_barrier(0));
            if (err == RAFT_SUCCESS) {
                printf("ok\n");
            } else {
                printf("err %d\n", (int)err);
            }
        } else if (strcmp(line, "quit") == 0) {
            break;
        } else {
            printf("unknown\n");
        }
        fflush(stdout);
    }
    shutdown_and_cleanup();
    return 0;
}

struct child {
    pid_t pid;
    FILE *in;
    FILE *out;
    uint16_t port;
};

static struct child kids[3];

static void spawn(int i, const char *self, const char *peers, const char *dir)
{
    int to[2], from[2];
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)kids[i].port);
    CHECK(pipe(to) == 0 && pipe(from) == 0);
    kids[i].pid = fork();
    CHECK(kids[i].pid >= 0);
    if (kids[i].pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[1]);
        close(from[0]);
        execl(self, self, "node", port, peers, dir, (char *)NULL);
        _exit(127);
    }
    children[i] = kids[i].pid;
    close(to[0]);
    close(from[1]);
    kids[i].in = fdopen(to[1], "w");
    kids[i].out = fdopen(from[0], "r");
    CHECK(kids[i].in != NULL && kids[i].out != NULL);
}

/* Sends a line, returns the reply (static buffer); "" when the child is gone. */
static const char *ask(int i, const char *line)
{
    static char reply[512];
    reply[0] = '\0';
    if (kids[i].pid <= 0) {
        return reply;
    }
    fprintf(kids[i].in, "%s\n", line);
    fflush(kids[i].in);
    if (fgets(reply, sizeof reply, kids[i].out) == NULL) {
        reply[0] = '\0';
    }
    reply[strcspn(reply, "\n")] = '\0';
    return reply;
}

struct node_state {
    char role[32];
    char leader[64];
    unsigned long letters;
};

static int parse_state(const char *s, struct node_state *st)
{
    return sscanf(s, "state %31s %63s %lu", st->role, st->leader, &st->letters) == 3;
}

static int found_leader = -1;

/* Exactly one live child says it leads, and the others name it. */
static int one_leader_p(void *arg)
{
    int i, leaders = 0, who = -1;
    struct node_state st[3];
    char expect[64];
    (void)arg;
    for (i = 0; i < 3; ++i) {
        if (kids[i].pid <= 0) {
            continue;
        }
        if (!parse_state(ask(i, "state"), &st[i])) {
            return 0;
        }
        if (strcmp(st[i].role, "Leader") == 0) {
            ++leaders;
            who = i;
        }
    }
    if (leaders != 1) {
        return 0;
    }
    snprintf(expect, sizeof expect, "127.0.0.1:%u", (unsigned)kids[who].port);
    for (i = 0; i < 3; ++i) {
        if (kids[i].pid > 0 && strcmp(st[i].leader, expect) != 0) {
            return 0;
        }
    }
    found_leader = who;
    return 1;
}

static unsigned long want_letters;

static int all_have_p(void *arg)
{
    int i;
    struct node_state st;
    (void)arg;
    for (i = 0; i < 3; ++i) {
        if (kids[i].pid <= 0) {
            continue;
        }
        if (!parse_state(ask(i, "state"), &st) || st.letters != want_letters) {
            return 0;
        }
    }
    return 1;
}

/* Applies text through the leader and checks the count it leads to, riding
 * out a change of leader as apply_text does: an outcome that may still
 * commit is settled by the new leader's count after a barrier. */
static void cluster_apply(const char *text, unsigned long want)
{
    char line[256];
    int attempt;
    unsigned long got;
    struct node_state st;
    snprintf(line, sizeof line, "apply %s", text);
    for (attempt = 0; attempt < 5; ++attempt) {
        CHECK(eventually(one_leader_p, NULL, 20));
        if (sscanf(ask(found_leader, line), "ok %lu", &got) == 1) {
            CHECK(got == want);
            return;
        }
        CHECK(eventually(one_leader_p, NULL, 20));
        if (strcmp(ask(found_leader, "barrier"), "ok") == 0 && parse_state(ask(found_leader, "state"), &st) &&
            st.letters == want) {
            return;
        }
    }
    CHECK(!"no apply succeeded in 5 attempts");
}

static void test_cluster(const char *self, const char *dir)
{
    int i, j, first, second, status;
    char peers[3][256], node_dir[3][512];

    remove_tree(dir);
    CHECK(mkdir(dir, 0755) == 0);
    for (i = 0; i < 3; ++i) {
        int clash;
        do { /* three different free ports */
            kids[i].port = free_port();
            clash = 0;
            for (j = 0; j < i; ++j) {
                clash |= kids[j].port == kids[i].port;
            }
        } while (clash);
    }
    /* Peers named both ways: localhost:P and 127.0.0.1:P are one node. */
    for (i = 0; i < 3; ++i) {
        int a = (i + 1) % 3, b = (i + 2) % 3;
        snprintf(peers[i], sizeof peers[i], "%s:%u,%s:%u", i % 2 == 0 ? "localhost" : "127.0.0.1",
                 (unsigned)kids[a].port, i % 2 == 0 ? "127.0.0.1" : "localhost", (unsigned)kids[b].port);
        snprintf(node_dir[i], sizeof node_dir[i], "%s/n%d", dir, i);
        spawn(i, self, peers[i], node_dir[i]);
    }

    CHECK(eventually(one_leader_p, NULL, 20));
    first = found_leader;
    fprintf(stderr, "leader: node %d (port %u)\n", first, (unsigned)kids[first].port);
    for (i = 0; i < 5; ++i) {
        cluster_apply("hello world", (unsigned long)(i + 1) * 10);
    }
    first = found_leader;
    /* A follower applies the leader's commands but takes none itself. */
    j = (first + 1) % 3;
    CHECK(strcmp(ask(j, "apply zzz"), "err 2") == 0); /* RAFT_E_NOT_LEADER */
    want_letters = 50;
    CHECK(eventually(all_have_p, NULL, 10));

    /* Kill the leader: the other two elect a new one, with the count. */
    kill(kids[first].pid, SIGKILL);
    waitpid(kids[first].pid, &status, 0);
    kids[first].pid = -1;
    children[first] = -1;
    CHECK(eventually(one_leader_p, NULL, 20));
    second = found_leader;
    CHECK(second != first);
    fprintf(stderr, "new leader: node %d (port %u)\n", second, (unsigned)kids[second].port);
    cluster_apply("abc", 53);
    cluster_apply("de", 55);
    want_letters = 55;
    CHECK(eventually(all_have_p, NULL, 10));

    for (i = 0; i < 3; ++i) {
        if (kids[i].pid > 0) {
            fprintf(kids[i].in, "quit\n");
            fflush(kids[i].in);
            CHECK(waitpid(kids[i].pid, &status, 0) == kids[i].pid);
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            kids[i].pid = -1;
            children[i] = -1;
        }
        fclose(kids[i].in);
        fclose(kids[i].out);
    }
}

int main(int argc, char *argv[])
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "options") == 0) {
        test_options();
    } else if (argc >= 2 && strcmp(argv[1], "single") == 0) {
        test_single();
    } else if (argc >= 3 && strcmp(argv[1], "persist") == 0) {
        test_persist(argv[2]);
    } else if (argc >= 3 && strcmp(argv[1], "snapshot") == 0) {
        test_snapshot(argv[2]);
    } else if (argc >= 3 && strcmp(argv[1], "cluster") == 0) {
        signal(SIGPIPE, SIG_IGN);
        test_cluster(argv[0], argv[2]);
    } else if (argc >= 4 && strcmp(argv[1], "tls") == 0) {
        test_tls(argv[2], argv[3]);
    } else if (argc >= 5 && strcmp(argv[1], "node") == 0) {
        return run_node(argv[2], argv[3], argv[4]);
    } else {
        fprintf(stderr,
                "usage: %s options|single|persist DIR|snapshot DIR|cluster DIR|tls DIR MAKE_CERTS|"
                "node PORT PEERS DIR\n",
                argv[0]);
        return 2;
    }
    printf("PASS %s\n", argv[1]);
    return 0;
}
