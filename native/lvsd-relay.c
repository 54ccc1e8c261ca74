/*
 * lvsd-relay: the native TCP relay of lvsd's proxy engine.
 *
 * Listens on the TCP virtual services lvsd names, accepts, asks lvsd where each connection goes,
 * connects to that real server and relays both ways in one epoll loop (read/write through one
 * shared buffer; splice(2) through a pipe once a read in that direction fills the buffer, i.e.
 * bulk data). It knows nothing
 * of services or schedulers: lvsd keeps the table and picks, in arrival order. It reports state
 * changes, traffic counters and ends so the table stays exact. lvsd runs one helper per worker;
 * helpers listen with SO_REUSEPORT so the kernel spreads accepts. A separate process (not an
 * N-API addon) so it builds with a plain C compiler and a crash cannot take the daemon down.
 *
 * Usage: lvsd-relay CONNECT_TIMEOUT_MS
 * Exits when stdin closes (lvsd gone).
 *
 * Records from lvsd (little-endian; addresses network bytes): 32 bytes, then hlen bytes
 *   u8 type | u8 family(4|6) | u16 port | u32 a | u32 b | u16 hlen | u16 pad | u8 addr[16]
 *   1 LISTEN   a=listener id, b=backlog, family/port/addr = where
 *   2 UNLISTEN a=listener id
 *   3 PICK     a=slot, b=conn id (0: no destination, reset the client), target, header
 *   4 KILL     a=slot, b=conn id
 *   5 RETRY    a=slot, b=conn id, target (port 0: give up), header
 * Records to lvsd: 48 bytes
 *   u8 type | u8 arg | u16 port | u32 id | u32 x | u32 y | u64 inBytes | u64 outBytes | u8 addr[16]
 *   1 LISTEN   id=listener id, x=errno (0 ok); arg=1: the answer to UNLISTEN (closed)
 *   2 ACCEPT   id=slot, x=listener id, arg=family, port/addr = client
 *   3 STATE    id=conn id, arg=state (1 ESTABLISHED 2 FIN_WAIT 3 CLOSE_WAIT 4 TIME_WAIT 5 CLOSE)
 *   4 TRAFFIC  id=conn id, x=in packets, y=out packets, bytes (since the last report)
 *   5 END      id=conn id, arg=reason (1 closed 2 closed-no-reply 3 refused 4 connect-timeout
 *              5 client-reset 6 backend-reset 7 killed), x/y/bytes = last traffic,
 *              port = a STATE entered just before the end (0: none; one record instead of two)
 *   6 REFUSED  id=conn id (lvsd answers RETRY)
 *   7 ERROR    x=errno, arg=what (1 bad record from lvsd, 2 accept failed)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { IN_LISTEN = 1, IN_UNLISTEN, IN_PICK, IN_KILL, IN_RETRY };
enum { OUT_LISTEN = 1, OUT_ACCEPT, OUT_STATE, OUT_TRAFFIC, OUT_END, OUT_REFUSED, OUT_ERROR };
enum { ST_ESTABLISHED = 1, ST_FIN_WAIT, ST_CLOSE_WAIT, ST_TIME_WAIT, ST_CLOSE };
enum { END_CLOSED = 1, END_NO_REPLY, END_REFUSED, END_TIMEOUT, END_CLIENT_RESET, END_BACKEND_RESET, END_KILLED };
enum { PH_PICK, PH_CONNECTING, PH_RETRY, PH_RELAY };
enum { K_CLIENT, K_BACKEND, K_LISTENER, K_INPUT };

#define IN_HDR 32
#define OUT_REC 48
#define MAX_HEADER 512
#define BUF_SIZE (64 * 1024)
#define PIPE_SIZE (256 * 1024)
#define TRAFFIC_MS 500
#define GATHER_TURNS 1
/* STATE, TRAFFIC and END need no answer: they wait up to HOLD_MS (or HOLD_BYTES) for a record
 * lvsd must answer (ACCEPT, REFUSED, ...) and go out with it, so lvsd wakes once per batch of
 * accepts instead of once per helper turn; the table learns of them at most HOLD_MS late */
#define HOLD_MS 4
#define HOLD_BYTES (32 * 1024)
/* reads per direction per pump before other connections get a turn (edge-triggered: the rest is
 * taken from the again list, not from epoll) */
#define PUMP_READS 8

