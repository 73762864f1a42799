"""`make bench`: Madoguchi against a bare python-socketio relay, side by side in one run.

See docs/performance.md for how to run it and how to read the numbers.
"""
