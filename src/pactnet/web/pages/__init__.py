"""The console's pages, one module each: its routes, the duty each needs, and the template it renders."""
