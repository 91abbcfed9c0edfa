"""The organization at a glance: each role's home, activity and response rolled up the unit tree."""
