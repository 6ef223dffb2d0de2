"""Products, their stock, and the buyer's cart."""
