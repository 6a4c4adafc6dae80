"""Ways in: http/ (Flask), ws/ (websockets on wsproto), cli/. Thin: parse, call a use case, render."""
