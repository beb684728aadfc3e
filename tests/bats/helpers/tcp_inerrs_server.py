#!/usr/bin/python3
"""Accept TCP connections on ADDR PORT and read (discarding) until each closes.

usage: tcp_inerrs_server.py ADDR PORT
Prints "ready" once listening. Runs until killed.
"""
import socket
import sys
import threading


def drain(conn):
    with conn:
        while conn.recv(65536):
            pass


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=drain, args=(conn,), daemon=True).start()


main()
