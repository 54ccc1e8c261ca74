/*
 * lvsd-nfq: the only native part of lvsd's nft forwarding engine.
 *
 * Binds one NFQUEUE, and for every queued packet (only the first packet of a new connection
 * reaches the queue) writes a fixed 56-byte record to stdout; reads fixed 12-byte verdict
 * records from stdin and hands them to the kernel (accept + mark, or drop). It knows nothing
 * about services or schedulers: lvsd decides. A separate process rather than an N-API addon so
 * that it builds with a plain C compiler (no node headers), a crash cannot take the daemon down,
 * and lvsd's event loop never blocks on netlink.
 *
 * This kernel has nft_queue compiled out but keeps xtables' NFQUEUE target, which nf_tables can
 * call through nft_compat; nft(8) cannot write such a rule, so this helper installs it itself:
 * one rule in lvsd's own chain `inet lvsd nfqueue` (the rest of the ruleset is nft -f text).
 *
 * With CTMARK/CTMASK it also reads conntrack's events (the NEW, UPDATE and DESTROY groups) and
 * forwards those of lvsd's flows ((ct mark & CTMASK) == CTMARK) as fixed binary records: lvsd
 * then needs no `conntrack -E` process and parses no text per state change.
 *
 * Usage: lvsd-nfq QUEUE_NUM MAXLEN fail-open|fail-closed [CTMARK/CTMASK]
 * Exits when stdin closes (lvsd gone): the kernel then applies the rule's bypass/drop policy.
 *
 * Records to lvsd (little-endian host order except addresses, which are network bytes); the
 * type says the size:
 *   type 1, packet (56 bytes):
 *   u32 type(=1) | u32 id | u8 family(4|6) | u8 l4proto | u8 flags | u8 pad | u32 mark |
 *   u16 sport | u16 dport | u8 saddr[16] | u8 daddr[16] | u32 pad
 *   flags: 1 = TCP SYN, 2 = TCP ACK, 4 = fragment, 8 = truncated/unparsable
 *   type 2, ready (56 bytes of which only the type counts)
 *   type 3, conntrack event (96 bytes), the original direction's tuple:
 *   u32 type(=3) | u32 ct id | u8 family | u8 l4proto | u8 event(1 new, 2 update, 3 destroy) |
 *   u8 tcp state (conntrack's enum; 255 = not in the event) | u32 mark | u16 sport | u16 dport |
 *   u8 saddr[16] | u8 daddr[16] | u32 timeout (s) | u32 status (IPS_*) | u32 pad |
 *   u64 orig packets | u64 orig bytes | u64 reply packets | u64 reply bytes (DESTROY only, else 0)
 *   type 4, events lost (56 bytes): u32 type | u32 count of ENOBUFS since the last one
 * Record from lvsd: u32 id | u32 verdict (0 drop, 1 accept) | u32 mark (0 = leave mark)
 */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/filter.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_compat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define REC_OUT 56
#define REC_IN 12

static struct mnl_socket *nl;
static unsigned queue_num;
/* Conntrack events (NULL when not asked for) and the mark/mask naming lvsd's flows. */
static struct mnl_socket *ct;
static uint32_t ct_mark, ct_mask;
static uint32_t ct_lost;

struct out_rec {
	uint32_t type, id;
	uint8_t family, l4proto, flags, pad;
	uint32_t mark;
	uint16_t sport, dport;
	uint8_t saddr[16], daddr[16];
	uint32_t pad2;
} __attribute__((packed));

static void write_all(const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(1, p, len);
		if (n < 0) {
			if (errno == EINTR) continue;
			exit(0); /* lvsd gone */
		}
		p += n;
		len -= (size_t)n;
	}
}

/*
 * Under load, one wake-up brings several packets and several verdicts: records for lvsd are
 * gathered and written once, and verdicts go to the kernel as one buffer of netlink messages
 * (one sendto), instead of a system call each.
 */
