"""Benchmarks: every path a user waits on, each figure beside the limit it should approach.

Run all of them with ``python -m tests.bench [--quick] [--json FILE]``; see ``__main__``.
Not collected by pytest (``--ignore=tests/bench``): the test suite stays untimed.
"""
