"""Benchmarks that print ratios against baselines measured in the same run (`make bench`).

Everything runs on loopback in separate processes: paygate and the baseline each under their own
uvicorn (one worker), and the load generator (bench/load.py) in a third process. See README.md.
"""