struct ct_rec {
	uint32_t type, id;
	uint8_t family, l4proto, event, tcp_state;
	uint32_t mark;
	uint16_t sport, dport;
	uint8_t saddr[16], daddr[16];
	uint32_t timeout, status, pad;
	uint64_t orig_packets, orig_bytes, reply_packets, reply_bytes;
} __attribute__((packed));

_Static_assert(sizeof(struct out_rec) == REC_OUT, "packet record size");
_Static_assert(sizeof(struct ct_rec) == 96, "conntrack record size");

/*
 * Records for lvsd, written once per wake-up. Events and packets are gathered apart and the
 * events go first: conntrack destroys an old entry (a SYN on a TIME_WAIT tuple) before the new
 * flow's packet is queued, so reading the event socket after the queue finds that DESTROY, and
 * lvsd sees it before the pick that reuses the tuple.
 */
static uint8_t evbuf[96 * 512], pktbuf[REC_OUT * 512];
static size_t evlen, pktlen;
static char vbuf[8192];
static size_t vlen;

/*
 * A packet waits for lvsd's verdict, so its record goes out at the end of the wake-up that read
 * it. Conntrack events only update lvsd's view of the flows: they wait up to EVENT_DELAY_MS for
 * company (a packet record, or more events), so that a flow's six or seven state changes do not
 * cost lvsd and the helper a wake-up each.
 */
#define EVENT_DELAY_MS 10
static int64_t events_due = -1;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A flow's pending record (NEW or UPDATE) by conntrack id, for this flush only: a later state
 * change of the same flow before the flush is folded into it instead of appended, so lvsd
 * handles one record per flow and flush rather than each intermediate state (the last state,
 * timeout and status are what its table needs). A DESTROY is always a record of its own.
 */
#define PENDING_SLOTS 1024 /* twice the records evbuf holds: probes stay short */
static struct { uint32_t id, off, gen; } pending[PENDING_SLOTS];
static uint32_t pending_gen = 1;
#define NO_MERGE UINT32_MAX

static unsigned pending_slot(uint32_t id)
{
	unsigned i = (id * 2654435761u) & (PENDING_SLOTS - 1);
	while (pending[i].gen == pending_gen && pending[i].id != id) i = (i + 1) & (PENDING_SLOTS - 1);
	return i;
}

static void flush_records(void)
{
	if (++pending_gen == 0) { /* wrapped: forget every slot */
		memset(pending, 0, sizeof pending);
		pending_gen = 1;
	}
	if (evlen && pktlen && evlen + pktlen <= sizeof evbuf) {
		memcpy(evbuf + evlen, pktbuf, pktlen); /* one write for both */
		evlen += pktlen;
		pktlen = 0;
	}
	if (evlen) write_all(evbuf, evlen);
	if (pktlen) write_all(pktbuf, pktlen);
	evlen = pktlen = 0;
	events_due = -1;
}

static void emit_event(const void *r, size_t len)
{
	if (evlen + len > sizeof evbuf) flush_records();
	memcpy(evbuf + evlen, r, len);
	evlen += len;
}

static void emit_packet(const void *r, size_t len)
{
	if (pktlen + len > sizeof pktbuf) flush_records();
	memcpy(pktbuf + pktlen, r, len);
	pktlen += len;
}

static void flush_verdicts(void)
{
	if (vlen && mnl_socket_sendto(nl, vbuf, vlen) < 0) perror("lvsd-nfq: verdict");
	vlen = 0;
}

/* A verdict message is < 64 bytes (header, verdict and mark attributes). */
static void put_verdict(uint32_t id, uint32_t verdict, uint32_t mark)
{
	if (vlen + 128 > sizeof vbuf) flush_verdicts();
	struct nlmsghdr *nlh = nfq_nlmsg_put(vbuf + vlen, NFQNL_MSG_VERDICT, queue_num);
	nfq_nlmsg_verdict_put(nlh, (int)id, verdict ? NF_ACCEPT : NF_DROP);
	if (verdict && mark) nfq_nlmsg_verdict_put_mark(nlh, mark);
	vlen += NLMSG_ALIGN(nlh->nlmsg_len);
}