struct out_rec {
	uint8_t type, arg;
	uint16_t port;
	uint32_t id, x, y;
	uint64_t in_bytes, out_bytes;
	uint8_t addr[16];
} __attribute__((packed));

struct in_rec {
	uint8_t type, family;
	uint16_t port;
	uint32_t a, b;
	uint16_t hlen, pad;
	uint8_t addr[16];
} __attribute__((packed));

/* One socket of a relayed connection; pend holds what could not yet be written to it. */
struct side {
	int fd;
	int reg;           /* in epoll (edge-triggered, registered once for the socket's life) */
	int rready;        /* an edge said readable and no read since found it drained */
	int rdhup;         /* the peer's FIN has arrived (EPOLLRDHUP seen) */
	int err;           /* EPOLLERR seen */
	int eof;           /* read side ended (FIN received) */
	int shut;          /* write side shut down (FIN sent) */
	char *pend;
	uint32_t plen, poff;
	int pipe[2];       /* splice pipe carrying data INTO this side; -1 until bulk */
	int bulk;          /* a read towards this side filled the whole buffer: splice from now on */
	uint32_t pipelen;  /* bytes in that pipe */
	uint64_t moved;    /* bytes written into this side */
};

struct conn {
	uint32_t id, slot;
	int phase, retried, dirty, again;
	struct side c, b;
	uint32_t in_p, out_p;
	uint64_t in_b, out_b, total_out;
	int64_t deadline;
	struct conn *cnext, *cprev; /* connect-timeout list, oldest first */
};

struct listener {
	int fd;
	uint32_t id;
	int paused;
};

static int ep;
static long connect_timeout_ms;
static struct conn **slots;
static uint32_t nslots, *free_slots, nfree, *freed, nfreed;
static struct listener *listeners;
static uint32_t nlisteners;
static struct conn *conn_head, *conn_tail;
static uint32_t *dirty;
static uint32_t ndirty, dirty_cap;
static uint32_t *again, *again_run; /* slots with data still readable after their pump's share */
static uint32_t nagain, again_cap;
static char outbuf[256 * 1024];
static size_t outlen;
static int urgent;             /* a record lvsd answers is queued: send at the end of this turn */
static int64_t held_since = -1; /* when the oldest queued record was queued (-1: none) */
static int64_t loop_now;       /* ms, read once per loop turn */
static char inbuf[64 * 1024];
static size_t inlen;
static char iobuf[BUF_SIZE];

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void flush_out(void)
{
	size_t off = 0;
	while (off < outlen) {
		ssize_t n = write(1, outbuf + off, outlen - off);
		if (n < 0) {
			if (errno == EINTR) continue;
			exit(0); /* lvsd gone */
		}
		off += (size_t)n;
	}
	outlen = 0;
	urgent = 0;
	held_since = -1;
}

static struct out_rec *emit(uint8_t type, uint8_t arg, uint32_t id)
{
	if (outlen + OUT_REC > sizeof outbuf) flush_out();
	struct out_rec *r = (struct out_rec *)(outbuf + outlen);
	memset(r, 0, OUT_REC);
	r->type = type;
	r->arg = arg;
	r->id = id;
	outlen += OUT_REC;
	if (type != OUT_STATE && type != OUT_TRAFFIC && type != OUT_END) urgent = 1;
	if (held_since < 0) held_since = loop_now;
	return r;
}

static uint64_t tag(int kind, uint32_t idx) { return ((uint64_t)idx << 2) | (uint64_t)kind; }

/* Edge-triggered and registered once: the readiness a side had is kept in the side, so no
 * EPOLL_CTL_MOD is ever needed (2 epoll_ctl per connection instead of 4). */
static void watch(struct side *s, int kind, uint32_t slot)
{
	if (s->fd < 0 || s->reg) return;
	struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag(kind, slot) };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &e) == 0) s->reg = 1;
}

static void side_close(struct side *s, int reset)
{
	if (s->fd >= 0) {
		if (reset) {
			struct linger l = { 1, 0 };
			setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
		}
		close(s->fd); /* also leaves epoll */
		s->fd = -1;
	}
	s->reg = s->rready = s->rdhup = s->err = 0;
	free(s->pend);
	s->pend = NULL;
	s->plen = s->poff = 0;
	if (s->pipe[0] >= 0) {
		close(s->pipe[0]);
		close(s->pipe[1]);
		s->pipe[0] = s->pipe[1] = -1;
	}
}

