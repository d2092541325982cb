"""Zoho Books webhooks: signature checks, the receiver, and the events it records."""
