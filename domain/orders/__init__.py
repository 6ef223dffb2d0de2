"""Orders, their lines and shipping address, and the stock they reserve."""
