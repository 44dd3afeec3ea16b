"""Learning Nudges: short, targeted learning in the pull request, when review shows a recurring gap."""

__version__ = "0.1.0"
