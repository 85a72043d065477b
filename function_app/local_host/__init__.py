"""Serve the Functions app without Azure Functions Core Tools: its HTTP functions over a WSGI
server, its queue and timer functions from a worker thread, as the Functions host would."""
