"""Small helpers every layer may use: the clock, one-line error text, retries."""