/*
 * Up to `rounds` recvmmsg calls of BATCH datagrams each, without blocking: the datagrams from the
 * kernel (not another process) go to `cb`. Returns -1 with errno on a failure other than EAGAIN/EINTR, ENOBUFS (counted
 * in *lost: the socket overflowed) or a datagram too large (skipped).
 */
#define BATCH 32
#define SLOT 8192
static int recv_batch(struct mnl_socket *sock, mnl_cb_t cb, unsigned portid, int rounds, uint32_t *lost)
{
	static char slots[BATCH][SLOT];
	static struct sockaddr_nl addrs[BATCH];
	static struct iovec iovs[BATCH];
	static struct mmsghdr msgs[BATCH];
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < BATCH; i++) {
			iovs[i] = (struct iovec){ slots[i], SLOT };
			msgs[i].msg_hdr = (struct msghdr){ &addrs[i], sizeof addrs[i], &iovs[i], 1, NULL, 0, 0 };
		}
		int n = recvmmsg(mnl_socket_get_fd(sock), msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
			if (errno == EINTR) continue;
			if (errno == ENOBUFS) { if (lost) (*lost)++; continue; }
			return -1;
		}
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &msgs[i].msg_hdr;
			if (h->msg_flags & MSG_TRUNC) continue;
			if (h->msg_namelen != sizeof addrs[i] || addrs[i].nl_pid != 0) continue; /* not the kernel */
			mnl_cb_run(slots[i], msgs[i].msg_len, 0, portid, cb, NULL);
		}
		if (n < BATCH) return 0;
	}
	return 0;
}

static void parse_l4(struct out_rec *r, const uint8_t *l4, size_t len)
{
	if (r->l4proto != IPPROTO_TCP && r->l4proto != IPPROTO_UDP) return;
	if (len < 4) { r->flags |= 8; return; }
	r->sport = (uint16_t)((l4[0] << 8) | l4[1]);
	r->dport = (uint16_t)((l4[2] << 8) | l4[3]);
	if (r->l4proto == IPPROTO_TCP) {
		if (len < 14) { r->flags |= 8; return; }
		if (l4[13] & 0x02) r->flags |= 1;
		if (l4[13] & 0x10) r->flags |= 2;
	}
}

static void parse_packet(struct out_rec *r, const uint8_t *p, size_t len)
{
	if (len < 1) { r->flags |= 8; return; }
	unsigned v = p[0] >> 4;
	if (v == 4) {
		size_t ihl = (size_t)(p[0] & 0x0f) * 4;
		if (len < 20 || ihl < 20 || len < ihl) { r->flags |= 8; return; }
		r->family = 4;
		r->l4proto = p[9];
		memcpy(r->saddr, p + 12, 4);
		memcpy(r->daddr, p + 16, 4);
		uint16_t frag = (uint16_t)((p[6] << 8) | p[7]);
		if (frag & 0x3fff) r->flags |= 4;
		if ((frag & 0x1fff) == 0) parse_l4(r, p + ihl, len - ihl);
	} else if (v == 6) {
		if (len < 40) { r->flags |= 8; return; }
		r->family = 6;
		memcpy(r->saddr, p + 8, 16);
		memcpy(r->daddr, p + 24, 16);
		/* Walk the common extension headers; conntrack has already reassembled fragments. */
		uint8_t nh = p[6];
		size_t off = 40;
		for (int i = 0; i < 8; i++) {
			if (nh == 0 || nh == 43 || nh == 60) {
				if (len < off + 8) { r->flags |= 8; return; }
				nh = p[off];
				off += ((size_t)p[off + 1] + 1) * 8;
			} else if (nh == 44) {
				if (len < off + 8) { r->flags |= 8; return; }
				r->flags |= 4;
				nh = p[off];
				off += 8;
			} else break;
		}
		r->l4proto = nh;
		if (off <= len) parse_l4(r, p + off, len - off);
		else r->flags |= 8;
	} else {
		r->flags |= 8;
	}
}

