/*
 * The struct sock behind a file descriptor of the current process:
 * current->files->fdt->fd[fd]->private_data (a socket file's struct socket)
 * ->sk, offsets from BTF (-DOFF_TASK_FILES ... from cflags_fd_walk()).
 */

/* The struct sock behind file descriptor fd of the current process, or 0. */
static __always_inline u64 sock_of_fd(long fd)
{
	void *task = (void *)bpf_get_current_task();
	void *files, *fdt, *fds, *file, *sock;
	unsigned int max_fds;
	u64 sk;

	READ_AT(files, task, OFF_TASK_FILES);
	READ_AT(fdt, files, OFF_FILES_FDT);
	READ_AT(max_fds, fdt, OFF_FDT_MAX_FDS);
	if (!fdt || fd >= max_fds)
		return 0;
	READ_AT(fds, fdt, OFF_FDT_FD);
	READ_AT(file, fds, fd * sizeof(void *));
	if (!file)
		return 0;
	READ_AT(sock, file, OFF_FILE_PRIVATE_DATA); /* a socket file's struct socket */
	if (!sock)
		return 0;
	READ_AT(sk, sock, OFF_SOCKET_SK);
	return sk;
}