static void unlink_connecting(struct conn *c)
{
	if (!c->cprev && conn_head != c) return;
	if (c->cprev) c->cprev->cnext = c->cnext; else conn_head = c->cnext;
	if (c->cnext) c->cnext->cprev = c->cprev; else conn_tail = c->cprev;
	c->cnext = c->cprev = NULL;
}

static void state(struct conn *c, int st) { emit(OUT_STATE, (uint8_t)st, c->id); }

static void traffic_into(struct out_rec *r, struct conn *c)
{
	r->x = c->in_p;
	r->y = c->out_p;
	r->in_bytes = c->in_b;
	r->out_bytes = c->out_b;
	c->in_p = c->out_p = 0;
	c->in_b = c->out_b = 0;
}

static void mark_dirty(struct conn *c)
{
	if (c->dirty) return;
	if (ndirty == dirty_cap) {
		dirty_cap = dirty_cap ? dirty_cap * 2 : 1024;
		dirty = realloc(dirty, dirty_cap * sizeof *dirty);
		if (!dirty) abort();
	}
	dirty[ndirty++] = c->slot;
	c->dirty = 1;
}

/* Ends a connection: reports it (with its last traffic) and frees its slot. A STATE record for
 * it that is still the last one queued becomes the END (its state carried in port). */
static void finish(struct conn *c, int reason, int reset_client, int reset_backend)
{
	if (c->id) {
		struct out_rec *last = outlen >= OUT_REC ? (struct out_rec *)(outbuf + outlen - OUT_REC) : NULL;
		struct out_rec *r;
		if (last && last->type == OUT_STATE && last->id == c->id) {
			r = last;
			r->type = OUT_END;
			r->port = r->arg;
			r->arg = (uint8_t)reason;
		} else {
			r = emit(OUT_END, (uint8_t)reason, c->id);
		}
		traffic_into(r, c);
	}
	unlink_connecting(c);
	side_close(&c->c, reset_client);
	side_close(&c->b, reset_backend);
	/* the slot is reused only after this epoll batch: a queued event may still name it */
	slots[c->slot] = NULL;
	freed[nfreed++] = c->slot;
	free(c);
}

static struct conn *new_conn(int fd)
{
	if (nfree == 0) {
		uint32_t n = nslots ? nslots * 2 : 1024;
		slots = realloc(slots, n * sizeof *slots);
		free_slots = realloc(free_slots, n * sizeof *free_slots);
		freed = realloc(freed, n * sizeof *freed);
		if (!slots || !free_slots || !freed) abort();
		for (uint32_t i = n; i > nslots; i--) {
			slots[i - 1] = NULL;
			free_slots[nfree++] = i - 1;
		}
		nslots = n;
	}
	struct conn *c = calloc(1, sizeof *c);
	if (!c) abort();
	c->slot = free_slots[--nfree];
	slots[c->slot] = c;
	c->c.fd = fd;
	c->b.fd = -1;
	c->c.pipe[0] = c->c.pipe[1] = c->b.pipe[0] = c->b.pipe[1] = -1;
	return c;
}

static void mark_again(struct conn *c)
{
	if (c->again) return;
	if (nagain == again_cap) {
		again_cap = again_cap ? again_cap * 2 : 1024;
		again = realloc(again, again_cap * sizeof *again);
		again_run = realloc(again_run, again_cap * sizeof *again_run);
		if (!again || !again_run) abort();
	}
	again[nagain++] = c->slot;
	c->again = 1;
}

/* After a direction drained: pass on a FIN, and end the connection once both ways are done. */
static int check_done(struct conn *c)
{
	struct side *pairs[2][2] = { { &c->c, &c->b }, { &c->b, &c->c } };
	if (c->c.eof && c->b.eof && !c->c.plen && !c->b.plen && !c->c.pipelen && !c->b.pipelen) {
		/* both ways ended and flushed: close(2) sends the FINs, no shutdown needed */
		finish(c, c->total_out == 0 ? END_NO_REPLY : END_CLOSED, 0, 0);
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		struct side *src = pairs[i][0], *dst = pairs[i][1];
		if (src->eof && !dst->shut && dst->plen == 0 && dst->pipelen == 0) {
			shutdown(dst->fd, SHUT_WR);
			dst->shut = 1;
		}
	}
	if (c->c.eof && c->b.eof && c->c.shut && c->b.shut) {
		finish(c, c->total_out == 0 ? END_NO_REPLY : END_CLOSED, 0, 0);
		return 1;
	}
	return 0;
}

