/* ustack counters: what each layer received, sent and dropped, and why. */
#ifndef USTACK_STATS_H
#define USTACK_STATS_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ust_stats {
    struct {
        uint64_t rx, tx, rx_bytes, tx_bytes;
        uint64_t drop_short;        /* shorter than an Ethernet header */
        uint64_t drop_not_for_us;   /* destination neither our MAC nor broadcast */
        uint64_t drop_vlan;         /* 802.1Q / 802.1ad tagged */
        uint64_t drop_unknown_type; /* ethertype we do not speak */
        uint64_t tx_errors;         /* the driver refused the frame */
        uint64_t dev_errors;        /* a device became unusable (down, gone) */
    } eth;
    struct {
        uint64_t rx, tx, rx_request, rx_reply, tx_request, tx_reply, tx_announce;
        uint64_t drop_malformed;   /* truncated or impossible sizes */
        uint64_t drop_unsupported; /* not Ethernet/IPv4, unknown opcode */
        uint64_t drop_bad_sender;  /* sender MAC broadcast/multicast or ours */
        uint64_t drop_not_ours;    /* requests for addresses we do not own */
        uint64_t cache_add, cache_update, cache_evict, cache_expire;
        uint64_t pending_queued, pending_dropped, resolve_failed;
        /* under attack (issue 11): what made room, and MACs claimed anew */
        uint64_t evict_unused;     /* cache_evict: resolved, not in use */
        uint64_t evict_incomplete; /* cache_evict: still resolving (its packets dropped) */
        uint64_t evict_in_use;     /* cache_evict: in use, least recently (only for our sends) */
        uint64_t insert_refused;   /* unsolicited sender not cached: all in use or resolving */
        uint64_t mac_verify;       /* new MAC for an entry in use: the old one asked first */
        uint64_t mac_kept;         /* ... it answered (or just had): the claim ignored */
        uint64_t mac_changed;      /* ... it did not: the new MAC taken */
    } arp;
    struct {
        uint64_t rx, tx, delivered;
        uint64_t drop_short, drop_version, drop_hdr_len, drop_total_len, drop_checksum;
        uint64_t drop_bad_src, drop_not_ours, drop_unknown_proto;
        uint64_t drop_no_route, drop_too_big, options_skipped;
        uint64_t frag_rx;  /* fragments received */
        uint64_t reasm_ok; /* datagrams reassembled */
        uint64_t reasm_timeout, reasm_overlap, reasm_duplicate, reasm_too_big;
        uint64_t reasm_malformed, reasm_evicted; /* bad sizes; memory limit */
        uint64_t frag_ok, frag_tx;               /* datagrams fragmented; fragments sent */
        /* under attack (issue 11) */
        uint64_t reasm_src_evicted; /* a source at reasm_max_per_src: its oldest made room */
    } ip;
    struct {
        uint64_t rx, tx, rx_echo_request, tx_echo_reply, rx_echo_reply, tx_echo_request;
        uint64_t rx_error; /* destination unreachable, time exceeded, ... */
        uint64_t drop_short, drop_checksum, drop_broadcast_echo, drop_unknown_type;
        uint64_t drop_no_listener, drop_queue_full;
        uint64_t tx_dest_unreach, error_suppressed, rate_limited;
        /* under attack (issue 11): rate_limited by limit and by kind */
        uint64_t rate_limited_dst;    /* that destination's bucket was empty */
        uint64_t rate_limited_global; /* the stack's bucket was empty */
        uint64_t rate_limited_unreach, rate_limited_time_exceeded, rate_limited_other;
        uint64_t rate_table_replaced; /* a destination's bucket made room for another's */
        uint64_t tx_time_exceeded;
    } icmp;
    struct {
        uint64_t rx, tx, delivered;
        uint64_t drop_short, drop_version, drop_len; /* header, version, payload length */
        uint64_t drop_bad_src;                       /* multicast source */
        uint64_t drop_not_ours;                      /* not our address nor a group we joined */
        uint64_t drop_tentative;                     /* to an address still in DAD (RFC 4862 5.4) */
        uint64_t drop_unknown_proto; /* next header we do not speak (Parameter Problem) */
        /* extension headers (RFC 8200 4): why the walk stopped */
        uint64_t drop_ext_trunc, drop_ext_opt_bad, drop_hbh_not_first, drop_routing;
        uint64_t drop_opt_unknown, drop_ext_too_many;
        uint64_t drop_no_route, drop_too_big, drop_no_addr;
        uint64_t frag_ok, frag_tx; /* packets fragmented at the source; fragments sent */
        /* reassembly (RFC 8200 4.5) */
        uint64_t frag_rx, reasm_ok, reasm_atomic, reasm_bad_len, reasm_empty, reasm_too_big;
        uint64_t reasm_first_incomplete, reasm_overlap, reasm_duplicate, reasm_too_many;
        uint64_t reasm_timeout, reasm_evicted, reasm_src_evicted;
    } ip6;
    struct {
        uint64_t rx, tx, rx_echo_request, tx_echo_reply, rx_echo_reply, tx_echo_request;
        uint64_t rx_error, rx_too_big; /* errors; Packet Too Big (path MTU learned) */
        uint64_t drop_short, drop_checksum, drop_unknown_type, drop_no_listener;
        uint64_t tx_dest_unreach, tx_param_problem, tx_time_exceeded;
        uint64_t error_suppressed, rate_limited;
        uint64_t rx_mld_query, tx_mld_report;
        uint64_t drop_queue_full; /* an echo reply its ping endpoint had no room for */
    } icmp6;
    struct {
        uint64_t rx_rs, rx_ra, rx_ns, rx_na, rx_redirect, tx_rs, tx_ns, tx_na;
        /* messages failing RFC 4861's validation, by cause */
        uint64_t drop_hop_limit, drop_code, drop_len, drop_opt, drop_target_mcast, drop_src_not_ll;
        uint64_t drop_unspec_slla, drop_unspec_dst, drop_solicited_mcast, drop_redirect;
        uint64_t drop_not_ours;                /* NS for a target that is not ours */
        uint64_t redirect_ignored, rs_ignored; /* a host takes neither */
        uint64_t cache_add, cache_evict, insert_refused, resolve_failed;
        uint64_t pending_queued, pending_dropped;
        uint64_t dad_ok, dad_failed;
        uint64_t ra_taken, routers_expired, prefixes_ignored, slaac_addrs, mtu_changed;
        uint64_t pmtu_learned, pmtu_replaced;
    } nd;
    struct {
        uint64_t rx, tx, queued, delivered;
        uint64_t drop_malformed, drop_checksum;
        uint64_t drop_no_port; /* nobody listening (port unreachable sent) */
        uint64_t drop_rcvbuf;  /* the socket's receive buffer was full */
        uint64_t icmp_errors;  /* errors reported to connected sockets */
    } udp;
    struct {
        uint64_t rx, tx;
        uint64_t drop_malformed; /* short, bad data offset or options, SYN+FIN, port 0 */
        uint64_t drop_checksum;
        uint64_t drop_no_conn; /* no connection: answered with RST */
        uint64_t drop_out_of_window, drop_bad_ack, drop_backlog, drop_rcvbuf, drop_ooo_full;
        uint64_t active_opens, passive_opens, established;
        uint64_t resets, timeouts, aborts; /* connections that ended so */
        uint64_t rst_rx, rst_tx;
        uint64_t retransmits, rto_timeouts, fast_retransmits, dup_acks, ooo_segments;
        uint64_t challenge_acks, challenge_ack_limited;
        uint64_t delayed_acks, window_probes, keepalive_probes, icmp_errors;
        uint64_t drop_paws;        /* RFC 7323 5: a timestamp older than TS.Recent */
        uint64_t drop_no_ts;       /* RFC 7323 3.2: timestamps agreed, segment had none */
        uint64_t sack_recoveries;  /* loss recoveries driven by SACK (RFC 6675) */
        uint64_t sack_retransmits; /* segments those retransmitted */
        uint64_t lost_retransmits; /* retransmissions found lost (SACKs of later data) */
        uint64_t loss_probes;      /* tail loss probes sent */
        uint64_t probe_repairs;    /* probe timer resent a hole SACKs showed lost */
        uint64_t rcvbuf_grown;     /* receive buffers enlarged by auto-tuning */
        uint64_t sndbuf_grown;     /* send buffers enlarged by auto-tuning */
        /* Defences and their cost (issue 11). */
        uint64_t drop_nomem;          /* data not taken: buffer memory (tcp_mem_max) spent */
        uint64_t conns;               /* connections now (a gauge) */
        uint64_t buf_bytes;           /* memory the socket buffers hold now (a gauge) */
        uint64_t invalid_ack_limited; /* answers to invalid segments not sent (per connection) */
        uint64_t syncookies_sent;     /* SYN-ACKs with a cookie (half-open queue full) */
        uint64_t syncookies_ok;       /* connections made from a returning cookie */
        uint64_t syncookies_failed;   /* ACKs to a listener with a wrong or stale cookie */
        uint64_t drop_synq_full;      /* SYNs dropped: half-open queue full, cookies off */
        uint64_t synack_given_up;     /* half-open connections that never completed */
        uint64_t drop_conn_limit;     /* connections refused: tcp_max_conns reached */
    } tcp;
    struct {
        uint64_t alloc, free, live, peak;
    } pkb;
    struct {                     /* the DHCP client (issue 15) */
        uint64_t rx, tx;         /* server messages taken to the client; messages sent */
        uint64_t drop_malformed; /* short, bad UDP checksum, no cookie, options overrun */
        uint64_t drop_not_ours;  /* wrong xid/chaddr/op/server, or not awaited now */
        uint64_t drop_bad_lease; /* unusable address, mask, or server identifier */
        uint64_t offers, acks, naks, declines, releases, probes;
        uint64_t leases, renewals, expiries; /* bound; extended; lost (NAK, expiry, stop) */
    } dhcp;
    struct { /* the DNS stub resolver (issue 15) */
        uint64_t queries, retries, tcp_fallbacks, cache_hits;
        uint64_t drop_malformed; /* replies that do not parse (bad names, overruns) */
        uint64_t drop_mismatch;  /* wrong id, question, or source: not our answer */
        uint64_t cname_loops;    /* CNAME chains cut at the bound */
        uint64_t nxdomain, servfail, timeouts;
    } dns;
    struct {
        uint64_t rx_super;        /* super-frames received (GSO: many wire segments in one) */
        uint64_t rx_csum_trusted; /* TCP/UDP checksums the device vouched for, not summed */
        uint64_t rx_bad_meta;     /* frames dropped: metadata that lies about the frame */
        uint64_t rx_bad_super;    /* super-frames dropped: not one TCP/IPv4 segment */
        uint64_t tx_super;        /* super-frames sent, for the device to segment */
        uint64_t tx_super_segs;   /* the wire segments those carried */
        uint64_t tx_csum_partial; /* TCP checksums left to the device */
        uint64_t tx_csum_sw;      /* partial checksums completed here (no offload on the way) */
        uint64_t tx_iov;          /* frames handed over in pieces: their TCP payload not copied */
        uint64_t tx_copied;       /* frames whose TCP payload was copied behind the headers */
    } offload;
};

/* Prints every counter as "layer.name=value" lines, skipping zeros unless
 * all is non-zero. */
void ust_stats_print(const struct ust_stats *st, FILE *out, int all);

#ifdef __cplusplus
}
#endif
#endif
