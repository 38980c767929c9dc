"""Helpers shared by the tests and the docs' tests; import them from their modules.

- :mod:`.server`: run a real server process: free port, readiness, stop by PID
  (standard library only).
- :mod:`.asgi`: call an ASGI application in-process (needs only aiopyramid, so the
  in-process tests that use it run with nothing but pytest installed).
- :mod:`.aio`: asyncio helpers for the live tests (needs httpx).
"""