static void fail_side(struct conn *c, int is_client)
{
	state(c, ST_CLOSE);
	if (is_client) finish(c, END_CLIENT_RESET, 0, 1);
	else finish(c, END_BACKEND_RESET, 1, 0);
}

/* Writes what is pending (buffer, then splice pipe) into dst. 0 ok (maybe partial), -1 error. */
static int write_pending(struct side *dst)
{
	while (dst->plen > dst->poff) {
		ssize_t n = write(dst->fd, dst->pend + dst->poff, dst->plen - dst->poff);
		if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		dst->poff += (uint32_t)n;
		dst->moved += (uint64_t)n;
	}
	if (dst->pend) {
		free(dst->pend);
		dst->pend = NULL;
		dst->plen = dst->poff = 0;
	}
	while (dst->pipelen > 0) {
		ssize_t n = splice(dst->pipe[0], NULL, dst->fd, NULL, dst->pipelen, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		if (n == 0) break;
		dst->pipelen -= (uint32_t)n;
		dst->moved += (uint64_t)n;
	}
	return 0;
}

static void keep_pending(struct side *dst, const char *p, size_t n)
{
	dst->pend = malloc(n);
	if (!dst->pend) abort();
	memcpy(dst->pend, p, n);
	dst->plen = (uint32_t)n;
	dst->poff = 0;
}

/* src (client if from_client) sent its FIN: report it and pass it on. Returns 1 if c was freed. */
static int src_ended(struct conn *c, int from_client)
{
	struct side *src = from_client ? &c->c : &c->b;
	src->eof = 1;
	if (from_client) state(c, c->b.eof ? ST_TIME_WAIT : ST_FIN_WAIT);
	else state(c, c->c.eof ? ST_TIME_WAIT : ST_CLOSE_WAIT);
	return check_done(c);
}

/* One read from src (client if from_client) relayed into dst. With src->rdhup (the peer's FIN
 * had arrived) a read(2) shorter than asked drained it (no read of 0 needed); without, a short
 * read still drained the socket's queue for now: the next arrival is a new edge.
 * Returns 1 if c was freed. */
static int relay(struct conn *c, int from_client)
{
	struct side *src = from_client ? &c->c : &c->b, *dst = from_client ? &c->b : &c->c;
	ssize_t n;
	int spliced = 0;
	if (dst->plen || dst->pipelen) return 0; /* earlier bytes first: never reorder */
	if (dst->bulk && dst->pipe[0] < 0) {
		if (pipe2(dst->pipe, O_NONBLOCK | O_CLOEXEC) == 0) fcntl(dst->pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
		else dst->pipe[0] = dst->pipe[1] = -1;
	}
	if (dst->pipe[0] >= 0) {
		n = splice(src->fd, NULL, dst->pipe[1], NULL, PIPE_SIZE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		spliced = 1;
	} else {
		n = read(src->fd, iobuf, sizeof iobuf);
		/* small messages (keep-alive requests) stay cheaper with read/write than two splices */
		if (n == (ssize_t)sizeof iobuf) dst->bulk = 1;
	}
	if (n < 0) {
		if (errno == EAGAIN) src->rready = 0;
		if (errno == EAGAIN || errno == EINTR) return 0;
		fail_side(c, from_client);
		return 1;
	}
	if (n == 0) return src_ended(c, from_client);
	if (from_client) {
		c->in_p++;
		c->in_b += (uint64_t)n;
	} else {
		c->out_p++;
		c->out_b += (uint64_t)n;
		c->total_out += (uint64_t)n;
	}
	mark_dirty(c);
	if (spliced) {
		dst->pipelen += (uint32_t)n;
		if (write_pending(dst) < 0) {
			fail_side(c, !from_client);
			return 1;
		}
	} else {
		ssize_t w = write(dst->fd, iobuf, (size_t)n);
		if (w < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				fail_side(c, !from_client);
				return 1;
			}
			w = 0;
		}
		dst->moved += (uint64_t)w;
		if (w < n) keep_pending(dst, iobuf + w, (size_t)(n - w));
		/* TCP returns less than asked only once its receive queue is empty (not so for splice,
		 * which can stop at a full pipe) */
		if (n < (ssize_t)sizeof iobuf) {
			if (src->rdhup) return src_ended(c, from_client);
			src->rready = 0;
		}
	}
	return 0;
}

static int sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
	return err;
}

static void give_up(struct conn *c, int reason)
{
	state(c, ST_CLOSE);
	finish(c, reason, 1, 0);
}

static int parse_target(const struct in_rec *r, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	if (r->family == 4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(r->port);
		memcpy(&a->sin_addr, r->addr, 4);
		*len = sizeof *a;
		return 0;
	}
	if (r->family == 6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(r->port);
		memcpy(&a->sin6_addr, r->addr, 16);
		*len = sizeof *a;
		return 0;
	}
	return -1;
}

static void connect_failed(struct conn *c);
static int pump(struct conn *c);

/* Starts connecting c to the target; the header (PROXY protocol) goes first once connected. */
static void start_connect(struct conn *c, const struct in_rec *r, const char *header)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_target(r, &ss, &len) < 0) {
		give_up(c, END_REFUSED);
		return;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		give_up(c, END_REFUSED);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->b.fd = fd;
	c->b.eof = c->b.shut = 0;
	c->b.rready = c->b.rdhup = c->b.err = 0;
	if (r->hlen) keep_pending(&c->b, header, r->hlen);
	c->phase = PH_CONNECTING;
	c->deadline = now_ms() + connect_timeout_ms;
	c->cprev = conn_tail;
	c->cnext = NULL;
	if (conn_tail) conn_tail->cnext = c; else conn_head = c;
	conn_tail = c;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		connect_failed(c); /* refused at once (e.g. unreachable) */
		return;
	}
	/* the backend's first edge (EPOLLOUT) says connected; the client's readiness meanwhile is
	 * kept in its side and used once it is */
	watch(&c->b, K_BACKEND, c->slot);
	watch(&c->c, K_CLIENT, c->slot);
}