static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	(void)data;
	struct nlattr *attr[NFQA_MAX + 1] = {0};
	if (nfq_nlmsg_parse(nlh, attr) < 0) return MNL_CB_OK;
	if (!attr[NFQA_PACKET_HDR]) return MNL_CB_OK;
	struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	struct out_rec r;
	memset(&r, 0, sizeof r);
	r.type = 1;
	r.id = ntohl(ph->packet_id);
	if (attr[NFQA_MARK]) r.mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (attr[NFQA_PAYLOAD])
		parse_packet(&r, mnl_attr_get_payload(attr[NFQA_PAYLOAD]), mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]));
	else
		r.flags |= 8;
	emit_packet(&r, sizeof r);
	return MNL_CB_OK;
}

/* Attribute table of one nest (or of a message after its nfgenmsg), unknown types skipped. */
struct attrs { const struct nlattr *a[CTA_MAX + 1]; unsigned max; };

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *t = data;
	unsigned type = mnl_attr_get_type(attr);
	if (type <= t->max) t->a[type] = attr;
	return MNL_CB_OK;
}

static void nest(const struct nlattr *attr, struct attrs *t, unsigned max)
{
	memset(t, 0, sizeof *t);
	t->max = max;
	if (attr) mnl_attr_parse_nested(attr, attr_cb, t);
}

static uint32_t be32(const struct nlattr *a) { return a && mnl_attr_get_payload_len(a) >= 4 ? ntohl(mnl_attr_get_u32(a)) : 0; }

static uint64_t be64(const struct nlattr *a)
{
	if (!a || mnl_attr_get_payload_len(a) < 8) return 0;
	uint64_t v;
	memcpy(&v, mnl_attr_get_payload(a), 8);
	return be64toh(v);
}

static void copy_addr(uint8_t *dst, const struct nlattr *a, size_t len)
{
	if (a && mnl_attr_get_payload_len(a) >= len) memcpy(dst, mnl_attr_get_payload(a), len);
}

static void counters(const struct nlattr *a, uint64_t *packets, uint64_t *bytes)
{
	struct attrs c;
	nest(a, &c, CTA_COUNTERS_MAX);
	*packets = be64(c.a[CTA_COUNTERS_PACKETS]);
	*bytes = be64(c.a[CTA_COUNTERS_BYTES]);
}

