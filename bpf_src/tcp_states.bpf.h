/*
 * TCP socket states and congestion-avoidance states: stable ABI
 * (include/net/tcp_states.h, enum tcp_ca_state; the tracepoints print these
 * numbers), so one copy serves every program.
 */
#ifndef BCCNET_TCP_STATES_BPF_H
#define BCCNET_TCP_STATES_BPF_H

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_FIN_WAIT1 4
#define TCP_FIN_WAIT2 5
#define TCP_TIME_WAIT 6
#define TCP_CLOSE 7
#define TCP_LAST_ACK 9
#define TCP_LISTEN 10
#define TCP_CLOSING 11
#define TCP_NEW_SYN_RECV 12

#define TCP_CA_RECOVERY 3
#define TCP_CA_LOSS 4

#define PROTO_TCP 6 /* IPPROTO_TCP */

#endif
