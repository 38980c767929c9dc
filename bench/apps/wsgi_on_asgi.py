"""The blocking Pyramid app behind a2wsgi's WSGI-to-ASGI adapter, as uvicorn serves it.

a2wsgi runs each request of the WSGI app in a thread pool, which is how a reader
would put an unchanged Pyramid app on an ASGI server. Servers load
``bench.apps.wsgi_on_asgi:application``.
"""

from a2wsgi import WSGIMiddleware

from bench.apps import A2WSGI_THREADS, blocking

application = WSGIMiddleware(blocking.application, workers=A2WSGI_THREADS)
