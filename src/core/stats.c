/* Printing the counters. */
#include <stddef.h>

#include "ustack/stats.h"

struct counter_name {
    const char *name;
    size_t off;
};

/* clang-format off */
/* NOLINTNEXTLINE(bugprone-macro-parentheses): layer.field is a member designator */
#define C(layer, field) {#layer "." #field, offsetof(struct ust_stats, layer.field)}

static const struct counter_name counters[] = {
    C(eth, rx), C(eth, tx), C(eth, rx_bytes), C(eth, tx_bytes), C(eth, drop_short),
    C(eth, drop_not_for_us), C(eth, drop_vlan), C(eth, drop_unknown_type), C(eth, tx_errors), C(eth, dev_errors),
    C(arp, rx), C(arp, tx), C(arp, rx_request), C(arp, rx_reply), C(arp, tx_request),
    C(arp, tx_reply), C(arp, tx_announce), C(arp, drop_malformed), C(arp, drop_unsupported),
    C(arp, drop_bad_sender), C(arp, drop_not_ours), C(arp, cache_add), C(arp, cache_update),
    C(arp, cache_evict), C(arp, cache_expire), C(arp, pending_queued), C(arp, pending_dropped),
    C(arp, resolve_failed),
    C(arp, evict_unused), C(arp, evict_incomplete), C(arp, evict_in_use), C(arp, insert_refused),
    C(arp, mac_verify), C(arp, mac_kept), C(arp, mac_changed),
    C(ip, rx), C(ip, tx), C(ip, delivered), C(ip, drop_short), C(ip, drop_version),
    C(ip, drop_hdr_len), C(ip, drop_total_len), C(ip, drop_checksum), C(ip, drop_bad_src),
    C(ip, drop_not_ours), C(ip, drop_unknown_proto), C(ip, drop_no_route),
    C(ip, drop_too_big), C(ip, options_skipped), C(ip, frag_rx), C(ip, reasm_ok),
    C(ip, reasm_timeout), C(ip, reasm_overlap), C(ip, reasm_duplicate), C(ip, reasm_too_big),
    C(ip, reasm_malformed), C(ip, reasm_evicted), C(ip, frag_ok), C(ip, frag_tx),
    C(ip, reasm_src_evicted),
    C(icmp, rx), C(icmp, tx), C(icmp, rx_echo_request), C(icmp, tx_echo_reply),
    C(icmp, rx_echo_reply), C(icmp, tx_echo_request), C(icmp, rx_error), C(icmp, drop_short),
    C(icmp, drop_checksum), C(icmp, drop_broadcast_echo), C(icmp, drop_unknown_type),
    C(icmp, drop_no_listener), C(icmp, drop_queue_full), C(icmp, tx_dest_unreach),
    C(icmp, error_suppressed), C(icmp, rate_limited),
    C(icmp, rate_limited_dst), C(icmp, rate_limited_global), C(icmp, rate_limited_unreach),
    C(icmp, rate_limited_time_exceeded), C(icmp, rate_limited_other),
    C(icmp, rate_table_replaced), C(icmp, tx_time_exceeded),
    C(ip6, rx), C(ip6, tx), C(ip6, delivered), C(ip6, drop_short), C(ip6, drop_version),
    C(ip6, drop_len), C(ip6, drop_bad_src), C(ip6, drop_not_ours), C(ip6, drop_tentative),
    C(ip6, drop_unknown_proto), C(ip6, drop_ext_trunc), C(ip6, drop_ext_opt_bad),
    C(ip6, drop_hbh_not_first), C(ip6, drop_routing), C(ip6, drop_opt_unknown),
    C(ip6, drop_ext_too_many), C(ip6, drop_no_route), C(ip6, drop_too_big), C(ip6, drop_no_addr),
    C(ip6, frag_ok), C(ip6, frag_tx), C(ip6, frag_rx), C(ip6, reasm_ok), C(ip6, reasm_atomic),
    C(ip6, reasm_bad_len), C(ip6, reasm_empty), C(ip6, reasm_too_big),
    C(ip6, reasm_first_incomplete), C(ip6, reasm_overlap), C(ip6, reasm_duplicate),
    C(ip6, reasm_too_many), C(ip6, reasm_timeout), C(ip6, reasm_evicted),
    C(ip6, reasm_src_evicted),
    C(icmp6, rx), C(icmp6, tx), C(icmp6, rx_echo_request), C(icmp6, tx_echo_reply),
    C(icmp6, rx_echo_reply), C(icmp6, tx_echo_request), C(icmp6, rx_error), C(icmp6, rx_too_big),
    C(icmp6, drop_short), C(icmp6, drop_checksum), C(icmp6, drop_unknown_type),
    C(icmp6, drop_no_listener), C(icmp6, drop_queue_full), C(icmp6, tx_dest_unreach), C(icmp6, tx_param_problem),
    C(icmp6, tx_time_exceeded), C(icmp6, error_suppressed), C(icmp6, rate_limited),
    C(icmp6, rx_mld_query), C(icmp6, tx_mld_report),
    C(nd, rx_rs), C(nd, rx_ra), C(nd, rx_ns), C(nd, rx_na), C(nd, rx_redirect), C(nd, tx_rs),
    C(nd, tx_ns), C(nd, tx_na), C(nd, drop_hop_limit), C(nd, drop_code), C(nd, drop_len),
    C(nd, drop_opt), C(nd, drop_target_mcast), C(nd, drop_src_not_ll), C(nd, drop_unspec_slla),
    C(nd, drop_unspec_dst), C(nd, drop_solicited_mcast), C(nd, drop_redirect),
    C(nd, drop_not_ours), C(nd, redirect_ignored), C(nd, rs_ignored), C(nd, cache_add),
    C(nd, cache_evict), C(nd, insert_refused), C(nd, resolve_failed), C(nd, pending_queued),
    C(nd, pending_dropped), C(nd, dad_ok), C(nd, dad_failed), C(nd, ra_taken),
    C(nd, routers_expired), C(nd, prefixes_ignored), C(nd, slaac_addrs), C(nd, mtu_changed),
    C(nd, pmtu_learned), C(nd, pmtu_replaced),
    C(udp, rx), C(udp, tx), C(udp, queued), C(udp, delivered), C(udp, drop_malformed),
    C(udp, drop_checksum), C(udp, drop_no_port), C(udp, drop_rcvbuf), C(udp, icmp_errors),
    C(tcp, rx), C(tcp, tx), C(tcp, drop_malformed), C(tcp, drop_checksum), C(tcp, drop_no_conn),
    C(tcp, drop_out_of_window), C(tcp, drop_bad_ack), C(tcp, drop_backlog), C(tcp, drop_rcvbuf),
    C(tcp, drop_ooo_full), C(tcp, active_opens), C(tcp, passive_opens), C(tcp, established),
    C(tcp, resets), C(tcp, timeouts), C(tcp, aborts), C(tcp, rst_rx), C(tcp, rst_tx),
    C(tcp, retransmits), C(tcp, rto_timeouts), C(tcp, fast_retransmits), C(tcp, dup_acks),
    C(tcp, ooo_segments), C(tcp, challenge_acks), C(tcp, challenge_ack_limited),
    C(tcp, delayed_acks), C(tcp, window_probes), C(tcp, keepalive_probes), C(tcp, icmp_errors),
    C(tcp, drop_paws), C(tcp, drop_no_ts), C(tcp, sack_recoveries), C(tcp, sack_retransmits),
    C(tcp, lost_retransmits), C(tcp, loss_probes), C(tcp, probe_repairs),
    C(tcp, rcvbuf_grown), C(tcp, sndbuf_grown), C(tcp, drop_nomem),
    C(tcp, conns), C(tcp, buf_bytes), C(tcp, invalid_ack_limited), C(tcp, syncookies_sent),
    C(tcp, syncookies_ok), C(tcp, syncookies_failed), C(tcp, drop_synq_full),
    C(tcp, synack_given_up), C(tcp, drop_conn_limit),
    C(offload, rx_super), C(offload, rx_csum_trusted), C(offload, rx_bad_meta),
    C(offload, rx_bad_super),
    C(offload, tx_super), C(offload, tx_super_segs), C(offload, tx_csum_partial),
    C(offload, tx_csum_sw), C(offload, tx_iov), C(offload, tx_copied),
    C(pkb, alloc), C(pkb, free), C(pkb, live), C(pkb, peak),
    C(dhcp, rx), C(dhcp, tx), C(dhcp, drop_malformed), C(dhcp, drop_not_ours),
    C(dhcp, drop_bad_lease), C(dhcp, offers), C(dhcp, acks), C(dhcp, naks), C(dhcp, declines),
    C(dhcp, releases), C(dhcp, probes), C(dhcp, leases), C(dhcp, renewals), C(dhcp, expiries),
    C(dns, queries), C(dns, retries), C(dns, tcp_fallbacks), C(dns, cache_hits),
    C(dns, drop_malformed), C(dns, drop_mismatch), C(dns, cname_loops), C(dns, nxdomain),
    C(dns, servfail), C(dns, timeouts),
};
/* clang-format on */

void ust_stats_print(const struct ust_stats *st, FILE *out, int all)
{
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        uint64_t v = *(const uint64_t *)((const char *)st + counters[i].off);
        if (v || all)
            fprintf(out, "%s=%llu\n", counters[i].name, (unsigned long long)v);
    }
}
