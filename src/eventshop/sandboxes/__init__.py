"""Local stand-ins of the external systems: Payment System, Logistics System, Email System."""
