"""Email System sandbox: an SMTP mail catcher with a web inbox and a JSON API."""
