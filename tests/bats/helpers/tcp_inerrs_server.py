#!/usr/bin/python3
"""Accept TCP connections on ADDR PORT and read (discarding) until each closes.

usage: tcp_inerrs_server.py ADDR PORT [--echo]
Prints "ready" once listening. Runs until killed. With --echo, answers one
byte for every read: a client that waits for it after each write
(lnk_flow.py --echo) knows the application has copied that write.
"""
import socket
import sys
import threading


def drain(conn, echo):
    with conn:
        while conn.recv(65536):
            if echo:
                conn.sendall(b"k")


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    echo = sys.argv[3:] == ["--echo"]
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=drain, args=(conn, echo), daemon=True).start()


main()
