/*
** The CLI's network and secret options (src/cli/net_opts.c): --net, --allow-host,
** --block-host, --allow-network, --block-network, --allow-localhost, --root-cert,
** --secret, --net-max-connections, --net-connect-timeout, --net-io-timeout and
** --scrub. options.c's table names them; each applies to the builder as it is read.
*/
#ifndef ERYX_CLI_NET_OPTS_H
#define ERYX_CLI_NET_OPTS_H
#include "options.h"

/* Each: TAKEN, or FAIL with the message on stderr (and *status left at 2). */
eryx__cli_opt_result eryx__cli_opt_net(eryx__cli_opts *o, const char *name, const char *v, int *status);
eryx__cli_opt_result eryx__cli_opt_net_list(eryx__cli_opts *o, const char *name, const char *v, int *status);
eryx__cli_opt_result eryx__cli_opt_net_limit(eryx__cli_opts *o, const char *name, const char *v, int *status);
eryx__cli_opt_result eryx__cli_opt_root_cert(eryx__cli_opts *o, const char *name, const char *v, int *status);
eryx__cli_opt_result eryx__cli_opt_secret(eryx__cli_opts *o, const char *name, const char *v, int *status);
eryx__cli_opt_result eryx__cli_opt_scrub(eryx__cli_opts *o, const char *name, const char *v, int *status);

#endif
