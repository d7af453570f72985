"""The eight services of the shop; none imports another."""