static void connect_failed(struct conn *c)
{
	unlink_connecting(c);
	side_close(&c->b, 0);
	if (!c->retried) {
		c->retried = 1;
		c->phase = PH_RETRY;
		emit(OUT_REFUSED, 0, c->id);
		return;
	}
	give_up(c, END_REFUSED);
}

static void connected(struct conn *c, uint32_t ev)
{
	/* a failed connect always shows EPOLLERR or EPOLLHUP: only then ask why (one syscall less) */
	if ((ev & (EPOLLERR | EPOLLHUP)) && sock_error(c->b.fd)) {
		connect_failed(c);
		return;
	}
	unlink_connecting(c);
	c->phase = PH_RELAY;
	state(c, ST_ESTABLISHED);
	if (c->b.plen && write_pending(&c->b) < 0) {
		fail_side(c, 0);
		return;
	}
	pump(c);
}

/* Moves what can move, both ways, until each way waits for an edge (or took its share of reads:
 * then it goes on the again list). Returns 1 if c was freed. */
static int pump(struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		int from_client = i == 0;
		struct side *src = from_client ? &c->c : &c->b, *dst = from_client ? &c->b : &c->c;
		int reads = 0;
		while (src->rready && !src->eof && !dst->plen && !dst->pipelen) {
			if (reads++ == PUMP_READS) {
				mark_again(c);
				break;
			}
			if (relay(c, from_client)) return 1;
		}
	}
	return 0;
}

static void on_side(struct conn *c, int is_client, uint32_t ev)
{
	struct side *s = is_client ? &c->c : &c->b;
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR)) s->rready = 1;
	if (ev & EPOLLRDHUP) s->rdhup = 1;
	if (ev & EPOLLERR) s->err = 1;
	if (!is_client && c->phase == PH_CONNECTING) {
		connected(c, ev);
		return;
	}
	if (c->phase != PH_RELAY) return; /* kept in the side until the backend is connected */
	if (s->err) {
		/* a reset: what arrived before it is still passed on (read until the error shows) */
		struct side *dst = is_client ? &c->b : &c->c;
		while (!s->eof && !dst->plen && !dst->pipelen && s->rready)
			if (relay(c, is_client)) return;
		fail_side(c, is_client);
		return;
	}
	if (ev & EPOLLOUT) {
		if (write_pending(s) < 0) {
			fail_side(c, is_client);
			return;
		}
		if (check_done(c)) return;
	}
	pump(c);
}

