"""Users, roles, sign-in and the `flask users` commands."""