/* One conntrack event: forwarded when its mark is lvsd's and its tuple is TCP or UDP. */
static int on_ct_event(const struct nlmsghdr *nlh, void *data)
{
	(void)data;
	uint8_t type = nlh->nlmsg_type & 0xff;
	if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK) return MNL_CB_OK;
	if (type != IPCTNL_MSG_CT_NEW && type != IPCTNL_MSG_CT_DELETE) return MNL_CB_OK;
	struct attrs m;
	memset(&m, 0, sizeof m);
	m.max = CTA_MAX;
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, &m) < 0) return MNL_CB_OK;
	uint32_t mark = be32(m.a[CTA_MARK]);
	if ((mark & ct_mask) != ct_mark) return MNL_CB_OK;
	struct ct_rec r;
	memset(&r, 0, sizeof r);
	r.type = 3;
	r.mark = mark;
	r.id = be32(m.a[CTA_ID]);
	r.event = type == IPCTNL_MSG_CT_DELETE ? 3 : (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) ? 1 : 2;
	r.tcp_state = 255;
	struct attrs tuple, ip, proto;
	nest(m.a[CTA_TUPLE_ORIG], &tuple, CTA_TUPLE_MAX);
	nest(tuple.a[CTA_TUPLE_IP], &ip, CTA_IP_MAX);
	nest(tuple.a[CTA_TUPLE_PROTO], &proto, CTA_PROTO_MAX);
	if (ip.a[CTA_IP_V4_SRC]) {
		r.family = 4;
		copy_addr(r.saddr, ip.a[CTA_IP_V4_SRC], 4);
		copy_addr(r.daddr, ip.a[CTA_IP_V4_DST], 4);
	} else if (ip.a[CTA_IP_V6_SRC]) {
		r.family = 6;
		copy_addr(r.saddr, ip.a[CTA_IP_V6_SRC], 16);
		copy_addr(r.daddr, ip.a[CTA_IP_V6_DST], 16);
	} else {
		return MNL_CB_OK;
	}
	if (!proto.a[CTA_PROTO_NUM] || mnl_attr_get_payload_len(proto.a[CTA_PROTO_NUM]) < 1) return MNL_CB_OK;
	r.l4proto = mnl_attr_get_u8(proto.a[CTA_PROTO_NUM]);
	if (r.l4proto != IPPROTO_TCP && r.l4proto != IPPROTO_UDP) return MNL_CB_OK;
	if (proto.a[CTA_PROTO_SRC_PORT] && mnl_attr_get_payload_len(proto.a[CTA_PROTO_SRC_PORT]) >= 2)
		r.sport = ntohs(mnl_attr_get_u16(proto.a[CTA_PROTO_SRC_PORT]));
	if (proto.a[CTA_PROTO_DST_PORT] && mnl_attr_get_payload_len(proto.a[CTA_PROTO_DST_PORT]) >= 2)
		r.dport = ntohs(mnl_attr_get_u16(proto.a[CTA_PROTO_DST_PORT]));
	r.timeout = be32(m.a[CTA_TIMEOUT]);
	r.status = be32(m.a[CTA_STATUS]);
	if (m.a[CTA_PROTOINFO]) {
		struct attrs pi, tcp;
		nest(m.a[CTA_PROTOINFO], &pi, CTA_PROTOINFO_MAX);
		nest(pi.a[CTA_PROTOINFO_TCP], &tcp, CTA_PROTOINFO_TCP_MAX);
		if (tcp.a[CTA_PROTOINFO_TCP_STATE] && mnl_attr_get_payload_len(tcp.a[CTA_PROTOINFO_TCP_STATE]) >= 1)
			r.tcp_state = mnl_attr_get_u8(tcp.a[CTA_PROTOINFO_TCP_STATE]);
	}
	uint64_t c[4];
	counters(m.a[CTA_COUNTERS_ORIG], &c[0], &c[1]);
	counters(m.a[CTA_COUNTERS_REPLY], &c[2], &c[3]);
	r.orig_packets = c[0];
	r.orig_bytes = c[1];
	r.reply_packets = c[2];
	r.reply_bytes = c[3];
	unsigned slot = pending_slot(r.id);
	if (pending[slot].gen == pending_gen && pending[slot].off != NO_MERGE && r.event != 3) {
		struct ct_rec *p = (struct ct_rec *)(evbuf + pending[slot].off);
		if (r.tcp_state != 255) p->tcp_state = r.tcp_state;
		p->timeout = r.timeout;
		p->status = r.status;
		return MNL_CB_OK;
	}
	emit_event(&r, sizeof r); /* may flush, which empties the table */
	slot = pending_slot(r.id);
	pending[slot].id = r.id;
	pending[slot].gen = pending_gen;
	pending[slot].off = r.event == 3 ? NO_MERGE : (uint32_t)(evlen - sizeof r);
	return MNL_CB_OK;
}

/*
 * Kernel-side filter: only events whose CTA_MARK matches reach the socket, so the flows lvsd does
 * not own (everything else the director routes) never wake the helper. SKF_AD_NLATTR finds the
 * attribute of type X from offset A (after nlmsghdr and nfgenmsg); loads are big-endian, as is
 * the mark.
 */
static void attach_mark_filter(int fd)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LDX | BPF_IMM, CTA_MARK),
		BPF_STMT(BPF_LD | BPF_IMM, NLMSG_HDRLEN + sizeof(struct nfgenmsg)),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_NLATTR),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 4, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_IND, 4),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ct_mask),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ct_mark, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
	};
	struct sock_fprog prog = { sizeof code / sizeof code[0], code };
	/* Without it (no BPF in this kernel) the helper still filters each event itself. */
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) perror("lvsd-nfq: conntrack event filter");
}

