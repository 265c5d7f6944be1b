"""Who is printing: credential checks against the store and the directory."""