static void on_accept(struct listener *l)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: stop accepting until the next tick */
				struct epoll_event e = { .events = 0, .data.u64 = tag(K_LISTENER, l->id) };
				epoll_ctl(ep, EPOLL_CTL_MOD, l->fd, &e);
				l->paused = 1;
				emit(OUT_ERROR, 2, 0)->x = (uint32_t)errno;
			}
			return;
		}
		struct conn *c = new_conn(fd); /* TCP_NODELAY comes from the listener */
		struct out_rec *r = emit(OUT_ACCEPT, 4, c->slot);
		r->x = l->id;
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			r->arg = 6;
			r->port = ntohs(a->sin6_port);
			memcpy(r->addr, &a->sin6_addr, 16);
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			r->port = ntohs(a->sin_port);
			memcpy(r->addr, &a->sin_addr, 4);
		}
	}
}

static struct listener *find_listener(uint32_t id)
{
	for (uint32_t i = 0; i < nlisteners; i++)
		if (listeners[i].fd >= 0 && listeners[i].id == id) return &listeners[i];
	return NULL;
}

static void do_listen(const struct in_rec *r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct out_rec *o = emit(OUT_LISTEN, 0, r->a);
	if (parse_target(r, &ss, &len) < 0) {
		o->x = EINVAL;
		return;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0) {
		o->x = (uint32_t)errno;
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* inherited by accepted sockets */
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, (int)(r->b ? r->b : 511)) < 0) {
		o->x = (uint32_t)errno;
		close(fd);
		return;
	}
	uint32_t i = 0;
	while (i < nlisteners && listeners[i].fd >= 0) i++;
	if (i == nlisteners) {
		listeners = realloc(listeners, ++nlisteners * sizeof *listeners);
		if (!listeners) abort();
	}
	listeners[i].fd = fd;
	listeners[i].id = r->a;
	listeners[i].paused = 0;
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = tag(K_LISTENER, r->a) };
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static struct conn *conn_for(const struct in_rec *r, int phase)
{
	if (r->a >= nslots || !slots[r->a]) return NULL;
	struct conn *c = slots[r->a];
	if (phase == PH_PICK) return c->phase == PH_PICK && c->id == 0 ? c : NULL;
	return c->id == r->b && (phase < 0 || c->phase == phase) ? c : NULL;
}

static void bad_record(void) { emit(OUT_ERROR, 1, 0)->x = EINVAL; }

static void on_record(const struct in_rec *r, const char *header)
{
	struct conn *c;
	struct listener *l;
	switch (r->type) {
	case IN_LISTEN:
		do_listen(r);
		return;
	case IN_UNLISTEN:
		if ((l = find_listener(r->a))) {
			close(l->fd);
			l->fd = -1;
		}
		emit(OUT_LISTEN, 1, r->a); /* closed: lvsd waits for this before saying so */
		return;
	case IN_PICK:
		if (!(c = conn_for(r, PH_PICK))) return; /* stale: the client may have gone */
		if (r->b == 0) {
			finish(c, 0, 1, 0); /* no destination: reset, nothing to report */
			return;
		}
		c->id = r->b;
		start_connect(c, r, header);
		return;
	case IN_RETRY:
		if (!(c = conn_for(r, PH_RETRY))) return;
		if (r->port == 0) give_up(c, END_REFUSED);
		else start_connect(c, r, header);
		return;
	case IN_KILL:
		if (!(c = conn_for(r, -1)) || c->phase == PH_PICK) return;
		state(c, ST_CLOSE);
		finish(c, END_KILLED, 1, 1);
		return;
	default:
		bad_record();
	}
}

static void on_input(void)
{
	for (;;) {
		ssize_t n = read(0, inbuf + inlen, sizeof inbuf - inlen);
		if (n == 0) { /* lvsd gone (or stopping): report what is done, then leave */
			flush_out();
			exit(0);
		}
		if (n < 0) {
			if (errno == EINTR) continue;
			if (errno == EAGAIN) break;
			exit(0);
		}
		inlen += (size_t)n;
		size_t off = 0;
		while (inlen - off >= IN_HDR) {
			struct in_rec r;
			memcpy(&r, inbuf + off, IN_HDR);
			if (r.hlen > MAX_HEADER) {
				/* the stream cannot be trusted past this point: let lvsd restart us */
				bad_record();
				flush_out();
				exit(3);
			}
			if (inlen - off < IN_HDR + (size_t)r.hlen) break;
			on_record(&r, inbuf + off + IN_HDR);
			off += IN_HDR + r.hlen;
		}
		memmove(inbuf, inbuf + off, inlen - off);
		inlen -= off;
	}
}

