"""The console's pictures, drawn on the server as SVG: readable with no JavaScript, printable, accessible."""
