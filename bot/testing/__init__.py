"""Test support shared by the tests, the demo and the benchmarks: the stand-in GitHub and a manual clock."""
