/* libFuzzer target: the DHCP client's reader of untrusted input
 * (wire/dhcp.c) and the state machine it feeds (net/dhcp_client.c). Any
 * input must be parsed or refused without a read outside it; whatever a
 * parsed message does to the client, it must never bind an address that
 * cannot be a host's, with an impossible prefix. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dhcp_client.h"
#include "wire/dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_lease(const struct dhcpc_out *out)
{
    if (out->ev != DHCPC_EV_BOUND && out->ev != DHCPC_EV_RENEWED)
        return;
    const struct ust_dhcp_lease *l = &out->lease;
    uint32_t mask = 0xffffffffu << (32 - l->prefix_len);
    if (l->prefix_len < 8 || l->prefix_len > 30 || l->addr == 0 || (l->addr >> 24) == 127 ||
        (l->addr >> 28) >= 0xe || (l->addr & ~mask) == 0 || (l->addr & ~mask) == ~mask ||
        l->ndns > 3 || l->lease_s < 10 || (l->router && (l->router & mask) != (l->addr & mask)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dhcp_repr m;
    if (dhcp_parse(data, size, &m) != WIRE_OK)
        return 0;
    if (m.ndns > DHCP_MAX_DNS || m.message[sizeof(m.message) - 1] != '\0')
        abort();
    /* Made ours, the message goes as deep as it can: as an offer to a
     * client that is selecting, then as the answer to its request, then
     * as the answer to its renewal. */
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 2};
    struct ust_dhcp_config cfg;
    ust_dhcp_config_init(&cfg);
    cfg.probe_num = 0;
    struct dhcpc c;
    struct dhcpc_out out;
    dhcpc_init(&c, &cfg, mac, 1500, 1);
    ust_time_t now = 1000 * UST_SEC;
    dhcpc_start(&c, now, &out);
    m.op = DHCP_BOOTREPLY;
    memcpy(m.chaddr, mac, 6);
    for (int round = 0; round < 4; round++) {
        m.xid = c.xid;
        if (round == 0)
            m.type = DHCP_OFFER;
        else if (round == 1)
            m.type = DHCP_ACK;
        dhcpc_input(&c, &m, now, &out);
        check_lease(&out);
        if (c.deadline != UST_TIME_NEVER) {
            now = c.deadline > now ? c.deadline : now;
            dhcpc_timer(&c, now, &out);
            check_lease(&out);
        }
    }
    return 0;
}
