"""The Learning Nudges app: the web edge, webhook routers, scheduled jobs and their wiring."""
