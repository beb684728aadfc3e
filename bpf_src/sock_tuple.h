/* A socket's endpoints, shared by the BPF programs and the frontends. */
#ifndef BCCNET_SOCK_TUPLE_H
#define BCCNET_SOCK_TUPLE_H

/* Local (saddr/sport) and remote (daddr/dport) ends of a socket, ports in
 * host order; family is AF_INET (2) or AF_INET6 (10); IPv4 uses the first
 * 4 bytes of each address. */
struct sock_tuple {
	__u64 saddr[2];
	__u64 daddr[2];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 state; /* TCP_ESTABLISHED ... as in the kernel */
	__u8 pad;
};

#endif
