"""A TCP proxy that can lose the server's reply: the request reaches the server, the answer never
reaches the client (as when a connection drops right after the commit)."""

from __future__ import annotations

import socket
import threading


class ReplyLosingProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.lose_next_reply = False
        self.replies_lost = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        lose = self.lose_next_reply
        self.lose_next_reply = False
        threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
        if lose:
            upstream.recv(65536)  # the server has answered: it committed. Drop the answer and hang up.
            self.replies_lost += 1
            client.close()
            upstream.close()
            return
        self._pipe(upstream, client)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()