/* Opens the conntrack event socket: lvsd's flows are a few of all, so the buffer is large. */
static void open_ct_events(void)
{
	ct = mnl_socket_open(NETLINK_NETFILTER);
	if (!ct || mnl_socket_bind(ct, NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_UPDATE | NF_NETLINK_CONNTRACK_DESTROY, MNL_SOCKET_AUTOPID) < 0) {
		perror("lvsd-nfq: conntrack events");
		exit(2);
	}
	attach_mark_filter(mnl_socket_get_fd(ct));
	int size = 8 << 20;
	if (setsockopt(mnl_socket_get_fd(ct), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		setsockopt(mnl_socket_get_fd(ct), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

/* Everything the event socket holds now (bounded); lost events are reported, lvsd's dump repairs. */
static void read_ct_events(void)
{
	if (recv_batch(ct, on_ct_event, 0, 8, &ct_lost) < 0) {
		perror("lvsd-nfq: conntrack events");
		exit(1);
	}
	if (ct_lost) {
		struct out_rec lost;
		memset(&lost, 0, sizeof lost);
		lost.type = 4;
		lost.id = ct_lost;
		ct_lost = 0;
		emit_event(&lost, sizeof lost);
	}
}

static struct nlmsghdr *put_hdr(char *buf, uint16_t type, uint16_t flags, uint32_t seq, uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END ? htons(NFNL_SUBSYS_NFTABLES) : 0;
	return nlh;
}

/* One transaction: empty `inet lvsd nfqueue`, then add `NFQUEUE --queue-num N [--queue-bypass]`. */
static int install_queue_rule(unsigned qnum, int bypass)
{
	struct mnl_socket *s = mnl_socket_open(NETLINK_NETFILTER);
	if (!s || mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) return -1;
	static char buf[8192];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof buf);
	uint32_t seq = 1;
	put_hdr(mnl_nlmsg_batch_current(b), NFNL_MSG_BATCH_BEGIN, 0, seq++, AF_UNSPEC);
	mnl_nlmsg_batch_next(b);

	struct nlmsghdr *nlh = put_hdr(mnl_nlmsg_batch_current(b),
		(NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELRULE, NLM_F_ACK, seq++, NFPROTO_INET);
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, "lvsd");
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, "nfqueue");
	mnl_nlmsg_batch_next(b);

	nlh = put_hdr(mnl_nlmsg_batch_current(b), (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
		NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, seq++, NFPROTO_INET);
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, "lvsd");
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, "nfqueue");
	struct nlattr *exprs = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	struct nlattr *elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, "target");
	struct nlattr *data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
	mnl_attr_put_strz(nlh, NFTA_TARGET_NAME, "NFQUEUE");
	mnl_attr_put_u32(nlh, NFTA_TARGET_REV, htonl(3));
	struct xt_NFQ_info_v3 info = {(uint16_t)qnum, 1, (uint16_t)(bypass ? NFQ_FLAG_BYPASS : 0)};
	mnl_attr_put(nlh, NFTA_TARGET_INFO, sizeof info, &info);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, exprs);
	mnl_nlmsg_batch_next(b);

	put_hdr(mnl_nlmsg_batch_current(b), NFNL_MSG_BATCH_END, 0, seq++, AF_UNSPEC);
	mnl_nlmsg_batch_next(b);
	int rc = 0;
	if (mnl_socket_sendto(s, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0) rc = -1;
	/* Collect the two acks; any error fails the install. */
	char rbuf[8192];
	for (int acks = 0; rc == 0 && acks < 2; acks++) {
		ssize_t n = mnl_socket_recvfrom(s, rbuf, sizeof rbuf);
		if (n < 0) { rc = -1; break; }
		int r = mnl_cb_run(rbuf, (size_t)n, 0, mnl_socket_get_portid(s), NULL, NULL);
		if (r < 0) rc = -1;
	}
	mnl_nlmsg_batch_stop(b);
	mnl_socket_close(s);
	return rc;
}

