"""The boot-name DNS responder of the provisioning side (doc/dns.md)."""
