/* The null device: transmits into the void, never receives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ustack/device.h"

static int null_transmit(struct ust_device *dev, const uint8_t *frame, size_t len, ust_time_t now)
{
    (void)dev, (void)frame, (void)len, (void)now;
    return 0;
}

static void null_destroy(struct ust_device *dev) { free(dev); }

static const struct ust_device_ops null_ops = {
    .transmit = null_transmit,
    .destroy = null_destroy,
};

int ust_null_create(const char *name, const uint8_t mac[6], struct ust_device **out)
{
    if (!name || !out || strlen(name) >= UST_DEV_NAME_MAX)
        return -EINVAL;
    struct ust_device *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->ops = &null_ops;
    strcpy(d->name, name);
    d->type = UST_DEV_ETHERNET;
    d->mtu = 1500;
    if (mac)
        memcpy(d->mac, mac, 6);
    *out = d;
    return 0;
}
