"""Staff: the people who use the web console (console/), separate from shoppers. Their accounts, roles,
sign-in with a password and a second factor (TOTP, recovery codes), and their sessions."""