static void configure(uint32_t maxlen, int fail_open)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) { perror("lvsd-nfq: bind"); exit(2); }

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 128);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
	uint32_t flags = fail_open ? NFQA_CFG_F_FAIL_OPEN : 0;
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) { perror("lvsd-nfq: params"); exit(2); }
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: lvsd-nfq QUEUE_NUM MAXLEN fail-open|fail-closed [CTMARK/CTMASK]\n");
		return 2;
	}
	if (argc == 5) {
		char *slash = NULL;
		ct_mark = (uint32_t)strtoul(argv[4], &slash, 0);
		if (!slash || *slash != '/') { fprintf(stderr, "lvsd-nfq: CTMARK/CTMASK expected, got %s\n", argv[4]); return 2; }
		ct_mask = (uint32_t)strtoul(slash + 1, NULL, 0);
		ct_mark &= ct_mask;
	}
	queue_num = (unsigned)strtoul(argv[1], NULL, 10);
	uint32_t maxlen = (uint32_t)strtoul(argv[2], NULL, 10);
	int fail_open = strcmp(argv[3], "fail-open") == 0;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl) { perror("lvsd-nfq: socket"); return 2; }
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) { perror("lvsd-nfq: bind"); return 2; }
	/* ENOBUFS must not kill us under a flood: the kernel drops or bypasses, we carry on. */
	int one = 1;
	mnl_socket_setsockopt(nl, NETLINK_NO_ENOBUFS, &one, sizeof one);
	configure(maxlen, fail_open);
	/* Subscribed before the ready record, so no event of a flow lvsd picks can be missed. */
	if (argc == 5) open_ct_events();
	if (install_queue_rule(queue_num, fail_open) < 0) {
		perror("lvsd-nfq: installing the NFQUEUE rule in inet lvsd nfqueue");
		return 3;
	}
	/* Tell lvsd we are bound and the rule is in: a zero record of type 2. */
	struct out_rec ready;
	memset(&ready, 0, sizeof ready);
	ready.type = 2;
	write_all(&ready, sizeof ready);

	unsigned portid = mnl_socket_get_portid(nl);
	uint8_t inbuf[REC_IN * 1024];
	size_t inlen = 0;
	struct pollfd pfd[3] = {{mnl_socket_get_fd(nl), POLLIN, 0}, {0, POLLIN, 0}, {ct ? mnl_socket_get_fd(ct) : -1, POLLIN, 0}};
	for (;;) {
		int timeout = -1;
		if (events_due >= 0) {
			int64_t left = events_due - now_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		if (poll(pfd, ct ? 3 : 2, timeout) < 0) {
			if (errno == EINTR) continue;
			return 1;
		}
		if (pfd[1].revents) {
			ssize_t n = read(0, inbuf + inlen, sizeof inbuf - inlen);
			if (n <= 0) {
				if (n < 0 && errno == EINTR) continue;
				return 0; /* lvsd closed the pipe */
			}
			inlen += (size_t)n;
			size_t off = 0;
			while (inlen - off >= REC_IN) {
				uint32_t v[3];
				memcpy(v, inbuf + off, REC_IN);
				put_verdict(v[0], v[1], v[2]);
				off += REC_IN;
			}
			flush_verdicts();
			memmove(inbuf, inbuf + off, inlen - off);
			inlen -= off;
		}
		if (pfd[0].revents) {
			/* Everything queued now (bounded), in batches of datagrams per system call. */
			if (recv_batch(nl, on_packet, portid, 8, NULL) < 0) {
				perror("lvsd-nfq: recv");
				return 1;
			}
		}
		/* After the queue, also when poll did not flag it: the DESTROYs of reused tuples (above). */
		if (ct && (pfd[2].revents || pktlen)) read_ct_events();
		/* Packet records now (with any events gathered so far), events alone once due. */
		if (pktlen || (events_due >= 0 && now_ms() >= events_due)) flush_records();
		else if (evlen && events_due < 0) events_due = now_ms() + EVENT_DELAY_MS;
	}
}
