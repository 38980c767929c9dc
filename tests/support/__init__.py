"""Helpers shared by the tests and the docs' tests; import them from their modules.

- :mod:`.server`: run a real server process: free port, readiness, stop by PID
  (standard library only).
- :mod:`.asgi`: call an ASGI application in-process (needs only aiopyramid, so the
  in-process tests that use it run with nothing but pytest installed).
- :mod:`.aio`: asyncio helpers for the live tests (needs httpx).
- :mod:`.projects`: the repository's files as git sees them, and trees to compare
  (standard library only).
- :mod:`.raw`: HTTP/1.1 byte by byte, for requests no client library would send
  (standard library only).
- :mod:`.load`: bounded mixed HTTP and websocket load for live tests and the soak,
  ``bench/soak.py`` (needs websockets for websocket calls).
"""
