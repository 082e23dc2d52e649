/*
** The network setters of the public API (include/eryx.h, "Network and secrets"):
** each checks its builder and arguments, then changes the builder's config
** (src/net/policy.c) through eryx__net_config_mutable, so the sandboxes already
** made keep the config they were made with. Every setter but
** eryx_builder_set_network needs the network on: on a builder without it they fail
** with ERYX_ERR_INVALID_ARGUMENT (a rule for a network that is off is a mistake,
** and turning the network on as a side effect of, say, blocking a host would be a
** surprise).
*/
#include "../net/net.h"
#include "sandbox.h"

/* The builder's config, ready to change; NULL (with the builder's message set) when
** the network is off or memory ran out. */
static eryx__net_config *config_of(eryx_builder *b, const char *setter, eryx_status *st) {
    if (!b->spec.net) {
        *st = eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                         "%s: the network is off (call eryx_builder_set_network(builder, 1) first)", setter);
        return NULL;
    }
    eryx__net_config *c = eryx__net_config_mutable(&b->spec.net);
    if (!c) *st = eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "%s: no memory to copy the network config", setter);
    return c;
}

eryx_status eryx_builder_set_network(eryx_builder *b, int enabled) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (!enabled) {
        eryx__net_config_release(b->spec.net);
        b->spec.net = NULL;
        return ERYX_OK;
    }
    if (b->spec.net) return ERYX_OK; /* already on: the policy stays as it is */
    if (!(b->spec.net = eryx__net_config_new()))
        return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a network config");
    return ERYX_OK;
}

static eryx_status add_host(eryx_builder *b, eryx__net_host_list list, const char *setter, const char *pattern) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx_status st;
    eryx__net_config *c = config_of(b, setter, &st);
    return c ? eryx__net_config_add_host(c, list, pattern, &b->err) : st;
}

eryx_status eryx_builder_net_allow_host(eryx_builder *b, const char *pattern) {
    return add_host(b, ERYX__NET_ALLOWED_HOSTS, "eryx_builder_net_allow_host", pattern);
}

eryx_status eryx_builder_net_block_host(eryx_builder *b, const char *pattern) {
    return add_host(b, ERYX__NET_BLOCKED_HOSTS, "eryx_builder_net_block_host", pattern);
}

eryx_status eryx_builder_net_allow_internal_host(eryx_builder *b, const char *pattern) {
    return add_host(b, ERYX__NET_INTERNAL_HOSTS, "eryx_builder_net_allow_internal_host", pattern);
}

static eryx_status add_network(eryx_builder *b, bool blocked, const char *setter, const char *cidr) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx_status st;
    eryx__net_config *c = config_of(b, setter, &st);
    return c ? eryx__net_config_add_network(c, blocked, cidr, &b->err) : st;
}

eryx_status eryx_builder_net_block_network(eryx_builder *b, const char *cidr) {
    return add_network(b, true, "eryx_builder_net_block_network", cidr);
}

eryx_status eryx_builder_net_allow_network(eryx_builder *b, const char *cidr) {
    return add_network(b, false, "eryx_builder_net_allow_network", cidr);
}

eryx_status eryx_builder_net_clear_blocked_networks(eryx_builder *b) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx_status st;
    eryx__net_config *c = config_of(b, "eryx_builder_net_clear_blocked_networks", &st);
    if (!c) return st;
    eryx__net_config_clear_blocked(c);
    return ERYX_OK;
}

eryx_status eryx_builder_net_allow_localhost(eryx_builder *b) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx_status st;
    eryx__net_config *c = config_of(b, "eryx_builder_net_allow_localhost", &st);
    if (!c) return st;
    eryx__net_config_allow_localhost(c);
    return ERYX_OK;
}

eryx_status eryx_builder_net_set_limits(eryx_builder *b, uint32_t max_connections, uint64_t connect_timeout_ms,
                                        uint64_t io_timeout_ms) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx_status st;
    eryx__net_config *c = config_of(b, "eryx_builder_net_set_limits", &st);
    return c ? eryx__net_config_set_limits(c, max_connections, connect_timeout_ms, io_timeout_ms, &b->err) : st;
}

eryx_status eryx_builder_net_add_root_cert(eryx_builder *b, const void *data, size_t len) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (!data || !len)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "eryx_builder_net_add_root_cert: no certificate data");
    eryx__errbuf why;
    if (!eryx__tls_check_certs(data, len, &why))
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "eryx_builder_net_add_root_cert: %s", why.msg);
    eryx_status st;
    eryx__net_config *c = config_of(b, "eryx_builder_net_add_root_cert", &st);
    return c ? eryx__net_config_add_root(c, data, len, &b->err) : st;
}

eryx_status eryx_builder_net_use_system_roots(eryx_builder *b, int use) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx_status st;
    eryx__net_config *c = config_of(b, "eryx_builder_net_use_system_roots", &st);
    if (!c) return st;
    eryx__net_config_set_system_roots(c, use != 0);
    return ERYX_OK;
}

eryx_status eryx_builder_net_set_resolver(eryx_builder *b, eryx_resolve_fn fn, void *user) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx_status st;
    eryx__net_config *c = config_of(b, "eryx_builder_net_set_resolver", &st);
    if (!c) return st;
    eryx__net_config_set_resolver(c, fn, user);
    return ERYX_OK;
}
