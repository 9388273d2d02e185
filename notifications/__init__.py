"""Everything Korttid says: templates, the message catalogue, nudge rules, outbox and delivery."""
