"""One gidgethub Router per concern; each handler gets (event, deps) and reads, decides, writes."""
