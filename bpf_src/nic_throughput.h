/* nic_throughput: counters shared by the BPF program and the frontend. */
#ifndef NIC_THROUGHPUT_H
#define NIC_THROUGHPUT_H

/* Queue ids 0..NT_MAX_QUEUES-1 have their own slot; higher ids share the last one. */
#define NT_MAX_QUEUES 1024
#define NT_QUEUE_SLOTS (NT_MAX_QUEUES + 1)

/* Per queue and CPU, never reset: user space reports the change between two reads. */
struct nt_counts {
	__u64 packets;
	__u64 bytes;
	__u64 dropped; /* TX only: the driver refused the packet (not in packets/bytes) */
};

#endif
