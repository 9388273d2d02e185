"""Pure domain rules shared by every layer: calendar, identity-number scanning."""
