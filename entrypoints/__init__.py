"""Ways in: http/ (Flask), ws/ (flask-sock), cli/. Thin: parse, call a use case, render."""
