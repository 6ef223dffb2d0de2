"""The business of paygate. Imports nothing of ours from outside this package (CONTRACT.md, Layout)."""
