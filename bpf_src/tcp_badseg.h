/* Bad incoming TCP segments: constants shared by the BPF side (tcp_badseg.bpf.h)
 * and the frontends that fill its reason set (tcp_inerrs, netwatch -e). */
#ifndef BCCNET_TCP_BADSEG_H
#define BCCNET_TCP_BADSEG_H

#define BADSEG_MAX_REASONS 1024 /* size of the reason set; the kernel has ~130 */

#endif