static void tick(int64_t now)
{
	static int64_t last_traffic;
	while (conn_head && conn_head->deadline <= now) {
		struct conn *c = conn_head;
		unlink_connecting(c);
		give_up(c, END_TIMEOUT);
	}
	if (now - last_traffic >= TRAFFIC_MS) {
		last_traffic = now;
		for (uint32_t i = 0; i < ndirty; i++) {
			struct conn *c = slots[dirty[i]];
			if (!c || !c->dirty) continue;
			c->dirty = 0;
			if (c->id && (c->in_p || c->out_p)) traffic_into(emit(OUT_TRAFFIC, 0, c->id), c);
		}
		ndirty = 0;
		for (uint32_t i = 0; i < nlisteners; i++) {
			struct listener *l = &listeners[i];
			if (l->fd < 0 || !l->paused) continue;
			struct epoll_event e = { .events = EPOLLIN, .data.u64 = tag(K_LISTENER, l->id) };
			epoll_ctl(ep, EPOLL_CTL_MOD, l->fd, &e);
			l->paused = 0;
		}
	}
}

int main(int argc, char **argv)
{
	connect_timeout_ms = argc > 1 ? atol(argv[1]) : 5000;
	if (connect_timeout_ms <= 0) connect_timeout_ms = 5000;
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) return 2;
	struct epoll_event ie = { .events = EPOLLIN, .data.u64 = tag(K_INPUT, 0) };
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ie);
	struct epoll_event evs[256];
	int gathered = 0;
	for (;;) {
		int64_t now = loop_now = now_ms();
		int timeout = TRAFFIC_MS;
		if (conn_head) {
			int64_t d = conn_head->deadline - now;
			if (d < timeout) timeout = d < 0 ? 0 : (int)d;
		}
		if (nagain) timeout = 0;
		int due = outlen && (urgent || now - held_since >= HOLD_MS || outlen >= HOLD_BYTES);
		if (outlen && !due && held_since + HOLD_MS - now < timeout) timeout = (int)(held_since + HOLD_MS - now);
		int n = 0;
		/* Before records go out, take once more what arrived meanwhile (without waiting): under
		 * load lvsd then wakes up for fewer, larger batches. */
		if (due && gathered < GATHER_TURNS) {
			n = epoll_wait(ep, evs, 256, 0);
			gathered++;
		}
		if (n <= 0) {
			if (due) flush_out();
			gathered = 0;
			n = epoll_wait(ep, evs, 256, timeout);
		}
		if (n < 0 && errno != EINTR) return 2;
		loop_now = now_ms();
		for (int i = 0; i < n; i++) {
			uint64_t t = evs[i].data.u64;
			uint32_t idx = (uint32_t)(t >> 2);
			switch ((int)(t & 3)) {
			case K_INPUT:
				on_input();
				break;
			case K_LISTENER: {
				struct listener *l = find_listener(idx);
				if (l) on_accept(l);
				break;
			}
			default:
				/* a slot freed earlier in this batch (or reused) is skipped by the fd check */
				if (idx < nslots && slots[idx]) {
					struct conn *c = slots[idx];
					on_side(c, (t & 3) == K_CLIENT, evs[i].events);
				}
			}
		}
		/* connections that had more to read than one pump's share: their turn again (their
		 * edges are spent, epoll will not report them) */
		uint32_t nag = nagain, *run = again;
		again = again_run; /* a pump below may list its connection again: for the next turn */
		again_run = run;
		nagain = 0;
		for (uint32_t i = 0; i < nag; i++) {
			struct conn *c = run[i] < nslots ? slots[run[i]] : NULL;
			if (!c || !c->again) continue;
			c->again = 0;
			if (c->phase == PH_RELAY) pump(c);
		}
		tick(now_ms());
		while (nfreed) free_slots[nfree++] = freed[--nfreed];
	}
}
