"""Keys and signatures over the `cryptography` package; nothing home-made."""
