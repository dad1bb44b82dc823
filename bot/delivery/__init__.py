"""Every outgoing message that is not a direct reply goes through the outbox here."""
