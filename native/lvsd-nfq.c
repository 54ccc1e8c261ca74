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
 * Usage: lvsd-nfq QUEUE_NUM MAXLEN fail-open|fail-closed
 * Exits when stdin closes (lvsd gone): the kernel then applies the rule's bypass/drop policy.
 *
 * Record to lvsd (little-endian host order except addresses, which are network bytes):
 *   u32 type(=1) | u32 id | u8 family(4|6) | u8 l4proto | u8 flags | u8 pad | u32 mark |
 *   u16 sport | u16 dport | u8 saddr[16] | u8 daddr[16] | u32 pad   (56 bytes)
 *   flags: 1 = TCP SYN, 2 = TCP ACK, 4 = fragment, 8 = truncated/unparsable
 * Record from lvsd: u32 id | u32 verdict (0 drop, 1 accept) | u32 mark (0 = leave mark)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define REC_OUT 56
#define REC_IN 12

static struct mnl_socket *nl;
static unsigned queue_num;

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
static uint8_t outbuf[sizeof(struct out_rec) * 256];
static size_t outlen;
static char vbuf[8192];
static size_t vlen;

static void flush_records(void)
{
	if (outlen) write_all(outbuf, outlen);
	outlen = 0;
}

static void emit_record(const struct out_rec *r)
{
	if (outlen + sizeof *r > sizeof outbuf) flush_records();
	memcpy(outbuf + outlen, r, sizeof *r);
	outlen += sizeof *r;
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

/* One netlink datagram from the kernel (not from another process), without blocking if asked. */
static ssize_t recv_kernel(char *buf, size_t size, int dontwait)
{
	struct sockaddr_nl addr;
	struct iovec iov = { buf, size };
	struct msghdr msg = { &addr, sizeof addr, &iov, 1, NULL, 0, 0 };
	ssize_t n = recvmsg(mnl_socket_get_fd(nl), &msg, dontwait ? MSG_DONTWAIT : 0);
	if (n < 0) return n;
	if (msg.msg_flags & MSG_TRUNC) { errno = ENOSPC; return -1; }
	if (msg.msg_namelen != sizeof addr || addr.nl_pid != 0) { errno = EPERM; return -1; }
	return n;
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
	emit_record(&r);
	return MNL_CB_OK;
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
	if (argc != 4) {
		fprintf(stderr, "usage: lvsd-nfq QUEUE_NUM MAXLEN fail-open|fail-closed\n");
		return 2;
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
	static char nlbuf[0xffff + 8192];
	uint8_t inbuf[REC_IN * 256];
	size_t inlen = 0;
	struct pollfd pfd[2] = {{mnl_socket_get_fd(nl), POLLIN, 0}, {0, POLLIN, 0}};
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
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
			/* Everything queued now (bounded), then one write to lvsd. */
			for (int i = 0; i < 64; i++) {
				ssize_t n = recv_kernel(nlbuf, sizeof nlbuf, i > 0);
				if (n < 0) {
					if (errno == EAGAIN || errno == EWOULDBLOCK) break;
					if (errno == ENOBUFS || errno == EINTR || errno == EPERM) continue;
					perror("lvsd-nfq: recv");
					return 1;
				}
				mnl_cb_run(nlbuf, (size_t)n, 0, portid, on_packet, NULL);
			}
			flush_records();
		}
	}
}
